"""Reminders sent once each, as proper e-mails, through a real SMTP server (aiosmtpd) or the outbox
(docs/architecture.md#deadlines-and-reminders, docs/architecture.md#sending-mail)."""

from __future__ import annotations

import os
import signal
import threading
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from email import policy as email_policy
from email.utils import parsedate_to_datetime

import pytest
from sqlmodel import Session, create_engine, select

from tests.support.mailservers import MANAGER, Collect, Server, make_cases, run_out_claims
from tests.support.racers import at_once
from tests.support.serving import Serve
from trigger.deadlines import reminders, service
from trigger.store.app import App
from trigger.store.models import Reminder


@pytest.fixture
def smtp(monkeypatch):
    """`smtp(**handler_options)`: a real SMTP server on loopback that TRIGGER_SMTP_URL points at."""
    started = []

    def start(**options) -> Collect:
        server = Server(Collect(**options)).start()
        started.append(server)
        monkeypatch.setenv("TRIGGER_SMTP_URL", server.url())
        monkeypatch.setenv("TRIGGER_MAIL_FROM", "Community Safety <community.safety@council.example>")
        return server.handler

    yield start
    for s in started:
        s.stop()


@pytest.fixture
def cases_(db):
    return lambda n=1: make_cases(db, n)


def run(db, now: str, *extra):
    return db.json("reminders", "run", "--now", now, *extra)


def rows() -> list[Reminder]:
    with Session(create_engine(os.environ["TRIGGER_DB"])) as s:
        return list(s.exec(select(Reminder).order_by(Reminder.id)))


def test_each_due_reminder_is_sent_once_as_a_proper_email(db, cases_, smtp):
    server = smtp()
    [ref] = cases_(1)
    assert run(db, "2026-12-23T08:00")["sent"] == 1  # warning: acknowledge due 23 Dec
    first = run(db, "2026-12-24T08:00")
    assert first["sent"] == 1 and first["reminders"][0]["kind"] == "overdue"
    assert run(db, "2026-12-24T09:00")["sent"] == 0  # a rerun never sends one twice
    warning, overdue = server.messages
    assert warning["Subject"] == f"Deadline approaching: {ref} acknowledgement due Wednesday 23 December 2026"
    assert overdue["Subject"] == f"Deadline missed: {ref} acknowledgement due Wednesday 23 December 2026"
    for msg in server.messages:
        assert msg["From"] == "Community Safety <community.safety@council.example>"
        assert msg["To"] == MANAGER
        assert msg["Auto-Submitted"] == "auto-generated"
        assert msg["Message-ID"].endswith("@council.example>")
        sent = parsedate_to_datetime(msg["Date"])
        assert sent.tzinfo is not None and abs(datetime.now(UTC) - sent) < timedelta(minutes=5)
    assert len({m["Message-ID"] for m in server.messages}) == 2
    body = overdue.get_content()
    assert f"Case: {ref} (victim V.V.)" in body
    assert "It was due on Wednesday 23 December 2026." in body
    assert f"    trigger letter {ref} acknowledgement --format pdf -o {ref}-acknowledgement.pdf" in body
    assert "2026-12-23" not in body  # UK long dates only
    raw = b"".join(bytes(m) for m in server.messages)
    for personal in (b"Vera", b"Victim", b"Ann", b"Secret Street"):
        assert personal not in raw


def test_each_deadline_names_its_next_step_as_a_command(db, cases_, smtp):
    server = smtp()
    [ref] = cases_(1)
    run(db, "2027-01-08T08:00")
    bodies = {m["Subject"]: m.get_content() for m in server.messages}
    decision = next(b for s, b in bodies.items() if s.startswith("Deadline missed") and "threshold" in s)
    assert f"trigger decide {ref} --met" in decision and f"trigger check {ref}" in decision
    escalation = next(b for s, b in bodies.items() if s.startswith("Escalation"))
    assert "comes to you as the manager" in escalation


def test_a_temporary_refusal_backs_off_and_is_sent_once(db, cases_, smtp):
    server = smtp(refuse=1)
    cases_(1)
    out = run(db, "2026-12-23T08:00")
    assert out["sent"] == 0 and len(out["failed"]) == 1 and "451" in out["failed"][0]["error"]
    assert out["failed"][0]["next_attempt"] == "2026-12-23T08:02:00+00:00"  # two minutes at first
    assert server.messages == []
    [r] = [r for r in rows() if r.id == out["failed"][0]["id"]]
    assert (r.kind, r.status, r.attempts) == ("warning", "pending", 1) and "451" in r.last_error
    assert r.next_attempt_at.replace(tzinfo=UTC) == datetime(2026, 12, 23, 8, 2, tzinfo=UTC)
    assert run(db, "2026-12-23T08:01")["sent"] == 0  # still backing off
    assert run(db, "2026-12-23T08:05")["sent"] == 1
    assert run(db, "2026-12-23T08:30")["sent"] == 0
    assert len(server.messages) == 1 and server.refused == 1


def test_smtp_login(db, cases_, monkeypatch):
    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        seen.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.login == b"csp" and auth_data.password == b"s3cret")

    server = Server(Collect(), authenticator=authenticator, auth_require_tls=False).start()
    try:
        monkeypatch.setenv("TRIGGER_SMTP_URL", f"smtp://csp:s3cret@127.0.0.1:{server.port}")
        monkeypatch.setenv("TRIGGER_MAIL_FROM", "csp@council.example")
        cases_(1)
        assert run(db, "2026-12-23T08:00")["sent"] == 1
        assert seen == [(b"csp", b"s3cret")] and len(server.handler.messages) == 1
    finally:
        server.stop()


def test_smtp_without_a_from_address_is_refused_before_anything_is_claimed(db, cases_, smtp):
    server = smtp()
    os.environ.pop("TRIGGER_MAIL_FROM")
    cases_(1)
    before = [(r.status, r.claimed_by) for r in rows()]
    result = db.fails("reminders", "run", "--now", "2027-01-08T08:00")
    assert result.stderr.startswith("Error: TRIGGER_MAIL_FROM is not set")
    assert len(result.stderr.strip().splitlines()) == 1
    assert [(r.status, r.claimed_by) for r in rows()] == before and server.messages == []
    os.environ["TRIGGER_MAIL_FROM"] = "not an address"
    assert "is not an e-mail address" in db.fails("reminders", "run").stderr


def test_outbox_when_no_smtp(db, cases_, tmp_path, monkeypatch):
    monkeypatch.setenv("TRIGGER_OUTBOX", str(tmp_path / "out"))
    [ref] = cases_(1)
    dry = db("reminders", "run", "--now", "2027-01-08T08:00", "--dry-run").stdout
    assert "would send" in dry and "nothing sent" in dry
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").glob("*.eml"))
    out = run(db, "2027-01-08T08:00")
    # overdue + escalation for acknowledge and threshold decision; the late warnings are superseded
    assert out["sent"] == 4 and out["cancelled"] == 2
    files = sorted((tmp_path / "out").glob("*.eml"))
    assert len(files) == 4
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in files)
    raw = files[0].read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n")  # mail's CRLF line ends, as a mail server stores it
    msg = message_from_bytes(raw, policy=email_policy.default)
    assert ref in msg["Subject"] and msg["From"] == "community-trigger@localhost"
    assert msg["Date"] and msg["Message-ID"] and msg["Auto-Submitted"] == "auto-generated"
    # Exchange sends no out-of-office replies back, and still returns bounces
    assert msg["X-Auto-Response-Suppress"] == "OOF, AutoReply"


def test_a_deadline_only_the_manager_hears_of_is_a_warning(db, case, smtp):
    server = smtp()
    db("decide", case, "--met", "--on", "2026-03-04")
    db("assign", case, "--lead", "police", "--reviewer", "Rob Reviewer", "--on", "2026-03-05")
    result = db("reminders", "run", "--now", "2026-04-02T08:00")  # review due 1 April: overdue
    assert f"warning: {case}: only the manager was told of the review deadline" in result.stderr
    [overdue] = [
        m for m in server.messages if m["Subject"].startswith("Deadline missed") and "review" in m["Subject"]
    ]
    assert overdue["To"] == MANAGER
    body = overdue.get_content()
    assert "WARNING: nobody but you has been told of this deadline" in body
    assert (
        "the reviewer has no e-mail\naddress" in body.replace("\r\n", "\n")
        and f"trigger outcome {case}" in body
    )


def test_a_crash_between_claim_and_send_keeps_the_claim_until_it_runs_out(db, cases_):
    cases_(1)
    app = App()

    class Crash:
        mail_from = "csp@council.example"

        def describe(self):
            return "crashing"

        def send(self, msg, name):
            raise KeyboardInterrupt  # the process dies mid-send

        def close(self):
            pass

    now = datetime(2026, 12, 23, 8, 0, tzinfo=UTC)
    with pytest.raises(KeyboardInterrupt):
        reminders.run(app, now, channel=Crash())
    sent = []

    class Keep(Crash):
        def send(self, msg, name):
            sent.append(msg["Subject"])

    assert reminders.run(app, now, channel=Keep()).sent == []  # its claim (a minute) has not run out
    run_out_claims()  # the minute passes
    assert len(reminders.run(app, now, channel=Keep()).sent) == 1
    assert len(sent) == 1


def test_two_threads_never_double_send(db, cases_):
    cases_(6)
    app_now = datetime(2027, 1, 8, 8, 0, tzinfo=UTC)
    sent, lock = [], threading.Lock()

    class Memory:
        mail_from = "csp@council.example"

        def describe(self):
            return "memory"

        def send(self, msg, name):
            with lock:
                sent.append(name)

        def close(self):
            pass

    barrier = threading.Barrier(4)
    results = []

    def worker():
        barrier.wait()
        results.append(reminders.run(App(), app_now, channel=Memory()))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sent) == 24 and len(set(sent)) == 24  # 4 per case, each once
    assert sum(len(r.sent) for r in results) == 24


@pytest.mark.slow
def test_two_processes_never_double_send(db, cases_, smtp):
    server = smtp()
    cases_(8)
    outs = at_once([["cli.py", "reminders", "run", "--now", "2027-01-08T08:00"]] * 3)
    assert all(r.returncode == 0 for r in outs), outs
    keys = [(m["To"], m["Subject"]) for m in server.messages]
    assert len(keys) == 32 and len(set(keys)) == 32


@pytest.mark.slow
def test_serve_sweeps_and_stops_cleanly_on_sigterm(db, cases_, tmp_path):
    cases_(1)
    serve = Serve(env={"TRIGGER_OUTBOX": str(tmp_path / "out")})
    try:
        serve.wait_until(serve.swept, "its first sweep")
        serve.signal(signal.SIGTERM)
        assert serve.finish() == 0, serve.log  # stopped by the signal, not by the next sweep an hour away
    finally:
        serve.kill()
    assert serve.out == []
    assert sum(line.startswith("sweep ") for line in serve.lines) == 1
    assert any("stopped" in line for line in serve.lines)


@pytest.mark.slow
def test_a_signal_while_it_starts_its_jobs_stops_it_cleanly(db, cases_, tmp_path):
    # the signal lands while the scheduler is still handing out the first jobs (a moment that once
    # deadlocked the service when its signal handler stopped the scheduler itself)
    cases_(1)
    serve = Serve(env={"TRIGGER_OUTBOX": str(tmp_path / "out")})
    try:
        serve.wait_until(lambda: any(line.startswith("serving:") for line in serve.lines), "its start")
        serve.signal(signal.SIGTERM)
        assert serve.finish() == 0, serve.log
    finally:
        serve.kill()
    assert serve.lines[-1] == "stopped", serve.log
    assert sum(line.startswith("sweep ") for line in serve.lines) <= 1


class Keep:
    mail_from = "csp@council.example"

    def __init__(self, fail: bool = False):
        self.messages, self.fail = [], fail

    def describe(self):
        return "memory"

    def send(self, msg, name):
        if self.fail:
            raise ConnectionRefusedError(111, "Connection refused")
        self.messages.append(msg)

    def close(self):
        pass


def test_morning_digest_on_working_days_once_a_day(db, cases_):
    [ref] = cases_(1)
    app = App()
    # Mon 28 Dec 2026 is the Boxing Day substitute: no digest
    assert service.digest(app, datetime(2026, 12, 28, 7, 30, tzinfo=UTC), channel=Keep())["sent"] == 0
    keep = Keep()
    out = service.digest(app, datetime(2026, 12, 29, 7, 30, tzinfo=UTC), channel=keep)
    assert out["sent"] == 1 and keep.messages[0]["To"] == MANAGER
    assert keep.messages[0]["Subject"] == "Community Trigger deadlines for Tuesday 29 December 2026: 1"
    assert keep.messages[0]["Auto-Submitted"] == "auto-generated"
    body = keep.messages[0].get_content()
    assert f"{ref}  acknowledge" in body and "OVERDUE" in body and "Ann" not in body and "Vera" not in body
    again = service.digest(app, datetime(2026, 12, 29, 9, 0, tzinfo=UTC), channel=Keep())
    assert again == {"date": "2026-12-29", "skipped": "already sent", "sent": 0}


def test_a_digest_whose_send_failed_is_retried_not_marked_sent(db, cases_):
    cases_(1)
    app = App()
    failed = service.digest(app, datetime(2026, 12, 29, 7, 30, tzinfo=UTC), channel=Keep(fail=True))
    assert failed["sent"] == 0 and "connection refused" in failed["failed"][0]
    assert service.digest_pending(app, datetime(2026, 12, 29, 7, 35, tzinfo=UTC), (7, 30))
    keep = Keep()
    assert service.digest(app, datetime(2026, 12, 29, 7, 35, tzinfo=UTC), channel=keep)["sent"] == 1
    assert len(keep.messages) == 1
    assert not service.digest_pending(app, datetime(2026, 12, 29, 7, 40, tzinfo=UTC), (7, 30))
    assert service.digest(app, datetime(2026, 12, 29, 9, 0, tzinfo=UTC), channel=Keep())["sent"] == 0


def test_a_countys_digest_tells_each_partnerships_manager_of_its_own_cases_only(db, cases_):
    """A county database: the morning digest run for the whole county gives each partnership's manager
    the deadlines of their own partnership's cases (unassigned, so the manager is the one answerable)."""
    [ours] = cases_(1)
    charnwood = "csp@charnwood.example.gov.uk"
    db(*"partnership add cha --name Charnwood --policy llr --manager-email".split(), charnwood)
    theirs = db.json(
        *"activate --partnership cha --applicant Bo --received 2026-12-01 --channel online".split(),
        *("--statement", "Nothing has changed"),
    )["reference"]
    keep = Keep()
    out = service.digest(App(), datetime(2026, 12, 29, 7, 30, tzinfo=UTC), channel=keep)
    assert out["sent"] == 2
    told = {m["To"]: m.get_content() for m in keep.messages}
    assert set(told) == {MANAGER, charnwood}
    assert ours in told[MANAGER] and theirs not in told[MANAGER]
    assert theirs in told[charnwood] and ours not in told[charnwood]


def test_a_digest_never_tried_is_due_once_its_time_has_passed(db, cases_):
    cases_(1)
    app = App()
    assert not service.digest_pending(app, datetime(2026, 12, 29, 7, 0, tzinfo=UTC), (7, 30))
    assert service.digest_pending(app, datetime(2026, 12, 29, 10, 0, tzinfo=UTC), (7, 30))  # serve was down
    assert not service.digest_pending(app, datetime(2026, 12, 28, 10, 0, tzinfo=UTC), (7, 30))  # holiday


def test_bad_now_is_one_clear_line(db):
    result = db.fails("reminders", "run", "--now", "tomorrow")
    assert "--now 'tomorrow' is not an ISO date" in result.stderr and "Traceback" not in result.stderr


def test_dates_read_as_uk_long_dates():
    from trigger.rules.dates import long_date_with_weekday

    assert long_date_with_weekday(date(2027, 1, 8)) == "Friday 8 January 2027"
    assert long_date_with_weekday(date(2026, 12, 28)) == "Monday 28 December 2026"
