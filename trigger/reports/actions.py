"""The action-plan tracker: every action across the cases, with whether it is overdue."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlmodel import col

from trigger.codes import ACTION_OPEN
from trigger.store import access
from trigger.store.access import READ, needs
from trigger.store.app import App, today
from trigger.store.models import Action, Agency, ReviewCase
from trigger.store.unit import find_agency, find_case

# -- the action-plan tracker ---------------------------------------------------------------------------------


@needs(READ)
def action_tracker(
    app: App,
    *,
    reference: str | None = None,
    owner: str | None = None,
    overdue: bool = False,
    as_of: date | None = None,
) -> list[dict]:
    """Every action across the cases with its owner, due date, RAG and whether it is overdue on `as_of`
    (2025 guidance: actions are followed up; docs/procedure.md#recommendations)."""
    as_of = as_of or today()
    with app.read() as session:
        query = (
            select(Action, col(ReviewCase.reference), col(Agency.code))
            .join(ReviewCase, col(Action.case_id) == col(ReviewCase.id))
            .join(Agency, col(Action.owner_agency_id) == col(Agency.id))
            .where(*access.case_filter(session, ReviewCase))  # the partnership's cases
        )
        if reference:
            query = query.where(col(Action.case_id) == find_case(session, reference).id)
        if owner:
            query = query.where(col(Agency.id) == find_agency(session, owner).id)
        if overdue:
            query = query.where(col(Action.status).in_(ACTION_OPEN), col(Action.due) < as_of)
        rows = session.execute(
            query.order_by(col(Action.due), col(ReviewCase.reference), col(Action.number))
        ).all()
    out = []
    for a, ref, code in rows:
        late = a.status in ACTION_OPEN and a.due < as_of
        out.append(
            {
                "reference": ref,
                "number": a.number,
                "action": a.action,
                "owner": code,
                "due": a.due.isoformat(),
                "status": a.status,
                "rag": a.rag,
                "jag": a.jag,
                "overdue": late,
                "days_overdue": (as_of - a.due).days if late else 0,
                "completed_on": a.completed_on and a.completed_on.isoformat(),
                "progress": a.progress,
            }
        )
    return out
