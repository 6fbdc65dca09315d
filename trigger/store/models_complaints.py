"""The complaints recorded on a case or imported from partners' logs (`incident`), and the relevant
bodies told of an application (`partner_notification`): tables of `trigger.store.models`, built the
first time a command names one (docs/architecture.md#speed)."""

# No `from __future__ import annotations` here: pydantic would then evaluate every field's annotation
# from its string, a cost each write command pays at start-up (docs/architecture.md#speed).
from datetime import date

from sqlalchemy import LargeBinary, UniqueConstraint
from sqlmodel import Field

from trigger.store.sealed import Sealed
from trigger.store.table_base import TableBase


class PartnerNotification(TableBase, table=True):
    """s.104(3): every application is passed on to all the relevant bodies; when each was told."""

    __tablename__ = "partner_notification"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="review_case.id", index=True)
    agency_id: int = Field(foreign_key="agency.id")
    notified_on: date
    # how it was passed on: "email" (sent by the engine) or "recorded" (`trigger share`: told another
    # way); empty on notices the engine wrote at activation before it sent or recorded anything
    method: str | None = Field(default=None, max_length=16)


class Incident(TableBase, table=True):
    """A complaint (report) of anti-social behaviour made to one agency. Recorded against a case, or
    imported from a case system's log with the victim's id there (`victim_ref`)."""

    __table_args__ = (UniqueConstraint("agency_id", "agency_ref"),)
    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="review_case.id", index=True)
    victim_ref: str | None = Field(default=None, sa_type=Sealed)  # imported: under its month's log key
    victim_hash: bytes | None = Field(default=None, sa_type=LargeBinary, index=True)  # what the scan groups
    occurred: date
    reported: date = Field(index=True)  # the proactive scan reads a six-month window of reports
    agency_id: int = Field(foreign_key="agency.id")
    agency_ref: str | None = None
    hate: str | None = None  # empty or a strand: race, religion, sexual_orientation, disability, transgender
    category: str | None = None
    location: str | None = Field(default=None, sa_type=Sealed)
    description: str | None = Field(default=None, sa_type=Sealed)
    complainant: str | None = Field(default=None, sa_type=Sealed)  # who complained, for the community route
    same_as_id: int | None = Field(default=None, foreign_key="incident.id")
    voided_on: date | None = None  # recorded in error: kept, excluded from every count
    void_reason: str | None = None
    partnership_id: int = Field(foreign_key="partnership.id", index=True)  # imports carry it too
