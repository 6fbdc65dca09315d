"""Letters come from the partnership that handles the case: its own name, Welsh name, address,
telephone, web, logo and signatory (`partnership add|update`, `init --name --name-cy`), each part
falling back to its policy's [letterhead] while unset (docs/architecture.md#letterheads)."""

from __future__ import annotations

import base64
import json
import os

from sqlmodel import Session, create_engine, select

from tests.support.cases import county
from tests.support.letters import PNG, letterhead_policy, pdf_text
from trigger.store.models import AuditEvent

LETTERHEAD = (
    "--address",
    "City Hall",
    "--address",
    "115 Charles Street",
    "--address",
    "Leicester LE1 1FZ",
    "--telephone",
    "0116 454 1000",
    "--web",
    "www.leicester.gov.uk",
    "--signatory-name",
    "Pat Lead",
    "--signatory-role",
    "Head of Community Safety",
)


def _activate(trigger, partnership: str | None, name: str = "Ann Example") -> str:
    """A case received on 2 March 2026 (in the database's only partnership when none is named)."""
    args = ["activate", "--applicant", name, "--received", "2026-03-02", "--channel", "online"]
    args += ["--statement", "x", *(["--partnership", partnership] if partnership else [])]
    return trigger.json(*args)["reference"]


def _letter(trigger, ref: str, fmt: str = "txt") -> str:
    args = ["letter", ref, "acknowledgement", "--on", "2026-03-03", "--preview"]
    return trigger(*args, "--format", fmt).stdout


def test_each_partnership_heads_and_signs_its_own_letters(trigger):
    county(trigger)
    trigger(
        "partnership", "update", "CITY", "--name", "Leicester City Community Safety Partnership", *LETTERHEAD
    )
    city = _letter(trigger, _activate(trigger, "CITY"))
    cha = _letter(trigger, _activate(trigger, "CHA"))

    assert city.splitlines()[:7] == [
        "Leicester City Community Safety Partnership",
        "",
        "City Hall",
        "115 Charles Street",
        "Leicester LE1 1FZ",
        "Telephone: 0116 454 1000",
        "www.leicester.gov.uk",
    ]
    assert "Your contact: Pat Lead" in city
    assert city.rstrip().endswith(
        "Pat Lead\nHead of Community Safety\nLeicester City Community Safety Partnership"
    )
    # the policy's partnership name nowhere; the ICB (a relevant body the letter names) has it in its own
    icb = "Leicester, Leicestershire and Rutland Integrated Care Board"
    assert "Leicester, Leicestershire and Rutland" not in city.replace(icb, "")

    # Charnwood has no letterhead of its own: its name, and the LLR policy's (empty) letterhead
    assert cha.splitlines()[0] == "Charnwood"
    assert cha.rstrip().endswith("Charnwood")
    assert "City Hall" not in cha and "Pat Lead" not in cha


def test_a_pdf_letter_carries_the_partnerships_letterhead_and_logo(trigger, tmp_path):
    county(trigger)
    (tmp_path / "crest.png").write_bytes(PNG)
    trigger("partnership", "update", "CHA", "--logo", tmp_path / "crest.png", *LETTERHEAD[:6])
    ref = _activate(trigger, "CHA")
    html = _letter(trigger, ref, "html")
    assert f'src="data:image/png;base64,{base64.b64encode(PNG).decode()}"' in html
    out = tmp_path / "a.pdf"
    trigger("letter", ref, "acknowledgement", "--on", "2026-03-03", "--format", "pdf", "-o", out)
    text = pdf_text(out)
    assert text.index("Charnwood") < text.index("City Hall") < text.index("Leicester LE1 1FZ")


def test_the_welsh_half_gives_the_welsh_name(trigger):
    county(trigger)  # GW is under the Welsh policy: every letter bilingual, Welsh first
    trigger(
        "partnership",
        "update",
        "GW",
        "--name",
        "Gwent Community Safety Partnership",
        "--name-cy",
        "Partneriaeth Diogelwch Cymunedol Gwent",
    )
    text = _letter(trigger, _activate(trigger, "GW"))
    welsh, english = text.split("Dear Ann Example", 1)
    assert [line for line in text.splitlines() if line][:2] == [
        "Partneriaeth Diogelwch Cymunedol Gwent",
        "Gwent Community Safety Partnership",
    ]
    assert "Yn gywir," in welsh and welsh.index("Partneriaeth Diogelwch Cymunedol Gwent", 60) > welsh.index(
        "Yn gywir,"
    )
    assert english.rstrip().endswith("Gwent Community Safety Partnership")
    assert "Partneriaeth" not in english


def test_init_names_the_partnership_in_both_languages(trigger):
    trigger(
        "init",
        "--policy",
        "wales",
        "--name",
        "Cardiff Community Safety Partnership",
        "--name-cy",
        "Partneriaeth Diogelwch Cymunedol Caerdydd",
    )
    ref = _activate(trigger, None)
    text = _letter(trigger, ref)
    assert [line for line in text.splitlines() if line][:2] == [
        "Partneriaeth Diogelwch Cymunedol Caerdydd",
        "Cardiff Community Safety Partnership",
    ]


def test_each_part_falls_back_to_the_policys_letterhead_until_set(trigger, tmp_path):
    policy = letterhead_policy(tmp_path)  # Charnwood's policy: logo, address, telephone, web, signatory
    trigger("init", "--policy", policy, "--manager-email", "csm@example.gov.uk")
    ref = _activate(trigger, None)
    before = _letter(trigger, ref)
    assert before.splitlines()[0] == "Charnwood Community Safety Partnership"  # the policy's name
    assert "Southfield Road" in before and "01509 263151" in before and "Priya Shah" in before

    trigger("partnership", "update", "main", "--telephone", "01509 000000", "--reason", "new number")
    after = _letter(trigger, ref)
    assert "01509 000000" in after and "01509 263151" not in after
    assert "Southfield Road" in after and "Priya Shah" in after  # the rest is still the policy's

    trigger("partnership", "update", "main", "--telephone", "", "--reason", "back to the policy's")
    assert "01509 263151" in _letter(trigger, ref)


def test_an_update_is_recorded_with_its_reason_and_letters_issued_before_keep_their_words(trigger, tmp_path):
    county(trigger)
    ref = _activate(trigger, "CITY")
    trigger(
        "letter", ref, "acknowledgement", "--on", "2026-03-03", "--format", "txt", "-o", tmp_path / "a.txt"
    )
    out = trigger(
        "partnership", "update", "CITY", "--web", "www.leicester.gov.uk/asb", "--reason", "new site"
    )
    assert out.stdout.strip() == "Updated partnership CITY (Leicester City): web."
    again = trigger("partnership", "update", "CITY", "--web", "www.leicester.gov.uk/asb")
    assert again.stdout.strip() == "Partnership CITY already reads so; nothing changed."

    issued = trigger("letter", ref, "--issued", "1").stdout  # the bytes sent
    assert "www.leicester.gov.uk/asb" not in issued
    assert "www.leicester.gov.uk/asb" in _letter(trigger, ref)

    engine = create_engine(os.environ["TRIGGER_DB"])
    with Session(engine) as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.event == "partnership_update")).all()
    engine.dispose()
    assert [(r.actor, r.reason) for r in rows] == [("tester", "new site")]
    detail = json.loads(rows[0].detail or "{}")
    assert (detail["code"], detail["changed"]) == ("CITY", ["web"])


def test_a_bad_letterhead_is_one_line_and_changes_nothing(trigger, tmp_path):
    county(trigger)
    os.symlink("/etc/passwd", tmp_path / "logo.png")
    (tmp_path / "notes.png").write_text("not an image")
    for args, words in (
        (("--logo", tmp_path / "logo.png"), "is a link"),
        (("--logo", tmp_path / "notes.png"), "is not a PNG, JPEG or GIF image"),
        (("--logo", tmp_path / "missing.png"), "no such file"),
        (("--web", "not a web address"), "is not a web address"),
        (("--telephone", "0116\x1b[31m"), "--telephone contains"),
        (("--address", "x", "--address", "x") * 5, "at most 8 lines"),
    ):
        result = trigger.fails("partnership", "update", "CITY", "--telephone", "0116 1", *args)
        assert result.stderr.count("\n") == 1 and words in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    refused = trigger.fails("partnership", "update", "NOPE", "--web", "www.example.org")
    assert "no partnership 'NOPE'" in refused.stderr
    rows = {r["code"]: r for r in trigger.json("partnership", "list")}
    assert rows["CITY"]["name"] == "Leicester City"
    assert "0116 1" not in _letter(trigger, _activate(trigger, "CITY"))


def test_the_door_names_the_partnership_as_its_letters_do(trigger):
    from starlette.testclient import TestClient

    from trigger.web.app import create_app

    county(trigger)
    trigger("partnership", "update", "CHA", "--name", "Charnwood Community Safety Partnership")
    with TestClient(create_app(os.environ["TRIGGER_DB"])) as client:
        page = client.get("/apply/CHA")
    assert page.status_code == 200
    assert "Charnwood Community Safety Partnership" in page.text
