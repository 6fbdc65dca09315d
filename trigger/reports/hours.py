"""Review hours by case, agency and person, and their cost at the policy's hourly rate."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

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
        cond = [HoursEntry.voided_on.is_(None)]  # an entry logged in error counts nowhere
        visible = access.visible_cases(session)  # the partnership's cases
        if visible is not None:
            cond.append(HoursEntry.case_id.in_(visible))
        if start:
            cond.append(HoursEntry.worked_on >= start)
        if end:
            cond.append(HoursEntry.worked_on <= end)
        total_h = func.sum(HoursEntry.hours)
        by_case = [
            {"reference": ref, "hours": round(float(h), 2), "cost": round(float(h) * rate, 2)}
            for ref, h in session.execute(
                select(ReviewCase.reference, total_h)
                .join(ReviewCase, ReviewCase.id == HoursEntry.case_id)
                .where(*cond)
                .group_by(ReviewCase.reference)
                .order_by(total_h.desc(), ReviewCase.reference)
            )
        ]
        by_agency = [
            {"agency": code, "hours": round(float(h), 2), "cost": round(float(h) * rate, 2)}
            for code, h in session.execute(
                select(Agency.code, total_h)
                .join(Agency, Agency.id == HoursEntry.agency_id)
                .where(*cond)
                .group_by(Agency.code)
                .order_by(total_h.desc(), Agency.code)
            )
        ]
        by_person = [
            {"person": person, "agency": code, "hours": round(float(h), 2), "cost": round(float(h) * rate, 2)}
            for person, code, h in session.execute(
                select(HoursEntry.person, Agency.code, total_h)
                .join(Agency, Agency.id == HoursEntry.agency_id)
                .where(*cond)
                .group_by(HoursEntry.person, Agency.code)
                .order_by(total_h.desc(), HoursEntry.person)
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
