"""The applicant told, by e-mail, that their case changed: once per change, by the reminder sweep, with
no personal details, and never again once they said stop, on the phone to an officer or on their own
case page (Starlette's test client over the test's database) (docs/operations.md#telling-the-applicant)."""

from __future__ import annotations

import os
import re
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage

import pytest
from sqlmodel import Session, create_engine, select
from starlette.testclient import TestClient

from tests.support import notify as contract
from tests.support.cases import THREE_COMPLAINTS, add_complaints
from tests.support.mailservers import Collect, Server
from tests.support.webdoor import open_case
from trigger.store.models import ApplicantNotice
from trigger.web.app import create_app
from workflows import PRESETS_DIR

APPLICANT = "ann.example@example.org"
# what must never leave in a notice: the applicant's and victim's names, address, statement, complaints
PERSONAL = ("Ann", "Example", "Vera", "Victim", "Secret Street", "LE11 9ZZ", "shed fire", "07700 900123")


@pytest.fixture
def smtp(monkeypatch):
    """`smtp(**handler_options)`: a real SMTP server on loopback that TRIGGER_SMTP_URL points at."""
    started = []

    def start(**options) -> Server:
        server = Server(Collect(**options)).start()
        started.append(server)
        monkeypatch.setenv("TRIGGER_SMTP_URL", server.url())
        monkeypatch.setenv("TRIGGER_MAIL_FROM", "Community Safety <community.safety@council.example>")
        return server

    yield start
    for s in started:
        s.stop()


def applicant_case(db, language: str = "en") -> str:
    ref = db.json(
        "activate",
        "--applicant",
        "Ann Example",
        "--victim",
        "Vera Victim",
        "--consent-date",
        "2026-03-01",
        "--received",
        "2026-03-02",
        "--channel",
        "online",
        "--email",
        APPLICANT,
        "--phone",
        "07700 900123",
        "--address",
        "1 Secret Street",
        "--postcode",
        "LE11 9ZZ",
        "--language",
        language,
        "--statement",
        "Nothing has changed since the shed fire",
    )["reference"]
    add_complaints(db, ref, THREE_COMPLAINTS, on="2026-03-03")
    return ref


def sweep(db, now: str = "2026-06-30T08:00") -> dict:
    return db.json("reminders", "run", "--now", now)["notices"]


def to_applicant(server: Server) -> list[EmailMessage]:
    return [m for m in server.handler.messages if m["To"] == APPLICANT]


def notices(channel: str = "email") -> list[ApplicantNotice]:
    with Session(create_engine(os.environ["TRIGGER_DB"])) as s:
        query = select(ApplicantNotice).where(ApplicantNotice.channel == channel)
        return list(s.exec(query.order_by(ApplicantNotice.id)))


def assert_nothing_personal(msg: EmailMessage) -> None:
    raw = bytes(msg).decode("ascii", "replace")
    text = msg.get_content()
    for personal in PERSONAL:
        assert personal not in raw and personal not in text, personal


def test_each_stage_change_and_letter_tells_the_applicant_once_and_nothing_personal(db, smtp, tmp_path):
    server = smtp()
    ref = applicant_case(db)
    assert sweep(db)["sent"] == 0  # arriving is told by the acknowledgement, not by a notice

    db("decide", ref, "--met", "--on", "2026-03-05")  # deciding the threshold -> under review
    told = sweep(db)
    assert told["sent"] == 1
    assert sweep(db)["sent"] == 0  # the sweep run again sends nothing twice
    [moved] = to_applicant(server)
    assert moved["Subject"] == f"News about your ASB Case Review ({ref})"
    body = moved.get_content()
    assert "your case has moved to a new stage." in body
    assert "private link we gave you in your acknowledgement letter or email" in body
    assert "/case/" not in body  # the door has no public address in this policy: no address to give
    assert moved["Auto-Submitted"] == "auto-generated"
    assert_nothing_personal(moved)

    db(
        "assign", ref, "--lead", "cbc", "--reviewer", "Sam Reviewer", "--on", "2026-03-06"
    )  # still under review
    db("hours", "log", ref, "--agency", "cbc", "--person", "Sam", "--hours", "2", "--date", "2026-03-07")
    assert sweep(db)["sent"] == 0

    db("letter", ref, "threshold_met", "--format", "txt", "--on", "2026-03-07")  # a letter issued
    db("evidence", ref, "--agency", "police", "--requested", "2026-03-07", "--due", "2026-03-21")
    db("letter", ref, "information_request", "--to", "police", "--format", "txt", "--on", "2026-03-07")
    assert sweep(db)["sent"] == 1  # the applicant's letter only, not the agency's
    letter = to_applicant(server)[-1]
    assert "There is news about your ASB Case Review" in letter.get_content()
    assert "we have sent you a letter." in letter.get_content()
    assert_nothing_personal(letter)

    db("meeting", ref, "--at", "2026-03-20T10:00", "--held", "--victim-involvement", "attend")
    db("finding", ref, "--category", "silo_working", "--text", "Reports never shared", "--on", "2026-03-20")
    db(
        "outcome",
        ref,
        "--no-recommendations",
        "Response was reasonable",
        "--victim-consulted",
        "--on",
        "2026-03-23",
    )
    db("close", ref, "--reason", "done", "--on", "2026-05-01")
    assert sweep(db)["sent"] == 2  # outcome issued; closed
    assert len(to_applicant(server)) == 4
    assert [(n.stage, n.letters) for n in notices()] == [
        ("review", 0),
        (None, 1),
        ("outcome", 0),
        ("closed", 0),
    ]
    for msg in to_applicant(server):
        assert_nothing_personal(msg)
    # each notice sent is in the case's record: the day, the channel, never the address
    shown = db.json("show", ref)
    told = [e for e in shown["events"] if e["event"] == "applicant_notice"]
    assert len(told) == 4 and all(APPLICANT not in str(e) for e in told)
    assert "The tables hold what the log says: 1 case replayed." in db("audit", "verify").stdout


def test_no_notice_after_the_applicant_turned_them_off(db, smtp):
    server = smtp()
    ref = applicant_case(db)
    db("decide", ref, "--met", "--on", "2026-03-05")  # made, not yet sent
    db("case", "update", ref, "--notices", "off", "--reason", "asked by phone to stop the e-mails")
    # the e-mail made before, and its text (texts go through GOV.UK Notify only), are cancelled
    assert sweep(db) == {"sent": 0, "failed": [], "gave_up": [], "cancelled": 2}
    db("assign", ref, "--lead", "cbc", "--reviewer", "Sam Reviewer", "--on", "2026-03-06")
    db("letter", ref, "threshold_met", "--format", "txt", "--on", "2026-03-07")
    assert sweep(db)["sent"] == 0
    assert to_applicant(server) == []
    shown = db.json("show", ref)
    assert any(c["field"] == "notices" and c["new"] == "no" for c in shown["corrections"])
    db("case", "update", ref, "--notices", "on", "--reason", "asked to have them again")
    db("withdraw", ref, "--reason", "moved away", "--on", "2026-03-10")
    assert sweep(db)["sent"] == 1


def test_a_notice_not_sent_while_mail_is_down_is_sent_once_when_it_comes_back(db, smtp):
    server = smtp()
    ref = applicant_case(db)
    db("decide", ref, "--met", "--on", "2026-03-05")
    server.stop()  # the mail server goes away
    first = sweep(db, "2026-06-30T08:00")
    assert first["sent"] == 0 and len(first["failed"]) == 1
    status = db.json("reminders", "status")["notices"]
    assert status["counts"]["pending"] == 1
    [waiting] = status["undelivered"]
    assert (waiting["reference"], waiting["channel"], waiting["status"]) == (ref, "email", "retrying")
    assert APPLICANT not in str(status)
    assert f"{ref}  notice {waiting['id']} by email: retrying (1 attempt)" in db("reminders", "status").stdout
    server.start()  # and comes back on its port
    assert sweep(db, "2026-06-30T08:01")["sent"] == 0  # backing off
    assert sweep(db, "2026-06-30T09:00")["sent"] == 1
    assert sweep(db, "2026-06-30T10:00")["sent"] == 0
    assert len(to_applicant(server)) == 1
    [row] = notices()
    assert row.status == "sent" and row.attempts == 2
    assert len([e for e in db.json("show", ref)["events"] if e["event"] == "applicant_notice"]) == 1


def test_a_refused_address_is_given_up_and_never_kept_or_shown(db, smtp):
    smtp(reject=(APPLICANT,))  # 550 at RCPT: the server quotes the address it refused
    ref = applicant_case(db)
    db("decide", ref, "--met", "--on", "2026-03-05")
    run = db("reminders", "run", "--now", "2026-06-30T08:00")
    told = db.json("reminders", "run", "--now", "2026-06-30T08:05", "--json")
    status = db("reminders", "status")
    listed = db.json("reminders", "status")["notices"]
    [row] = notices()
    assert row.status == "failed" and row.failure == "refused"
    assert "550" in row.last_error and "the applicant's address" in row.last_error
    for seen in (run.stdout + run.stderr, str(told), status.stdout, str(listed), row.last_error):
        assert APPLICANT not in seen.lower(), seen


def test_a_welsh_speaking_applicant_is_told_in_welsh_first_then_english(db, smtp):
    server = smtp()
    ref = applicant_case(db, "cy")
    db("decide", ref, "--met", "--on", "2026-03-05")
    assert sweep(db)["sent"] == 1
    [msg] = to_applicant(server)
    assert msg["Subject"] == f"Newyddion am eich Adolygiad Achos / News about your ASB Case Review ({ref})"
    assert msg["Content-Language"] == "cy, en"
    body = msg.get_content()
    welsh = body.index("Mae newyddion am eich Adolygiad Achos")
    assert welsh < body.index("There is news about your ASB Case Review")
    assert "mae eich achos wedi symud i gam newydd" in body
    assert_nothing_personal(msg)


def test_a_letter_emailed_to_the_applicant_is_its_own_notice(db, smtp):
    server = smtp()
    ref = applicant_case(db)
    db("letter", ref, "acknowledgement", "--send", "--on", "2026-03-03")
    assert sweep(db)["sent"] == 0
    [letter] = to_applicant(server)
    assert letter["Subject"] == f"Your application for an ASB Case Review ({ref})"
    assert notices() == []


def test_a_copy_to_the_victim_is_not_news_of_a_letter_to_the_applicant(db, smtp, tmp_path):
    server = smtp()
    ref = applicant_case(db)
    db(
        "case",
        "update",
        ref,
        "--victim-address",
        "2 Other Road",
        "--victim-postcode",
        "LE11 8AA",
        "--reason",
        "given",
    )
    sweep(db)  # what the case's start owed the applicant
    before = len(to_applicant(server))
    db("letter", ref, "acknowledgement", "--to", "victim", "--on", "2026-03-03", "-o", tmp_path / "copy.html")
    assert sweep(db)["sent"] == 0
    assert len(to_applicant(server)) == before
    db("letter", ref, "acknowledgement", "--on", "2026-03-03", "-o", tmp_path / "theirs.html")
    assert sweep(db)["sent"] == 1  # their own letter is theirs to be told of


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page)[1]


def test_the_applicant_stops_the_messages_from_their_case_page_in_welsh_or_english(db, smtp):
    server = smtp()
    ref = applicant_case(db, "cy")
    link = db("web", "link", ref).stdout.strip()
    with TestClient(create_app(), follow_redirects=False) as door:
        page = open_case(door, link)
        assert "E-byst am eich achos" in page and "Atal y negeseuon hyn" in page  # Welsh first
        english = door.get("/case?lang=en")
        page = door.get("/case").text
        assert english.status_code == 303 and "Emails about your case" in page
        assert "We email you when your case moves to a new stage" in page
        # a form without its token, or with another visit's, records nothing
        assert door.post("/case/notices", data={"notices": "off"}).status_code == 403
        assert door.post("/case/notices", data={"notices": "off", "csrf_token": "0" * 64}).status_code == 403
        assert db.json("show", ref)["corrections"] == []
        sent = door.post("/case/notices", data={"notices": "off", "csrf_token": csrf_of(page)})
        assert sent.status_code == 303 and sent.headers["location"] == "/case#notices"
        page = door.get("/case").text
        assert "You asked us not to email you when your case changes." in page
        assert "Start these messages again" in page
    [correction] = db.json("show", ref)["corrections"]
    assert (correction["field"], correction["old"], correction["new"]) == ("notices", "yes", "no")
    assert correction["by"] == "applicant (online)"
    db("decide", ref, "--met", "--on", "2026-03-05")
    assert sweep(db)["sent"] == 0 and to_applicant(server) == []


@pytest.fixture
def notifying(trigger, monkeypatch, tmp_path):
    """A partnership that sends through GOV.UK Notify (its API on loopback), texts to applicants included."""
    state, server = contract.serve()
    monkeypatch.setenv("TRIGGER_NOTIFY_API_KEY", contract.API_KEY)
    monkeypatch.setenv("TRIGGER_NOTIFY_URL", state.url)
    monkeypatch.delenv("TRIGGER_SMTP_URL", raising=False)
    policy = tmp_path / "notify.toml"
    policy.write_text(
        (PRESETS_DIR / "llr.toml").read_text().replace('version = "2022.02"', 'version = "2022.02-notify"')
        + f'\n[notify]\nreminder_template = "{contract.REMINDER_TEMPLATE}"\n'
        f'notice_template = "{contract.NOTICE_TEMPLATE}"\n'
    )
    trigger("init", "--policy", policy, "--manager-email", "csm@example.gov.uk")
    yield state
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_through_notify_the_applicant_is_emailed_and_texted_once_per_change(notifying, trigger):
    ref = applicant_case(trigger, "cy")
    sweep(trigger, "2026-03-06T08:00")  # the reminders to staff due by then
    trigger("decide", ref, "--met", "--on", "2026-03-05")
    notifying.fail_next.append(500)  # Notify's error on the first send: kept and retried
    first = sweep(trigger, "2026-03-06T08:00")
    assert first["sent"] == 1 and len(first["failed"]) == 1
    assert sweep(trigger, "2026-03-06T09:00")["sent"] == 1
    assert sweep(trigger, "2026-03-06T10:00")["sent"] == 0
    emails = [n for n in notifying.of("email") if n["email_address"] == APPLICANT]
    [text] = notifying.of("sms")
    assert len(emails) == 1
    assert text["phone_number"] == "07700 900123" and text["template_id"] == contract.NOTICE_TEMPLATE
    body = text["personalisation"]["body"]
    assert body.startswith(
        f"Newyddion am eich Adolygiad Achos {ref}: mae eich achos wedi symud i gam newydd."
    )
    assert f"News about your ASB Case Review {ref}: your case has moved to a new stage." in body
    for personal in PERSONAL:
        assert personal not in body and personal not in str(emails[0]["personalisation"]), personal
    assert [n.status for n in notices("sms")] == ["sent"]
    told = [e for e in trigger.json("show", ref)["events"] if e["event"] == "applicant_notice"]
    assert len(told) == 2


@pytest.mark.slow
def test_an_applicant_told_only_by_text_can_stop_the_texts_at_their_case_page(notifying, trigger):
    ref = trigger.json(
        "activate",
        *("--applicant", "Ann Example", "--received", "2026-03-02", "--channel", "phone"),
        *("--phone", "07700 900123", "--statement", "Nothing has changed since the shed fire"),
    )["reference"]
    add_complaints(trigger, ref, THREE_COMPLAINTS, on="2026-03-03")
    link = trigger("web", "link", ref).stdout.strip()
    with TestClient(create_app(), follow_redirects=False) as door:
        page = open_case(door, link)
        assert "Texts about your case" in page and "We text you when your case moves" in page
        assert "email" not in page.split('id="notices"')[1].split("</form>")[0].lower()
        sent = door.post("/case/notices", data={"notices": "off", "csrf_token": csrf_of(page)})
        assert sent.status_code == 303
        page = door.get("/case").text
        assert "You asked us not to text you when your case changes." in page
    trigger("decide", ref, "--met", "--on", "2026-03-05")
    sweep(trigger, "2026-03-06T08:00")
    assert notifying.of("sms") == []


def test_without_smtp_the_notice_goes_to_the_outbox_and_names_the_doors_address(
    trigger, tmp_path, monkeypatch
):
    policy = tmp_path / "web.toml"
    text = (PRESETS_DIR / "llr.toml").read_text().replace("# [web]\n# base_url = ", "[web]\nbase_url = ")
    policy.write_text(text)
    monkeypatch.delenv("TRIGGER_SMTP_URL", raising=False)
    monkeypatch.setenv("TRIGGER_OUTBOX", str(tmp_path / "outbox"))
    trigger("init", "--policy", policy, "--manager-email", "csm@example.gov.uk")
    ref = applicant_case(trigger)
    trigger("decide", ref, "--met", "--on", "2026-03-05")
    assert sweep(trigger)["sent"] == 1
    [row] = notices()
    msg = message_from_bytes(
        (tmp_path / "outbox" / row.outbox_file).read_bytes(), policy=email_policy.default
    )
    assert msg["To"] == APPLICANT and msg["Subject"] == f"News about your ASB Case Review ({ref})"
    body = msg.get_content()
    assert "(it begins https://apply.example.gov.uk/case/)" in body
    assert "If you have lost your link, contact" in body
    assert_nothing_personal(msg)
