"""The review's own records: evidence requests, hours, findings and recommendations. Tables of
`trigger.store.models`, built the first time a command names one (docs/architecture.md#speed)."""

# No `from __future__ import annotations` here: pydantic would then evaluate every field's annotation
# from its string, a cost each write command pays at start-up (docs/architecture.md#speed).
from datetime import date

from sqlmodel import Field

from trigger.store.sealed import Sealed
from trigger.store.table_base import TableBase


class EvidenceRequest(TableBase, table=True):
    """A request to an agency for what it holds (Sch 4 para 7), and its answer."""

    __tablename__ = "evidence_request"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="review_case.id", index=True)
    agency_id: int = Field(foreign_key="agency.id")
    requested: date | None = None
    due: date | None = None
    answered: date | None = None
    not_held: bool = False  # "no data held" is a finding in its own right
    note: str | None = Field(default=None, sa_type=Sealed)


class HoursEntry(TableBase, table=True):
    """Review hours logged by a person of an agency."""

    __tablename__ = "hours_entry"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="review_case.id", index=True)
    agency_id: int = Field(foreign_key="agency.id")
    person: str
    hours: float
    worked_on: date
    note: str | None = Field(default=None, sa_type=Sealed)
    voided_on: date | None = None  # logged in error: kept, excluded from every total
    void_reason: str | None = None


class Finding(TableBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="review_case.id", index=True)
    category: str = Field(max_length=32)
    text: str | None = Field(default=None, sa_type=Sealed)
    recorded_on: date


class Recommendation(TableBase, table=True):
    """A recommendation to a body, which must have regard to it (s.104)."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="review_case.id", index=True)
    agency_id: int = Field(foreign_key="agency.id")
    text: str = Field(sa_type=Sealed)
    recorded_on: date
    response: str | None = None  # accepted, declined
    response_reason: str | None = Field(default=None, sa_type=Sealed)
    responded_on: date | None = None
