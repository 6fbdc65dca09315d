"""Retention (docs/procedure.md#retention): Review-Retain-Delete of personal data after the policy's
`retention_years` (LLR: 6 years, from the partnership papers on the Sentinel case system).

A purge blanks the personal data of cases closed or withdrawn before a date, and every free text tied
to them (closure and decision reasons, findings, recommendations, actions, notes), and keeps
everything the published figures and the audit chain rest on: dates, states, channels, decisions,
agencies, counts. Imported incident rows (partners' logs, kept only for `trigger scan`) reported
before the same date are deleted. Audit rows are never touched (they hold no personal data of the
victim by design: see `trigger.audit`).

After the commit, the space the old values took is cleaned too: on PostgreSQL a `VACUUM FULL` of the
tables touched rewrites them (a plain VACUUM leaves the old bytes in the table file until the space is
reused); on SQLite the purge runs with `secure_delete` and ends with a WAL checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete, func, select, update
from sqlmodel import Session

from trigger import audit
from trigger.app import App, today
from trigger.errors import GuardRefused
from trigger.models import (
    Action,
    Appeal,
    EvidenceRequest,
    Finding,
    HoursEntry,
    Incident,
    Letter,
    Meeting,
    Recommendation,
    ReviewCase,
    ThresholdDecision,
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
    "closure_reason": PURGED,
    "no_recommendations_reason": None,
}
# free text in the case's other rows: (table, {column: value}); the audit chain is never touched
ROW_FIELDS = (
    (Incident, {"description": None, "location": None, "complainant": None, "victim_ref": None}),
    (Letter, {"recipient": PURGED}),
    (Meeting, {"attendees": None}),
    (Appeal, {"detail": None, "late_reason": None, "reason": None}),
    (HoursEntry, {"note": None}),
    (EvidenceRequest, {"note": None}),
    (ThresholdDecision, {"reason": None}),
    (Finding, {"text": None}),
    (Recommendation, {"text": PURGED, "response_reason": None}),
    (Action, {"action": PURGED, "progress": None, "resources": None, "outcome_measure": None}),
)
TABLES = ["review_case", *(model.__tablename__ for model, _ in ROW_FIELDS)]


@dataclass
class Purged:
    cases: list[dict] = field(default_factory=list)
    imported_incidents: int = 0  # imported incident rows deleted (or, dry run, that would be)


def latest_allowed(retention_years: int, on: date | None = None) -> date:
    """The latest --closed-before a policy allows: today less the retention period."""
    return add_months(on or today(), -12 * retention_years)


def candidates(session: Session, closed_before: date) -> list[ReviewCase]:
    return list(
        session.scalars(
            select(ReviewCase)
            .where(
                ReviewCase.state.in_(TERMINAL),
                ReviewCase.state_changed < closed_before,
                ReviewCase.purged.is_(False),
            )
            .order_by(ReviewCase.reference)
        )
    )


def purge(app: App, closed_before: date, *, dry_run: bool = False) -> Purged:
    """Remove the personal data of cases closed or withdrawn before `closed_before`, and the imported
    incident rows reported before it; one transaction, one audit event per case and one for the
    imported rows. Returns what was (or, with dry_run, would be) purged."""
    result = Purged()
    with app.write() as session:
        pol = default_policy(app, session)
        limit = latest_allowed(pol.retention_years)
        if closed_before > limit:
            raise GuardRefused(
                f"--closed-before {closed_before.isoformat()} is too recent: "
                f"policy {pol.name} keeps case records "
                f"for {pol.retention_years} years, so the latest date allowed today is {limit.isoformat()}"
            )
        sqlite = session.connection().dialect.name == "sqlite"
        if sqlite and not dry_run:
            session.connection().exec_driver_sql("PRAGMA secure_delete=ON")  # freed pages are zeroed
        for case in candidates(session, closed_before):
            case_pol = case_policy(session, case)
            # a case started under a policy with a longer retention keeps its data for that longer period
            if case.state_changed >= latest_allowed(case_pol.retention_years):
                continue
            result.cases.append(_purge_case(session, case, app.actor, dry_run))
        result.imported_incidents = _purge_imported(session, closed_before, app.actor, dry_run)
        if dry_run:
            session.rollback()
    if not dry_run and (result.cases or result.imported_incidents):
        _reclaim(app)
    return result


def _purge_imported(session: Session, before: date, actor: str, dry_run: bool) -> int:
    """Imported incident rows (no case) reported before `before`: deleted, with one audit event."""
    old = (Incident.case_id.is_(None), Incident.reported < before)
    count = session.scalar(select(func.count()).select_from(Incident).where(*old)) or 0
    if count and not dry_run:
        session.execute(delete(Incident).where(*old))
        audit.record(
            session,
            None,
            "purge_imported",
            actor=actor,
            on=today(),
            detail={"incidents": count, "reported_before": before.isoformat()},
        )
    return count


def _reclaim(app: App) -> None:
    """After the commit, outside any transaction: make the old bytes unreadable from the files."""
    engine = app.engine
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            # a plain VACUUM only marks the space reusable; FULL rewrites each table and its indexes
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("VACUUM (FULL) " + ", ".join(TABLES))
        elif engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _purge_case(session: Session, case: ReviewCase, actor: str, dry_run: bool) -> dict:
    initials = "".join(w[0] for w in case.victim_name.split() if w[:1].isalpha()).upper()[:3]
    incidents = session.scalar(select(func.count()).select_from(Incident).where(Incident.case_id == case.id))
    letters = session.scalar(select(func.count()).select_from(Letter).where(Letter.case_id == case.id))
    summary = {
        "reference": case.reference,
        "state": case.state,
        "closed": case.state_changed.isoformat(),
        "victim_initials": initials,
        "incidents": incidents,
        "letters": letters,
    }
    if dry_run:
        return summary
    for name, value in CASE_FIELDS.items():
        setattr(case, name, value)
    case.purged = True
    session.add(case)
    for model, values in ROW_FIELDS:
        session.execute(update(model).where(model.case_id == case.id).values(**values))
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
                *(
                    f"{model.__tablename__}.{column}"
                    for model, values in ROW_FIELDS
                    for column in sorted(values)
                ),
            ]
        },
    )
    return summary
