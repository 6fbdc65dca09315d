"""Which letters a case may have on a given day, and why not.

A letter kind is sent only from the states `workflows.machine.LETTER_STATES` lists, and only once the
facts it reports are on record (a threshold decision, a meeting, an outcome, an appeal lodged or
decided, the case closed), never dated before them. The facts these checks read, and a letter's
context reads too (the decision a letter reports, the case's appeals, the day of an event), live here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlmodel import Session, col, select

from trigger.cases import decisions
from trigger.codes import LETTER_KINDS
from trigger.store.models import Appeal, AuditEvent, Meeting, ReviewCase
from workflows.machine import LETTER_STATES, TERMINAL, State

STAGES: dict[str, tuple[str, str]] = {
    # the step a delay letter apologises for, and its deadline (docs/architecture.md#letters-and-states)
    State.RECEIVED: ("threshold_decision", "decide whether the threshold for a review is met"),
    State.THRESHOLD_MET: ("review", "finish your review"),
    State.IN_REVIEW: ("review", "finish your review"),
    State.APPEALED: ("appeal_decision", "decide your appeal"),
}


def appeals_of(session: Session, case: ReviewCase) -> list[Appeal]:
    """The case's appeals, in the order they were lodged."""
    return list(session.exec(select(Appeal).where(Appeal.case_id == case.id).order_by(col(Appeal.id))))


def reported_decision(
    session: Session, case: ReviewCase, kind: str | None = None, on: date | None = None
) -> decisions.Standing | None:
    """The threshold decision a letter reports: the one that stands (after an appeal, the one the appeal
    left standing), except that a not-met or rejection letter reports the decision as `decide` made it,
    unless it is dated once an upheld appeal had replaced it."""
    standing = decisions.standing(session, case)
    if standing.decided is None:
        return None
    if kind in ("threshold_not_met", "rejection") and standing.original is not None:
        replaced = standing.by_appeal and standing.met and on is not None and on >= standing.decided
        if not replaced:
            return decisions.as_decided(standing.original)
    return standing


def event_on(session: Session, case: ReviewCase, event: str) -> date | None:
    """The `--on` day of the case's latest audit event of that kind (None when it never happened)."""
    row = session.exec(
        select(AuditEvent)
        .where(AuditEvent.case_id == case.id, AuditEvent.event == event)
        .order_by(col(AuditEvent.seq).desc())
    ).first()
    return row.on if row else None


def refusal(session: Session, case: ReviewCase, kind: str, on: date) -> str | None:
    """None when the case's state and facts support the letter on that day, else the reason they do not."""
    check = _CHECKS.get(kind)
    if check is None:
        return f"{kind!r} is not a letter kind; use one of {', '.join(LETTER_KINDS)}"
    reason = check(session, case, kind, on)
    if reason is None and case.state not in LETTER_STATES[kind]:
        reason = f"{case.reference} is {case.state}; a {kind} letter is not sent from that state"
    return reason


def _always(session: Session, case: ReviewCase, kind: str, on: date) -> str | None:
    return None


def _information_request(session: Session, case: ReviewCase, kind: str, on: date) -> str | None:
    if case.state in TERMINAL:
        return f"{case.reference} is {case.state}; no information is requested for it"
    return None


def _threshold_letter(session: Session, case: ReviewCase, kind: str, on: date) -> str | None:
    ref = case.reference
    decision = reported_decision(session, case, kind, on)
    if decision is None or decision.decided is None:
        return f"{ref} has no threshold decision yet; record it with `trigger decide` first"
    wrong = _other_letter(ref, kind, decision)
    if wrong is None and on < decision.decided:
        return f"the threshold was decided on {decision.decided}; the letter cannot be dated before it"
    return wrong


def _other_letter(ref: str, kind: str, decision: decisions.Standing) -> str | None:
    """Why the decision on record calls for another of the threshold letters, if it does."""
    if kind == "threshold_met" and not decision.met:
        return f"the threshold for {ref} was decided not met on {decision.decided}; send threshold_not_met"
    if kind in ("threshold_not_met", "rejection") and decision.by_appeal and decision.met:
        return (
            f"the appeal upheld on {decision.decided} replaced the decision on {ref}; the threshold is "
            "met: send threshold_met or appeal_outcome"
        )
    if kind == "threshold_not_met" and (decision.met or decision.rejection_category):
        other = "threshold_met" if decision.met else "rejection"
        return f"the threshold decision on {ref} was not 'not met' on its merits; send {other}"
    if kind == "rejection" and not decision.rejection_category:
        return f"{ref} was not rejected; its threshold decision was {'met' if decision.met else 'not met'}"
    return None


def _meeting_invitation(session: Session, case: ReviewCase, kind: str, on: date) -> str | None:
    row = session.exec(
        select(Meeting).where(Meeting.case_id == case.id).order_by(col(Meeting.id).desc())
    ).first()
    ref = case.reference
    if row is None:
        return f"{ref} has no review meeting; schedule it with `trigger meeting {ref} --at ...` first"
    if not (row.place or row.link or row.phone):
        # an invitation says where to come or how to join, or it invites to nothing
        at = row.at.isoformat(timespec="minutes")
        return (
            f"{ref}'s meeting at {at} has no place, joining link or telephone; give --place "
            f"(or --link, --phone) with `trigger meeting {ref} --at {at} --place TEXT` first"
        )
    return None


def _delay(session: Session, case: ReviewCase, kind: str, on: date) -> str | None:
    if case.state not in STAGES:
        return f"{case.reference} is {case.state}; nothing is pending that could be delayed"
    return None


def _outcome(session: Session, case: ReviewCase, kind: str, on: date) -> str | None:
    issued = event_on(session, case, "issue_outcome")
    if issued is None:
        ref = case.reference
        return f"{ref} has no outcome yet (it is {case.state}); issue it with `trigger outcome {ref}` first"
    if on < issued:
        return f"the outcome was issued on {issued}; the letter cannot be dated before it"
    return None


def _appeal_acknowledgement(session: Session, case: ReviewCase, kind: str, on: date) -> str | None:
    appeals = appeals_of(session, case)
    if not appeals:
        return f"{case.reference} has no appeal; lodge it with `trigger appeal {case.reference}` first"
    if on < appeals[-1].received:
        return f"the appeal was received on {appeals[-1].received}; the letter cannot be dated before it"
    return None


def _appeal_outcome(session: Session, case: ReviewCase, kind: str, on: date) -> str | None:
    decided = [a.decided_on for a in appeals_of(session, case) if a.decided_on]
    if not decided:
        ref = case.reference
        return f"{ref} has no decided appeal; record it with `trigger appeal-decision {ref}` first"
    if on < decided[-1]:
        return f"the appeal was decided on {decided[-1]}; the letter cannot be dated before it"
    return None


def _closure(session: Session, case: ReviewCase, kind: str, on: date) -> str | None:
    if case.state != State.CLOSED:
        ref = case.reference
        return f"{ref} is {case.state}, not closed; close it with `trigger close {ref}` first"
    if on < case.state_changed:
        return f"the case was closed on {case.state_changed}; the letter cannot be dated before it"
    return None


# what each letter kind needs on record, besides its state
_CHECKS: dict[str, Callable[[Session, ReviewCase, str, date], str | None]] = {
    "acknowledgement": _always,
    "information_request": _information_request,
    "threshold_met": _threshold_letter,
    "threshold_not_met": _threshold_letter,
    "rejection": _threshold_letter,
    "meeting_invitation": _meeting_invitation,
    "delay": _delay,
    "outcome": _outcome,
    "appeal_acknowledgement": _appeal_acknowledgement,
    "appeal_outcome": _appeal_outcome,
    "closure": _closure,
}
