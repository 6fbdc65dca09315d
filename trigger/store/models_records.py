"""The records a case keeps beside its work: its corrections, the 2025 guidance duties (consultation,
signposting) and the applicant's private link. Tables of `trigger.store.models`, built the first time
a command names one (docs/architecture.md#speed)."""

# No `from __future__ import annotations` here: pydantic would then evaluate every field's annotation
# from its string, a cost each write command pays at start-up (docs/architecture.md#speed).
from datetime import date, datetime

from sqlalchemy import LargeBinary
from sqlmodel import Field

from trigger.store.sealed import Sealed
from trigger.store.table_base import TableBase, utcnow


class Correction(TableBase, table=True):
    """One corrected value: what it was, what it became, why, who and when. The audit event of the
    correction names the fields and this row's id only, so that personal values stay here, with the
    case, and are purged with it (docs/architecture.md#corrections)."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="review_case.id", index=True)
    subject: str = Field(max_length=16)  # case, incident, hours, agency, assignment
    subject_id: int | None = None  # the incident, hours entry or agency corrected
    field: str = Field(max_length=32)
    old_value: str | None = Field(default=None, sa_type=Sealed)
    new_value: str | None = Field(default=None, sa_type=Sealed)
    reason: str | None = Field(default=None, sa_type=Sealed)
    corrected_on: date  # the --on day
    actor: str
    created_at: datetime = Field(default_factory=utcnow)
    audit_seq: int | None = None  # the audit event that recorded it (its place in the case's history)


class Consultation(TableBase, table=True):
    """The victim consulted on the draft action plan before the outcome (2025 guidance)."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="review_case.id", index=True)
    consulted_on: date
    response: str = Field(sa_type=Sealed)
    actor: str
    created_at: datetime = Field(default_factory=utcnow)


class Signposting(TableBase, table=True):
    """A victim who made a second report within six months, told about the Case Review (2025 guidance);
    by the victim's id in the partners' case system, as the scan lists them."""

    id: int | None = Field(default=None, primary_key=True)
    # no case's: sealed under the partnership's log key for the month it was told (`log_key`), which
    # the purge of that month deletes with the record
    victim_ref: str = Field(sa_type=Sealed)
    victim_hash: bytes | None = Field(default=None, sa_type=LargeBinary, index=True)  # as the incidents'
    told_on: date
    how: str = Field(sa_type=Sealed)
    actor: str
    created_at: datetime = Field(default_factory=utcnow)
    partnership_id: int = Field(foreign_key="partnership.id", index=True)


class ApplicantLink(TableBase, table=True):
    """The applicant's private link to their case page at the online door (`trigger web link`): only the
    sha256 of its random token is kept, never the token; a link stops working when revoked, or once the
    case has been closed or withdrawn for the policy's `[web] link_expires_after`."""

    __tablename__ = "applicant_link"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="review_case.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    issued_on: date
    issued_for: str = Field(max_length=32)  # what gave it: trigger web link, a letter, the online door
    created_at: datetime = Field(default_factory=utcnow)
    revoked_on: date | None = None
