"""Several people (processes) at once, on SQLite and on PostgreSQL: no lost update, no reference handed
out twice, and a clash ends in one clear line, never a "database is locked" traceback
(docs/architecture.md#one-change-one-transaction)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from datetime import date
from pathlib import Path

import pytest
from conftest import sqlite_only
from sqlmodel import select

from trigger import audit, cases
from trigger.app import App
from trigger.errors import ConcurrentChange
from trigger.models import Finding, ReviewCase

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow  # real processes racing each other
CLI = str(ROOT / "cli.py")

# One worker process: wait for the common start moment, then activate N cases in a row.
ACTIVATE_WORKER = textwrap.dedent("""
    import sys, time
    from datetime import date
    from trigger import cases
    from trigger.app import App
    from trigger.errors import TriggerError
    start, n, name = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    app = App(actor=name)
    time.sleep(max(0.0, start - time.time()))
    for i in range(n):
        try:
            case = cases.activate(app, applicant=f"{name} {i}", received=date(2026, 3, 2), channel="online",
                                  statement="Nothing has changed")
            print(case.reference, flush=True)
        except TriggerError as exc:
            print(f"ERROR {exc}", flush=True)
""")


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    return env


def _at_once(commands: list[list[str]], delay: float = 1.5) -> list[subprocess.CompletedProcess]:
    """Start every command now; each waits until the same moment (after its imports) to act."""
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(), cwd=ROOT)
        for cmd in commands
    ]
    results = []
    for proc, cmd in zip(procs, commands, strict=False):
        out, err = proc.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(cmd, proc.returncode, out, err))
    return results


def test_four_processes_activating_at_once_never_share_a_reference(db):
    start = time.time() + 1.5
    results = _at_once(
        [[sys.executable, "-c", ACTIVATE_WORKER, str(start), "10", f"worker{w}"] for w in range(4)]
    )
    for r in results:
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    lines = [line for r in results for line in r.stdout.split()]
    assert not [line for line in lines if line.startswith("ERROR")]
    refs = sorted(lines)
    assert refs == [f"CT-2026-{n:04d}" for n in range(1, 41)]  # all 40, none twice, none skipped
    with App().read() as session:
        assert audit.verify(session).ok
        assert len(session.exec(select(ReviewCase)).all()) == 40


def _cli_at(start: float, *args: str) -> list[str]:
    # `python cli.py ...` as a user would run it, started at a common moment
    code = (
        f"import sys, time; time.sleep(max(0.0, {start} - time.time())); sys.argv = ['trigger'] + "
        f"{list(args)!r}; import runpy; runpy.run_path({CLI!r}, run_name='__main__')"
    )
    return [sys.executable, "-c", code]


def test_the_same_move_by_three_people_at_once_happens_once_and_the_others_are_told(db, case):
    start = time.time() + 1.5
    results = _at_once(
        [
            _cli_at(start, "--as", f"officer{w}", "decide", case, "--met", "--on", "2026-03-05")
            for w in range(3)
        ]
    )
    winners = [r for r in results if r.returncode == 0]
    losers = [r for r in results if r.returncode != 0]
    assert len(winners) == 1, [r.stderr for r in results]
    for r in losers:
        # PostgreSQL: the version check fails ("changed by someone else"); SQLite: writers queue, so the
        # later ones see the new state and are told the move is no longer allowed
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("Error: "), r.stderr
        assert "changed by someone else" in r.stderr or "the case is threshold_met" in r.stderr, r.stderr
        assert "locked" not in r.stderr and "Traceback" not in r.stderr
    shown = db.json("show", case)
    assert shown["state"] == "threshold_met"
    assert [e["event"] for e in shown["events"]].count("decide") == 1
    with App().read() as session:
        assert audit.verify(session).ok


def test_findings_recorded_at_once_are_never_lost(db, case):
    db("decide", case, "--met", "--on", "2026-03-05")
    db("assign", case, "--lead", "cbc", "--reviewer", "Sam Reviewer", "--on", "2026-03-06")
    start = time.time() + 1.5
    results = _at_once(
        [
            _cli_at(
                start, "finding", case, "--category", "risk", "--text", f"finding {w}", "--on", "2026-03-10"
            )
            for w in range(3)
        ]
    )
    saved = [r for r in results if r.returncode == 0]
    for r in results:
        if r.returncode:
            assert "changed by someone else" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert saved, [r.stderr for r in results]
    with App().read() as session:
        case_row = session.exec(select(ReviewCase).where(ReviewCase.reference == case)).one()
        findings = session.exec(select(Finding).where(Finding.case_id == case_row.id)).all()
        assert len(findings) == len(saved)  # every success is there; every failure said so
        assert audit.verify(session).ok


def test_a_stale_copy_of_a_case_is_refused_with_the_changed_by_someone_else_message(db, case):
    app = App()
    with app.read() as session:
        stale = session.exec(select(ReviewCase).where(ReviewCase.reference == case)).one()
    cases.decide(App(actor="someone else"), case, met=True, on=date(2026, 3, 5))  # another user moves it on
    stale.reviewer = "Overwrites Everything"
    try:
        with app.write() as session:
            session.add(stale)
    except ConcurrentChange as exc:
        assert "changed by someone else" in str(exc) and "reload" in str(exc)
    else:
        raise AssertionError("a stale write was accepted: a lost update")
    shown = db.json("show", case)
    assert shown["state"] == "threshold_met" and shown["reviewer"] is None


@sqlite_only
def test_a_long_held_sqlite_lock_ends_in_one_clear_line_and_no_change(db, case, monkeypatch):
    import sqlite3

    from trigger import app as app_module

    original = app_module._sqlite_pragmas

    def impatient(dbapi_conn, record):  # the real pragmas, but wait 0.2 s instead of 10 s
        original(dbapi_conn, record)
        dbapi_conn.execute("PRAGMA busy_timeout=200")

    app_module.dispose_engines()
    monkeypatch.setattr(app_module, "_sqlite_pragmas", impatient)
    holder = sqlite3.connect(os.environ["TRIGGER_DB"][len("sqlite:///") :], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # somebody else's long write transaction
    try:
        result = db.fails("decide", case, "--met", "--on", "2026-03-05")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.stderr == (
        "Error: the database is busy with another user's change; nothing was saved, try again in a moment\n"
    )
    assert db.json("show", case)["state"] == "received"
