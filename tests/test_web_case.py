"""The applicant's private link and their own case page at the door (Starlette's test client over the
test's own database; the officer works through the real command line): `trigger web link` gives a
link once and keeps only its hash; reissued, revoked and expired links stop working and are answered
exactly like a link that never existed; guessing is throttled per client; a token never reaches the
log; the acknowledgement letter and e-mail carry the link when the door has a public address."""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.support.databases import ON_POSTGRES
from tests.support.sql import raw_sql
from tests.support.webdoor import Applicant, open_case, statuses, victim_answers
from trigger.cases import links
from trigger.errors import NotPermitted
from trigger.store.app import App
from trigger.web.app import create_app

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = "https://apply.example.gov.uk"


@pytest.fixture
def door(db, tmp_path, monkeypatch):
    monkeypatch.setenv("TRIGGER_OUTBOX", str(tmp_path / "outbox"))
    with TestClient(create_app(), follow_redirects=False) as client:
        yield client


@pytest.fixture
def public_door(trigger, tmp_path, monkeypatch):
    """A database whose policy gives the door a public address ([web] base_url)."""
    text = (ROOT / "workflows" / "llr.toml").read_text()
    text = text.replace("# [web]\n# base_url = ", "[web]\nbase_url = ")
    policy = tmp_path / "policy.toml"
    policy.write_text(text)
    trigger("init", "--policy", policy, "--manager-email", "csm@example.gov.uk")
    monkeypatch.setenv("TRIGGER_OUTBOX", str(tmp_path / "outbox"))
    with TestClient(create_app(), follow_redirects=False) as client:
        yield client


def activate(trigger, applicant="Ann Example", received="2026-03-02") -> str:
    return trigger.json(
        "activate",
        "--applicant",
        applicant,
        "--received",
        received,
        "--channel",
        "phone",
        "--statement",
        "Nothing has changed",
    )["reference"]


def token_of(link: str) -> str:
    return link.rpartition("/case/")[2]


def test_a_link_is_printed_once_opens_its_case_and_is_kept_only_as_a_hash(door, trigger):
    ref = activate(trigger)
    out = trigger("web", "link", ref)
    link = out.stdout.strip()
    assert re.fullmatch(r"/case/[A-Za-z0-9_-]{43}", link)  # 256 random bits
    assert "no public address" in out.stderr
    page = open_case(door, link)
    assert f"Case {ref}" in page and "Deciding whether the threshold for a review is met" in page
    # only the hash is stored; a second link is refused rather than shown again
    stored = hashlib.sha256(token_of(link).encode()).hexdigest()
    assert raw_sql("SELECT token_hash FROM applicant_link") == [(stored,)]
    refused = trigger.fails("web", "link", ref)
    assert "cannot be shown again" in refused.stderr and "--reissue" in refused.stderr
    assert len(raw_sql("SELECT id FROM applicant_link")) == 1


def test_the_token_is_nowhere_in_the_record(door, trigger):
    ref = activate(trigger)
    token = token_of(trigger("web", "link", ref).stdout.strip())
    for (table,) in raw_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
        if not ON_POSTGRES
        else "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    ):
        for row in raw_sql(f"SELECT * FROM {table}"):
            assert token not in repr(row), table
    show = trigger("show", ref, "--json").stdout + trigger("export", ref).stdout
    assert token not in show


def test_reissue_and_revoke_need_a_reason_are_audited_and_stop_the_old_links(door, trigger):
    ref = activate(trigger)
    first = trigger("web", "link", ref).stdout.strip()
    assert "needs --reason" in trigger.fails("web", "link", ref, "--reissue").stderr
    second = trigger("web", "link", ref, "--reissue", "--reason", "the letter was lost").stdout.strip()
    assert first != second
    assert "This link does not work" in door.get(first).text
    assert f"Case {ref}" in open_case(door, second)
    assert "1 link revoked" in trigger("web", "link", ref, "--revoke", "--reason", "phone stolen").stdout
    assert "This link does not work" in door.get(second).text
    assert door.get("/case").status_code == 404  # the visit the link had started ends with it
    events = [(e["event"], e["reason"]) for e in trigger.json("show", ref)["events"] if "link" in e["event"]]
    assert events == [
        ("web_link", None),
        ("web_link", "the letter was lost"),
        ("web_link_revoke", "phone stolen"),
    ]
    assert "no working link" in trigger.fails("web", "link", ref, "--revoke", "--reason", "again").stderr
    assert "--revoke or --reissue" in trigger.fails("web", "link", ref, "--revoke", "--reissue").stderr


def test_unknown_revoked_and_expired_links_are_answered_alike(door, trigger):
    revoked_ref, expired_ref, recent_ref = activate(trigger), activate(trigger), activate(trigger)
    revoked = trigger("web", "link", revoked_ref).stdout.strip()
    trigger("web", "link", revoked_ref, "--revoke", "--reason", "asked")
    expired = trigger("web", "link", expired_ref).stdout.strip()
    recent = trigger("web", "link", recent_ref).stdout.strip()
    # withdrawn longer ago than the policy's 90 days, and yesterday
    trigger("withdraw", expired_ref, "--reason", "moved away", "--on", "2026-03-10")
    trigger("withdraw", recent_ref, "--reason", "moved away")
    answers = []
    for link in (revoked, expired, "/case/" + "x" * 43, "/case/short", "/case/" + "é" * 30):
        r = door.get(link)
        answers.append((r.status_code, r.text, r.headers.get("set-cookie", "").split("=")[0]))
    assert len(set(answers)) == 1 and answers[0][0] == 404
    assert "Your application was withdrawn" in open_case(door, recent)  # ended, but not long ago
    assert "would not work" in trigger.fails("web", "link", expired_ref, "--reissue", "--reason", "x").stderr


@pytest.mark.slow
def test_ten_thousand_guesses_are_refused_and_the_guesser_is_throttled(db, trigger):
    ref = activate(trigger)
    link = trigger("web", "link", ref).stdout.strip()
    door = create_app()
    guesser = ("203.0.113.9", 4000)
    codes = statuses(door, [f"/case/{links.new_token()}" for _ in range(10_000)], guesser)
    assert codes[:20] == [404] * 20 and set(codes[20:]) == {429}
    assert statuses(door, [link], guesser) == [429]  # even the right link, from that client, for now
    with TestClient(door, follow_redirects=False, client=("198.51.100.7", 4000)) as applicant:
        assert f"Case {ref}" in open_case(applicant, link)


def test_the_token_never_reaches_the_log_nor_a_referer(door, trigger, caplog):
    link = trigger("web", "link", activate(trigger)).stdout.strip()
    with caplog.at_level(logging.INFO, logger="trigger.web"):
        opened = door.get(link)
        door.get("/case/" + links.new_token())
    assert opened.headers["referrer-policy"] == "no-referrer"
    assert opened.headers["location"] == "/case"  # the token leaves the address bar at once
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "trigger.web")
    assert token_of(link) not in logged
    assert "GET /case/[link] 303" in logged and "GET /case/[link] 404" in logged
    cookie = opened.headers["set-cookie"]
    assert token_of(link) not in cookie and "HttpOnly" in cookie and "Path=/case" in cookie


def test_the_public_cannot_make_or_revoke_links(db, trigger):
    ref = activate(trigger)
    public = App(actor="applicant (online)", public=True)
    with pytest.raises(NotPermitted):
        links.issue(public, ref)
    with pytest.raises(NotPermitted):
        links.revoke(public, ref, reason="x")


def test_the_acknowledgement_letter_carries_a_working_link_when_the_door_has_an_address(
    public_door, trigger, tmp_path
):
    ref = activate(trigger)
    preview = trigger("letter", ref, "acknowledgement", "--format", "txt", "--preview").stdout
    assert f"{PUBLIC}/case/preview-only-no-link-was-made" in preview
    out = tmp_path / "ack.txt"
    trigger("letter", ref, "acknowledgement", "--format", "txt", "-o", out)
    text = out.read_text()
    (link,) = re.findall(rf"{re.escape(PUBLIC)}/case/[A-Za-z0-9_-]{{43}}", text)
    assert "Keep this link private" in text
    assert f"Case {ref}" in open_case(public_door, link.removeprefix(PUBLIC))
    assert trigger("letter", ref, "--issued", "1").stdout.strip() == text.strip()  # as issued
    events = trigger.json("show", ref)["events"]
    made = [e["detail"].get("by") for e in events if e["event"] == "web_link"]
    assert made == ["the acknowledgement letter"]


def test_without_a_public_address_the_letter_carries_no_link(door, trigger, tmp_path):
    ref = activate(trigger)
    text = trigger("letter", ref, "acknowledgement", "--format", "txt", "--preview").stdout
    assert "/case/" not in text and "private page" not in text
    assert raw_sql("SELECT id FROM applicant_link") == []


def test_an_online_application_gives_its_link_on_the_confirmation_and_by_email(public_door, tmp_path):
    applicant = Applicant(public_door)
    ref = applicant.apply(victim_answers())
    (link,) = re.findall(rf"{re.escape(PUBLIC)}/case/[A-Za-z0-9_-]{{43}}", applicant.page)
    (message,) = (tmp_path / "outbox").glob("*.eml")
    assert link in message.read_text().replace("=\n", "")
    assert f"Case {ref}" in open_case(public_door, link.removeprefix(PUBLIC))


def test_without_a_public_address_the_confirmation_links_to_this_server(door, tmp_path):
    applicant = Applicant(door)
    ref = applicant.apply(victim_answers())
    (path,) = re.findall(r'href="(/case/[A-Za-z0-9_-]{43})"', applicant.page)
    assert f"http://testserver{path}" in applicant.page
    (message,) = (tmp_path / "outbox").glob("*.eml")
    assert "/case/" not in message.read_text()  # an e-mail carries only a public address
    assert f"Case {ref}" in open_case(door, path)


def test_the_case_page_switches_language_and_keeps_it(door, trigger):
    ref = activate(trigger)
    open_case(door, trigger("web", "link", ref).stdout.strip())
    r = door.get("/case?lang=cy")
    assert r.status_code == 303 and r.headers["location"] == "/case"
    welsh = door.get("/case").text
    assert f"Achos {ref}" in welsh and 'lang="cy"' in welsh and "Cawsom eich cais" in welsh
