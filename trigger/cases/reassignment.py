"""Reassignment (docs/architecture.md#corrections): `trigger assign REF ... --reason` once the review
has started gives the case a new lead agency, reviewer or SPoC (a reviewer on leave, say). It is a
correction like the others (`trigger.cases.corrections`): old value, new value, reason, one audit event. The
people it replaces stay on the list of those involved in the case, so can never decide its appeal.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session, col, select

from trigger.cases.corrections import detail, record_changes, required_reason, stamp
from trigger.errors import GuardRefused, InvalidInput
from trigger.store import models
from trigger.store.models import Agency, ReviewCase
from trigger.store.unit import Work, find_agency
from workflows.machine import REVIEW_WORK_STATES


def reassign(
    w: Work,
    *,
    lead: str | None,
    reviewer: str | None,
    reviewer_email: str | None,
    spoc: str | None,
    spoc_email: str | None,
    reason: str | None,
    on: date,
) -> list[models.Correction]:
    """`trigger assign REF ... --reason` once the review has started: a new lead agency or reviewer (a
    reviewer on leave, say). The one replaced stays on the list of people involved in the case, so can
    never decide its appeal (`trigger.cases.moves.involved`)."""
    case = w.case
    if case.state not in REVIEW_WORK_STATES:
        raise GuardRefused(f"cannot reassign {case.reference}: it is {case.state}")
    if not (reason or "").strip():
        raise GuardRefused(
            f"{case.reference} is already assigned ({case.state}, reviewer {case.reviewer}); to reassign it "
            "give --reason"
        )
    why = required_reason(reason)
    changes: list[tuple[str, str | None, str | None]] = []
    if lead:
        agency = find_agency(w.session, lead)
        if agency.id != case.lead_agency_id:
            old = w.session.get(Agency, case.lead_agency_id) if case.lead_agency_id else None
            changes.append(("lead", old.code if old else None, agency.code))
            case.lead_agency_id = agency.id
    if reviewer is not None and reviewer.strip() and reviewer.strip() != case.reviewer:
        changes.append(("reviewer", case.reviewer, reviewer.strip()))
        case.reviewer = reviewer.strip()
        if (
            reviewer_email is None and case.reviewer_email
        ):  # the old reviewer's address must not get reminders
            changes.append(("reviewer_email", case.reviewer_email, None))
            case.reviewer_email = None
    if reviewer_email is not None and (reviewer_email.strip() or None) != case.reviewer_email:
        changes.append(("reviewer_email", case.reviewer_email, reviewer_email.strip() or None))
        case.reviewer_email = reviewer_email.strip() or None
    for option, column, value in (("spoc", "spoc_name", spoc), ("spoc_email", "spoc_email", spoc_email)):
        if value is not None and (value.strip() or None) != getattr(case, column):
            changes.append((option, getattr(case, column), value.strip() or None))
            setattr(case, column, value.strip() or None)
    if not changes:
        raise InvalidInput(f"nothing to reassign: {case.reference} already has that lead agency and reviewer")
    rows = record_changes(w.session, case, "assignment", case.id, changes, why, on, w.actor)
    stamp(rows, w.record("reassign", on, reason=why, detail=detail(rows, lead=lead or None)))
    return rows


def replaced_people(session: Session, case: ReviewCase) -> set[str]:
    """Everybody a reassignment replaced: former reviewers, lead agencies and SPoCs of the case."""
    rows = session.exec(
        select(models.Correction.old_value).where(
            models.Correction.case_id == case.id,
            col(models.Correction.subject).in_(("assignment", "case")),
            col(models.Correction.field).in_(("reviewer", "lead", "spoc")),
        )
    ).all()
    names = {r for r in rows if r}
    for code in list(names):
        agency = session.exec(
            select(Agency).where(Agency.code == code, Agency.partnership_id == case.partnership_id)
        ).first()
        if agency is not None:
            names.add(agency.name)
    return names
