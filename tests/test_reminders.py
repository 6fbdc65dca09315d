"""Reminders sent once each, through a real SMTP server (aiosmtpd) or the outbox
(docs/architecture.md#deadlines-and-reminders)."""

from __future__ import annotations

import os
import select as _select
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path

import pytest
import time_machine
from aiosmtpd.controller import Controller
from sqlmodel import Session, create_engine

from trigger import reminders
from trigger.app import App
from trigger.models import Reminder

ROOT = Path(__file__).resolve().parent.parent


class Collect:
    """An SMTP handler that keeps what it receives; `refuse` first answers that many messages with 451."""

    def __init__(self, refuse: int = 0):
        self.messages, self.refuse, self.refused = [], refuse, 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.refused < self.refuse:
                self.refused += 1
                return "451 4.3.0 Mailbox busy, try again later"
            self.messages.append(message_from_bytes(envelope.content, policy=email_policy.default))
        return "250 OK"


def free_port() -> int:
    # aiosmtpd's Controller cannot take port=0 (it probes the port on start): pick a free port explicitly
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(monkeypatch):
    def start(refuse: int = 0) -> Collect:
        handler = Collect(refuse)
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        started.append(controller)
        monkeypatch.setenv("TRIGGER_SMTP_URL", f"smtp://127.0.0.1:{port}")
        return handler

    started = []
    yield start
    for c in started:
        c.stop()


@pytest.fixture
def cases_(db):
    """Cases received 22 Dec 2026 (created from a later day), nothing done on them."""

    def make(n: int = 1, reviewer: bool = False) -> list[str]:
        refs = []
        with time_machine.travel(date(2027, 6, 1), tick=False):
            for i in range(n):
                ref = db.json(
                    "activate",
                    "--applicant",
                    f"Ann Example{i}",
                    "--victim",
                    f"Vera Victim{i}",
                    "--consent-date",
                    "2026-12-20",
                    "--received",
                    "2026-12-22",
                    "--channel",
                    "online",
                    "--address",
                    "1 Secret Street",
                    "--statement",
                    "Nothing changed",
                )["reference"]
                refs.append(ref)
        return refs

    return make


def run(db, now: str, *extra):
    return db.json("reminders", "run", "--now", now, *extra)


def test_smtp_sends_each_due_reminder_once_with_initials_only(db, cases_, smtp):
    server = smtp()
    [ref] = cases_(1)
    assert run(db, "2026-12-23T08:00")["sent"] == 1  # warning: acknowledge due 23 Dec
    first = run(db, "2026-12-24T08:00")
    assert first["sent"] == 1 and first["reminders"][0]["kind"] == "overdue"
    assert run(db, "2026-12-24T09:00")["sent"] == 0  # a rerun never sends one twice
    subjects = [m["Subject"] for m in server.messages]
    assert subjects == [
        f"Deadline approaching: {ref} acknowledge due 2026-12-23",
        f"Deadline missed: {ref} acknowledge due 2026-12-23",
    ]
    body = server.messages[1].get_content()
    assert ref in body and "acknowledge" in body and "2026-12-23" in body and "victim V.V." in body
    raw = b"".join(bytes(m) for m in server.messages)
    for personal in (b"Vera", b"Victim", b"Ann", b"Secret Street"):
        assert personal not in raw
    assert {m["To"] for m in server.messages} == {"csm@example.gov.uk"}


def test_refused_send_is_retried_next_run_and_sent_once(db, cases_, smtp):
    server = smtp(refuse=1)
    cases_(1)
    out = run(db, "2026-12-23T08:00")
    assert out["sent"] == 0 and len(out["failed"]) == 1 and "451" in out["failed"][0]["error"]
    assert server.messages == []
    with Session(create_engine(os.environ["TRIGGER_DB"])) as s:
        r = s.get(Reminder, out["failed"][0]["id"])
        assert (r.kind, r.status, r.attempts) == ("warning", "pending", 1) and "451" in r.last_error
    assert run(db, "2026-12-23T08:15")["sent"] == 1
    assert run(db, "2026-12-23T08:30")["sent"] == 0
    assert len(server.messages) == 1 and server.refused == 1


def test_smtp_login(db, cases_, monkeypatch):
    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult

        seen.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.login == b"csp" and auth_data.password == b"s3cret")

    handler, port = Collect(), free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, authenticator=authenticator, auth_require_tls=False
    )
    controller.start()
    try:
        monkeypatch.setenv("TRIGGER_SMTP_URL", f"smtp://csp:s3cret@127.0.0.1:{port}")
        cases_(1)
        assert run(db, "2026-12-23T08:00")["sent"] == 1
        assert seen == [(b"csp", b"s3cret")] and len(handler.messages) == 1
    finally:
        controller.stop()


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
    msg = message_from_bytes(files[0].read_bytes(), policy=email_policy.default)
    assert ref in msg["Subject"]


def test_crash_between_claim_and_send_is_recovered(db, cases_, tmp_path, monkeypatch):
    cases_(1)
    app = App()

    class Crash:
        def describe(self):
            return "crashing"

        def send(self, msg, name):
            raise KeyboardInterrupt  # the process dies mid-sweep

        def close(self):
            pass

    now = datetime(2026, 12, 23, 8, 0, tzinfo=UTC)
    with pytest.raises(KeyboardInterrupt):
        reminders.run(app, now, channel=Crash())
    sent = []

    class Keep(Crash):
        def send(self, msg, name):
            sent.append(msg["Subject"])

    assert reminders.run(app, now + timedelta(minutes=5), channel=Keep()).sent == []  # claim still fresh
    assert len(reminders.run(app, now + timedelta(minutes=20), channel=Keep()).sent) == 1
    assert len(sent) == 1


def test_two_threads_never_double_send(db, cases_):
    cases_(6)
    app_now = datetime(2027, 1, 8, 8, 0, tzinfo=UTC)
    sent, lock = [], threading.Lock()

    class Slow:
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
        results.append(reminders.run(App(), app_now, channel=Slow()))

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
    env = dict(os.environ)
    cmd = [sys.executable, str(ROOT / "cli.py"), "reminders", "run", "--now", "2027-01-08T08:00"]
    procs = [
        subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    keys = [(m["To"], m["Subject"]) for m in server.messages]
    assert len(keys) == 32 and len(set(keys)) == 32


@pytest.mark.slow
def test_serve_sweeps_and_stops_cleanly_on_sigterm(db, cases_, tmp_path):
    cases_(1)
    env = dict(os.environ, TRIGGER_OUTBOX=str(tmp_path / "out"), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "cli.py"), "reminders", "serve", "--every", "3600"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    # serve logs through `logging`, on stderr: "2026-03-14 07:30:00,123 INFO trigger.reminders: sweep ..."
    def sweep(line: str) -> bool:
        return " trigger.reminders: sweep " in line

    lines, deadline = [], time.monotonic() + 60
    try:
        while time.monotonic() < deadline and not any(sweep(line) for line in lines):
            ready, _, _ = _select.select([proc.stderr], [], [], deadline - time.monotonic())
            if ready:
                line = proc.stderr.readline()
                if not line:
                    break
                lines.append(line)
        assert any(sweep(line) for line in lines), lines
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert time.monotonic() - started < 5
        assert out == ""
        lines += err.splitlines()
        assert sum(sweep(line) for line in lines) == 1
        assert any("stopped" in line for line in lines)
    finally:
        if proc.poll() is None:
            proc.kill()


class Keep:
    def __init__(self):
        self.messages = []

    def describe(self):
        return "memory"

    def send(self, msg, name):
        self.messages.append(msg)

    def close(self):
        pass


def test_morning_digest_on_working_days_once_a_day(db, cases_):
    [ref] = cases_(1)
    app = App()
    # Mon 28 Dec 2026 is the Boxing Day substitute: no digest
    assert reminders.digest(app, datetime(2026, 12, 28, 7, 30, tzinfo=UTC), channel=Keep())["sent"] == 0
    keep = Keep()
    out = reminders.digest(app, datetime(2026, 12, 29, 7, 30, tzinfo=UTC), channel=keep)
    assert out["sent"] == 1 and keep.messages[0]["To"] == "csm@example.gov.uk"
    body = keep.messages[0].get_content()
    assert f"{ref}  acknowledge" in body and "OVERDUE" in body and "Ann" not in body and "Vera" not in body
    again = reminders.digest(app, datetime(2026, 12, 29, 9, 0, tzinfo=UTC), channel=Keep())
    assert again == {"date": "2026-12-29", "skipped": "already sent", "sent": 0}


def test_bad_now_is_one_clear_line(db):
    result = db.fails("reminders", "run", "--now", "tomorrow")
    assert "--now 'tomorrow' is not an ISO date" in result.stderr and "Traceback" not in result.stderr
