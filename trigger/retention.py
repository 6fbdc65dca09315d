"""Retention (docs/procedure.md#retention): Review-Retain-Delete of personal data after the policy's
`retention_years` (LLR: 6 years, from the partnership papers on the Sentinel case system).

A purge blanks the personal data of cases closed or withdrawn before a date and keeps everything the
published figures and the audit chain rest on: dates, states, channels, decisions, agencies, counts.
Audit rows are never touched (they hold no personal data of the victim by design: see `trigger.audit`).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, select, update
from sqlmodel import Session

from trigger import access, audit
from trigger.access import PURGE, needs
from trigger.app import App, today
from trigger.errors import GuardRefused
from trigger.models import (
    Appeal,
    Consultation,
    Correction,
    EvidenceRequest,
    HoursEntry,
    Incident,
    Letter,
    LetterCopy,
    LetterDelivery,
    Meeting,
    ReviewCase,
)
from trigger.rules.calendar import add_months
from trigger.unit import case_policy, default_policy
from workflows.machine import TERMINAL

PURGED = "[purged]"
# the case's own personal fields: names, contact, address, statement, vulnerability, accessibility
CASE_FIELDS = {
    "applicant_name": PURGED,
    "victim_name": PURGED,
    "statement": PURGED,
    "victim_ref": None,
    "consent_method": None,
    "email": None,
    "phone": None,
    "preferred_contact": None,
    "accessibility": None,
    "address": None,
    "postcode": None,
    "vulnerability": None,
    "spoc_email": None,
}


def latest_allowed(retention_years: int, on: date | None = None) -> date:
    """The latest --closed-before a policy allows: today less the retention period."""
    return add_months(on or today(), -12 * retention_years)


def candidates(session: Session, closed_before: date, partnership_id: int | None = None) -> list[ReviewCase]:
    """Closed and withdrawn cases whose personal data is due to go (of one partnership, when given)."""
    ours = [] if partnership_id is None else [ReviewCase.partnership_id == partnership_id]
    return list(
        session.scalars(
            select(ReviewCase)
            .where(
                *ours,
                ReviewCase.state.in_(TERMINAL),
                ReviewCase.state_changed < closed_before,
                ReviewCase.purged.is_(False),
            )
            .order_by(ReviewCase.reference)
        )
    )


@needs(PURGE)
def purge(app: App, closed_before: date, *, dry_run: bool = False) -> list[dict]:
    """Remove the personal data of cases closed or withdrawn before `closed_before`; one transaction,
    one audit event per case. Returns what was (or, with dry_run, would be) purged."""
    with app.write() as session:
        pid = access.acting_partnership(session)  # a partnership purges its own cases, under its policy
        pol = default_policy(app, session, pid)
        limit = latest_allowed(pol.retention_years)
        if closed_before > limit:
            raise GuardRefused(
                f"--closed-before {closed_before.isoformat()} is too recent: "
                f"policy {pol.name} keeps case records "
                f"for {pol.retention_years} years, so the latest date allowed today is {limit.isoformat()}"
            )
        found = []
        for case in candidates(session, closed_before, pid):
            case_pol = case_policy(session, case)
            # a case started under a policy with a longer retention keeps its data for that longer period
            if case.state_changed >= latest_allowed(case_pol.retention_years):
                continue
            found.append(_purge_case(session, case, app.actor, dry_run))
        if dry_run:
            session.rollback()
    return found


def _purge_case(session: Session, case: ReviewCase, actor: str, dry_run: bool) -> dict:
    initials = "".join(w[0] for w in case.victim_name.split() if w[:1].isalpha()).upper()[:3]
    incidents = session.scalars(select(Incident).where(Incident.case_id == case.id)).all()
    letters = session.scalars(select(Letter).where(Letter.case_id == case.id)).all()
    summary = {
        "reference": case.reference,
        "state": case.state,
        "closed": case.state_changed.isoformat(),
        "victim_initials": initials,
        "incidents": len(incidents),
        "letters": len(letters),
    }
    if dry_run:
        return summary
    for field, value in CASE_FIELDS.items():
        setattr(case, field, value)
    case.purged = True
    session.add(case)
    session.execute(
        update(Incident)
        .where(Incident.case_id == case.id)
        .values(description=None, location=None, complainant=None, victim_ref=None)
    )
    session.execute(update(Letter).where(Letter.case_id == case.id).values(recipient=PURGED))
    # the exact bytes of the letters sent are personal data through and through: the register keeps
    # each letter's kind, date and sha256 only
    letter_ids = select(Letter.id).where(Letter.case_id == case.id)
    session.execute(delete(LetterCopy).where(LetterCopy.letter_id.in_(letter_ids)))
    # and the addresses the letters were e-mailed to
    session.execute(
        update(LetterDelivery).where(LetterDelivery.letter_id.in_(letter_ids)).values(sent_to=PURGED)
    )
    # corrections keep which field changed, when and by whom; the values and reasons go
    session.execute(
        update(Correction)
        .where(Correction.case_id == case.id)
        .values(old_value=None, new_value=None, reason=PURGED)
    )
    session.execute(update(Consultation).where(Consultation.case_id == case.id).values(response=PURGED))
    session.execute(update(Meeting).where(Meeting.case_id == case.id).values(attendees=None))
    session.execute(update(Appeal).where(Appeal.case_id == case.id).values(detail=None))
    session.execute(update(HoursEntry).where(HoursEntry.case_id == case.id).values(note=None))
    session.execute(update(EvidenceRequest).where(EvidenceRequest.case_id == case.id).values(note=None))
    session.flush()
    audit.record(
        session,
        case,
        "purge",
        actor=actor,
        on=today(),
        detail={
            "fields": [
                *sorted(CASE_FIELDS),
                "incident descriptions",
                "letter recipients",
                "meeting attendees",
                "appeal detail",
                "hours notes",
                "evidence notes",
                "letter copies",
                "correction values",
                "consultation responses",
            ]
        },
    )
    return summary
