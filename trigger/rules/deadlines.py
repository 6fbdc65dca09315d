"""Which deadlines a case has and when they fall due, from its policy and its history. Pure: the
caller gathers the facts (`trigger.schedule` reads them from the database) and writes the rows.

Semantics the policy texts leave open, decided here (docs/architecture.md#deadlines-and-reminders):

- Each kind of deadline may occur more than once in a case's life (a second review after an appeal is
  upheld, a second appeal window after a second outcome).
- A deadline the case can no longer meet (it closed or was withdrawn first, the appeal was decided
  before its bundle was sent) is `not_applicable`, never dropped.
- `appeal_window` is the applicant's time limit, not a duty of the partnership: it is met when an appeal
  is lodged, it is never "overdue" (`is_duty`) and it gets no reminders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from trigger.codes import ACTION_FINISHED, NOT_DUTIES
from trigger.rules.policy import Policy
from workflows.machine import TERMINAL


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


def _first_on_or_after(days: Sequence[date], start: date) -> date | None:
    later = [d for d in days if d >= start]
    return min(later) if later else None


def compute(policy: Policy, facts: CaseFacts) -> list[Due]:
    """The deadlines of a case, in the order the procedure meets them."""
    cal = policy.calendar()
    ts = policy.timescales
    terminal = facts.state in TERMINAL
    out: list[Due] = []

    def sent(kind: str) -> list[date]:
        return sorted(d for k, d in facts.letters if k == kind)

    def add(kind: str, anchor: str, start: date, met_on: date | None, na: bool = False) -> None:
        span = ts[kind]
        out.append(
            Due(
                kind,
                f"{anchor} {start.isoformat()}",
                start,
                cal.due(start, span, policy.roll_forward),
                str(span),
                met_on,
                na or (met_on is None and terminal),
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
        # LLR: the bundle to the independent chair within one working day of the appeal
        met = _first_on_or_after(bundle_days, appeal.received)
        add(
            "appeal_bundle",
            "appeal received",
            appeal.received,
            met,
            na=met is None and appeal.decided_on is not None,
        )
        add("appeal_decision", "appeal received", appeal.received, appeal.decided_on)

    for action in facts.actions:
        # the action plan's own timescale
        done = (action.completed_on or action.due) if action.status in ACTION_FINISHED else None
        out.append(
            Due(
                "action",
                f"action {action.number}",
                None,
                action.due,
                None,
                done,
                done is None and terminal,
                action.id,
            )
        )
    return out
