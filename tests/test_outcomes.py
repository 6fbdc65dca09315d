"""What the record says of each deadline (docs/architecture.md#deadlines-and-reminders): one pure rule
(`trigger.rules.deadlines.status`) for `show`, `list --overdue` and `report deadlines`, never "not
applicable" for a duty that was not done, and no reminder dated before the case was received."""

from __future__ import annotations

import os
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import Session, create_engine, select

from tests.support.cases import add_complaints
from trigger.codes import DEADLINE_KINDS
from trigger.rules import policy as policies
from trigger.rules.calendar import WorkingCalendar
from trigger.rules.deadlines import (
    STATUSES,
    ActionFact,
    AppealFact,
    CaseFacts,
    DeadlineFact,
    Decision,
    compute,
    days_late,
    is_duty,
    status,
)
from trigger.store.models import Deadline, Reminder, ReviewCase

ENGLAND = WorkingCalendar("england")
days = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
kinds = st.sampled_from(DEADLINE_KINDS)
spans = st.sampled_from(["1wd", "5wd", "20wd", "14d", "28d", None])


# -- the rule, for any deadline ------------------------------------------------------------------------


@given(kinds, days, spans, st.one_of(st.none(), days), st.booleans(), st.booleans(), days)
def test_every_deadline_has_exactly_one_status_of_the_contract(kind, due, span, met_on, na, missed, as_of):
    st_ = status(DeadlineFact(kind, due, span, met_on, na, missed), as_of)
    assert st_ in STATUSES
    if met_on is not None:
        # done is done: on time, late, or (the applicant's limit) an appeal accepted after it
        expected = "met" if met_on <= due else ("met_late" if is_duty(kind) else "late_accepted")
        assert st_ == expected
    if not is_duty(kind):
        assert st_ not in ("overdue", "missed", "met_late")
    else:
        assert st_ not in ("passed", "late_accepted")


@given(kinds.filter(is_duty), days, spans, days)
def test_a_missed_duty_is_never_shown_as_not_applicable(kind, due, span, as_of):
    assert status(DeadlineFact(kind, due, span, None, True, True), as_of) == "missed"
    assert status(DeadlineFact(kind, due, span, None, False, True), as_of) == "missed"


@given(kinds, days, spans, days)
def test_an_unmet_deadline_still_possible_is_open_until_its_day_then_overdue_or_passed(
    kind, due, span, as_of
):
    got = status(DeadlineFact(kind, due, span), as_of)
    if as_of <= due:
        assert got == "open"
    else:
        assert got == ("overdue" if is_duty(kind) else "passed")


@given(days, st.integers(1, 60), st.sampled_from(["1wd", "5wd", "20wd"]))
def test_days_late_of_a_working_day_timescale_counts_working_days(due, lag, span):
    done = due + timedelta(days=lag)
    n = days_late(DeadlineFact("outcome_letter", due, span, done), ENGLAND)
    # done within the n-th working day after the due day, and after the (n-1)-th
    assert n is not None and 0 <= n <= lag
    assert ENGLAND.add_working_days(due, n) <= done or n == 0
    assert done < ENGLAND.add_working_days(due, n + 1)


@given(days, st.integers(1, 60), st.sampled_from(["14d", "28d", None]))
def test_days_late_of_a_calendar_timescale_or_an_action_counts_calendar_days(due, lag, span):
    assert days_late(DeadlineFact("review", due, span, due + timedelta(days=lag)), ENGLAND) == lag


@given(days, st.integers(0, 90), st.integers(-40, 90))
def test_a_case_that_ends_leaves_each_duty_missed_if_it_was_due_before_else_not_applicable(
    received, gap, end
):
    pol = policies.load("llr")
    ended = received + timedelta(days=max(gap + end, 0))
    facts = CaseFacts(
        state="withdrawn",
        received=received,
        decisions=[Decision(received + timedelta(days=gap), False)],
        ended_on=ended,
    )
    for d in compute(pol, facts):
        if d.met_on is not None:
            continue
        if d.kind == "appeal_window":
            assert not d.missed  # the applicant's own limit: it passes, it is never missed
            assert d.not_applicable == (ended <= d.due)
        else:
            assert d.missed == (ended > d.due)
            assert d.not_applicable == (ended <= d.due)


@given(days, st.integers(0, 10), st.integers(0, 30))
def test_an_appeal_decided_without_a_bundle_missed_it_whatever_the_dates(received, lag, decided_after):
    pol = policies.load("llr")
    appeal_day = received + timedelta(days=5 + lag)
    facts = CaseFacts(
        state="closed",
        received=received,
        decisions=[Decision(received + timedelta(days=5), False)],
        appeals=[AppealFact(appeal_day, "threshold", appeal_day + timedelta(days=decided_after), False)],
        ended_on=appeal_day + timedelta(days=decided_after),
    )
    bundle = next(d for d in compute(pol, facts) if d.kind == "appeal_bundle")
    assert (bundle.met_on, bundle.missed, bundle.not_applicable) == (None, True, False)


def test_a_dropped_action_is_never_met():
    pol = policies.load("llr")
    facts = CaseFacts(
        state="outcome_issued",
        received=date(2025, 3, 3),
        actions=[
            ActionFact(1, 1, date(2025, 5, 1), "dropped", date(2025, 4, 20)),
            ActionFact(2, 2, date(2025, 5, 1), "dropped", date(2025, 5, 20)),
            ActionFact(3, 3, date(2025, 5, 1), "done", date(2025, 5, 9)),
        ],
    )
    got = {d.action_id: (d.met_on, d.not_applicable, d.missed) for d in compute(pol, facts)}
    assert got[1] == (None, True, False)
    assert got[2] == (None, False, True)
    assert got[3] == (date(2025, 5, 9), False, False)


# -- through the command line ---------------------------------------------------------------------------


def _activate(db, received: str, **extra) -> str:
    args = ["--applicant", "Ann Example", "--received", received, "--channel", "online"]
    args += ["--statement", "Nothing has changed"]
    for k, v in extra.items():
        args += [f"--{k.replace('_', '-')}", v]
    return db.json("activate", *args)["reference"]


def _by_kind(db, ref) -> dict:
    return {d["kind"]: d for d in db.json("show", ref)["deadlines"]}


def _not_met_case(db) -> str:
    ref = _activate(db, "2025-05-01")
    db(
        "incident",
        "add",
        ref,
        "--occurred",
        "2025-04-20",
        "--reported",
        "2025-04-21",
        "--agency",
        "police",
        "--on",
        "2025-05-01",
    )
    db("decide", ref, "--not-met", "--on", "2025-05-06")
    return ref


def test_a_bundle_never_sent_is_missed_after_the_decision_and_the_report_is_not_all_on_time(db):
    ref = _not_met_case(db)
    db("appeal", ref, "--received", "2025-05-20", "--grounds", "facts", "--on", "2025-05-20")
    db("appeal-decision", ref, "--dismissed", "--by", "Chair of Melton CSP", "--reason", "no new facts")
    bundle = _by_kind(db, ref)["appeal_bundle"]
    assert (bundle["status"], bundle["not_applicable"], bundle["met_on"]) == ("missed", False, None)
    assert "appeal_bundle        due 2025-05-21  MISSED" in db("show", ref).stdout
    rows = {r["kind"]: r for r in db.json("report", "deadlines")}
    assert rows["appeal_bundle"]["missed"] == 1 and rows["appeal_bundle"]["not_applicable"] == 0
    assert rows["appeal_bundle"]["on_time_share"] == 0.0
    # nothing was on time for the applicant's acknowledgement either: it was never sent
    assert rows["acknowledge"]["missed"] == 1 and rows["acknowledge"]["on_time_share"] == 0.0


def test_a_bundle_made_after_the_decision_does_not_meet_its_deadline(db, tmp_path):
    ref = _not_met_case(db)
    db("appeal", ref, "--received", "2025-05-20", "--grounds", "facts", "--on", "2025-05-20")
    db(
        "appeal-decision",
        ref,
        *("--dismissed", "--by", "Chair of Melton CSP", "--reason", "no new facts", "--on", "2025-05-30"),
    )
    db("bundle", ref, "-o", tmp_path / "late.zip", "--on", "2025-06-02")
    assert _by_kind(db, ref)["appeal_bundle"]["status"] == "missed"


def test_a_late_appeal_shows_its_window_late_accepted(db):
    ref = _not_met_case(db)
    db(
        "appeal",
        ref,
        "--received",
        "2025-06-20",
        "--grounds",
        "facts",
        "--late-reason",
        "in hospital in May",
        "--on",
        "2025-06-20",
    )
    window = _by_kind(db, ref)["appeal_window"]
    assert (window["due"], window["status"], window["met_on"]) == (
        "2025-06-04",
        "late_accepted",
        "2025-06-20",
    )
    assert "appeal_window        due 2025-06-04  late appeal accepted 2025-06-20" in db("show", ref).stdout
    rows = {r["kind"]: r for r in db.json("report", "deadlines")}
    assert rows["appeal_window"]["late_accepted"] == 1 and rows["appeal_window"]["on_time_share"] is None


def test_an_unused_window_has_passed_even_once_the_case_is_closed(db):
    ref = _not_met_case(db)
    db("close", ref, "--on", "2025-06-10")
    window = _by_kind(db, ref)["appeal_window"]
    assert (window["status"], window["not_applicable"]) == ("passed", False)


def _met_case(db) -> str:
    ref = _activate(db, "2025-03-03")
    add_complaints(
        db,
        ref,
        (("2025-01-10", "2025-01-12"), ("2025-01-20", "2025-01-21"), ("2025-02-03", "2025-02-04")),
        on="2025-03-03",
    )
    db("letter", ref, "acknowledgement", "--format", "txt", "--on", "2025-03-04")
    db("decide", ref, "--met", "--on", "2025-03-10")
    db("assign", ref, "--lead", "cbc", "--reviewer", "Sam Reviewer", "--on", "2025-03-11")
    db("meeting", ref, "--at", "2025-03-20T10:00", "--held")
    db("finding", ref, "--category", "silo_working", "--on", "2025-03-20")
    db("recommend", ref, "--to", "police", "--text", "Share reports", "--on", "2025-03-20")
    db(
        "action",
        "add",
        ref,
        "--action",
        "Joint visit",
        "--owner",
        "police",
        "--due",
        "2025-04-01",
        "--on",
        "2025-03-20",
    )
    return ref


def test_an_action_finished_late_is_met_late_with_its_days_late(db):
    ref = _met_case(db)
    db("outcome", ref, "--victim-consulted", "--on", "2025-03-27")
    db("action", "update", ref, "1", "--status", "done", "--on", "2025-04-15")
    action = _by_kind(db, ref)["action"]
    assert (action["status"], action["met_on"], action["days_late"]) == ("met_late", "2025-04-15", 14)
    assert "action               due 2025-04-01  met late 2025-04-15 (14 days late)" in db("show", ref).stdout
    rows = {r["kind"]: r for r in db.json("report", "deadlines")}
    assert rows["action"]["met_late"] == 1 and rows["action"]["on_time_share"] == 0.0


def test_an_outcome_letter_sent_late_is_late_by_working_days(db):
    ref = _met_case(db)
    db("outcome", ref, "--victim-consulted", "--on", "2025-03-27")
    # held Thu 20 Mar; 5 working days: due Thu 27 Mar; sent Tue 1 Apr: 3 working days late (Fri, Mon, Tue)
    db("letter", ref, "outcome", "--format", "txt", "--on", "2025-04-01")
    letter = _by_kind(db, ref)["outcome_letter"]
    assert (letter["due"], letter["status"], letter["days_late"]) == ("2025-03-27", "met_late", 3)
    assert "met late 2025-04-01 (3 working days late)" in db("show", ref).stdout


def test_a_dropped_action_is_not_shown_as_met(db):
    ref = _met_case(db)
    db("action", "update", ref, "1", "--status", "dropped", "--on", "2025-04-15")
    assert _by_kind(db, ref)["action"]["status"] == "missed"


def test_withdrawn_before_a_deadline_fell_due_it_is_not_applicable_after_it_missed(db):
    ref = _activate(db, "2025-03-03")
    db("withdraw", ref, "--reason", "moved away", "--on", "2025-03-07")
    got = {k: d["status"] for k, d in _by_kind(db, ref).items()}
    # acknowledgement due 4 Mar, never sent: missed; the decision was due 17 Mar: not applicable
    assert got == {"acknowledge": "missed", "threshold_decision": "not_applicable"}


def test_list_overdue_counts_overdue_deadlines_only_never_missed_ones(db):
    ended = _activate(db, "2025-03-03")
    db("withdraw", ended, "--reason", "moved away", "--on", "2025-03-07")
    running = _activate(db, "2025-03-03")
    rows = db.json("list", "--overdue", "--as-of", "2025-03-20")
    assert [(r["reference"], r["overdue"]) for r in rows] == [
        (running, ["acknowledge", "threshold_decision"])
    ]


def _session():
    return Session(create_engine(os.environ["TRIGGER_DB"]))


def test_a_reminder_warning_is_never_dated_before_the_case_was_received(db):
    # received Mon 2 Jun 2025; acknowledgement due Tue 3 Jun; two working days before is Thu 29 May
    ref = _activate(db, "2025-06-02")
    with _session() as s:
        case = s.exec(select(ReviewCase).where(ReviewCase.reference == ref)).one()
        rows = s.exec(
            select(Reminder, Deadline)
            .join(Deadline)
            .where(Deadline.case_id == case.id, Reminder.kind == "warning")
        ).all()
    assert rows
    for reminder, deadline in rows:
        assert reminder.send_on >= date(2025, 6, 2), (deadline.kind, reminder.send_on)
    ack = [r for r, d in rows if d.kind == "acknowledge"]
    assert ack and ack[0].send_on == date(2025, 6, 2)


def test_list_overdue_and_show_agree_on_which_deadlines_are_overdue(db):
    withdrawn = _activate(db, "2025-03-03")
    db("withdraw", withdrawn, "--reason", "moved away", "--on", "2025-03-20")
    met = _met_case(db)
    _not_met_case(db)
    listed = {r["reference"]: sorted(r["overdue"]) for r in db.json("list")}
    for ref in listed:
        shown = sorted(d["kind"] for d in db.json("show", ref)["deadlines"] if d["status"] == "overdue")
        assert listed[ref] == shown, ref
    assert listed[withdrawn] == [] and listed[met] == ["action", "outcome_letter", "review"]
