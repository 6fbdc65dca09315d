"""The applicant's door without a browser (Starlette's test client over the test's own database):
an application creates the case exactly as `trigger activate --channel online` would, every answer is
checked as the command line checks it and refused in GOV.UK's words, and the door refuses what the
open internet sends it (no form token, too large, too often, a bot's honeypot) with nothing recorded."""

from __future__ import annotations

import dataclasses
import html
import os
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.support.cases import county
from tests.support.databases import ON_POSTGRES
from tests.support.sql import raw_sql, read_column
from tests.support.waiting import HANG
from tests.support.webdoor import Applicant, ago, date_parts, incident, victim_answers
from trigger.cases import online
from trigger.errors import NotFound, NotPermitted
from trigger.store.app import App
from trigger.web.app import create_app
from trigger.web.guard import CSP

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def door(db, tmp_path, monkeypatch):
    """The door over an initialised LLR database, its e-mails written to an outbox."""
    monkeypatch.setenv("TRIGGER_OUTBOX", str(tmp_path / "outbox"))
    with TestClient(create_app(), follow_redirects=False) as client:
        yield client


def cases(trigger) -> list[dict]:
    return trigger.json("list")


def test_a_victim_applies_and_the_case_is_the_one_activate_would_make(door, trigger):
    applicant = Applicant(door)
    ref = applicant.apply(victim_answers())
    assert [c["reference"] for c in cases(trigger)] == [ref]  # the manager sees it in `list` at once
    # nothing is passed to the agencies until the manager does it (`trigger share`): never "we have"
    assert "We will pass your application to the agencies in" in applicant.page
    assert "We have shared" not in applicant.page
    online_case = trigger.json("show", ref)
    by_hand = trigger.json(
        "activate",
        "--applicant",
        "Alex Morgan",
        "--received",
        ago(0).isoformat(),
        "--channel",
        "online",
        "--statement",
        "I reported this three times and nothing has changed.",
        "--email",
        "alex@example.org",
        "--preferred-contact",
        "email",
    )["reference"]
    for days, agency, ref_, hate in (
        (40, "police", "CAD-101", None),
        (20, "cbc", None, None),
        (10, "emh", None, "race"),
    ):
        args = [
            "--occurred",
            ago(days).isoformat(),
            "--reported",
            ago(days - 1).isoformat(),
            "--agency",
            agency,
        ]
        args += ["--description", f"Shouting and banging at night, {days} days ago"]
        args += ["--agency-ref", ref_ + "-2"] if ref_ else []
        args += ["--hate", hate] if hate else []
        trigger("incident", "add", by_hand, *args)
    cli_case = trigger.json("show", by_hand)

    def same(view):
        view = {k: v for k, v in view.items() if k not in ("reference", "events")}
        for i in view["incidents"]:
            i.pop("id")
            i["agency_ref"] = (i["agency_ref"] or "").removesuffix("-2")
        return view

    assert same(online_case) == same(cli_case)
    assert online_case["channel"] == "online" and online_case["third_party"] is False
    events = online_case["events"]
    assert {e["actor"] for e in events} == {"applicant (online)"}
    assert [e["event"] for e in events] == [
        "activate",
        "incident_add",
        "incident_add",
        "incident_add",
        "web_link",  # the applicant's private link, on the confirmation page
    ]
    assert events[0]["detail"]["consent_to_share"] is True
    assert [i["hate"] for i in online_case["incidents"]] == [None, None, "race"]


def test_someone_applies_on_behalf_of_a_victim_with_their_consent(door, trigger):
    answers = victim_answers(name="Sam Support")
    answers["who"] = {"who": "behalf"}
    answers["victim"] = {"victim": "Pat Victim"}
    answers["consent"] = {"consent_method": "phone", **date_parts("consent_date", ago(3))}
    ref = Applicant(door).apply(answers)
    case = trigger.json("show", ref)
    assert (case["applicant"], case["victim"], case["third_party"]) == ("Sam Support", "Pat Victim", True)
    assert case["consent_date"] == ago(3).isoformat()
    stored = raw_sql("SELECT consent_method FROM review_case")[0][0]
    assert stored.startswith("sealed:")  # how consent was given: sealed (docs/operations.md#erasure)
    assert read_column("review_case", "consent_method") == ["by phone (stated online)"]


def test_a_councillor_applies_online_and_each_person_keeps_their_own_address(door, trigger):
    answers = victim_answers(name="Cllr Susan Lee")
    answers["who"] = {"who": "behalf"}
    answers["victim"] = {
        "victim": "Derek Walton",
        "victim_address": "14 Mill Lane, Shepshed",
        "victim_postcode": "LE12 9AB",
    }
    answers["consent"] = {"consent_method": "writing", **date_parts("consent_date", ago(3))}
    answers["contact"] = {
        "preferred_contact": "letter",
        "address": "Council Offices, Southfield Road, Loughborough",
        "postcode": "LE11 2TX",
    }
    applicant = Applicant(door)
    ref = applicant.apply(answers)
    case = trigger.json("show", ref)
    assert case["applicant_contact"]["address"] == "Council Offices, Southfield Road, Loughborough"
    assert (case["victim_contact"]["address"], case["victim_contact"]["postcode"]) == (
        "14 Mill Lane, Shepshed",
        "LE12 9AB",
    )
    ack = trigger("letter", ref, "acknowledgement", "--format", "txt", "--preview").stdout
    assert "Cllr Susan Lee\nCouncil Offices" in ack and "About: Derek Walton" in ack
    copy = trigger("letter", ref, "acknowledgement", "--format", "txt", "--preview", "--to", "victim").stdout
    assert "Derek Walton\n14 Mill Lane\nShepshed\nLE12 9AB" in copy


def test_a_business_applies_through_its_authorised_representative(door, trigger):
    answers = victim_answers(name="Jo Owner")
    answers["who"] = {"who": "business"}
    answers["victim"] = {"victim": "Corner Shop Ltd", "authorised": "yes"}
    ref = Applicant(door).apply(answers)
    case = trigger.json("show", ref)
    assert (case["victim"], case["victim_kind"], case["consent_date"]) == (
        "Corner Shop Ltd",
        "business",
        ago(0).isoformat(),
    )


def test_the_confirmation_gives_the_reference_and_the_case_deadlines_as_dates(door, trigger):
    applicant = Applicant(door)
    ref = applicant.apply(victim_answers())
    due = {d["kind"]: d["due"] for d in trigger.json("show", ref)["deadlines"]}
    from datetime import date

    from babel.dates import format_date

    for kind in ("acknowledge", "threshold_decision"):
        assert format_date(date.fromisoformat(due[kind]), "d MMMM y", locale="en_GB") in applicant.page
    assert "within 28 days of that decision" in applicant.page


def test_the_acknowledgement_email_goes_to_the_outbox_with_the_reference_and_no_incident(door, tmp_path):
    ref = Applicant(door).apply(victim_answers(language="cy"))
    (message,) = (tmp_path / "outbox").glob("*.eml")
    text = message.read_text()
    assert ref in text and "To: alex@example.org" in text and "Content-Language: cy, en-GB" in text
    assert "Shouting" not in text  # what happened stays out of an e-mail others may read


def test_no_email_is_sent_when_the_applicant_gave_no_address(door, tmp_path):
    answers = victim_answers()
    answers["contact"] = {"preferred_contact": "phone", "phone": "0116 496 0000"}
    Applicant(door).apply(answers)
    assert not (tmp_path / "outbox").exists() or not list((tmp_path / "outbox").glob("*.eml"))


# -- the answers are checked as the command line checks them ---------------------------------------------


def test_mistakes_are_worded_for_the_field_and_corrected(door, trigger):
    a = Applicant(door)
    a.open()
    a.open("who")
    assert a.send("who", {}, expect_errors=True) == ["Select who this application is for"]
    a.send("who", {"who": "victim"})
    a.open("name")
    assert a.send("name", {"applicant": "  "}, expect_errors=True) == ["Enter your full name"]
    assert a.send("name", {"applicant": "A" * 201}, expect_errors=True) == [
        "Your name must be 200 characters or fewer"
    ]
    assert a.send("name", {"applicant": "Alex\u202eMorgan"}, expect_errors=True) == [
        "Your name must not include special characters, such as line breaks or hidden characters"
    ]
    a.send("name", {"applicant": "Alex Morgan"})
    a.open("contact")
    assert a.send("contact", {"preferred_contact": "email", "email": "alex@"}, expect_errors=True) == [
        "Enter an email address in the correct format, like name@example.com"
    ]
    assert a.send(
        "contact", {"preferred_contact": "letter", "address": "1 High Street"}, expect_errors=True
    ) == ["Enter your postcode"]
    a.send("contact", {"preferred_contact": "email", "email": "alex@example.org"})
    a.open("language")
    a.send("language", {"language": "en"})
    a.open("incident/1")
    bad = incident(10)
    assert a.send("incident/1", {**bad, **date_parts("occurred", ago(-3))}, expect_errors=True) == [
        "The date it happened must be today or in the past"
    ]
    assert a.send("incident/1", {**bad, "occurred-day": "31", "occurred-month": "2"}, expect_errors=True) == [
        "The date it happened must be a real date"
    ]
    assert a.send("incident/1", {**bad, "reported-month": ""}, expect_errors=True) == [
        "The date you reported it must include a month"
    ]
    assert a.send("incident/1", {**bad, **date_parts("reported", ago(20))}, expect_errors=True) == [
        "The date you reported it must be the same as or after the date it happened"
    ]
    assert a.send("incident/1", {**bad, "agency": "nobody", "hate": ""}, expect_errors=True) == [
        "Select who you reported it to",
        "Select whether you think it was motivated by hate",
    ]
    a.send("incident/1", bad)
    assert cases(trigger) == []  # nothing is written until the application is sent


def test_naming_yourself_as_the_person_you_apply_for_is_sent_back_to_that_question(door, trigger):
    answers = victim_answers(name="Sam Support")
    answers["who"] = {"who": "behalf"}
    answers["victim"] = {"victim": "sam  SUPPORT"}  # the same person, as the engine compares names
    answers["consent"] = {"consent_method": "phone", **date_parts("consent_date", ago(3))}
    a = Applicant(door)
    with pytest.raises(AssertionError, match="'check', 200"):
        a.apply(answers)
    assert "not your own name" in a.page and 'href="/apply/main/victim"' in a.page
    assert cases(trigger) == []


def test_a_statement_over_the_command_lines_limit_is_refused_by_both(door, trigger):
    long = "x" * 10_001
    said = trigger.fails(
        "activate",
        "--applicant",
        "A",
        "--received",
        ago(1).isoformat(),
        "--channel",
        "online",
        "--statement",
        long,
    )
    assert "limit is 10,000" in said.stderr
    a = Applicant(door)
    a.open()
    a.open("who")
    a.send("who", {"who": "victim"})
    a.open("statement")  # not yet: the door sends the applicant to the first unanswered question
    assert "What is your full name?" in a.page
    for step, answers in (
        ("name", {"applicant": "A"}),
        ("contact", {"preferred_contact": "phone", "phone": "1"}),
    ):
        a.open(step)
        a.send(step, answers)
    a.open("language")
    a.send("language", {"language": "en"})
    a.open("incident/1")
    a.send("incident/1", incident(5))
    a.open("incidents")
    a.send("incidents", {"another": "no"})
    a.open("statement")
    assert a.send("statement", {"statement": long}, expect_errors=True) == [
        "Your answer must be 10,000 characters or fewer"
    ]


def test_a_refused_complaint_leaves_no_case_at_all(db, trigger):
    app = App(actor=online.ACTOR, public=True)
    good = online.Complaint(ago(9), ago(8), "police", "Noise")
    bad = online.Complaint(ago(5), ago(7), "police", "Reported before it happened")
    application = online.Application(
        who="victim",
        applicant="Alex",
        statement="Nothing changed",
        preferred_contact="phone",
        phone="0116 496 0000",
        language="en",
        share_consent=True,
        complaints=(good, bad),
    )
    with pytest.raises(online.FieldProblem):
        online.submit(app, application)
    # refused inside the transaction, after the case and its first complaint were written: no trace
    unknown = online.Complaint(ago(5), ago(4), "nobody", "An agency the partnership does not have")
    with pytest.raises(NotFound):
        online.submit(app, dataclasses.replace(application, complaints=(good, unknown)))
    assert cases(trigger) == [] and raw_sql("SELECT count(*) FROM incident") == [(0,)]
    assert raw_sql("SELECT count(*) FROM audit_event WHERE case_id IS NOT NULL") == [(0,)]


def test_a_reference_already_on_record_does_not_refuse_the_applicant(door, trigger):
    answers = victim_answers()
    answers["incidents"] = [incident(30, "police", "CAD-9"), incident(20, "police", "CAD-9"), incident(9)]
    ref = Applicant(door).apply(answers)
    refs = [(i["agency_ref"], i["description"]) for i in trigger.json("show", ref)["incidents"]]
    assert refs[0][0] == "CAD-9" and refs[1][0] is None and refs[1][1].endswith("applicant: CAD-9")


def test_the_public_may_apply_and_nothing_else(db):
    from trigger.cases import moves

    app = App(actor=online.ACTOR, public=True)
    with pytest.raises(NotPermitted, match="only takes applications"):
        moves.activate(app, applicant="X", received=ago(1), channel="online", statement="s")


# -- safe on the open internet ---------------------------------------------------------------------------


def test_a_form_without_its_token_is_refused_and_nothing_recorded(door, trigger):
    a = Applicant(door)
    answers = victim_answers()
    a.open()
    a.open("who")
    r = door.post("/apply/main/who", data={"who": "victim"})
    assert r.status_code == 403 and "could not accept this form" in r.text
    r = door.post("/apply/main/who", data={"who": "victim", "csrf_token": "0" * 64})
    assert r.status_code == 403
    fresh = TestClient(door.app, follow_redirects=False)  # no session at all
    assert fresh.post("/apply/main/check", data={"csrf_token": a.token}).status_code == 403
    a.send("who", answers["who"])
    assert cases(trigger) == []


def test_the_final_send_without_its_token_records_nothing(door, trigger):
    a = Applicant(door)
    answers = victim_answers()
    a.open()
    for step in ("who", "name", "contact", "language"):
        a.open(step)
        a.send(step, answers[step])
    a.open("incident/1")
    a.send("incident/1", answers["incidents"][0])
    a.open("incidents")
    a.send("incidents", {"another": "no"})
    for step in ("statement", "accessibility", "share"):
        a.open(step)
        a.send(step, answers[step])
    a.open("check")
    assert door.post("/apply/main/check", data={}).status_code == 403
    assert (
        door.post("/apply/main/check", data={"csrf_token": a.token, "website": "http://spam"}).status_code
        == 400
    )
    assert cases(trigger) == []
    a.send("check", {})
    assert len(cases(trigger)) == 1


def test_over_long_bodies_and_too_many_fields_are_refused(door, trigger):
    a = Applicant(door)
    a.open()
    a.open("who")
    r = door.post(
        "/apply/main/who",
        content=b"who=victim&x=" + b"a" * 300_000,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413 and "too large" in r.text
    many = "&".join(f"f{n}=1" for n in range(100))
    r = door.post(
        "/apply/main/who",
        content=f"csrf_token={a.token}&{many}".encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code in (400, 413)
    assert cases(trigger) == []


SCRIPT = '<script>alert("x")</script>'


def test_script_typed_in_every_field_is_shown_as_text(door, trigger):
    answers = {
        "who": {"who": "behalf"},
        "victim": {"victim": SCRIPT.replace("x", "victim")},
        "consent": {"consent_method": "writing", **date_parts("consent_date", ago(1))},
        "name": {"applicant": SCRIPT},
        "contact": {
            "preferred_contact": "letter",
            "address": SCRIPT,
            "postcode": "<b>x</b>",
            "phone": SCRIPT,
        },
        "language": {"language": "en"},
        "incidents": [incident(9, ref=SCRIPT, text=SCRIPT)],
        "statement": {"statement": SCRIPT},
        "accessibility": {"accessibility": SCRIPT},
        "share": {"share_consent": "yes"},
    }
    a = Applicant(door)
    ref = a.apply(answers)
    b = Applicant(door)
    b.open()
    for step in ("who", "victim", "consent", "name", "contact", "language"):
        b.open(step)
        b.send(step, answers[step])
    b.open("incident/1")
    b.send("incident/1", answers["incidents"][0])
    b.open("incidents")
    b.send("incidents", {"another": "no"})
    for step in ("statement", "accessibility", "share"):
        b.open(step)
        b.send(step, answers[step])
    page = b.open("check").text
    assert "<script>alert" not in page and page.count("&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") >= 7
    assert trigger.json("show", ref)["applicant"] == SCRIPT  # kept as typed, shown as text


def test_the_security_headers_are_on_every_response(door):
    a = Applicant(door)
    responses = [
        door.get("/apply"),
        door.get("/apply/main"),
        door.get("/apply/main/who"),
        door.get("/static/govuk/govuk-frontend.min.css"),
        door.get("/apply/nowhere"),
        door.get("/apply/main/no-such-step"),
        door.post("/apply/main/who", data={}),
        door.post("/apply/main/who", content=b"x" * 300_000),
        door.get("/"),
    ]
    a.open()
    a.open("who")
    responses.append(door.post("/apply/main/who", data={"csrf_token": a.token, "who": "victim"}))
    for r in responses:
        assert r.headers["content-security-policy"] == CSP, r.url
        assert "script-src 'self'" in CSP and "frame-ancestors 'none'" in CSP and "unsafe-inline" not in CSP
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert "strict-transport-security" not in r.headers  # plain http here; HSTS only behind TLS
    secure = TestClient(door.app, base_url="https://door.example", follow_redirects=False)
    r = secure.get("/apply/main/who")
    assert r.headers["strict-transport-security"].startswith("max-age=")
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "samesite=lax" in cookie.lower()


def test_a_client_sending_too_many_applications_is_stopped(db, trigger, tmp_path, monkeypatch):
    monkeypatch.setenv("TRIGGER_OUTBOX", str(tmp_path / "outbox"))
    with TestClient(create_app(submissions_per_hour=1), follow_redirects=False) as client:
        Applicant(client).apply(victim_answers())
        second = Applicant(client)
        with pytest.raises(AssertionError, match="429"):
            second.apply(victim_answers(name="Bot"))
    assert len(cases(trigger)) == 1
    with TestClient(create_app(posts_per_hour=3), follow_redirects=False) as client:
        a = Applicant(client)
        a.open()
        a.open("who")
        codes = [
            client.post("/apply/main/who", data={"csrf_token": a.token, "who": "victim"}).status_code
            for _ in range(5)
        ]
        assert codes == [303, 303, 303, 429, 429]


def test_the_honeypot_refuses_a_bot_and_records_nothing(door, trigger):
    a = Applicant(door)
    a.open()
    a.open("who")
    r = door.post("/apply/main/who", data={"csrf_token": a.token, "who": "victim", "website": "spam"})
    assert r.status_code == 400
    assert cases(trigger) == []


@pytest.mark.skipif(ON_POSTGRES, reason="reads the SQLite file itself")
def test_a_half_finished_application_is_never_written_to_the_database(door):
    a = Applicant(door)
    a.open()
    for step, answers in (("who", {"who": "victim"}), ("name", {"applicant": "Quentin Zebedee-Unusual"})):
        a.open(step)
        a.send(step, answers)
    path = os.environ["TRIGGER_DB"].removeprefix("sqlite:///")
    for part in (path, path + "-wal"):
        if os.path.exists(part):
            assert b"Zebedee" not in Path(part).read_bytes()


def test_the_door_keys_are_made_once_and_kept_in_the_database(db, monkeypatch, tmp_path):
    create_app()
    first = raw_sql("SELECT key, value FROM setting WHERE key LIKE 'web.%' ORDER BY key")
    create_app()
    assert [k for k, _ in first] == ["web.csrf_key", "web.session_key"]
    assert raw_sql("SELECT key, value FROM setting WHERE key LIKE 'web.%' ORDER BY key") == first
    assert all(len(v) == 64 for _, v in first)


# -- English, Welsh, and a county's doors -------------------------------------------------------------


def test_every_page_switches_language_and_keeps_it(door):
    a = Applicant(door)
    a.open()
    assert '<html lang="en"' in a.page and 'href="?lang=cy"' in a.page
    r = door.get("/apply/main/who?lang=cy", follow_redirects=True)
    assert '<html lang="cy"' in r.text and "Ar gyfer pwy mae'r cais hwn?" in html.unescape(r.text)
    assert '<html lang="cy"' in door.get("/apply/main", follow_redirects=True).text


def test_a_county_has_a_door_per_partnership_and_welsh_first_under_a_welsh_policy(
    trigger, tmp_path, monkeypatch
):
    county(trigger)
    monkeypatch.setenv("TRIGGER_OUTBOX", str(tmp_path / "outbox"))
    with TestClient(create_app(), follow_redirects=False) as client:
        index = client.get("/apply").text
        assert all(f'href="/apply/{code}"' in index for code in ("CHA", "CITY", "GW"))
        gwent = client.get("/apply/GW").text
        assert '<html lang="cy"' in gwent and "Gwent" in gwent
        assert client.get("/apply/nowhere").status_code == 404
        answers = victim_answers()
        answers["incidents"] = [incident(9, agency="cbc")]
        ref = Applicant(client, "/apply/CHA").apply(answers)
    assert ref.startswith("CT-CHA-")
    (row,) = [r for r in trigger.json("partnership", "list") if r["code"] == "CHA"]
    assert row["cases"] == 1


def test_the_words_have_english_and_welsh_for_every_key():
    from trigger.web.words import TEXT

    assert all(en.strip() and cy.strip() for en, cy in TEXT.values())
    used = set()
    import re

    for template in (ROOT / "trigger" / "web" / "templates").glob("*.html"):
        used |= set(re.findall(r"\bt\('([a-z_0-9]*[a-z0-9])'", template.read_text()))
    assert used <= set(TEXT), used - set(TEXT)


@pytest.mark.any_engine
def test_the_welsh_pages_use_the_letters_glossary_for_the_hate_strands_and_agencies():
    from letters.glossary import welsh, welsh_name
    from trigger.codes import HATE_STRANDS
    from trigger.web.words import say

    for strand in HATE_STRANDS:
        term = welsh(strand.replace("_", " "))
        if strand == "transgender":  # after "hunaniaeth" (feminine) the adjective takes soft mutation
            term = "d" + term[1:]
        assert term in say(f"hate_{strand}", "cy"), strand
    assert welsh_name("Gwent Police") == "Heddlu Gwent"  # an agency's Welsh name, as the letters give it


@pytest.mark.any_engine
def test_web_serve_without_the_web_extra_names_it_in_one_line(tmp_path):
    code = (
        "import sys; sys.modules['uvicorn'] = None; sys.argv = ['trigger', 'web', 'serve']; "
        "import cli; cli.main()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=HANG
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "Error: the web door needs the web extra: pip install 'community-trigger[web]' (uvicorn is missing)"
    ]
