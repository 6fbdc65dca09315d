"""A case's deadlines through its life (docs/architecture.md#deadlines-and-reminders), through the real
command line."""

from __future__ import annotations

import os
from datetime import date

import pytest
import time_machine
from sqlmodel import Session, create_engine, select

from tests.support.cases import add_complaints
from trigger.store.models import Deadline, Letter, Reminder, ReviewCase
from workflows import PRESETS_DIR


@pytest.fixture
def later():
    # the Christmas case is received 2026-12-22; act from a day after its whole life
    with time_machine.travel(date(2027, 6, 1), tick=False):
        yield


def _session():
    return Session(create_engine(os.environ["TRIGGER_DB"]))


def issue_letter(ref: str, kind: str, on: str) -> None:
    """Issuing a letter records a register row; here it is written directly."""
    with _session() as s:
        case = s.exec(select(ReviewCase).where(ReviewCase.reference == ref)).one()
        s.add(
            Letter(
                case_id=case.id,
                kind=kind,
                issued_on=date.fromisoformat(on),
                recipient="applicant",
                content_hash="x",
            )
        )
        s.commit()


def deadlines(db, ref):
    return {(d["kind"], d["anchor"]): d for d in db.json("show", ref)["deadlines"]}


def christmas_case(db) -> str:
    db(
        "agency",
        "add",
        "hbbc",
        "--name",
        "Hinckley and Bosworth BC",
        "--kind",
        "council",
        "--email",
        "asb@hbbc.example",
    )
    ref = db.json(
        "activate",
        "--applicant",
        "Ann Example",
        "--received",
        "2026-12-22",
        "--channel",
        "online",
        "--statement",
        "Nothing has changed",
    )["reference"]
    add_complaints(
        db,
        ref,
        (("2026-11-10", "2026-11-12"), ("2026-11-20", "2026-11-21"), ("2026-12-03", "2026-12-04")),
        on="2026-12-22",
    )
    return ref


def test_christmas_case_deadlines_through_its_life(db, later):
    ref = christmas_case(db)
    d = deadlines(db, ref)
    # 1wd after Tue 22 Dec 2026 is Wed 23 Dec; 14d is Tue 5 Jan 2027
    assert d["acknowledge", "received 2026-12-22"]["due"] == "2026-12-23"
    assert d["threshold_decision", "received 2026-12-22"]["due"] == "2027-01-05"
    issue_letter(ref, "acknowledgement", "2026-12-23")
    db("decide", ref, "--met", "--on", "2027-01-04")
    d = deadlines(db, ref)
    assert d["acknowledge", "received 2026-12-22"]["met_on"] == "2026-12-23"
    assert d["threshold_decision", "received 2026-12-22"]["met_on"] == "2027-01-04"
    assert d["review", "threshold met 2027-01-04"]["due"] == "2027-02-01"
    db(
        "assign",
        ref,
        "--lead",
        "hbbc",
        "--reviewer",
        "Sam Reviewer",
        "--reviewer-email",
        "sam@hbbc.example",
        "--on",
        "2027-01-05",
    )
    db("meeting", ref, "--at", "2027-01-25T10:00", "--held", "--victim-involvement", "attend")
    d = deadlines(db, ref)
    assert d["outcome_letter", "meeting held 2027-01-25"]["due"] == "2027-02-01"
    db("finding", ref, "--category", "silo_working", "--on", "2027-01-25")
    db("recommend", ref, "--to", "police", "--text", "Share reports", "--on", "2027-01-25")
    db(
        "action",
        "add",
        ref,
        "--action",
        "Joint visit",
        "--owner",
        "police",
        "--due",
        "2027-03-31",
        "--on",
        "2027-01-25",
    )
    db("outcome", ref, "--victim-consulted", "--on", "2027-01-29")
    issue_letter(ref, "outcome", "2027-01-29")
    db("action", "update", ref, "1", "--status", "done", "--on", "2027-03-01")
    d = deadlines(db, ref)
    assert d["review", "threshold met 2027-01-04"]["met_on"] == "2027-01-29"
    assert d["outcome_letter", "meeting held 2027-01-25"]["met_on"] == "2027-01-29"
    assert d["appeal_window", "outcome issued 2027-01-29"]["due"] == "2027-02-26"
    assert d["action", "action 1"] | {} and d["action", "action 1"]["met_on"] == "2027-03-01"
    db("appeal", ref, "--received", "2027-02-10", "--grounds", "facts", "--on", "2027-02-10")
    d = deadlines(db, ref)
    assert d["appeal_window", "outcome issued 2027-01-29"]["met_on"] == "2027-02-10"
    assert d["appeal_bundle", "appeal received 2027-02-10"]["due"] == "2027-02-11"
    assert d["appeal_decision", "appeal received 2027-02-10"]["due"] == "2027-03-10"
    db(
        "appeal-decision",
        ref,
        "--dismissed",
        "--by",
        "Chair of Melton CSP",
        "--reason",
        "no new facts",
        "--on",
        "2027-03-05",
    )
    d = deadlines(db, ref)
    assert d["appeal_decision", "appeal received 2027-02-10"]["met_on"] == "2027-03-05"
    # the decision came without a recorded bundle: missed, never "not applicable"
    bundle = d["appeal_bundle", "appeal received 2027-02-10"]
    assert (bundle["status"], bundle["not_applicable"]) == ("missed", False)
    text = db("show", ref).stdout
    assert "acknowledge          due 2026-12-23  met 2026-12-23" in text


def test_deadline_rows_keep_their_ids_and_are_never_deleted(db, later):
    ref = christmas_case(db)
    before = {d.kind: d.id for d in _deadline_rows(ref)}
    db("withdraw", ref, "--reason", "moved away", "--on", "2026-12-24")
    rows = _deadline_rows(ref)
    assert {d.kind: d.id for d in rows} == before
    # withdrawn on 24 Dec: the acknowledgement was due on the 23rd and never sent (missed); the
    # threshold decision was not yet due (not applicable)
    assert {d.kind: (d.missed, d.not_applicable) for d in rows} == {
        "acknowledge": (True, False),
        "threshold_decision": (False, True),
    }
    assert db.json("list", "--overdue", "--as-of", "2027-02-01") == []


def _deadline_rows(ref):
    with _session() as s:
        case = s.exec(select(ReviewCase).where(ReviewCase.reference == ref)).one()
        return s.exec(select(Deadline).where(Deadline.case_id == case.id).order_by(Deadline.id)).all()


def test_list_overdue_as_of(db, later):
    ref = christmas_case(db)
    assert db.json("list", "--overdue", "--as-of", "2026-12-23") == []
    rows = db.json("list", "--overdue", "--as-of", "2026-12-24")
    assert [r["reference"] for r in rows] == [ref] and rows[0]["overdue"] == ["acknowledge"]
    rows = db.json("list", "--overdue", "--as-of", "2027-01-06")
    assert rows[0]["overdue"] == ["acknowledge", "threshold_decision"]


def test_not_met_window_is_the_applicants_never_overdue_and_passed_once_closed(db, later):
    ref = db.json(
        "activate",
        "--applicant",
        "Bob Smith",
        "--received",
        "2026-12-22",
        "--channel",
        "phone",
        "--statement",
        "Ignored",
    )["reference"]
    db("decide", ref, "--not-met", "--on", "2026-12-30")
    issue_letter(ref, "acknowledgement", "2026-12-23")
    db(
        "incident",
        "add",
        ref,
        "--occurred",
        "2026-12-01",
        "--reported",
        "2026-12-02",
        "--agency",
        "emh",
        "--on",
        "2026-12-30",
    )
    d = deadlines(db, ref)
    window = d["appeal_window", "threshold not met 2026-12-30"]
    assert window["due"] == "2027-01-28"  # 20wd, skipping New Year's Day
    assert db.json("list", "--overdue", "--as-of", "2027-02-15") == []
    db("close", ref, "--on", "2027-02-15")
    d = deadlines(db, ref)
    # the window ran its course before the case closed: it passed, it was not "not applicable"
    assert d["appeal_window", "threshold not met 2026-12-30"]["status"] == "passed"


def test_appeal_upheld_against_threshold_starts_a_review(db, later):
    ref = db.json(
        "activate",
        "--applicant",
        "Bob Smith",
        "--received",
        "2026-12-22",
        "--channel",
        "phone",
        "--statement",
        "Ignored",
    )["reference"]
    db("decide", ref, "--not-met", "--on", "2026-12-30")
    db("appeal", ref, "--received", "2027-01-06", "--grounds", "facts", "--on", "2027-01-06")
    db(
        "appeal-decision",
        ref,
        "--upheld",
        "--by",
        "Chair of Melton CSP",
        "--reason",
        "missed a report",
        "--on",
        "2027-01-20",
    )
    d = deadlines(db, ref)
    assert d["review", "appeal upheld 2027-01-20"]["due"] == "2027-02-17"
    assert d["appeal_window", "threshold not met 2026-12-30"]["met_on"] == "2027-01-06"


def test_reminder_rows_follow_the_deadline(db, later):
    ref = christmas_case(db)
    with _session() as s:
        rows = s.exec(select(Reminder).order_by(Reminder.id)).all()
    # no reviewer yet: the manager (the SPoC) gets the warnings and overdue notices, and escalations
    assert {(r.kind, r.recipient) for r in rows} == {
        ("warning", "csm@example.gov.uk"),
        ("overdue", "csm@example.gov.uk"),
        ("escalation", "csm@example.gov.uk"),
    }
    td = [r for r in rows if r.kind == "overdue"]
    assert sorted(r.send_on.isoformat() for r in td) == ["2026-12-24", "2027-01-06"]
    esc = sorted(r.send_on.isoformat() for r in rows if r.kind == "escalation")
    assert esc == ["2026-12-30", "2027-01-08"]  # 3wd after 23 Dec (24, 29, 30) and after 5 Jan
    db("decide", ref, "--met", "--on", "2027-01-04")
    with _session() as s:
        statuses = {r.id: r.status for r in s.exec(select(Reminder))}
    assert all(statuses[r.id] == "cancelled" for r in rows if r.send_on >= date(2027, 1, 1))


def test_calendar_due_answers_what_a_case_under_the_partnerships_policy_is_given(trigger, tmp_path, later):
    # the partnership closes on Monday 21 and Tuesday 22 December 2026
    text = (PRESETS_DIR / "llr.toml").read_text(encoding="utf-8")
    policy = tmp_path / "closures.toml"
    policy.write_text(text.replace("closures = []", "closures = [2026-12-21, 2026-12-22]"), encoding="utf-8")
    trigger("init", "--policy", policy, "--manager-email", "csm@example.gov.uk")
    ref = trigger.json(
        "activate",
        "--applicant",
        "Ann Example",
        "--received",
        "2026-12-18",
        "--channel",
        "online",
        "--statement",
        "Nothing has changed",
    )["reference"]
    assert deadlines(trigger, ref)["acknowledge", "received 2026-12-18"]["due"] == "2026-12-23"
    # no --policy: the calendar is the one the partnership's cases count in
    assert trigger.json("calendar", "due", "2026-12-18", "1wd")["due"] == "2026-12-23"
    assert trigger("calendar", "due", "2026-12-18", "1wd").stdout == (
        "1 working day after 2026-12-18 (england, policy llr): 2026-12-23 (Wednesday)\n"
    )
    closed = [
        r for r in trigger.json("calendar", "holidays", "2026") if r["name"] == "Partnership closure day"
    ]
    assert [r["date"] for r in closed] == ["2026-12-21", "2026-12-22"]
    refused = trigger.fails("calendar", "due", "2026-12-18", "0wd")
    assert refused.stderr == "Error: SPAN: '0wd' is not a timescale: it must be at least one day (1wd)\n"
    assert refused.stdout == ""
