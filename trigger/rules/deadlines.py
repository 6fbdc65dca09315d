"""Which deadlines a case has and when they fall due, from its policy and its history. Pure: the
caller gathers the facts (`trigger.store.schedule` reads them from the database) and writes the rows.

Semantics the policy texts leave open, decided here (docs/architecture.md#deadlines-and-reminders):

- Each kind of deadline may occur more than once in a case's life (a second review after an appeal is
  upheld, a second appeal window after a second outcome).
- A deadline the case can no longer meet is never dropped. When the case ended (closed, withdrawn)
  before the deadline fell due it is `not_applicable`; when its stage ended after it fell due without
  it being done, or the stage it served happened without it (an appeal decided without a bundle), it
  is `missed`: the record never says "not applicable" of a duty that was not done.
- `appeal_window` is the applicant's time limit, not a duty of the partnership: it is met when an appeal
  is lodged, it is never "overdue" (`is_duty`) and it gets no reminders. Unused, it has `passed`; an
  appeal after it (accepted with a reason) makes it `late_accepted`.
- An action dropped from the plan is not "met": dropped on or before its due date it is
  `not_applicable`, after it `missed`.

`status` turns one deadline's facts and an as-of day into what the record says of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

from trigger.codes import NOT_DUTIES
from trigger.rules.calendar import WorkingCalendar, parse_span
from workflows.machine import TERMINAL

if TYPE_CHECKING:  # the policy model is only read, never built, here
    from trigger.rules.policy import Policy


def is_duty(kind: str) -> bool:
    """A deadline the partnership must meet (the appeal window is the applicant's own limit)."""
    return kind not in NOT_DUTIES


# -- the facts a case's deadlines depend on -----------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    """A threshold decision: when, and whether met."""

    on: date
    met: bool


@dataclass(frozen=True)
class AppealFact:
    received: date
    against: str  # threshold, outcome
    decided_on: date | None = None
    upheld: bool | None = None


@dataclass(frozen=True)
class ActionFact:
    id: int
    number: int
    due: date
    status: str
    completed_on: date | None = None


@dataclass(frozen=True)
class CaseFacts:
    """Everything about a case that its deadlines depend on."""

    state: str
    received: date
    decisions: Sequence[Decision] = ()
    outcomes: Sequence[date] = ()  # the days outcomes were issued
    meetings_held: Sequence[date] = ()
    appeals: Sequence[AppealFact] = ()
    actions: Sequence[ActionFact] = ()
    letters: Sequence[tuple[str, date]] = ()  # (kind, issued on)
    bundles: Sequence[date] = ()  # the days appeal bundles were sent
    ended_on: date | None = None  # the day the case closed or was withdrawn


@dataclass
class Due:
    """One computed deadline occurrence."""

    kind: str
    anchor: str
    start: date | None
    due: date
    span: str | None = None
    met_on: date | None = None
    not_applicable: bool = False
    action_id: int | None = field(default=None)
    missed: bool = False


def _first_on_or_after(days: Sequence[date], start: date) -> date | None:
    later = [d for d in days if d >= start]
    return min(later) if later else None


def _unmet_end(kind: str, due: date, ended_on: date | None) -> tuple[bool, bool]:
    """(not_applicable, missed) of a deadline not done when its case ended on `ended_on` (None: still
    open). Ended on or before the due day: not applicable; after it: missed. The appeal window is the
    applicant's, so after its end it has simply passed."""
    if ended_on is None:
        return False, False
    if ended_on <= due:
        return True, False
    return False, is_duty(kind)


def compute(policy: Policy, facts: CaseFacts) -> list[Due]:
    """The deadlines of a case, in the order the procedure meets them."""
    ts = policy.timescales
    ended = facts.ended_on if facts.state in TERMINAL else None
    if facts.state in TERMINAL and ended is None:
        ended = facts.received
    out: list[Due] = []

    def sent(kind: str) -> list[date]:
        return sorted(d for k, d in facts.letters if k == kind)

    def add(kind: str, anchor: str, start: date, met_on: date | None, missed: bool = False) -> None:
        span = ts[kind]
        due = policy.due(start, span)
        na, late = (False, False) if met_on is not None else _unmet_end(kind, due, ended)
        out.append(
            Due(
                kind,
                f"{anchor} {start.isoformat()}",
                start,
                due,
                str(span),
                met_on,
                na and not missed,
                missed=(late or missed) and met_on is None,
            )
        )

    # LLR: acknowledged within one working day (docs/procedure.md#llr-timescales); met by the letter
    add("acknowledge", "received", facts.received, min(sent("acknowledgement"), default=None))
    # LLR: the threshold decision within 14 days of receipt
    first_decision = min((d.on for d in facts.decisions), default=None)
    add("threshold_decision", "received", facts.received, first_decision)

    # LLR: the review within 28 days of the threshold decision; a review also (re)starts when an appeal
    # is upheld
    review_starts = [(d.on, "threshold met") for d in facts.decisions if d.met]
    review_starts += [(a.decided_on, "appeal upheld") for a in facts.appeals if a.decided_on and a.upheld]
    for start, label in sorted(review_starts):
        add("review", label, start, _first_on_or_after(facts.outcomes, start))

    # the national pattern: the outcome letter 5 working days after the meeting
    for held in sorted(facts.meetings_held):
        add("outcome_letter", "meeting held", held, _first_on_or_after(sent("outcome"), held))

    # LLR: an appeal within twenty working days of the not-met decision or the outcome
    window_starts = [(d.on, "threshold not met") for d in facts.decisions if not d.met]
    window_starts += [(d, "outcome issued") for d in facts.outcomes]
    appeal_days = sorted(a.received for a in facts.appeals)
    for start, label in sorted(window_starts):
        add("appeal_window", label, start, _first_on_or_after(appeal_days, start))

    bundle_days = sorted([*facts.bundles, *sent("appeal_bundle")])
    for appeal in sorted(facts.appeals, key=lambda a: a.received):
        # LLR: the bundle to the independent chair within one working day of the appeal; a bundle made
        # after the appeal was decided did not serve it, and the decision made without one missed it
        met = _first_on_or_after(bundle_days, appeal.received)
        if met is not None and appeal.decided_on is not None and met > appeal.decided_on:
            met = None
        add("appeal_bundle", "appeal received", appeal.received, met, missed=appeal.decided_on is not None)
        add("appeal_decision", "appeal received", appeal.received, appeal.decided_on)

    for action in facts.actions:
        # the action plan's own timescale; a dropped action was not done, so it is never "met"
        finished = action.completed_on or action.due
        if action.status == "done":
            met_on, na, missed = finished, False, False
        elif action.status == "dropped":
            met_on, na, missed = None, finished <= action.due, finished > action.due
        else:
            met_on = None
            na, missed = _unmet_end("action", action.due, ended)
        out.append(
            Due(
                "action",
                f"action {action.number}",
                None,
                action.due,
                None,
                met_on,
                na,
                action.id,
                missed,
            )
        )
    return out


# -- what the record says of one deadline -----------------------------------------------------------------

STATUSES = ("open", "overdue", "met", "met_late", "missed", "not_applicable", "passed", "late_accepted")


@dataclass(frozen=True)
class DeadlineFact:
    """One deadline as the record holds it."""

    kind: str
    due: date
    span: str | None = None  # the policy timescale ("1wd", "14d"); None for an action (calendar days)
    met_on: date | None = None
    not_applicable: bool = False
    missed: bool = False


def status(d: DeadlineFact, as_of: date) -> str:
    """What the record says of a deadline on `as_of` (docs/architecture.md#deadlines-and-reminders):
    `met` (done on or before its due day), `met_late` (done after it), `missed` (its stage ended
    without it), `not_applicable` (the case ended before it fell due), `overdue` (due, not done,
    still possible), `open` (not yet due); and for the applicant's appeal window `met` (an appeal in
    time), `late_accepted` (an appeal after it, accepted with a reason) or `passed` (no appeal)."""
    duty = is_duty(d.kind)
    if d.met_on is not None:
        if d.met_on <= d.due:
            return "met"
        return "met_late" if duty else "late_accepted"
    if d.missed and duty:
        return "missed"
    if d.not_applicable:
        return "not_applicable"
    if d.due < as_of:
        return "overdue" if duty else "passed"
    return "open"


def days_late(d: DeadlineFact, calendar: WorkingCalendar | None) -> int | None:
    """How late a deadline done after its due day was, in its own unit: working days for a `wd`
    timescale (the working days after the due day up to and including the day it was done; the
    calendar is needed for these only), calendar days otherwise. None when it was not done late."""
    if d.met_on is None or d.met_on <= d.due:
        return None
    if d.span and parse_span(d.span).unit == "wd":
        if calendar is None:
            raise ValueError(f"{d.kind} runs in working days: its days late need the policy's calendar")
        return calendar.working_days_between(d.due, d.met_on)
    return (d.met_on - d.due).days


def anchor_date(anchor: str | None) -> date | None:
    """A deadline's anchor reads like "received 2026-03-02": the day its time limit ran from."""
    for word in reversed((anchor or "").split()):
        try:
            return date.fromisoformat(word.strip("(),"))
        except ValueError:
            continue
    return None
