"""The case list (`trigger list`): every case, one line each, with its next deadline and its overdue
ones. One case in full is `trigger.read.views`.

It reads with the Core tables of `trigger.store.tables` and imports nothing else of the engine's, because
listing 10,000 cases must stay near the import floor (docs/architecture.md#speed).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import String, select, type_coerce

from trigger.codes import NOT_DUTIES
from trigger.errors import InvalidInput
from trigger.store import access
from trigger.store import tables as t
from trigger.store.access import READ_CASE, needs
from trigger.store.app import App, today
from workflows import machine


@needs(READ_CASE)
def list_cases(
    app: App, *, state: str | None = None, overdue: bool = False, as_of: date | None = None
) -> list[dict]:
    """Every case (or those in `state`, or with a deadline overdue on `as_of`) with its next deadline and
    the kinds of its overdue ones, in reference order."""
    if state:
        if state not in machine.STATES:
            raise InvalidInput(f"{state!r} is not a state; use one of {', '.join(machine.STATES)}")
    as_of = as_of or today()
    c, d = t.review_case.c, t.deadline.c
    with app.read() as session:
        # dates as the driver gives them (ISO text on SQLite, a date on PostgreSQL): SQLite's date
        # parsing was most of the cost of listing 10,000 cases
        query = select(
            c.id, c.reference, c.state, type_coerce(c.received, String), c.reviewer, c.lead_agency_id
        )
        if state:
            query = query.where(c.state == state)
        query = query.where(*access.case_filter(session))  # the partnership's (a chair's: under appeal)
        visible = access.visible_cases(session)
        ours = [d.case_id.in_(visible)] if visible is not None else []
        late: dict[int, list[str]] = {}
        next_due: dict[int, tuple[str, str]] = {}
        cutoff = as_of.isoformat()  # ISO dates compare as text
        for case_id, kind, due in session.execute(
            select(d.case_id, d.kind, type_coerce(d.due, String))
            .where(d.met_on.is_(None), d.not_applicable.is_(False), d.missed.is_(False), *ours)
            # an appeal window that has passed is neither late nor still to come: not a duty (is_duty)
            .where(~((d.due < as_of) & d.kind.in_(NOT_DUTIES)))
            .order_by(d.due)
        ).all():  # all at once: row-by-row fetching was a third of the cost on 10,000 cases
            due = str(due)
            next_due.setdefault(case_id, (kind, due))
            if due < cutoff:
                late.setdefault(case_id, []).append(kind)
        if overdue:
            query = query.where(c.id.in_(list(late)))
        codes = dict(session.execute(select(t.agency.c.id, t.agency.c.code)).all())
        rows = []
        for case_id, ref, st, received, reviewer, lead in session.execute(query.order_by(c.reference)).all():
            nxt = next_due.get(case_id)
            rows.append(
                {
                    "reference": ref,
                    "state": st,
                    "received": str(received),
                    "lead_agency": codes.get(lead),
                    "reviewer": reviewer,
                    "next_deadline": nxt[0] if nxt else None,
                    "next_due": nxt[1] if nxt else None,
                    "overdue": late.get(case_id, []),
                }
            )
        return rows
