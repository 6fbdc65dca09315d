"""Reminders under real faults: a mail server that is down, answers 451 or 550, or is slow; two real
`reminders run` processes whose sweep outlives the claim window, or whose clocks differ by fifteen
minutes; signals sent to a running `reminders serve`; a runner killed mid-send. Each scenario checks that
every reminder due is delivered once (or, refused for good, reported to the manager) and records its
figures: expected / delivered / doubled / lost (docs/architecture.md#deadlines-and-reminders).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from datetime import UTC, datetime
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path

import pytest

from tests.support.mailservers import (
    MANAGER,
    Collect,
    Server,
    claims_held,
    due_ids,
    figures,
    make_cases,
    overdue_now,
    run_out_claims,
)
from tests.support.racers import at_once, started
from tests.support.serving import Serve
from tests.support.waiting import HANG, until
from trigger.deadlines import service
from trigger.store.app import App

ROOT = Path(__file__).resolve().parent.parent
FROM = "Community Safety <community.safety@council.example>"


@pytest.fixture
def mail(monkeypatch, tmp_path):
    """Mail settings for a server on loopback (`mail(server)`), with the outbox in tmp_path/out."""
    monkeypatch.setenv("TRIGGER_MAIL_FROM", FROM)
    monkeypatch.setenv("TRIGGER_OUTBOX", str(tmp_path / "out"))
    started: list[Server] = []

    def use(server: Server) -> Server:
        started.append(server)
        monkeypatch.setenv("TRIGGER_SMTP_URL", server.url())
        return server

    yield use
    for s in started:
        s.stop()


def run(db, now: str) -> dict:
    return db.json("reminders", "run", "--now", now)


def outbox(tmp_path) -> list:
    folder = tmp_path / "out"
    return [
        message_from_bytes(p.read_bytes(), policy=email_policy.default) for p in sorted(folder.glob("*.eml"))
    ]


# -- a server that is down, refuses, or refuses for good -----------------------------------------------------


def test_a_server_that_is_down_keeps_every_reminder_and_backs_off_until_it_is_back(db, mail, tmp_path):
    server = mail(Server(Collect()))  # chosen, not started: connection refused
    make_cases(db, 4)
    expected = due_ids(db, "2027-01-08T08:00")
    out = run(db, "2027-01-08T08:00")
    assert out["sent"] == 0 and len(out["failed"]) == len(expected) == 16
    assert {f["error"] for f in out["failed"]} == {"connection refused by the mail server"}
    assert {f["next_attempt"] for f in out["failed"]} == {"2027-01-08T08:02:00+00:00"}
    status = db.json("reminders", "status")
    assert status["counts"]["pending"] >= 16 and status["counts"]["claimed"] == 0
    assert len([r for r in status["undelivered"] if r["status"] == "retrying"]) == 16
    assert run(db, "2027-01-08T08:06")["failed"][0]["next_attempt"] == "2027-01-08T08:11:00+00:00"  # 5 min
    server.start()
    assert run(db, "2027-01-08T08:08")["sent"] == 0  # backing off still
    assert run(db, "2027-01-08T08:12")["sent"] == 16
    assert run(db, "2027-01-08T08:30")["sent"] == 0
    got = figures("SMTP server down, then back", expected, server.handler.reminder_ids())
    assert (got["delivered"], got["doubled"], got["lost"]) == (16, 0, 0)
    assert db.json("reminders", "status")["undelivered"] == []


def reports(server: Server) -> list:
    return [m for m in server.handler.messages if str(m["Subject"]).startswith("Reminders not delivered")]


def test_a_day_of_failures_is_reported_to_the_manager_once_mail_is_back_and_retry_puts_them_back(
    db, mail, tmp_path
):
    server = mail(Server(Collect()))  # chosen, not started: the mail server is down all day
    [ref, *_] = make_cases(db, 2)
    expected = due_ids(db, "2027-01-08T08:00")
    assert len(expected) == 8
    for now in ("2027-01-08T08:00", "2027-01-08T12:00", "2027-01-08T20:00", "2027-01-09T07:59"):
        out = run(db, now)
        assert out["sent"] == 0 and len(out["failed"]) == 8 and out["gave_up"] == []  # still trying
    assert outbox(tmp_path) == []
    out = run(db, "2027-01-09T08:00")  # a day after the first failure
    reported = {g["id"] for g in out["gave_up"]}
    assert len(out["gave_up"]) == 8 and {g["because"] for g in out["gave_up"]} == {"expired"}
    # the manager cannot be mailed either: not counted as told; a copy waits in the outbox meanwhile
    assert out["reported"] == 0
    [owed] = [w for w in out["warnings"] if "could not be mailed to the manager" in w]
    assert "connection refused" in owed and "it will be sent when mail works again" in owed
    [copy] = outbox(tmp_path)
    assert copy["To"] == MANAGER and copy["Subject"].startswith("Reminders not delivered: 8")
    assert copy["Auto-Submitted"] == "auto-generated" and copy["Message-ID"] and copy["Date"]
    body = copy.get_content()
    assert "still failing after a day of retries (since Friday 8 January 2027 at 08:00)" in body
    assert f"trigger reminders retry {ref}" in body
    assert run(db, "2027-01-09T08:30")["reported"] == 0 and len(outbox(tmp_path)) == 1  # one copy
    status = db.json("reminders", "status")
    assert {(r["status"], r["because"], r["reported"]) for r in status["undelivered"]} == {
        ("failed", "expired", False)
    }
    assert "manager not yet told" in db("reminders", "status").stdout

    server.start()  # mail is back: the next run sends the report first, once
    out = run(db, "2027-01-09T09:00")
    assert out["reported"] == 8 and out["reported_via"].startswith("smtp")
    [report] = reports(server)
    assert report["To"] == MANAGER and report["Subject"].startswith("Reminders not delivered: 8")
    assert "still failing after a day of retries (since Friday 8 January 2027 at 08:00)" in (
        report.get_content()
    )
    assert run(db, "2027-01-09T09:30")["reported"] == 0 and len(reports(server)) == 1
    status = db.json("reminders", "status")
    assert status["counts"]["failed"] == 8
    assert {(r["status"], r["because"], r["reported"]) for r in status["undelivered"]} == {
        ("failed", "expired", True)
    }
    shown = db("show", ref).stdout
    assert "Reminders not delivered:" in shown and "FAILED" in shown
    assert len(db.json("show", ref)["reminders_undelivered"]) == 4
    assert "Put back 4 reminders" in db("reminders", "retry", ref).stdout
    assert "Put back 4 reminders" in db("reminders", "retry").stdout
    assert db("reminders", "retry").stdout.startswith("No failed reminders")
    assert run(db, "2027-01-09T09:35")["sent"] == 8
    received = server.handler.reminder_ids()
    got = figures("SMTP server down for a day, reported when back, retried", expected, received, reported)
    assert (got["delivered"], got["doubled"], got["lost"]) == (8, 0, 0)


@pytest.mark.slow
def test_a_report_owed_since_an_outage_is_sent_once_by_runners_racing_when_mail_is_back(db, mail, tmp_path):
    server = mail(Server(Collect(delay=0.3)))
    make_cases(db, 3)
    for now in ("2027-01-08T08:00", "2027-01-09T08:00"):  # a day of failures: given up, report owed
        run(db, now)
    assert run(db, "2027-01-09T08:05")["reported"] == 0 and len(outbox(tmp_path)) == 1
    server.start()
    runner = ["cli.py", "reminders", "run", "--now", "2027-01-09T09:00", "--json"]
    outs = at_once([runner] * 4)
    assert all(r.returncode == 0 for r in outs), outs
    assert sorted(json.loads(r.stdout)["reported"] for r in outs) == [0, 0, 0, 12]
    [report] = reports(server)
    assert report["Subject"].startswith("Reminders not delivered: 12") and report["To"] == MANAGER
    assert len(outbox(tmp_path)) == 1  # the copy written during the outage, and no other
    assert {r["reported"] for r in db.json("reminders", "status")["undelivered"]} == {True}


def test_451_answers_back_off_and_every_reminder_arrives_once(db, mail):
    server = mail(Server(Collect(refuse=5)).start())
    make_cases(db, 3)
    expected = due_ids(db, "2027-01-08T08:00")
    first = run(db, "2027-01-08T08:00")
    assert first["sent"] == 7 and len(first["failed"]) == 5
    assert all("451" in f["error"] for f in first["failed"])
    assert run(db, "2027-01-08T08:05")["sent"] == 5
    got = figures("SMTP answers 451 (five times)", expected, server.handler.reminder_ids())
    assert (got["delivered"], got["doubled"], got["lost"]) == (12, 0, 0)


def test_a_550_is_given_up_at_once_and_reported_to_the_manager(db, case, mail, tmp_path):
    server = mail(Server(Collect(reject={"rob@police.example"})).start())
    db("decide", case, "--met", "--on", "2026-03-04")
    db(
        "assign", case, "--lead", "police", "--reviewer", "Rob", "--reviewer-email", "rob@police.example",
        "--on", "2026-03-05",
    )  # fmt: skip
    expected = due_ids(db, "2026-04-02T08:00")
    out = run(db, "2026-04-02T08:00")
    refused = out["gave_up"]
    assert refused and all(g["because"] == "refused" and "550" in g["error"] for g in refused)
    assert out["sent"] == len(expected) - len(refused) > 0  # the manager's escalations went
    assert out["reported"] == len(refused) and out["reported_via"].startswith("smtp")  # SMTP itself works
    [report] = [m for m in server.handler.messages if m["Subject"].startswith("Reminders not delivered")]
    assert (
        report["To"] == MANAGER and "rob@police.example: refused by the mail server" in report.get_content()
    )
    shown = db.json("show", case)["reminders_undelivered"]
    assert {(r["recipient"], r["status"], r["because"]) for r in shown} == {
        ("rob@police.example", "failed", "refused")
    }
    assert run(db, "2026-04-02T09:00")["sent"] == 0  # refused for good: not retried by itself
    tries = [r["attempts"] for r in db.json("show", case)["reminders_undelivered"]]
    db("hours", case, "--agency", "police", "--person", "P. Officer", "--hours", "1", "--date", "2026-03-20")
    out = run(db, "2026-04-02T09:01")  # nor by an unrelated change to the case
    assert out["sent"] == 0 and out["gave_up"] == []
    assert [r["attempts"] for r in db.json("show", case)["reminders_undelivered"]] == tries
    server.handler.reject.clear()  # the address is put right
    assert (
        f"Put back {len(refused)} reminder" + ("" if len(refused) == 1 else "s")
        in db("reminders", "retry", case).stdout
    )
    assert run(db, "2026-04-02T09:05")["sent"] == len(refused)
    received = server.handler.reminder_ids()
    reported = {g["id"] for g in refused}
    got = figures("SMTP answers 550 for the reviewer, reported, then retried", expected, received, reported)
    assert (got["delivered"], got["doubled"], got["lost"]) == (len(expected), 0, 0)


def test_a_550_for_the_manager_is_reported_through_the_outbox(db, mail, tmp_path):
    server = mail(Server(Collect(reject={MANAGER})).start())
    make_cases(db, 1)
    expected = due_ids(db, "2027-01-08T08:00")
    out = run(db, "2027-01-08T08:00")
    assert len(out["gave_up"]) == 4 and out["reported_via"].startswith("outbox")
    [report] = outbox(tmp_path)
    assert report["To"] == MANAGER and "refused by the mail server" in report.get_content()
    got = figures(
        "SMTP answers 550 for the manager (reported by the outbox)",
        expected,
        server.handler.reminder_ids(),
        {g["id"] for g in out["gave_up"]},
    )
    assert (got["delivered"], got["doubled"], got["lost"], got["reported_to_manager"]) == (0, 0, 0, 4)


def test_a_digest_whose_send_failed_is_retried_and_sent_once(db, mail):
    server = mail(Server(Collect(fail_all="451 4.3.0 Try again later")).start())
    make_cases(db, 1)
    app = App()
    morning = datetime(2026, 12, 29, 7, 30, tzinfo=UTC)
    failed = service.digest(app, morning)
    assert failed["sent"] == 0 and "451" in failed["failed"][0]
    assert service.digest_pending(app, morning, (7, 30))
    server.handler.fail_all = None
    assert service.digest(app, morning)["sent"] == 1
    assert service.digest(app, morning)["skipped"] == "already sent"
    assert [m["Subject"] for m in server.handler.messages] == [
        "Community Trigger deadlines for Tuesday 29 December 2026: 1"
    ]


# -- claims: two runners, slow sweeps, clocks apart ----------------------------------------------------------


@pytest.mark.slow
def test_two_runners_whose_sweep_outlives_the_claim_window_send_each_message_once(db, mail, monkeypatch):
    # the claim window is half a second: the first runner's queued claims run out while the server sits
    # on the message in hand; a second runner takes them over, and the first, its message done, finds
    # them taken and leaves them
    server = mail(Server(Collect(held=True)).start())
    monkeypatch.setenv("TRIGGER_CLAIM_SECONDS", "0.5")
    monkeypatch.setenv("TRIGGER_SMTP_TIMEOUT", "600")  # the message in hand stays claimed while it is held
    make_cases(db, 1)
    expected = due_ids(db, "2027-01-08T08:00")
    runner = ["cli.py", "reminders", "run", "--now", "2027-01-08T08:00", "--json"]
    first = started(runner)
    until(lambda: server.handler.receiving == 1, "the first runner's first message")
    until(lambda: claims_held() == 1, "the first runner's queued claims to run out")
    second = started(runner)
    until(lambda: server.handler.receiving == 2, "the second runner's first message")
    server.handler.held = False
    outs = [p.communicate(timeout=HANG) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outs
    ran = [json.loads(out) for out, _ in outs]
    assert (ran[0]["sent"], ran[0]["lost"], ran[1]["sent"]) == (1, 3, 3)  # taken over, never sent twice
    got = figures("two runners, sweep slower than the claim window", expected, server.handler.reminder_ids())
    assert (got["delivered"], got["doubled"], got["lost"]) == (4, 0, 0)


@pytest.mark.slow
def test_runners_whose_clocks_differ_by_fifteen_minutes_send_each_message_once(db, mail, monkeypatch):
    # the server sits on the first runner's first message until the second runner has finished (or has a
    # message of its own in hand): the second sweeps while the first holds its claims, however long either
    # takes to start
    server = mail(Server(Collect(held=True)).start())
    monkeypatch.setenv("TRIGGER_SMTP_TIMEOUT", "600")  # the message in hand stays claimed while it is held
    overdue_now(db, 3)
    expected = due_ids(db)
    # the second runner's clock is fifteen minutes fast (time-machine moves Python's clock in that
    # process; the database's clock, which claims use, is not the runner's)
    fast = (
        "import runpy, sys, time_machine; from datetime import datetime, timedelta, UTC; "
        "time_machine.travel(datetime.now(UTC) + timedelta(minutes=15)).start(); "
        f"sys.argv = ['cli.py', 'reminders', 'run', '--json']; runpy.run_path({str(ROOT / 'cli.py')!r}, "
        "run_name='__main__')"
    )
    first = started(["cli.py", "reminders", "run", "--json"])
    until(lambda: server.handler.receiving > 0, "the first runner's first message")
    second = started(["-c", fast])
    until(lambda: second.poll() is not None or server.handler.receiving > 1, "the second runner's sweep")
    server.handler.held = False
    procs = [first, second]
    outs = [p.communicate(timeout=HANG) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    results = [json.loads(o) for o, _ in outs]
    # the first runner's claims were still good by the database's clock: the fast runner took none
    assert results[0]["sent"] == 12 and results[1]["sent"] == 0 and results[1]["due"] == 0
    got = figures("two runners, clocks 15 minutes apart", expected, server.handler.reminder_ids())
    assert (got["delivered"], got["doubled"], got["lost"]) == (12, 0, 0)


# -- reminders serve: signals; a runner killed -------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_cleanly_on_a_signal_and_releases_its_claims(db, mail, signum):
    server = mail(Server(Collect(held=True)).start())
    overdue_now(db, 3)
    expected = due_ids(db)
    serve = Serve()
    try:
        serve.wait_until(lambda: server.handler.receiving == 1, "the first message in hand")
        serve.signal(signum)
        serve.wait_until(lambda: any(line.startswith("stopping on ") for line in serve.lines), "the stop")
        server.handler.held = False  # the message in hand goes through; nothing after it
        assert serve.finish() == 0
    finally:
        serve.kill()
    assert any(line.startswith(f"stopping on {signum.name}") for line in serve.lines), serve.lines
    assert serve.lines[-1] == "stopped"
    sweep = next(line for line in serve.lines if line.startswith("sweep "))
    assert len(server.handler.reminder_ids()) == 1 and "sent 1," in sweep  # the one in hand finished
    status = db.json("reminders", "status")
    assert status["counts"]["claimed"] == 0  # every claim it did not use was given back
    assert "released 11" in sweep
    out = db.json("reminders", "run")  # the rest, by the next runner, at once
    assert out["sent"] == 11
    got = figures(f"serve stopped by {signum.name} mid-sweep", expected, server.handler.reminder_ids())
    assert (got["delivered"], got["doubled"], got["lost"]) == (12, 0, 0)


@pytest.mark.slow
def test_a_stop_while_the_server_sits_on_a_message_cuts_it_off_after_its_grace(db, mail):
    # the server never answers; the first signal allows the message in hand its grace (eight seconds for a
    # user; two here, through TRIGGER_STOP_GRACE), then cuts it off
    server = mail(Server(Collect(held=True)).start())
    overdue_now(db, 1)
    expected = due_ids(db)
    serve = Serve(env={"TRIGGER_STOP_GRACE": "2"})
    try:
        serve.wait_until(lambda: server.handler.receiving >= 1, "the first message in hand")
        signalled = time.monotonic()
        serve.signal(signal.SIGTERM)
        assert serve.finish() == 0
        assert time.monotonic() - signalled >= 2  # the message in hand was given its time
    finally:
        serve.kill()
    assert serve.lines[-1] == "stopped", serve.lines
    assert any("not sent: the send was cut off" in line for line in serve.lines), serve.lines
    status = db.json("reminders", "status")
    assert status["counts"]["claimed"] == 0 and server.handler.messages == []
    [cut] = [r for r in status["undelivered"] if r["status"] == "retrying"]  # kept, to be tried again
    assert "cut off" in cut["last_error"] and cut["next_attempt"]
    server.handler.held = False
    db("reminders", "retry")
    assert db.json("reminders", "run")["sent"] == len(expected)
    got = figures("serve stopped while the server sat on a message", expected, server.handler.reminder_ids())
    assert (got["delivered"], got["doubled"], got["lost"]) == (len(expected), 0, 0)


@pytest.mark.parametrize("grace", ["soon", "0", "9"])
def test_a_stop_grace_that_is_not_a_few_seconds_is_refused_before_serve_starts(db, monkeypatch, grace):
    monkeypatch.setenv("TRIGGER_STOP_GRACE", grace)  # it may only shorten the eight seconds a user gets
    result = db.fails("reminders", "serve")
    assert result.stderr == (
        f"Error: TRIGGER_STOP_GRACE {grace!r} is not a number of seconds from 0.5 to 8\n"
    ), result.stderr


@pytest.mark.slow
def test_a_second_signal_stops_serve_at_once_and_still_releases_the_claims(db, mail):
    # the server sits on every message: the first signal would give the one in hand eight seconds
    server = mail(Server(Collect(held=True)).start())
    overdue_now(db, 2)
    expected = due_ids(db)
    serve = Serve()
    try:
        serve.wait_until(lambda: server.handler.receiving >= 1, "the first message in hand")
        serve.signal(signal.SIGTERM)
        serve.wait_until(
            lambda: any(line.startswith("stopping on SIGTERM") for line in serve.lines), "a stop"
        )
        serve.signal(signal.SIGINT)
        assert serve.finish() == 1
    finally:
        serve.kill()
    assert any(line.startswith("stopped at once (second signal, SIGINT)") for line in serve.lines), (
        serve.lines
    )
    assert db.json("reminders", "status")["counts"]["claimed"] == 0  # nothing left stuck
    assert server.handler.messages == []  # the message cut off never reached the mailbox
    server.handler.held = False
    db("reminders", "retry")  # the message cut off is backing off: let it go now
    assert db.json("reminders", "run")["sent"] == 8
    got = figures("serve stopped by a second signal", expected, server.handler.reminder_ids())
    assert (got["delivered"], got["doubled"], got["lost"]) == (8, 0, 0)


@pytest.mark.slow
def test_a_runner_killed_mid_send_loses_nothing_and_doubles_nothing(db, mail, monkeypatch):
    server = mail(Server(Collect(held=True)).start())
    monkeypatch.setenv("TRIGGER_CLAIM_SECONDS", "0.5")
    monkeypatch.setenv("TRIGGER_SMTP_TIMEOUT", "600")
    make_cases(db, 2)
    expected = due_ids(db, "2027-01-08T08:00")
    proc = started(
        ["cli.py", "reminders", "run", "--now", "2027-01-08T08:00"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    until(lambda: server.handler.receiving == 1, "the runner's first message")
    proc.kill()  # kill -9 mid-send: the server is sitting on the message
    proc.wait()
    until(lambda: server.handler.cut_off == 1, "the server to see the runner gone")
    server.handler.held = False
    until(lambda: claims_held() == 1, "the queued claims (half a second) to run out")
    # the next runner sends those at once; the message in hand keeps its claim (half a second, plus
    # the 600 a send may take, plus one) in case it went out
    assert run(db, "2027-01-08T08:00")["sent"] == 7
    assert db.json("reminders", "status")["counts"]["claimed"] == 1
    run_out_claims()  # its time passes
    assert run(db, "2027-01-08T08:00")["sent"] == 1
    assert server.handler.receiving == 9  # the one cut off by the kill never reached the mailbox
    assert db.json("reminders", "status")["counts"]["claimed"] == 0
    got = figures("runner killed (-9) mid-send", expected, server.handler.reminder_ids())
    assert (got["delivered"], got["doubled"], got["lost"]) == (8, 0, 0)
