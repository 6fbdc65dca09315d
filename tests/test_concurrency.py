"""Several people (processes) at once, on SQLite and on PostgreSQL: no lost update, no reference handed
out twice, and a clash ends in one clear line, never a "database is locked" traceback
(docs/architecture.md#one-change-one-transaction).

A race here needs only a few processes to prove what must hold (nothing lost, nothing doubled, every
number unique, everyone told): more would add CPU, not proof. How the writers' queue fares with 16 and 32
writers on a loaded machine is a benchmark that prints its figures: tests/perf/bench_writers.py."""

from __future__ import annotations

import os
import re
import textwrap
from datetime import date

import pytest
from sqlmodel import select

from tests.support.databases import ON_POSTGRES, sqlite_only
from tests.support.racers import at_once, holding_the_queue, started
from tests.support.waiting import HANG
from trigger.cases import moves
from trigger.errors import ConcurrentChange
from trigger.store import audit
from trigger.store.app import App
from trigger.store.models import Action, AuditEvent, Finding, HoursEntry, Recommendation, ReviewCase

pytestmark = pytest.mark.slow  # real processes racing each other

# One worker process (started with the others, tests/support/racers.py): activate N cases in a row.
ACTIVATE_WORKER = textwrap.dedent("""
    import sys
    from datetime import date
    from trigger.cases import moves
    from trigger.store.app import App
    from trigger.errors import TriggerError
    n, name = int(sys.argv[1]), sys.argv[2]
    app = App(actor=name)
    for i in range(n):
        try:
            case = moves.activate(app, applicant=f"{name} {i}", received=date(2026, 3, 2), channel="online",
                                  statement="Nothing has changed")
            print(case.reference, flush=True)
        except TriggerError as exc:
            print(f"ERROR {exc}", flush=True)
""")


def test_four_processes_activating_at_once_never_share_a_reference(db):
    results = at_once([["-c", ACTIVATE_WORKER, "10", f"worker{w}"] for w in range(4)])
    for r in results:
        assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    lines = [line for r in results for line in r.stdout.split()]
    assert not [line for line in lines if line.startswith("ERROR")]
    refs = sorted(lines)
    assert refs == [f"CT-2026-{n:04d}" for n in range(1, 41)]  # all 40, none twice, none skipped
    with App().read() as session:
        assert audit.verify(session).ok
        assert len(session.exec(select(ReviewCase)).all()) == 40


def _cli(*args: str) -> list[str]:
    return ["cli.py", *args]  # `python cli.py ...` as a user would run it


def test_findings_recorded_at_once_are_never_lost(db, case):
    db("decide", case, "--met", "--on", "2026-03-05")
    db("assign", case, "--lead", "cbc", "--reviewer", "Sam Reviewer", "--on", "2026-03-06")
    results = at_once(
        [
            _cli("finding", case, "--category", "risk", "--text", f"finding {w}", "--on", "2026-03-10")
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
    moves.decide(App(actor="someone else"), case, met=True, on=date(2026, 3, 5))  # another user moves it on
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
def test_a_change_that_waits_beyond_its_patience_ends_in_one_clear_line_and_no_change(db, case, monkeypatch):
    monkeypatch.setenv("TRIGGER_WAIT_SECONDS", "1")
    with holding_the_queue(os.environ["TRIGGER_DB"]):  # somebody else's change, for as long as this one waits
        result = db.fails("decide", case, "--met", "--on", "2026-03-05")
    assert result.stderr == (
        "Error: the database is still busy with other changes after 1 second; nothing was saved, try again "
        "later (TRIGGER_WAIT_SECONDS sets how long a change waits)\n"
    )
    assert db.json("show", case)["state"] == "received"


@sqlite_only
def test_a_program_holding_sqlite_s_lock_outside_the_queue_ends_in_one_clear_line_and_no_change(
    db, case, monkeypatch
):
    import sqlite3

    monkeypatch.setenv("TRIGGER_WAIT_SECONDS", "1")
    holder = sqlite3.connect(os.environ["TRIGGER_DB"][len("sqlite:///") :], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another program's long write transaction (the sqlite3 shell, say)
    try:
        result = db.fails("decide", case, "--met", "--on", "2026-03-05")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.stderr == (
        "Error: the database is busy with another user's change; nothing was saved, try again in a moment\n"
    )
    assert db.json("show", case)["state"] == "received"


@sqlite_only
def test_a_bad_wait_setting_is_named_and_nothing_is_saved(db, case, monkeypatch):
    monkeypatch.setenv("TRIGGER_WAIT_SECONDS", "soon")
    result = db.fails("decide", case, "--met", "--on", "2026-03-05")
    assert result.stderr == (
        "Error: TRIGGER_WAIT_SECONDS 'soon' is not a number of seconds above 0 and up to 86400\n"
    )
    assert db.json("show", case)["state"] == "received"


def _incident(case: str, reported: str) -> list[str]:
    return _cli("incident", "add", case, "--occurred", reported, "--reported", reported, "--agency", "police")


# `python cli.py ARGS...` saying that it waits after one second instead of three: what is said and in
# what order is the same, the test waits a third as long for it
NOTICE_SOONER = (
    "import runpy, sys; from trigger.store import queue; queue.NOTICE_AFTER = 1.0; "
    "sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"
)


@sqlite_only
def test_changes_kept_waiting_say_so_once_and_go_in_the_order_they_came(db, case):
    """Two changes wait behind a third: each says, after a while, how many are ahead of it; when the
    third ends they go first come, first served, and both are saved."""
    with holding_the_queue(os.environ["TRIGGER_DB"]):
        first = started(["-c", NOTICE_SOONER, *_incident(case, "2026-02-10")])
        assert first.stderr.readline() == "waiting for 1 other change…\n"  # only once it is in the queue
        second = started(["-c", NOTICE_SOONER, *_incident(case, "2026-02-11")])
        assert second.stderr.readline() == "waiting for 2 other changes…\n"
    outputs = [p.communicate() for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outputs
    assert [err for _, err in outputs] == ["", ""]  # said once, nothing more
    assert [out for out, _ in outputs] == [
        f"Complaint 4 recorded on {case}.\n",  # the one that came first went first
        f"Complaint 5 recorded on {case}.\n",
    ]


@sqlite_only
def test_a_change_made_through_the_library_waits_without_a_word(db, case, monkeypatch, capsys):
    """Only the command line says that it is waiting; a program using the engine is told nothing on its
    console (it sees the error only if it waits past its patience)."""
    from trigger.store import queue

    monkeypatch.setattr(queue, "NOTICE_AFTER", 0.0)
    monkeypatch.setenv("TRIGGER_WAIT_SECONDS", "0.5")
    with holding_the_queue(os.environ["TRIGGER_DB"]):
        try:
            moves.decide(App(), case, met=True, on=date(2026, 3, 5), reason="Persistent")
        except ConcurrentChange as exc:
            assert "still busy with other changes" in str(exc)
        else:
            raise AssertionError("a change went ahead while another held the queue")
    assert capsys.readouterr().err == ""
    assert db.json("show", case)["state"] == "received"


def _only_waited(stderr: str) -> bool:
    """Nothing on stderr but, on a busy machine, the one line saying the change waited its turn."""
    return re.fullmatch(r"(waiting for (another change|\d+ other changes?)…\n)?", stderr) is not None


def _numbered(outputs: list, pattern: str) -> list[int]:
    found = [re.fullmatch(pattern, r.stdout.strip()) for r in outputs]
    assert all(found), [r.stdout + r.stderr for r in outputs]
    return sorted(int(m.group(1)) for m in found if m)


def test_four_people_adding_to_one_case_at_once_all_succeed_with_their_own_numbers(db, case):
    """The same command by several people at the same moment, each its own process through the real
    command line: every one succeeds, nothing is lost, and no number is handed out twice."""
    writers = 4
    results = at_once([_incident(case, f"2026-02-{10 + w:02d}") for w in range(writers)])
    for r in results:
        assert r.returncode == 0 and _only_waited(r.stderr), r.stderr
    numbers = _numbered(results, rf"Complaint (\d+) recorded on {case}\.")
    assert numbers == list(range(4, 4 + writers))  # after the case's own three: none shared, none skipped
    shown = db.json("show", case)
    reported = sorted(i["reported"] for i in shown["incidents"][3:])
    assert reported == [f"2026-02-{10 + w:02d}" for w in range(writers)]
    assert [e["event"] for e in shown["events"]].count("incident_add") == 3 + writers
    with App().read() as session:
        assert audit.verify(session).ok


def test_four_people_each_changing_their_own_case_at_once_all_succeed(db):
    """Four cases, four people, one change each at the same moment: all saved, each on its own case."""
    app = App()
    refs = [
        moves.activate(
            app, applicant=f"Applicant {n}", received=date(2026, 3, 2), channel="online", statement="Again"
        ).reference
        for n in range(4)
    ]
    results = at_once([_incident(ref, "2026-02-20") for ref in refs])
    for ref, r in zip(refs, results, strict=True):
        assert r.returncode == 0 and _only_waited(r.stderr), r.stderr
        assert re.fullmatch(rf"Complaint \d+ recorded on {ref}\.\n", r.stdout), r.stdout
    assert _numbered(results, r"Complaint (\d+) recorded on CT-2026-\d+\.") == list(range(1, 5))
    for ref in refs:
        assert [i["reported"] for i in db.json("show", ref)["incidents"]] == ["2026-02-20"]
    with App().read() as session:
        assert audit.verify(session).ok


# -- many people on one case at once (docs/architecture.md#optimistic-locking) ----------------------------

# One worker process (started with the others, tests/support/racers.py): make its edits to one case, each
# through the engine, and print one line per edit: OK, ERROR <message> (a clear refusal) or TRACEBACK
# <type>.
EDIT_WORKER = textwrap.dedent("""
    import sys, traceback
    from datetime import date
    from trigger.cases import review
    from trigger.store.app import App
    from trigger.errors import TriggerError
    ref, name, edits = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    app = App(actor=name)
    day = date(2026, 3, 10)
    do = {
        "hours": lambda: review.log_hours(app, ref, agency="cbc", person=name, hours=1.5, worked_on=day),
        "finding": lambda: review.add_finding(app, ref, category="risk", text=f"{name} found", on=day),
        "recommend": lambda: review.recommend(app, ref, to="police", text=f"{name} recommends", on=day),
        "action": lambda: review.add_action(app, ref, action=f"{name} acts", owner="cbc",
                                            due=date(2026, 6, 1), on=day),
        "evidence": lambda: review.evidence(app, ref, agency="police", requested=day, due=date(2026, 3, 24)),
        "update": lambda: review.update_action(app, ref, 1, status="in_progress", note=f"{name} was here",
                                               on=day),
    }
    for edit in edits:
        try:
            do[edit]()
            print("OK", edit, flush=True)
        except TriggerError as exc:
            print("ERROR", edit, exc, flush=True)
        except Exception as exc:
            traceback.print_exc()
            print("TRACEBACK", edit, type(exc).__name__, flush=True)
""")


def _in_review(db, case) -> None:
    db("decide", case, "--met", "--on", "2026-03-05")
    db("assign", case, "--lead", "cbc", "--reviewer", "Sam Reviewer", "--on", "2026-03-06")


def _edits_at_once(case: str, workers: list[tuple[str, list[str]]]) -> list[tuple[str, str, str]]:
    """One process per worker; all begin their edits at the same moment. (name, edit, outcome)."""
    results = at_once([["-c", EDIT_WORKER, case, name, ",".join(edits)] for name, edits in workers])
    outcomes = []
    for (name, _), r in zip(workers, results, strict=True):
        assert r.returncode == 0, r.stderr
        for line in r.stdout.splitlines():
            verdict, edit, *rest = line.split(" ", 2)
            outcomes.append((name, edit, verdict if verdict != "ERROR" else f"ERROR {rest[0]}"))
    return outcomes


def _figures(scenario: str, outcomes: list[tuple[str, str, str]], stored: int) -> dict:
    ok = sum(1 for *_, v in outcomes if v == "OK")
    figures = {
        "scenario": scenario,
        "engine": "postgresql" if ON_POSTGRES else "sqlite",
        "attempted": len(outcomes),
        "succeeded": ok,
        "refused_clearly": sum(1 for *_, v in outcomes if v.startswith("ERROR")),
        "tracebacks": sum(1 for *_, v in outcomes if v == "TRACEBACK"),
        "lost": ok - stored,  # a success whose row is not stored
    }
    print("FIGURES", figures)
    return figures


def _case_row(session, case):
    return session.exec(select(ReviewCase).where(ReviewCase.reference == case)).one()


def test_four_people_adding_actions_to_one_case_at_once_all_succeed_with_their_own_numbers(db, case):
    _in_review(db, case)
    outcomes = _edits_at_once(case, [(f"officer{w}", ["action"]) for w in range(4)])
    with App().read() as session:
        row = _case_row(session, case)
        numbers = sorted(a.number for a in session.exec(select(Action).where(Action.case_id == row.id)))
        assert audit.verify(session).ok
    figures = _figures("4 processes adding an action to one case", outcomes, len(numbers))
    assert figures["succeeded"] == 4 and figures["lost"] == 0, outcomes
    assert numbers == list(range(1, 5))  # none shared, none skipped
    assert len(db.json("show", case)["deadlines"]) >= 4


def test_sixteen_edits_by_four_people_touching_different_things_all_succeed(db, case):
    _in_review(db, case)
    edits = ["hours", "finding", "recommend", "action"]
    outcomes = _edits_at_once(case, [(f"reviewer{w}", edits) for w in range(4)])
    with App().read() as session:
        cid = _case_row(session, case).id
        stored = sum(
            len(session.exec(select(model).where(model.case_id == cid)).all())
            for model in (HoursEntry, Finding, Recommendation, Action)
        )
        events = session.exec(select(AuditEvent).where(AuditEvent.case_id == cid)).all()
        assert audit.verify(session).ok
    figures = _figures("4 processes x 4 edits on one case", outcomes, stored)
    assert figures == {**figures, "attempted": 16, "succeeded": 16, "tracebacks": 0, "lost": 0}, outcomes
    assert sum(e.event in ("hours", "finding", "recommendation", "action_add") for e in events) == 16
    shown = db.json("show", case)
    assert shown["hours_total"] == 6 and len(shown["actions"]) == 4
    assert sorted(a["number"] for a in shown["actions"]) == list(range(1, 5))


def test_two_people_updating_the_same_action_at_once_are_never_silently_overwritten(db, case):
    _in_review(db, case)
    db(
        "action",
        "add",
        case,
        "--action",
        "Joint visit",
        "--owner",
        "cbc",
        "--due",
        "2026-06-01",
        "--on",
        "2026-03-10",
    )
    outcomes = _edits_at_once(case, [(f"officer{w}", ["update"]) for w in range(3)])
    with App().read() as session:
        cid = _case_row(session, case).id
        updates = session.exec(
            select(AuditEvent).where(AuditEvent.case_id == cid, AuditEvent.event == "action_update")
        ).all()
        progress = session.exec(select(Action).where(Action.case_id == cid)).one().progress or ""
    figures = _figures("3 processes updating the same action", outcomes, len(updates))
    assert figures["tracebacks"] == 0 and figures["lost"] == 0 and figures["succeeded"] >= 1, outcomes
    for *_, verdict in outcomes:
        if verdict != "OK":  # refused: the person is told, and their note is not half-saved
            assert "action was changed by someone else" in verdict, verdict
    assert progress.count("was here") == figures["succeeded"]  # every success's note is kept


def test_the_same_move_by_four_processes_at_once_happens_once_and_the_others_are_told(db, case):
    results = at_once(
        [_cli("--as", f"officer{w}", "decide", case, "--met", "--on", "2026-03-05") for w in range(4)]
    )
    losers = [r for r in results if r.returncode != 0]
    assert len(losers) == 3, [r.stderr for r in results]
    told = 0
    for r in losers:
        assert r.stderr.startswith("Error: ") and r.stderr.count("\n") == 1, r.stderr
        # at the same moment: "changed by someone else" (PostgreSQL's version check); a process that
        # started after the winner had committed (a busy machine; on SQLite, writers queue) reads the
        # new state and is told the move is no longer allowed
        assert "changed by someone else" in r.stderr or "the case is threshold_met" in r.stderr, r.stderr
        assert "locked" not in r.stderr and "Traceback" not in r.stderr
        told += "changed by someone else" in r.stderr
    shown = db.json("show", case)
    assert shown["state"] == "threshold_met"
    assert [e["event"] for e in shown["events"]].count("decide") == 1
    with App().read() as session:
        assert audit.verify(session).ok
    print("FIGURES", {"scenario": "4 processes, the same move", "attempted": 4, "succeeded": 1, "told": told})


@pytest.mark.skipif(not ON_POSTGRES, reason="needs TRIGGER_TEST_DB: on SQLite writers queue from BEGIN")
def test_two_people_who_both_read_the_case_before_either_moved_it_one_is_told_changed_by_someone_else(
    db, case, monkeypatch
):
    """Deterministic: two threads (two connections to the server) each load the case, wait until both
    have, then decide it. One decision stands; the other is refused as changed by someone else."""
    import threading

    from trigger.store import unit

    both_read = threading.Barrier(2, timeout=HANG)
    real = unit.case_policy

    def read_then_wait(session, row, known=None):
        policy = real(session, row, known)
        if known is not None:  # inside the write transaction (before it, the policy is read ahead)
            both_read.wait()
        return policy

    monkeypatch.setattr(unit, "case_policy", read_then_wait)
    outcomes: list[str] = []

    def decide(name: str) -> None:
        try:
            moves.decide(App(actor=name), case, met=True, on=date(2026, 3, 5))
            outcomes.append("OK")
        except ConcurrentChange as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=decide, args=(f"officer{w}",)) for w in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(HANG)
    assert sorted(outcomes)[0] == "OK" and outcomes.count("OK") == 1, outcomes
    refused = next(o for o in outcomes if o != "OK")
    assert "changed by someone else" in refused and "reload it" in refused
    shown = db.json("show", case)
    assert [e["event"] for e in shown["events"]].count("decide") == 1


def test_a_stale_copy_of_an_action_is_refused_with_the_changed_by_someone_else_message(db, case):
    _in_review(db, case)
    db(
        "action",
        "add",
        case,
        "--action",
        "Joint visit",
        "--owner",
        "cbc",
        "--due",
        "2026-06-01",
        "--on",
        "2026-03-10",
    )
    app = App()
    with app.read() as session:
        stale = session.exec(select(Action)).one()
    db("action", "update", case, "1", "--status", "done", "--on", "2026-03-11")  # another person's change
    stale.status = "dropped"
    try:
        with app.write() as session:
            session.add(stale)
    except ConcurrentChange as exc:
        assert "action was changed by someone else" in str(exc)
    else:
        raise AssertionError("a stale write to an action was accepted: a lost update")
    assert db.json("show", case)["actions"][0]["status"] == "done"


def test_adding_to_a_case_does_not_move_its_version(db, case):
    _in_review(db, case)
    with App().read() as session:
        before = _case_row(session, case).version
    db("hours", case, "--agency", "cbc", "--person", "Sam", "--hours", "2", "--date", "2026-03-10")
    db("finding", case, "--category", "risk", "--on", "2026-03-10")
    with App().read() as session:
        assert _case_row(session, case).version == before
    db("meeting", case, "--at", "2026-03-20T10:00", "--on", "2026-03-10")
    db("outcome", case, "--no-recommendations", "Nothing to add", "--on", "2026-03-10", ok=False)
    with App().read() as session:
        assert _case_row(session, case).version == before  # a refused move changes nothing either
