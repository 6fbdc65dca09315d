"""Review hours by case, agency and person, and their cost at the policy's hourly rate."""

from __future__ import annotations

from datetime import date

from sqlalchemy import ColumnElement, func, select
from sqlmodel import col

from trigger.errors import InvalidInput
from trigger.store import access
from trigger.store.access import READ, needs
from trigger.store.app import App
from trigger.store.models import Agency, HoursEntry, ReviewCase
from trigger.store.unit import default_policy

# -- hours and cost ------------------------------------------------------------------------------------------


@needs(READ)
def hours(app: App, start: date | None = None, end: date | None = None) -> dict:
    """Review hours by case, agency and person, and their cost at the policy's hourly rate
    (docs/procedure.md#reporting; Charnwood CSP's papers: its reviews took 80-100 hours, one 172)."""
    if start and end and end < start:
        raise InvalidInput(f"--to {end.isoformat()} is before --from {start.isoformat()}; swap them")
    with app.read() as session:
        rate = default_policy(app, session).hourly_rate
        cond: list[ColumnElement[bool]] = [
            col(HoursEntry.voided_on).is_(None)
        ]  # an entry logged in error counts nowhere
        visible = access.visible_cases(session)  # the partnership's cases
        if visible is not None:
            cond.append(col(HoursEntry.case_id).in_(visible))
        if start:
            cond.append(col(HoursEntry.worked_on) >= start)
        if end:
            cond.append(col(HoursEntry.worked_on) <= end)
        total_h = func.sum(col(HoursEntry.hours))
        by_case = [
            {"reference": ref, "hours": round(float(h), 2), "cost": round(float(h) * rate, 2)}
            for ref, h in session.execute(
                select(col(ReviewCase.reference), total_h)
                .join(ReviewCase, col(ReviewCase.id) == col(HoursEntry.case_id))
                .where(*cond)
                .group_by(col(ReviewCase.reference))
                .order_by(total_h.desc(), col(ReviewCase.reference))
            )
        ]
        by_agency = [
            {"agency": code, "hours": round(float(h), 2), "cost": round(float(h) * rate, 2)}
            for code, h in session.execute(
                select(col(Agency.code), total_h)
                .join(Agency, col(Agency.id) == col(HoursEntry.agency_id))
                .where(*cond)
                .group_by(col(Agency.code))
                .order_by(total_h.desc(), col(Agency.code))
            )
        ]
        by_person = [
            {"person": person, "agency": code, "hours": round(float(h), 2), "cost": round(float(h) * rate, 2)}
            for person, code, h in session.execute(
                select(col(HoursEntry.person), col(Agency.code), total_h)
                .join(Agency, col(Agency.id) == col(HoursEntry.agency_id))
                .where(*cond)
                .group_by(col(HoursEntry.person), col(Agency.code))
                .order_by(total_h.desc(), col(HoursEntry.person))
            )
        ]
    total = sum(r["hours"] for r in by_case)
    longest = by_case[0] if by_case else None
    return {
        "from": start and start.isoformat(),
        "to": end and end.isoformat(),
        "hourly_rate": rate,
        "total_hours": round(total, 2),
        "total_cost": round(total * rate, 2),
        "cases": len(by_case),
        "mean_hours_per_review": round(total / len(by_case), 1) if by_case else None,
        "longest_review": longest,
        "by_case": by_case,
        "by_agency": by_agency,
        "by_person": by_person,
    }
