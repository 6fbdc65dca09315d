"""Deadline performance: the on-time share and median days per kind of deadline."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import select

from trigger.codes import DEADLINE_KINDS
from trigger.reports.common import median
from trigger.rules.deadlines import STATUSES, DeadlineFact, anchor_date, is_duty, status
from trigger.store import access
from trigger.store.access import READ, needs
from trigger.store.app import App, today
from trigger.store.models import Deadline

# -- deadline performance ------------------------------------------------------------------------------------

# the report's column for each deadline status (trigger.rules.deadlines.status)
COLUMNS = {
    "met": "met_on_time",
    "met_late": "met_late",
    "missed": "missed",
    "overdue": "overdue",
    "open": "open",
    "not_applicable": "not_applicable",
    "passed": "passed",
    "late_accepted": "late_accepted",
}
assert set(COLUMNS) == set(STATUSES)


@needs(READ)
def deadline_performance(app: App, as_of: date | None = None) -> list[dict]:
    """On-time share and median days per kind of deadline (docs/procedure.md#reporting), from the
    Deadline rows, each judged by the one status rule `show` uses. A deadline met late or missed
    was not on time; one still overdue is not on time either. The appeal window is the applicant's
    limit, not a duty: it has passed unused or been met (an appeal lodged), never "overdue", and it
    has no on-time share (trigger.rules.deadlines.is_duty)."""
    as_of = as_of or today()
    with app.read() as session:
        visible = access.visible_cases(session)  # the partnership's cases
        ours = [Deadline.case_id.in_(visible)] if visible is not None else []
        rows = session.execute(
            select(
                Deadline.kind,
                Deadline.due,
                Deadline.met_on,
                Deadline.not_applicable,
                Deadline.missed,
                Deadline.anchor,
            ).where(*ours)
        ).all()
    out = {}
    for kind, due, met_on, na, missed, anchor in rows:
        s = out.setdefault(
            kind,
            {
                "kind": kind,
                "deadlines": 0,
                **dict.fromkeys(COLUMNS.values(), 0),
                "_late": Counter(),
                "_taken": Counter(),
            },
        )
        s["deadlines"] += 1
        st = status(DeadlineFact(kind, due, None, met_on, na, missed), as_of)
        s[COLUMNS[st]] += 1
        if met_on is not None:
            s["_late"][(met_on - due).days] += 1
            start = anchor_date(anchor)
            if start is not None:
                s["_taken"][(met_on - start).days] += 1
    result = []
    for s in sorted(out.values(), key=lambda s: _KIND_ORDER.get(s["kind"], 99)):
        judged = s["met_on_time"] + s["met_late"] + s["missed"] + s["overdue"]
        s["on_time_share"] = (
            round(100 * s["met_on_time"] / judged, 1) if judged and is_duty(s["kind"]) else None
        )
        s["median_days_taken"] = median(dict(s.pop("_taken")))[0]
        s["median_days_from_due"] = median(dict(s.pop("_late")))[0]
        result.append(s)
    return result


_KIND_ORDER = {k: i for i, k in enumerate(DEADLINE_KINDS)}
