"""Deadline performance: the on-time share and median days per kind of deadline."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import select

from trigger.app import App, today
from trigger.codes import DEADLINE_KINDS
from trigger.models import Deadline
from trigger.reports.common import median
from trigger.rules.deadlines import is_duty

# -- deadline performance ------------------------------------------------------------------------------------


def deadline_performance(app: App, as_of: date | None = None) -> list[dict]:
    """On-time share and median days per kind of deadline (docs/procedure.md#reporting), from the
    Deadline rows. The appeal window is the applicant's limit, not a duty: once passed unused it has
    expired, never "overdue", and it has no on-time share (trigger.deadlines.is_duty)."""
    as_of = as_of or today()
    with app.read() as session:
        rows = session.execute(
            select(Deadline.kind, Deadline.due, Deadline.met_on, Deadline.not_applicable, Deadline.anchor)
        ).all()
    out = {}
    for kind, due, met_on, na, anchor in rows:
        s = out.setdefault(
            kind,
            {
                "kind": kind,
                "deadlines": 0,
                "not_applicable": 0,
                "met_on_time": 0,
                "met_late": 0,
                "overdue": 0,
                "expired": 0,
                "open": 0,
                "_late": Counter(),
                "_taken": Counter(),
            },
        )
        s["deadlines"] += 1
        if na:
            s["not_applicable"] += 1
            continue
        if met_on is not None:
            s["met_on_time" if met_on <= due else "met_late"] += 1
            s["_late"][(met_on - due).days] += 1
            start = _anchor_date(anchor)
            if start is not None:
                s["_taken"][(met_on - start).days] += 1
        elif due < as_of:
            s["overdue" if is_duty(kind) else "expired"] += 1
        else:
            s["open"] += 1
    result = []
    for s in sorted(out.values(), key=lambda s: _KIND_ORDER.get(s["kind"], 99)):
        judged = s["met_on_time"] + s["met_late"] + s["overdue"]
        s["on_time_share"] = (
            round(100 * s["met_on_time"] / judged, 1) if judged and is_duty(s["kind"]) else None
        )
        s["median_days_taken"] = median(dict(s.pop("_taken")))[0]
        s["median_days_from_due"] = median(dict(s.pop("_late")))[0]
        result.append(s)
    return result


_KIND_ORDER = {k: i for i, k in enumerate(DEADLINE_KINDS)}


def _anchor_date(anchor: str | None) -> date | None:
    """Deadline.anchor reads like "received 2026-03-02": the day the time limit ran from."""
    if not anchor:
        return None
    for word in reversed(anchor.split()):
        try:
            return date.fromisoformat(word.strip("(),"))
        except ValueError:
            continue
    return None
