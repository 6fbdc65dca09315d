"""Deadline performance: the on-time share and median days per kind of deadline."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlmodel import col

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
def deadline_performance(app: App, as_of: date | None = None) -> list[dict[str, object]]:
    """On-time share and median days per kind of deadline (docs/procedure.md#reporting), from the
    Deadline rows, each judged by the one status rule `show` uses. A deadline met late or missed
    was not on time; one still overdue is not on time either. The appeal window is the applicant's
    limit, not a duty: it has passed unused or been met (an appeal lodged), never "overdue", and it
    has no on-time share (trigger.rules.deadlines.is_duty)."""
    as_of = as_of or today()
    with app.read() as session:
        visible = access.visible_cases(session)  # the partnership's cases
        ours = [col(Deadline.case_id).in_(visible)] if visible is not None else []
        rows = session.execute(
            select(
                col(Deadline.kind),
                col(Deadline.due),
                col(Deadline.met_on),
                col(Deadline.not_applicable),
                col(Deadline.missed),
                col(Deadline.anchor),
            ).where(*ours)
        ).all()
    tallies: dict[str, _Tally] = {}
    for kind, due, met_on, na, missed, anchor in rows:
        t = tallies.setdefault(kind, _Tally(kind))
        t.deadlines += 1
        t.by_column[COLUMNS[status(DeadlineFact(kind, due, None, met_on, na, missed), as_of)]] += 1
        if met_on is not None:
            t.late[(met_on - due).days] += 1
            start = anchor_date(anchor)
            if start is not None:
                t.taken[(met_on - start).days] += 1
    result = []
    for t in sorted(tallies.values(), key=lambda t: _KIND_ORDER.get(t.kind, 99)):
        row: dict[str, object] = {
            "kind": t.kind,
            "deadlines": t.deadlines,
            **{column: t.by_column[column] for column in COLUMNS.values()},
        }
        judged = sum(t.by_column[c] for c in ("met_on_time", "met_late", "missed", "overdue"))
        row["on_time_share"] = (
            round(100 * t.by_column["met_on_time"] / judged, 1) if judged and is_duty(t.kind) else None
        )
        row["median_days_taken"] = median(dict(t.taken))[0]
        row["median_days_from_due"] = median(dict(t.late))[0]
        result.append(row)
    return result


@dataclass
class _Tally:
    """One kind of deadline, counted: by the report's column, and the days late and taken of those met."""

    kind: str
    deadlines: int = 0
    by_column: Counter[str] = field(default_factory=Counter)
    late: Counter[int] = field(default_factory=Counter)  # days from the due day to the day met
    taken: Counter[int] = field(default_factory=Counter)  # days from the anchor to the day met


_KIND_ORDER = {k: i for i, k in enumerate(DEADLINE_KINDS)}
