"""Reading what has been corrected on a case, for `show`: its corrections, those of the agencies its
record names, and the letters each one marks as issued before a fact they showed was corrected.

The corrections themselves are made by `trigger.cases.corrections`; this module only reads them, with
the Core tables, so that `show` need not build the models (docs/architecture.md#speed).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, select
from sqlmodel import Session

from trigger.store import seal
from trigger.store import tables as t

# the case fields a letter shows: a letter issued before one of them was corrected is marked in `show`
LETTER_CASE_FIELDS = (
    "applicant",
    "victim",
    "consent_date",
    "received",
    "channel",
    "statement",
    "address",
    "postcode",
    "language",
    "spoc",
    "spoc_email",
)


def of_case(session: Session, case: Any) -> list[Row]:
    """A case's corrections (rows of `correction`), with those of agencies its record names, oldest first."""
    c = t.correction
    agencies = _agencies_named(session, case)
    query = select(c).where(
        (c.c.case_id == case.id) | ((c.c.subject == "agency") & c.c.subject_id.in_(agencies or [-1]))
    )
    return list(session.execute(query.order_by(c.c.id)).all())


def _agencies_named(session: Session, case: Any) -> set[int]:
    ids = {case.lead_agency_id} if case.lead_agency_id else set()
    for table, column in (
        (t.incident, "agency_id"),
        (t.action, "owner_agency_id"),
        (t.recommendation, "agency_id"),
        (t.evidence_request, "agency_id"),
    ):
        ids |= set(session.execute(select(table.c[column]).where(table.c.case_id == case.id)).scalars())
    return ids


def _touches_letter(c: Row, kind: str) -> bool:
    if kind == "appeal_bundle":
        return True  # the bundle carries the whole record
    if c.subject == "case":
        return c.field in LETTER_CASE_FIELDS
    if c.subject == "agency":
        return c.field in ("name", "email")
    if c.subject == "assignment":
        return c.field in ("lead", "reviewer", "spoc")
    return c.subject == "incident"


def letter_marks(session: Session, case: Any, letters: list[Row], found: list[Row]) -> dict[int, list[Row]]:
    """For each letter, the corrections (of `found`, the case's) that changed a fact it showed:
    recorded after the letter was issued, of a value in force when it was (set before it: a reviewer
    corrected after a letter sent before anyone was assigned does not touch it). `show` marks such a
    letter, which stays in the register exactly as it was sent."""
    found = [c for c in found if c.audit_seq is not None]
    ev = t.audit_event
    events = session.execute(
        select(ev.c.case_id, ev.c.seq, ev.c.event, ev.c.detail).where(
            ev.c.case_id == case.id, ev.c.event.in_(("letter", "appeal_bundle", "assign"))
        )
    ).all()
    issued: dict[int, int] = {}
    assigned = 0
    sealed = seal.Opener(session, [case.id])
    for e in events:
        if e.event == "assign":
            assigned = assigned or e.seq
        elif e.detail and (letter := sealed.details(e).get("letter")) is not None:
            issued[letter] = e.seq
    since: dict[int, int] = {}  # correction id -> the seq from which the value it replaced was in force
    last: dict[tuple, int] = {}
    for c in sorted(found, key=lambda c: c.audit_seq or 0):
        key = (c.subject, c.subject_id, c.field)
        start = assigned if c.subject == "assignment" or c.field in ("spoc", "spoc_email") else 0
        since[c.id] = last.get(key, start)
        last[key] = c.audit_seq or 0
    out: dict[int, list[Row]] = {}
    for lt in letters:
        at = issued.get(lt.id)
        out[lt.id] = [
            c
            for c in found
            if at is not None and since[c.id] < at < (c.audit_seq or 0) and _touches_letter(c, lt.kind)
        ]
    return out
