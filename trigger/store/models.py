"""The tables. One row per thing the procedure creates; the workflow state is a plain string column
(`review_case.state`, holding the values of `workflows.machine.State`) that only `workflows.machine`
may move, and every change to a case is an `audit_event` row written in the same transaction.

Table names avoid SQL keywords (`review_case`, never `case`). Dates that the procedure reasons about
(received, decided, due) are `date`; moments of recording are UTC `datetime`.

The tables every change to a case touches are defined here. Those only some commands use live in
`models_complaints.py`, `models_review.py`, `models_letters.py` and `models_records.py` and are built
the first time a command names one (`from trigger.store.models import Finding`, or `models.Finding`):
building a table costs a command about 4 ms of CPU (docs/architecture.md#speed). A module that the
common commands import names such a table where it uses it (`models.Incident`), so that importing the
module builds nothing. `metadata` builds them all.
"""

# No `from __future__ import annotations` here: pydantic would then evaluate every field's annotation
# from its string, a cost each write command pays at start-up (docs/architecture.md#speed).
import importlib
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from pydantic import NaiveDatetime
from sqlalchemy import Column, Index, Integer, LargeBinary, MetaData, UniqueConstraint, text
from sqlmodel import Field

from trigger.store.sealed import Sealed
from trigger.store.table_base import METADATA, TableBase, row_id, utcnow

__all__ = ["row_id", "utcnow"]  # re-exported: every use-case takes them from here

if TYPE_CHECKING:  # built on first use (`__getattr__`); named here for the type checker
    from trigger.store.models_complaints import Incident, PartnerNotification  # noqa: F401
    from trigger.store.models_letters import LetterCopy  # noqa: F401
    from trigger.store.models_records import ApplicantLink, Consultation, Correction, Signposting  # noqa: F401
    from trigger.store.models_review import EvidenceRequest, Finding, HoursEntry, Recommendation  # noqa: F401

    metadata: MetaData

# the tables built on first use, and the module each is in
_ELSEWHERE = {
    "PartnerNotification": "models_complaints",
    "Incident": "models_complaints",
    "EvidenceRequest": "models_review",
    "HoursEntry": "models_review",
    "Finding": "models_review",
    "Recommendation": "models_review",
    "LetterCopy": "models_letters",
    "Correction": "models_records",
    "Consultation": "models_records",
    "Signposting": "models_records",
    "ApplicantLink": "models_records",
}


def __getattr__(name: str) -> Any:
    """A table of `_ELSEWHERE`, built when first named; `metadata`, with every table built."""
    if name == "metadata":
        for every in dict.fromkeys(_ELSEWHERE.values()):
            importlib.import_module(f"trigger.store.{every}")
        return METADATA
    module = _ELSEWHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    table = getattr(importlib.import_module(f"trigger.store.{module}"), name)
    globals()[name] = table
    return table


class Setting(TableBase, table=True):
    """Key/value settings of the whole database (e.g. the morning digest's record); what belongs to a
    partnership (its policy, its manager) is on its `partnership` row."""

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(default="")


class Partnership(TableBase, table=True):
    """A Community Safety Partnership: its own policy, reference series, agencies, officers, manager and
    cases. A database made by `trigger init` holds one; a county holds several
    (docs/architecture.md#partnerships-people-and-roles)."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str
    policy: str  # the preset name or policy file new cases start under
    reference_prefix: str = Field(default="CT", max_length=12, unique=True)  # CT-CHA -> CT-CHA-2026-0001
    manager_email: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    # its own letterhead (`partnership add|update`); where one is empty the policy's [letterhead] is used
    name_cy: str | None = None  # the Welsh name, for the Welsh half of bilingual letters
    address: str | None = None  # the address lines, one per line
    telephone: str | None = None
    web: str | None = None
    logo: bytes | None = Field(default=None, sa_column=Column("logo", LargeBinary, nullable=True))
    logo_type: str | None = Field(default=None, max_length=16)  # the logo's MIME type: image/png, ...
    signatory_name: str | None = None
    signatory_role: str | None = None


class AppUser(TableBase, table=True):
    """A registered person: their login (the database login on PostgreSQL), role and partnership. With
    nobody registered, the database trusts whoever runs a command."""

    __tablename__ = "app_user"
    id: int | None = Field(default=None, primary_key=True)
    login: str = Field(max_length=63, unique=True)
    name: str
    role: str = Field(max_length=16)  # admin, manager, reviewer, chair, clerk, viewer
    partnership_id: int | None = Field(default=None, foreign_key="partnership.id")  # none for an admin
    email: str | None = None
    created_at: datetime = Field(default_factory=utcnow)
    disabled_on: date | None = None
    disabled_reason: str | None = None


class Agency(TableBase, table=True):
    """A relevant body (s.105) or other partner of one partnership: council, police, health, housing,
    other. Codes are unique within the partnership."""

    __table_args__ = (UniqueConstraint("partnership_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, index=True)
    name: str
    kind: str = Field(max_length=16)
    email: str | None = None
    partnership_id: int = Field(foreign_key="partnership.id", index=True)


class CaseSequence(TableBase, table=True):
    """The last reference number a partnership handed out in a year (CT-YYYY-NNNN); one locked row per
    partnership and year."""

    __tablename__ = "case_sequence"
    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last: int = 0
    partnership_id: int = Field(
        foreign_key="partnership.id", primary_key=True, sa_column_kwargs={"autoincrement": False}
    )


_case_version = Column("version", Integer, nullable=False)


class ReviewCase(TableBase, table=True):
    """One application for an ASB case review."""

    __tablename__ = "review_case"
    __mapper_args__ = {"version_id_col": _case_version}  # noqa: RUF012

    id: int | None = Field(default=None, primary_key=True)
    reference: str = Field(max_length=24, unique=True, index=True)
    version: int | None = Field(default=None, sa_column=_case_version)
    state: str = Field(default="received", max_length=32, index=True)
    state_changed: date  # the --on date of the last move between states
    received: date = Field(index=True)
    channel: str = Field(max_length=16)
    # the applicant, and the victim when a third party applies with consent (2025 guidance)
    applicant_name: str = Field(sa_type=Sealed)
    victim_name: str = Field(sa_type=Sealed)
    victim_kind: str = Field(default="individual", max_length=16)
    # the victim's id in imported incident logs: sealed, and matched on by its keyed hash (`match_key`)
    victim_ref: str | None = Field(default=None, sa_type=Sealed)
    victim_hash: bytes | None = Field(default=None, sa_type=LargeBinary, index=True)
    consent_date: date | None = None
    consent_method: str | None = Field(default=None, sa_type=Sealed)
    email: str | None = Field(default=None, sa_type=Sealed)
    phone: str | None = Field(default=None, sa_type=Sealed)
    preferred_contact: str | None = None
    language: str = Field(default="en", max_length=2)
    accessibility: str | None = Field(default=None, sa_type=Sealed)
    # the applicant's: email, phone, address and postcode are whom letters go to
    address: str | None = Field(default=None, sa_type=Sealed)
    postcode: str | None = Field(default=None, sa_type=Sealed)
    # the victim's own contact, when a third party applies (the copy a victim may have goes here)
    victim_address: str | None = Field(default=None, sa_type=Sealed)
    victim_postcode: str | None = Field(default=None, sa_type=Sealed)
    victim_email: str | None = Field(default=None, sa_type=Sealed)
    victim_phone: str | None = Field(default=None, sa_type=Sealed)
    beat: str | None = None
    statement: str = Field(sa_type=Sealed)  # the applicant's dissatisfaction with the response (required)
    vulnerability: str | None = Field(default=None, sa_type=Sealed)
    policy_name: str
    policy_version: str
    lead_agency_id: int | None = Field(default=None, foreign_key="agency.id")
    reviewer: str | None = None
    reviewer_email: str | None = None
    no_recommendations_reason: str | None = Field(default=None, sa_type=Sealed)
    victim_consulted: bool | None = None
    closure_reason: str | None = Field(default=None, sa_type=Sealed)
    purged: bool = False
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)
    # 2025 guidance duties recorded as facts (docs/procedure.md#2025-revision): the case's named single
    # point of contact, and the victim's chosen involvement with the day it was recorded
    spoc_name: str | None = None
    spoc_email: str | None = None
    victim_involvement: str | None = None  # attend, virtual, representative, statement, none
    involvement_on: date | None = None
    # the applicant is e-mailed (and texted) when the stage changes or a letter is issued, unless they
    # or an officer turned it off (docs/operations.md#telling-the-applicant)
    notices: bool = Field(default=True, sa_column_kwargs={"server_default": text("true")})
    partnership_id: int = Field(foreign_key="partnership.id", index=True)


class ThresholdDecision(TableBase, table=True):
    """A threshold decision (s.104(4)/(5)) and the explanation it was based on."""

    __tablename__ = "threshold_decision"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="review_case.id", index=True)
    decided_on: date
    met: bool
    route: str | None = None  # statutory, hate, community, discretionary; null when not met
    rejection_category: str | None = None
    reason: str | None = Field(default=None, sa_type=Sealed)
    explanation: str | None = None  # JSON of the threshold check at the time
    actor: str


class Meeting(TableBase, table=True):
    """The review meeting: scheduled, then held."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="review_case.id", index=True)
    at: NaiveDatetime  # local wall-clock time of the meeting (Europe/London)
    held: bool = False
    held_on: date | None = None
    victim_involvement: str | None = None  # attend, virtual, representative, statement, none
    attendees: str | None = Field(default=None, sa_type=Sealed)
    # where and how to join, and the day to reply by: what the invitation states
    place: str | None = Field(default=None, sa_type=Sealed)
    link: str | None = Field(default=None, sa_type=Sealed)
    phone: str | None = Field(default=None, sa_type=Sealed)
    reply_by: date | None = None


_action_version = Column("version", Integer, nullable=False)


class Action(TableBase, table=True):
    """A row of the action plan, in the partnership's own columns (those of the LLR partnerships' plans).
    Its own version (optimistic lock): two people updating one action at once are told."""

    __table_args__ = (UniqueConstraint("case_id", "number"),)
    __mapper_args__ = {"version_id_col": _action_version}  # noqa: RUF012
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="review_case.id", index=True)
    number: int  # 1, 2, 3 within the case
    action: str = Field(sa_type=Sealed)
    owner_agency_id: int = Field(foreign_key="agency.id")
    due: date
    status: str = Field(default="open", max_length=16)  # open, in_progress, done, dropped
    rag: str | None = Field(default=None, max_length=8)  # red, amber, green
    resources: str | None = Field(default=None, sa_type=Sealed)
    outcome_measure: str | None = Field(default=None, sa_type=Sealed)
    progress: str | None = Field(default=None, sa_type=Sealed)  # dated progress notes, newest last
    jag: bool = False  # handed to the JAG
    completed_on: date | None = None
    version: int | None = Field(default=None, sa_column=_action_version)


class Appeal(TableBase, table=True):
    """An appeal against a threshold decision or an outcome (Sch 4 para 3)."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="review_case.id", index=True)
    against: str = Field(max_length=16)  # threshold, outcome
    received: date
    grounds: str = Field(sa_type=Sealed)
    detail: str | None = Field(default=None, sa_type=Sealed)
    late_reason: str | None = Field(default=None, sa_type=Sealed)
    decided_on: date | None = None
    upheld: bool | None = None
    decided_by: str | None = None
    reason: str | None = Field(default=None, sa_type=Sealed)


class Letter(TableBase, table=True):
    """The register of letters issued: kind, date, recipient and the sha256 of the bytes sent (kept in
    `letter_copy`)."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="review_case.id", index=True)
    kind: str = Field(max_length=32)
    issued_on: date
    recipient: str = Field(sa_type=Sealed)
    format: str = Field(default="html", max_length=8)
    content_hash: str
    created_at: datetime = Field(default_factory=utcnow)
    # registered from the edited file actually sent (`letter --record FILE`)
    edited: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})


class LetterDelivery(TableBase, table=True):
    """A letter sent by e-mail from the engine (`letter --send`): to whom, when, and the message id."""

    __tablename__ = "letter_delivery"
    id: int | None = Field(default=None, primary_key=True)
    letter_id: int = Field(foreign_key="letter.id", index=True)
    sent_to: str = Field(sa_type=Sealed)
    sent_at: datetime = Field(default_factory=utcnow)
    message_id: str
    via: str = Field(max_length=120)  # "smtp host:port" or "outbox"
    # the file written in the outbox folder (a name of its own: nothing there is ever replaced)
    outbox_file: str | None = Field(default=None, max_length=160)


class Deadline(TableBase, table=True):
    """A time limit a case is held to, computed from its policy; never silently dropped."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="review_case.id", index=True)
    kind: str = Field(max_length=32)  # acknowledge, threshold_decision, review, ... action
    action_id: int | None = Field(default=None, foreign_key="action.id")
    anchor: str | None = None  # the event it runs from, e.g. "received 2026-03-02"
    span: str | None = None  # the policy timescale, e.g. "14d"
    due: date = Field(index=True)
    met_on: date | None = None
    not_applicable: bool = False  # the case ended before it fell due
    missed: bool = False  # its stage ended after it fell due, without it being done


class Reminder(TableBase, table=True):
    """A deadline's reminder: claimed, sent, marked (docs/architecture.md#deadlines-and-reminders)."""

    # (status, send_on): a sweep reads only the pending reminders falling due, whatever the cases held
    __table_args__ = (
        UniqueConstraint("deadline_id", "kind", "recipient"),
        Index("ix_reminder_status_send_on", "status", "send_on"),
    )
    id: int | None = Field(default=None, primary_key=True)
    deadline_id: int = Field(foreign_key="deadline.id", index=True)
    kind: str = Field(max_length=16)  # warning, overdue, escalation
    recipient: str
    send_on: date = Field(index=True)
    status: str = Field(default="pending", max_length=16, index=True)  # pending claimed sent failed cancelled
    claimed_at: datetime | None = None
    claimed_by: str | None = None
    sent_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None
    # claims run on the database's clock, so runners on hosts whose clocks differ agree on them
    claim_until: datetime | None = None
    # a temporary failure backs off until then; a failure streak began then (given up after a day)
    next_attempt_at: datetime | None = None
    first_failed_at: datetime | None = None
    failure: str | None = Field(default=None, max_length=16)  # failed because: refused, expired
    reported_at: datetime | None = None  # the manager was told it failed
    # the report could not be mailed then: a copy went to the outbox, and it is sent when mail works again
    report_copied_at: datetime | None = None
    report_claim_until: datetime | None = None  # a runner is sending the report until then (database clock)
    outbox_file: str | None = Field(default=None, max_length=160)  # sent to the outbox folder, as this file


class AuditHead(TableBase, table=True):
    """One row: the newest event's hash. Updated first in every writing transaction, so that
    writers append to the chain one at a time on SQLite and PostgreSQL alike."""

    __tablename__ = "audit_head"
    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = 0
    last_hash: str = ""


class AuditEvent(TableBase, table=True):
    """The append-only, hash-chained log of every change. Nothing updates or deletes a row."""

    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True)
    case_id: int | None = Field(default=None, foreign_key="review_case.id", index=True)
    reference: str | None = None
    at: datetime = Field(default_factory=utcnow)  # when it was recorded
    on: date  # the day it happened (--on)
    actor: str
    event: str = Field(max_length=32)
    from_state: str | None = None
    to_state: str | None = None
    reason: str | None = None
    detail: str | None = None  # JSON
    prev_hash: str
    hash: str
    partnership_id: int | None = Field(default=None, foreign_key="partnership.id", index=True)


class CaseKey(TableBase, table=True):
    """The key that seals the free text of a case's audit events (docs/operations.md#erasure):
    `purge` deletes the row, and with it every reason and detail those events hold, while the chain
    still verifies over the ciphertext."""

    __tablename__ = "case_key"
    case_id: int = Field(
        foreign_key="review_case.id", primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    key: bytes = Field(sa_column=Column("key", LargeBinary, nullable=False))


class LogKey(TableBase, table=True):
    """The key that seals the rows of partners' logs (`trigger import`) reported in one month
    (docs/operations.md#erasure): `purge` deletes the keys of the months whose rows it deletes."""

    __tablename__ = "log_key"
    partnership_id: int = Field(
        foreign_key="partnership.id", primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    month: str = Field(primary_key=True, max_length=7)  # YYYY-MM of the rows' reported day
    key: bytes = Field(sa_column=Column("key", LargeBinary, nullable=False))


class MatchKey(TableBase, table=True):
    """The key of a partnership's keyed hashes of victims' ids (`victim_hash`: HMAC-SHA256), which the
    scan and the duty to signpost match on (docs/operations.md#erasure): made on first need, kept
    while the partnership keeps any record of a victim."""

    __tablename__ = "match_key"
    partnership_id: int = Field(
        foreign_key="partnership.id", primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    key: bytes = Field(sa_column=Column("key", LargeBinary, nullable=False))


class PolicySnapshot(TableBase, table=True):
    """The text of each policy version a case started under, so that editing or upgrading a policy
    file never silently changes a live case (docs/architecture.md#policies)."""

    __tablename__ = "policy_snapshot"
    __table_args__ = (UniqueConstraint("name", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    name: str
    version: str
    text: str
    stored_at: datetime = Field(default_factory=utcnow)


class ApplicantNotice(TableBase, table=True):
    """A message to the applicant that their case changed (its stage moved, a letter was issued) and
    to look at their case page, sent once by the reminder sweep as a reminder is; it carries no
    personal details (docs/operations.md#telling-the-applicant). Made in the transaction of the change,
    so a change rolled back makes none; `recorded_at`: the audit event saying it was sent is written."""

    __tablename__ = "applicant_notice"
    # a sweep reads the notices due, and those sent whose audit event is still to write, by index
    __table_args__ = (
        Index("ix_applicant_notice_status_send_on", "status", "send_on"),
        Index("ix_applicant_notice_status_recorded_at", "status", "recorded_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="review_case.id", index=True)
    channel: str = Field(max_length=8)  # email, sms (through GOV.UK Notify)
    stage: str | None = Field(default=None, max_length=16)  # the stage the case moved to, if it moved
    letters: int = 0  # letters issued to the applicant by the change
    language: str = Field(default="en", max_length=2)  # cy: Welsh first, then English
    send_on: date
    status: str = Field(default="pending", max_length=16)  # pending claimed sent failed cancelled
    claimed_at: datetime | None = None
    claimed_by: str | None = None
    claim_until: datetime | None = None
    sent_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    first_failed_at: datetime | None = None
    failure: str | None = Field(default=None, max_length=16)  # refused, expired
    outbox_file: str | None = Field(default=None, max_length=160)
    recorded_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)
