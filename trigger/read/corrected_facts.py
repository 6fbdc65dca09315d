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


# the letters that show a complaint's facts (the threshold letters list or rely on them), and the facts
COMPLAINT_LETTERS = ("threshold_met", "threshold_not_met")
COMPLAINT_FIELDS = ("occurred", "reported", "agency", "hate", "same_as", "void")

# each corrected fact in words, as `show` names it under a letter ("{n}": the complaint's number)
FACT_WORDS = {
    ("case", "applicant"): "the applicant's name",
    ("case", "victim"): "the victim's name",
    ("case", "consent_date"): "the date the victim consented",
    ("case", "received"): "the date the application was received",
    ("case", "channel"): "how the application was made",
    ("case", "statement"): "the statement of dissatisfaction",
    ("case", "address"): "the applicant's address",
    ("case", "postcode"): "the applicant's postcode",
    ("case", "language"): "the language of the letters",
    ("case", "spoc"): "the single point of contact",
    ("case", "spoc_email"): "the single point of contact's e-mail address",
    ("assignment", "lead"): "the lead agency",
    ("assignment", "reviewer"): "the reviewer",
    ("assignment", "spoc"): "the single point of contact",
    ("agency", "name"): "the name of agency {code}",
    ("agency", "email"): "the e-mail address of agency {code}",
    ("incident", "occurred"): "the date of the behaviour in complaint {n}",
    ("incident", "reported"): "the date complaint {n} was reported",
    ("incident", "agency"): "the agency complaint {n} was reported to",
    ("incident", "hate"): "whether complaint {n} was about a hate incident",
    ("incident", "same_as"): "which complaint {n} repeats",
    ("incident", "void"): "whether complaint {n} stands",
}


def in_words(c: Row, codes: dict[int, str]) -> str:
    """A corrected fact as a reader says it: `the date complaint 3 was reported`."""
    said = FACT_WORDS.get((c.subject, c.field), f"the {c.field.replace('_', ' ')} of the {c.subject}")
    return said.format(n=c.subject_id, code=codes.get(c.subject_id, c.subject_id))


def agency_codes(session: Session, found: list[Row]) -> dict[int, str]:
    """The codes of the agencies whose corrections are among `found`, to name them in words."""
    ids = {c.subject_id for c in found if c.subject == "agency"}
    if not ids:
        return {}
    return dict(session.execute(select(t.agency.c.id, t.agency.c.code).where(t.agency.c.id.in_(ids))).all())


def _touches_letter(c: Row, kind: str) -> bool:
    if kind == "appeal_bundle":
        return True  # the bundle carries the whole record
    if c.subject == "case":
        return c.field in LETTER_CASE_FIELDS
    if c.subject == "agency":
        return c.field in ("name", "email")
    if c.subject == "assignment":
        return c.field in ("lead", "reviewer", "spoc")
    return c.subject == "incident" and kind in COMPLAINT_LETTERS and c.field in COMPLAINT_FIELDS


def letter_marks(session: Session, case: Any, letters: list[Row], found: list[Row]) -> dict[int, list[Row]]:
    """For each letter, the corrections (of `found`, the case's) that changed a fact it showed:
    recorded after the letter was issued, of a value in force when it was (set before it: a reviewer
    corrected after a letter sent before anyone was assigned, or a complaint added after the letter,
    does not touch it). `show` marks such a letter, which stays in the register exactly as it was
    sent."""
    found = [c for c in found if c.audit_seq is not None]
    ev = t.audit_event
    events = session.execute(
        select(ev.c.case_id, ev.c.seq, ev.c.event, ev.c.detail).where(
            ev.c.case_id == case.id, ev.c.event.in_(("letter", "appeal_bundle", "assign", "incident_add"))
        )
    ).all()
    issued: dict[int, int] = {}
    added: dict[int, int] = {}  # complaint -> the seq that recorded it
    assigned = 0
    sealed = seal.Opener(session, [case.id])
    for e in events:
        if e.event == "assign":
            assigned = assigned or e.seq
        elif e.event == "incident_add":
            if (incident := sealed.details(e).get("incident")) is not None:
                added[incident] = e.seq
        elif e.detail and (letter := sealed.details(e).get("letter")) is not None:
            issued[letter] = e.seq
    since: dict[int, int] = {}  # correction id -> the seq from which the value it replaced was in force
    last: dict[tuple, int] = {}
    for c in sorted(found, key=lambda c: c.audit_seq or 0):
        key = (c.subject, c.subject_id, c.field)
        start = assigned if c.subject == "assignment" or c.field in ("spoc", "spoc_email") else 0
        if c.subject == "incident":
            start = added.get(c.subject_id, 0)
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
