"""The threshold decision as it stands: the decision recorded by `decide`, or, once an appeal against it
has been decided, the decision the appeal left standing (Sch 4 para 3; docs/procedure.md#appeals). The
original decision is never rewritten: it stays in the history, with the appeal that replaced or
confirmed it.

Also the note `check` and `show` give when complaints were corrected after the decision and the
corrected complaints no longer give what the decision was based on: the manager decides what to do;
nothing changes state by itself (docs/architecture.md#corrections).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlmodel import Session

from letters.words import plural
from trigger.rules.dates import iso, long_date
from trigger.store import seal
from trigger.store import tables as t

if TYPE_CHECKING:  # the threshold rule is read only for a decision whose complaints were corrected
    from trigger.rules.threshold import Explanation

# Read with the Core tables (rows read like the models' objects), so that `show` need not build the
# models (docs/architecture.md#speed); `case` is a ReviewCase or a review_case row.


# the audit events of corrections that can change what the threshold check says
THRESHOLD_CORRECTIONS = ("incident_update", "incident_void")


@dataclass(frozen=True)
class Standing:
    """The threshold decision that stands."""

    met: bool | None
    route: str | None
    decided: date | None
    by_appeal: bool = False
    rejection_category: str | None = None
    reason: str | None = None
    original: Any = None  # the threshold_decision row `decide` recorded
    appeal: Any = None  # the decided appeal against it (an appeal row), if any
    history: list[dict] = field(default_factory=list)


def original(session: Session, case: Any) -> Any:
    """The latest decision recorded by `decide` (a case is decided once; kept as a list for safety)."""
    d = t.threshold_decision
    return session.execute(select(d).where(d.c.case_id == case.id).order_by(d.c.id.desc())).first()


def standing(session: Session, case: Any) -> Standing:
    """The decision that stands: an upheld appeal against a not-met decision (or a rejection) makes the
    threshold met from the appeal decision's day (`by_appeal`); a dismissed one confirms the original
    on that day. An appeal against an outcome leaves the threshold as it was."""
    d = original(session, case)
    if d is None:
        return Standing(None, None, None)
    history = [
        {
            "decided": iso(d.decided_on),
            "met": d.met,
            "route": d.route,
            "rejection_category": d.rejection_category,
            "reason": d.reason,
            "by": d.actor,
            "by_appeal": False,
        }
    ]
    ap = t.appeal
    appeals = session.execute(
        select(ap)
        .where(
            ap.c.case_id == case.id,
            ap.c.against == "threshold",
            ap.c.decided_on.is_not(None),
            ap.c.decided_on >= d.decided_on,
        )
        .order_by(ap.c.id)
    ).all()
    for a in appeals:
        history.append(
            {
                "decided": iso(a.decided_on),
                "met": True if a.upheld else d.met,
                "route": "appeal" if a.upheld else d.route,
                "rejection_category": None if a.upheld else d.rejection_category,
                "reason": a.reason,
                "by": a.decided_by,
                "by_appeal": True,
                "upheld": a.upheld,
            }
        )
    if not appeals:
        return as_decided(d, history)
    a = appeals[-1]
    if a.upheld:
        return Standing(True, "appeal", a.decided_on, True, None, a.reason, d, a, history)
    return Standing(d.met, d.route, a.decided_on, True, d.rejection_category, d.reason, d, a, history)


def as_decided(d: Any, history: list[dict] | None = None) -> Standing:
    """A decision as `decide` recorded it (what a threshold_not_met or rejection letter reports)."""
    return Standing(
        d.met, d.route, d.decided_on, False, d.rejection_category, d.reason, d, None, history or []
    )


def view(session: Session, case: Any, note: str | None = None) -> dict:
    """`show --json` `threshold`: the standing decision, and its history."""
    s = standing(session, case)
    return {
        "met": s.met,
        "route": s.route,
        "decided": iso(s.decided),
        "by_appeal": s.by_appeal,
        "rejection_category": s.rejection_category,
        "reason": s.reason,
        "first_decided": iso(s.original.decided_on) if s.original else None,
        "since_corrected": note,
        "history": s.history,
    }


def _verdict(explained: dict) -> tuple:
    return (
        bool(explained.get("met")),
        explained.get("route"),
        explained.get("statutory_count"),
        sorted(v["id"] for v in explained.get("counted", [])),
    )


def _said(explained: dict) -> str:
    if explained.get("met"):
        said = f"met on the {explained.get('route')} route"
    else:
        said = "not met"
    n = explained.get("statutory_count") or 0
    return f"{said}, {plural(n, '{n} qualifying complaint', '{n} qualifying complaints')}"


def since_corrected(session: Session, case: Any, now: Callable[[], Explanation]) -> str | None:
    """The note for a decided case whose complaints were corrected after the decision in a way that
    changes what the check says, or None. Nothing changes state by itself: the manager decides."""
    d = original(session, case)
    if d is None or not d.explanation:
        return None
    ev = t.audit_event
    decided_seq = session.execute(
        select(ev.c.seq).where(ev.c.case_id == case.id, ev.c.event == "decide").order_by(ev.c.seq.desc())
    ).scalar()
    corrected = session.execute(
        select(ev.c.case_id, ev.c.seq, ev.c.event, ev.c.detail).where(
            ev.c.case_id == case.id,
            ev.c.seq > (decided_seq or 0),
            ev.c.event.in_((*THRESHOLD_CORRECTIONS, "case_update")),
        )
    ).all()
    sealed = seal.Opener(session, [case.id])
    relevant = [
        e
        for e in corrected
        if e.event in THRESHOLD_CORRECTIONS or "received" in sealed.details(e).get("fields", [])
    ]
    if not relevant:
        return None
    then = json.loads(d.explanation)
    current = now().as_dict()
    if _verdict(then) == _verdict(current):
        return None

    return (
        f"the decision of {long_date(d.decided_on)} was made on complaints since corrected: it found the "
        f"threshold {_said(then)}; as corrected they give {_said(current)}. Nothing has changed state; "
        "the manager decides what to do"
    )
