"""What the audit log says each row holds (docs/architecture.md#the-record-checks-itself).

The audit log is the record; the tables are what it says. So every event carries, in its detail, the
facts of the rows its transaction wrote: for each row, the columns a person or a rule relies on (a
complaint's dates, agency, strand and links; an hours entry's agency and hours; an action's owner, due
date, status and progress; a deadline's due date and the day it was met...). Dates, codes, numbers and
flags are carried as they are; free text (names, statements, notes, reasons) as a short digest, so the
log can say that a value changed without holding a copy of it. A case's event is sealed under the
case's key (`trigger.store.seal`) with its facts, so they go with the key when the case is purged.

`trigger audit verify` replays each case's events and checks every row against the facts the log
holds (`trigger.store.replay`). The facts are gathered as the rows are flushed (`collect`) and put
into the transaction's events just before it commits (`trigger.store.audit`), so they are the rows as
committed, whatever order a use-case wrote them in.

A row is known by its kind and id: `complaint:12`, `hours:3`, `deadline:40`; a case's own row is
`case`. A row a transaction deleted is carried as null.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from trigger.store import tables as t


@dataclass(frozen=True)
class Kind:
    """One table whose rows the log carries: its name in the facts, its columns carried as they are
    (`plain`) and those carried as a digest (`digest`: free text, which may be personal)."""

    name: str
    table: str
    plain: tuple[str, ...]
    digest: tuple[str, ...] = ()
    of_case: bool = True  # its rows belong to a case (`case_id`); else to the partnership


KINDS = (
    Kind(
        "case",
        "review_case",
        (
            "reference",
            "received",
            "channel",
            "language",
            "victim_kind",
            "consent_date",
            "beat",
            "preferred_contact",
            "lead_agency_id",
            "reviewer",
            "spoc_name",
            "victim_involvement",
            "involvement_on",
            "victim_consulted",
            "policy_name",
            "policy_version",
            "purged",
            "partnership_id",
            "state_changed",
        ),
        (
            "applicant_name",
            "victim_name",
            "victim_ref",
            "consent_method",
            "email",
            "phone",
            "accessibility",
            "address",
            "postcode",
            "victim_address",
            "victim_postcode",
            "victim_email",
            "victim_phone",
            "statement",
            "vulnerability",
            "reviewer_email",
            "spoc_email",
            "no_recommendations_reason",
            "closure_reason",
        ),
    ),
    Kind("notification", "partner_notification", ("agency_id", "notified_on", "method")),
    Kind(
        "complaint",
        "incident",
        ("occurred", "reported", "agency_id", "hate", "category", "same_as_id", "voided_on"),
        ("agency_ref", "complainant", "description", "location", "victim_ref", "void_reason"),
    ),
    Kind(
        "decision",
        "threshold_decision",
        ("decided_on", "met", "route", "rejection_category", "actor"),
        ("reason", "explanation"),
    ),
    Kind(
        "evidence", "evidence_request", ("agency_id", "requested", "due", "answered", "not_held"), ("note",)
    ),
    Kind(
        "hours",
        "hours_entry",
        ("agency_id", "person", "hours", "worked_on", "voided_on"),
        ("note", "void_reason"),
    ),
    Kind(
        "meeting",
        "meeting",
        ("at", "held", "held_on", "victim_involvement", "reply_by"),
        ("attendees", "place", "link", "phone"),
    ),
    Kind("finding", "finding", ("category", "recorded_on"), ("text",)),
    Kind(
        "recommendation",
        "recommendation",
        ("agency_id", "recorded_on", "response", "responded_on"),
        ("text", "response_reason"),
    ),
    Kind(
        "action",
        "action",
        ("number", "owner_agency_id", "due", "status", "rag", "jag", "completed_on"),
        ("action", "progress", "resources", "outcome_measure"),
    ),
    Kind(
        "appeal",
        "appeal",
        ("against", "received", "grounds", "decided_on", "upheld", "decided_by"),
        ("detail", "late_reason", "reason"),
    ),
    Kind("letter", "letter", ("kind", "issued_on", "format", "content_hash", "edited"), ("recipient",)),
    Kind("deadline", "deadline", ("kind", "action_id", "due", "met_on", "not_applicable", "missed")),
    Kind(
        "correction",
        "correction",
        ("subject", "subject_id", "field", "corrected_on", "actor", "audit_seq"),
        ("old_value", "new_value", "reason"),
    ),
    Kind("consultation", "consultation", ("consulted_on", "actor"), ("response",)),
    Kind("agency", "agency", ("code", "kind", "partnership_id"), ("name", "email"), of_case=False),
)
BY_TABLE = {k.table: k for k in KINDS}
BY_NAME = {k.name: k for k in KINDS}
CASE_KINDS = tuple(k for k in KINDS if k.of_case)


def digest(text: str) -> str:
    """A short digest of a free-text value: enough to tell that it changed, never the value."""
    return "#" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return int(value)  # 3.0 hours is 3 on every engine
    return value


def project(kind: Kind, row: Any) -> dict:
    """The facts of one row (an ORM object or a Core row: read by attribute)."""
    out = {c: _value(getattr(row, c)) for c in kind.plain}
    for c in kind.digest:
        value = getattr(row, c)
        out[c] = None if value is None else digest(str(value))
    return out


def key(kind: Kind, row_id: int) -> str:
    return "case" if kind.name == "case" else f"{kind.name}:{row_id}"


def owner(kind: Kind, row: Any) -> int | None:
    """The case a row belongs to (None: the partnership's, as an agency or a correction of one)."""
    if kind.name == "case":
        return row.id
    return getattr(row, "case_id", None)


# -- gathering what a transaction wrote -------------------------------------------------------------------

TOUCHED = "facts_touched"  # session.info: {id(obj): obj} of the rows flushed in this transaction


def collect(session: Any, _context: object = None, _instances: object = None) -> None:
    """Before each flush: remember the rows of the carried kinds this transaction adds, changes or
    deletes (a row set to the value it had is not a change)."""
    touched = session.info.get(TOUCHED)
    for obj in (*session.new, *session.dirty, *session.deleted):
        kind = BY_TABLE.get(getattr(type(obj), "__tablename__", ""))
        if kind is None:
            continue
        if kind.name == "complaint" and obj.case_id is None:
            continue  # an imported log's row: kept only for the scan, never part of a case
        if obj in session.dirty and not session.is_modified(obj, include_collections=False):
            continue
        if touched is None:
            touched = session.info[TOUCHED] = {}
        touched[id(obj)] = obj


def written(session: Any) -> dict[int | None, dict[str, dict | None]]:
    """The facts of the rows this transaction wrote, by case (None: the partnership's rows), as they
    stand now (after the last flush). A deleted row is None."""
    out: dict[int | None, dict[str, dict | None]] = {}
    for obj in session.info.pop(TOUCHED, {}).values():
        kind = BY_TABLE[type(obj).__tablename__]
        gone = _was_deleted(obj)
        if obj.id is None:
            continue  # added, then taken out again before it was flushed
        facts = out.setdefault(owner(kind, obj), {})
        facts[key(kind, obj.id)] = None if gone else project(kind, obj)
    return out


def _was_deleted(obj: Any) -> bool:
    from sqlalchemy import inspect

    state = inspect(obj)
    return bool(state.deleted or state.was_deleted)


# -- what the rows hold now ---------------------------------------------------------------------------------


def snapshot(conn: Any, case_ids: Iterable[int] | None = None) -> dict[int, dict[str, dict]]:
    """The facts of every row of the cases given (all cases when None), read from the tables: what
    the rows hold now, by case."""
    wanted = None if case_ids is None else sorted(set(case_ids))
    out: dict[int, dict[str, dict]] = {}
    if wanted == []:
        return out
    for kind in CASE_KINDS:
        table = getattr(t, kind.table)
        owner_col = table.c.id if kind.name == "case" else table.c.case_id
        query = select(table).where(owner_col.is_not(None))
        if wanted is not None:
            query = query.where(owner_col.in_(wanted))
        for row in conn.execute(query):
            case_id = row.id if kind.name == "case" else row.case_id
            out.setdefault(case_id, {})[key(kind, row.id)] = project(kind, row)
    return out


def unowned(conn: Any) -> dict[str, dict]:
    """The facts of the rows that belong to no case, as they stand: the agencies, and the corrections
    made to them."""
    out = {}
    agency, correction = BY_NAME["agency"], BY_NAME["correction"]
    for row in conn.execute(select(t.agency)):
        out[key(agency, row.id)] = project(agency, row)
    for row in conn.execute(select(t.correction).where(t.correction.c.case_id.is_(None))):
        out[key(correction, row.id)] = project(correction, row)
    return out
