"""What a person receives: letters go to the person who applied, at their address, and name the person
affected; the victim's copy goes to the victim's address only with their consent; the meeting
invitation says where and how to join; and nothing says the application was passed to every relevant
body (s.104(3)) unless each was recorded."""

from __future__ import annotations

import json
import os
import zipfile
from email import message_from_bytes
from email import policy as email_policy

import pytest

from tests.support.cases import THREE_COMPLAINTS, add_complaints
from tests.support.databases import sqlite_only
from tests.support.letters import pdf_text, to_outcome
from tests.support.mailservers import Collect, Server
from tests.support.sql import raw_sql
from tests.support.terminal import on_terminal

COUNCILLOR = "Council Offices, Southfield Road, Loughborough"
DEREK = "14 Mill Lane, Shepshed"


def councillor_case(t, **extra) -> str:
    """Cllr Susan Lee applies for her constituent Derek Walton (consent given 1 March 2026); each has
    their own address."""
    args = [
        "activate",
        "--applicant",
        "Cllr Susan Lee",
        "--victim",
        "Derek Walton",
        "--consent-date",
        "2026-03-01",
        "--received",
        "2026-03-02",
        "--channel",
        "email",
        "--statement",
        "Mr Walton has reported the noise five times and nothing has changed",
        "--address",
        COUNCILLOR,
        "--postcode",
        "LE11 2TX",
        "--email",
        "susan.lee@charnwood.example",
        "--victim-address",
        DEREK,
        "--victim-postcode",
        "LE12 9AB",
        "--victim-phone",
        "07700 900123",
    ]
    for key, value in extra.items():
        args += [f"--{key.replace('_', '-')}", value]
    ref = t.json(*args)["reference"]
    add_complaints(t, ref, THREE_COMPLAINTS, on="2026-03-03")
    return ref


@pytest.fixture
def servers():
    """aiosmtpd servers on loopback, stopped after the test."""
    started: list[Server] = []

    def start(handler=None) -> Server:
        server = Server(handler or Collect()).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def pdf(t, tmp_path, ref: str, kind: str, *extra: str) -> str:
    out = tmp_path / f"{kind}-{len(list(tmp_path.glob('*.pdf')))}.pdf"
    t("letter", ref, kind, "--format", "pdf", "-o", out, *extra)
    return " ".join(pdf_text(out).split())


def test_a_councillors_letters_go_to_her_office_and_name_the_constituent(db, tmp_path):
    ref = councillor_case(db)
    ack = pdf(db, tmp_path, ref, "acknowledgement", "--on", "2026-03-03")
    assert "Cllr Susan Lee Council Offices Southfield Road Loughborough LE11 2TX" in ack
    assert "Mill Lane" not in ack  # never the victim's home
    assert "About Derek Walton" in ack
    assert "Dear Cllr Susan Lee," in ack
    assert "You applied on behalf of Derek Walton, who gave consent on 1 March 2026." in ack
    assert "We will check the reports of the anti-social behaviour affecting Derek Walton." in ack
    assert "reports you made" not in ack

    db("decide", ref, "--met", "--on", "2026-03-05")
    met = pdf(db, tmp_path, ref, "threshold_met", "--on", "2026-03-05")
    assert "Dear Cllr Susan Lee," in met and "About Derek Walton" in met
    assert (
        "Enough qualifying complaints were made about the behaviour affecting Derek Walton to meet the "
        "legal threshold." in met
    )
    assert "You made enough qualifying complaints" not in met
    assert "We will ask how Derek Walton wants to take part." in met


def test_the_victims_copy_goes_to_the_victims_home_with_consent(db, tmp_path):
    ref = councillor_case(db)
    copy = pdf(db, tmp_path, ref, "acknowledgement", "--to", "victim", "--on", "2026-03-03")
    assert copy.index("Derek Walton 14 Mill Lane Shepshed LE12 9AB") < copy.index("Reference")
    assert "Council Offices" not in copy
    assert (
        "Copy for Derek Walton: this is a copy of our letter to Cllr Susan Lee, who applied for this "
        "review on your behalf." in copy
    )
    shown = db.json("show", ref)
    assert [(lt["kind"], lt["recipient"]) for lt in shown["letters"]] == [("acknowledgement", "Derek Walton")]


def test_a_victims_copy_is_refused_without_consent_or_a_third_party(db, tmp_path):
    # consent given on 4 March: a copy dated before it is refused, and nothing is recorded
    late = councillor_case(db, consent_date="2026-03-04")
    refused = db.fails("letter", late, "acknowledgement", "--to", "victim", "--on", "2026-03-03")
    assert refused.stderr.count("\n") == 1
    assert "no consent from the victim is recorded by 2026-03-03 (given 2026-03-04)" in refused.stderr
    assert db.json("show", late)["letters"] == []
    # the applicant is the victim: there is nobody else to copy
    own = db.json(
        "activate",
        "--applicant",
        "Ann Example",
        "--received",
        "2026-03-02",
        "--channel",
        "online",
        "--statement",
        "Nothing changed",
    )["reference"]
    refused = db.fails("letter", own, "acknowledgement", "--to", "victim", "--on", "2026-03-03")
    assert "the applicant is the victim" in refused.stderr and refused.stderr.count("\n") == 1
    # the victim's contact belongs to a third-party application
    refused = db.fails(
        "activate",
        "--applicant",
        "Ann Example",
        "--received",
        "2026-03-02",
        "--channel",
        "online",
        "--statement",
        "x",
        "--victim-address",
        "1 A Street",
    )
    assert "give it with --address" in refused.stderr


def test_a_victims_copy_without_an_address_says_how_to_add_one(db):
    ref = db.json(
        "activate",
        "--applicant",
        "Cllr Susan Lee",
        "--victim",
        "Derek Walton",
        "--consent-date",
        "2026-03-01",
        "--received",
        "2026-03-02",
        "--channel",
        "email",
        "--statement",
        "x",
        "--address",
        COUNCILLOR,
    )["reference"]
    refused = db.fails("letter", ref, "acknowledgement", "--to", "victim", "--on", "2026-03-03")
    assert f"trigger case update {ref} --victim-address" in refused.stderr
    db(
        "case",
        "update",
        ref,
        "--victim-address",
        DEREK,
        "--victim-postcode",
        "LE12 9AB",
        "--reason",
        "phoned",
    )
    text = db("letter", ref, "acknowledgement", "--to", "victim", "--on", "2026-03-03", "--format", "txt")
    assert "14 Mill Lane\nShepshed\nLE12 9AB" in text.stdout


def test_show_and_export_keep_the_two_people_apart(db, tmp_path):
    ref = councillor_case(db)
    shown = db.json("show", ref)
    assert shown["applicant"] == "Cllr Susan Lee" and shown["victim"] == "Derek Walton"
    assert shown["applicant_contact"] == {
        "address": COUNCILLOR,
        "postcode": "LE11 2TX",
        "email": "susan.lee@charnwood.example",
        "phone": None,
    }
    assert shown["victim_contact"] == {
        "address": DEREK,
        "postcode": "LE12 9AB",
        "email": None,
        "phone": "07700 900123",
    }
    screen = db("show", ref).stdout
    assert f"Applicant's contact: {COUNCILLOR}, LE11 2TX, susan.lee@charnwood.example" in screen
    assert f"Victim's contact: {DEREK}, LE12 9AB, 07700 900123" in screen
    out = tmp_path / "case.zip"
    db("export", ref, "-o", out)
    with zipfile.ZipFile(out) as z:
        name = next(n for n in z.namelist() if n.endswith(".json"))
        exported = json.loads(z.read(name))
    case = exported.get("case", exported)
    assert case["applicant_contact"]["address"] == COUNCILLOR
    assert case["victim_contact"]["address"] == DEREK


def test_the_victims_contact_is_corrected_with_its_old_value_kept(db):
    ref = councillor_case(db)
    db("case", "update", ref, "--victim-address", "16 Mill Lane, Shepshed", "--reason", "house number")
    shown = db.json("show", ref)
    assert shown["victim_contact"]["address"] == "16 Mill Lane, Shepshed"
    assert shown["applicant_contact"]["address"] == COUNCILLOR
    fix = shown["corrections"][-1]
    assert (fix["field"], fix["old"], fix["new"]) == ("victim_address", DEREK, "16 Mill Lane, Shepshed")


# -- the meeting ----------------------------------------------------------------------------------------


def _to_review(t, ref: str) -> None:
    t("decide", ref, "--met", "--on", "2026-03-05")
    t("assign", ref, "--lead", "cbc", "--reviewer", "Sam Reviewer", "--on", "2026-03-06")


def test_the_invitation_says_where_how_to_join_and_by_when_to_reply(db, tmp_path):
    ref = councillor_case(db)
    _to_review(db, ref)
    db(
        "meeting",
        ref,
        "--at",
        "2026-03-20T10:00",
        "--place",
        "Loughborough Town Hall, Market Place",
        "--link",
        "https://meet.example.org/ct-1",
        "--phone",
        "01509 634 000",
        "--reply-by",
        "2026-03-16",
        "--on",
        "2026-03-09",
    )
    invite = pdf(db, tmp_path, ref, "meeting_invitation", "--on", "2026-03-09")
    assert "The meeting is on 20 March 2026 at 10:00." in invite
    assert "Place: Loughborough Town Hall, Market Place" in invite
    assert "To join online: https://meet.example.org/ct-1" in invite
    assert "To join by telephone: 01509 634 000" in invite
    assert (
        "Derek Walton chooses how to take part. They can come in person, join online, join by telephone, "
        "send someone to speak for them" in invite
    )
    assert "Please tell us by 16 March 2026 how Derek Walton wants to take part." in invite
    meeting = db.json("show", ref)["meeting"]
    assert meeting["place"] == "Loughborough Town Hall, Market Place"
    assert meeting["reply_by"] == "2026-03-16"
    db("case", "update", ref, "--victim-phone", "07700 900999", "--reason", "new number")
    assert db("audit", "verify").exit_code == 0  # the meeting's and the case's rows are what the log says


def test_show_on_an_80_column_terminal_gives_the_whole_meeting(db):
    ref = councillor_case(db)
    _to_review(db, ref)
    link = "https://meet.example.org/charnwood-community-safety/asb-case-review-meetings/ct-2026-0001-march"
    db(
        *("meeting", ref, "--at", "2026-03-20T10:00", "--link", link, "--phone", "01509 634 000 (PIN 4471)"),
        *("--place", "Loughborough Town Hall, Committee Room 2, Market Place, Loughborough LE11 3EB"),
        *("--reply-by", "2026-03-16", "--on", "2026-03-09"),
    )
    [screen] = on_terminal(80, [["show", ref]])
    lines = screen.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Meeting:"))
    assert all(len(line) <= 80 for line in lines[: at + 7] if link not in line), screen
    assert lines[at] == "Meeting: 2026-03-20 at 10:00"
    block = "\n".join(lines[at : at + 7])
    assert (
        "  Place: Loughborough Town Hall, Committee Room 2, Market Place, Loughborough\n    LE11 3EB" in block
    )
    assert f"  Join online:\n    {link}\n" in block  # the link on a line of its own, never split
    assert "  Join by telephone: 01509 634 000 (PIN 4471)\n  Reply by: 2026-03-16" in block
    db("meeting", ref, "--at", "2026-03-20T10:00", "--held", "--on", "2026-03-20")
    shown = db("show", ref).stdout  # a pipe: each line whole
    assert "Meeting: 2026-03-20 at 10:00 (held)\n" in shown
    assert "  Place: Loughborough Town Hall, Committee Room 2, Market Place, Loughborough LE11 3EB\n" in shown


def test_an_online_meeting_is_not_offered_in_person(db, tmp_path):
    ref = councillor_case(db)
    _to_review(db, ref)
    db(
        "meeting",
        ref,
        "--at",
        "2026-03-20T10:00",
        "--link",
        "https://meet.example.org/ct-1",
        "--on",
        "2026-03-09",
    )
    invite = pdf(db, tmp_path, ref, "meeting_invitation", "--on", "2026-03-09")
    assert "They can join online, send someone" in invite
    assert "in person" not in invite


def test_an_invitation_to_a_meeting_with_no_place_is_refused_naming_the_option(db):
    ref = councillor_case(db)
    _to_review(db, ref)
    db("meeting", ref, "--at", "2026-03-20T10:00", "--on", "2026-03-09")
    refused = db.fails("letter", ref, "meeting_invitation", "--on", "2026-03-09")
    assert refused.stderr.count("\n") == 1
    assert "has no place, joining link or telephone; give --place" in refused.stderr
    assert db.json("show", ref)["letters"] == []


def test_a_reply_by_day_after_the_meeting_is_refused(db):
    ref = councillor_case(db)
    _to_review(db, ref)
    refused = db.fails(
        "meeting", ref, "--at", "2026-03-20T10:00", "--place", "Town Hall", "--reply-by", "2026-03-21"
    )
    assert "--reply-by 2026-03-21 is after the meeting" in refused.stderr
    assert db.json("show", ref)["meeting"] is None


def test_the_welsh_invitation_states_the_place_and_the_reply_by_day(db, tmp_path):
    ref = councillor_case(db, language="cy")
    _to_review(db, ref)
    db(
        "meeting",
        ref,
        "--at",
        "2026-03-20T10:00",
        "--place",
        "Neuadd y Dref",
        "--reply-by",
        "2026-03-16",
        "--on",
        "2026-03-09",
    )
    invite = pdf(db, tmp_path, ref, "meeting_invitation", "--on", "2026-03-09")
    assert "Lleoliad: Neuadd y Dref" in invite
    ack = pdf(db, tmp_path, ref, "acknowledgement", "--on", "2026-03-06", "--preview")
    assert "Nid ydym wedi anfon eich cais at yr asiantaethau perthnasol eto (" in ack
    assert "EMH Homes, Leicester, Leicestershire and Rutland Integrated Care Board a Leicestershire" in ack
    assert "erbyn 16 Mawrth 2026 sut yr hoffai Derek Walton gymryd rhan" in invite
    assert "Ynghylch / About Derek Walton" in invite


# -- s.104(3): passed to the relevant bodies --------------------------------------------------------------


def test_nothing_says_every_body_was_told_until_each_is_recorded(db, tmp_path):
    said = db(
        "activate",
        "--applicant",
        "Ann Example",
        "--received",
        "2026-03-02",
        "--channel",
        "online",
        "--statement",
        "Nothing changed",
        "--address",
        "1 High Street, Loughborough",
    ).stdout
    ref = said.split()[0]
    assert "every relevant body" not in said
    assert f"not yet passed to cbc, emh, icb, police: record it with `trigger share {ref}`" in said
    ack = pdf(db, tmp_path, ref, "acknowledgement", "--on", "2026-03-02", "--preview")
    assert "We have not yet passed your application to the relevant agencies" in ack
    assert "every agency" not in ack and "every relevant agency" not in ack

    told = db("share", ref, "--agency", "police", "--agency", "CBC", "--on", "2026-03-03").stdout
    assert "Passed to cbc on 2026-03-03, police on 2026-03-03; not yet passed to emh, icb" in told
    shown = db.json("show", ref)["shared"]
    assert shown["all"] is False
    assert [(s["agency"], s["on"], s["how"]) for s in shown["told"]] == [
        ("cbc", "2026-03-03", "recorded"),
        ("police", "2026-03-03", "recorded"),
    ]
    assert [s["agency"] for s in shown["not_told"]] == ["emh", "icb"]
    ack = pdf(db, tmp_path, ref, "acknowledgement", "--on", "2026-03-03", "--preview")
    assert "We have passed your application to Charnwood Borough Council and Leicestershire Police." in ack
    assert (
        "We have not yet passed it to EMH Homes and Leicester, Leicestershire and Rutland Integrated" in ack
    )

    refused = db.fails("share", ref, "--agency", "police")
    assert "police was told about" in refused.stderr and "on 2026-03-03 already" in refused.stderr
    db("share", ref, "--on", "2026-03-04")
    shown = db.json("show", ref)["shared"]
    assert shown["all"] is True and shown["not_told"] == []
    assert "Passed to every relevant body: cbc on 2026-03-03" in db("show", ref).stdout
    ack = pdf(db, tmp_path, ref, "acknowledgement", "--on", "2026-03-04")
    assert "We have passed your application to every relevant agency:" in ack
    assert "every relevant body has been told" in db.fails("share", ref).stderr
    events = [e["event"] for e in db.json("show", ref)["events"]]
    assert events.count("share") == 2
    assert db("audit", "verify").exit_code == 0  # each notice is what its event says it is


def _as_an_older_engine_opened_it(ref: str) -> None:
    """The notices an engine older than the sharing record wrote at `activate`: one for each agency,
    dated the day received, with nothing to say how (or whether) the application was passed on."""
    raw_sql(
        "INSERT INTO partner_notification (case_id, agency_id, notified_on) "
        "SELECT c.id, a.id, c.received FROM review_case c "
        "JOIN agency a ON a.partnership_id = c.partnership_id "
        "WHERE c.reference = :ref",
        ref=ref,
    )


@sqlite_only  # SQLite's batch migrations rebuild the tables; the rows are the point
def test_a_case_from_before_the_sharing_record_says_not_recorded_never_not_told(db, tmp_path):
    from alembic import command

    from trigger.store import db as database
    from trigger.store.app import get_engine

    ref = councillor_case(db)
    with database.migrating(get_engine(os.environ["TRIGGER_DB"])) as conn:
        command.downgrade(database._config(conn), database.INITIAL)  # the schema before the record
    _as_an_older_engine_opened_it(ref)
    assert "up to date" in db("db", "upgrade").stdout

    shown = db("show", ref).stdout
    assert (
        "Not recorded whether passed to cbc, emh, icb, police (the case was opened before it was "
        f"recorded): record it with `trigger share {ref}`." in shown
    )
    assert "every relevant body" not in shown and "not yet passed" not in shown
    shared = db.json("show", ref)["shared"]
    assert (shared["all"], shared["told"], shared["not_told"]) == (False, [], [])
    assert [(a["agency"], a["listed_on"]) for a in shared["not_recorded"]] == [
        (code, "2026-03-02") for code in ("cbc", "emh", "icb", "police")
    ]
    ack = pdf(db, tmp_path, ref, "acknowledgement", "--on", "2026-03-03", "--preview")
    assert (
        "Our records do not show whether your application was passed to Charnwood Borough Council, EMH "
        "Homes, Leicester, Leicestershire and Rutland Integrated Care Board and Leicestershire Police; we "
        "will make sure it is, and record it." in ack
    )
    assert "every relevant agency" not in ack and "not yet passed" not in ack

    told = db("share", ref, "--agency", "police", "--on", "2026-03-04").stdout
    assert "Passed to police on 2026-03-04; not recorded whether passed to cbc, emh, icb (" in told
    ack = pdf(db, tmp_path, ref, "acknowledgement", "--on", "2026-03-04", "--preview")
    assert "We have passed your application to Leicestershire Police. Our records do not show" in ack
    assert "Passed to every relevant body" in db("share", ref, "--on", "2026-03-05").stdout


def test_an_older_cases_welsh_letter_says_the_record_does_not_show(db, tmp_path):
    ref = councillor_case(db, language="cy")
    _as_an_older_engine_opened_it(ref)
    db("share", ref, "--agency", "cbc", "--on", "2026-03-03")
    ack = pdf(db, tmp_path, ref, "acknowledgement", "--on", "2026-03-03", "--preview")
    assert "Rydym wedi anfon eich cais at Charnwood Borough Council. Nid yw ein cofnodion yn dangos a " in ack
    assert (
        "gafodd eich cais ei anfon at EMH Homes, Leicester, Leicestershire and Rutland Integrated Care Board "
        "a Leicestershire Police; byddwn yn sicrhau ei fod yn cael ei anfon, ac yn cofnodi hynny." in ack
    )
    assert "Nid ydym wedi'i anfon eto" not in ack


def test_sharing_is_refused_before_the_application_was_received(db):
    ref = councillor_case(db)
    refused = db.fails("share", ref, "--on", "2026-03-01")
    assert refused.stderr.count("\n") == 1
    assert db.json("show", ref)["shared"]["told"] == []


def test_share_emails_each_agency_with_an_address_over_smtp_and_records_the_rest(db, servers, monkeypatch):
    server = servers()
    monkeypatch.setenv("TRIGGER_SMTP_URL", server.url())
    monkeypatch.setenv("TRIGGER_MAIL_FROM", "csp@charnwood.example")
    db("agency", "update", "police", "--email", "asb@police.example", "--reason", "their inbox")
    ref = councillor_case(db)
    said = db("share", ref, "--on", "2026-03-03").stdout
    assert "Passed to every relevant body" in said
    shown = {s["agency"]: s["how"] for s in db.json("show", ref)["shared"]["told"]}
    assert shown == {"cbc": "recorded", "emh": "recorded", "icb": "recorded", "police": "email"}
    [msg] = server.handler.messages
    assert msg["To"] == "asb@police.example"
    assert msg["Subject"] == f"ASB Case Review application {ref}: passed to Leicestershire Police (s.104(3))"
    body = msg.get_content()
    assert f"Reference: {ref}" in body and "About: Derek Walton" in body
    assert "Applied for them by: Cllr Susan Lee" in body
    assert "Council Offices" not in body and "Mill Lane" not in body  # no one's address leaves the case


def test_a_send_the_server_refuses_leaves_that_agency_not_told(db, servers, monkeypatch):
    server = servers(Collect(reject=("asb@police.example",)))
    monkeypatch.setenv("TRIGGER_SMTP_URL", server.url())
    monkeypatch.setenv("TRIGGER_MAIL_FROM", "csp@charnwood.example")
    db("agency", "update", "police", "--email", "asb@police.example", "--reason", "their inbox")
    ref = councillor_case(db)
    refused = db.fails("share", ref, "--agency", "police", "--on", "2026-03-03")
    assert refused.stderr.count("\n") == 1
    assert "could not e-mail" in refused.stderr and "police (asb@police.example)" in refused.stderr
    shared = db.json("show", ref)["shared"]
    assert shared["told"] == [] and "share" not in [e["event"] for e in db.json("show", ref)["events"]]


def test_purge_blanks_the_victims_own_contact_too(db):
    ref = db.json(
        "activate",
        "--applicant",
        "Cllr Susan Lee",
        "--victim",
        "Derek Walton",
        "--consent-date",
        "2018-04-30",
        "--received",
        "2018-05-01",
        "--channel",
        "email",
        "--statement",
        "x",
        "--address",
        COUNCILLOR,
        "--victim-address",
        DEREK,
        "--victim-postcode",
        "LE12 9AB",
        "--victim-email",
        "derek@example.org",
        "--victim-phone",
        "07700 900123",
    )["reference"]
    db("withdraw", ref, "--reason", "moved away", "--on", "2018-05-03")
    db("purge", "--closed-before", "2020-01-01")
    columns = "victim_address, victim_postcode, victim_email, victim_phone, address"
    assert raw_sql(f"SELECT {columns} FROM review_case WHERE reference = :ref", ref=ref) == [(None,) * 5]


def test_the_outcome_to_a_councillor_says_the_constituent_was_asked_about_the_plan(db, tmp_path):
    ref = councillor_case(db)
    to_outcome(db, ref, lead="cbc", housing="emh")
    outcome = pdf(db, tmp_path, ref, "outcome", "--on", "2026-03-24")
    assert "Dear Cllr Susan Lee," in outcome and "About Derek Walton" in outcome
    assert "We asked Derek Walton about this action plan before we finished it." in outcome
    copy = pdf(db, tmp_path, ref, "outcome", "--on", "2026-03-24", "--to", "victim")
    assert "Derek Walton 14 Mill Lane Shepshed LE12 9AB" in copy


def test_the_victims_copy_is_emailed_to_the_victim_and_the_applicants_to_her(db, outbox):
    ref = councillor_case(db, victim_email="derek@example.org")
    db("letter", ref, "acknowledgement", "--send", "--on", "2026-03-03")
    db("letter", ref, "acknowledgement", "--send", "--to", "victim", "--on", "2026-03-03")
    sent = [lt["sent"]["to"] for lt in db.json("show", ref)["letters"]]
    assert sent == ["susan.lee@charnwood.example", "derek@example.org"]
    to = sorted(
        message_from_bytes(f.read_bytes(), policy=email_policy.default)["To"] for f in outbox.glob("*.eml")
    )
    assert to == ["derek@example.org", "susan.lee@charnwood.example"]


def test_a_victims_copy_by_email_without_their_address_is_refused(db, outbox):
    ref = councillor_case(db)
    refused = db.fails("letter", ref, "acknowledgement", "--send", "--to", "victim", "--on", "2026-03-03")
    assert refused.stderr.count("\n") == 1 and "the victim has no e-mail address on record" in refused.stderr
    assert db.json("show", ref)["letters"] == [] and not list(outbox.glob("*.eml"))
