"""The audit log: append-only and hash-chained. Each event's hash covers its own fields and the
previous event's hash, so an edited, deleted or reordered row breaks the chain at that point.

Writers take the single `audit_head` row first (an UPDATE), which serialises appends on SQLite and
PostgreSQL alike, then read the chain head and append.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, date

from sqlalchemy import func, update
from sqlmodel import Session, select

from trigger import access, seal
from trigger.app import writers_lock
from trigger.errors import NotPermitted
from trigger.models import AuditEvent, AuditHead, ReviewCase, utcnow

GENESIS = "0" * 64


def _utc(moment) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat()


def _digest(event: AuditEvent) -> str:
    body = {
        "seq": event.seq,
        "case_id": event.case_id,
        "reference": event.reference,
        "at": _utc(event.at),
        "on": event.on.isoformat(),
        "actor": event.actor,
        "event": event.event,
        "from": event.from_state,
        "to": event.to_state,
        "reason": event.reason,
        "detail": event.detail,
        "prev": event.prev_hash,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def record(
    session: Session,
    case: ReviewCase | None,
    event: str,
    *,
    actor: str,
    on: date,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    detail: dict | None = None,
    partnership_id: int | None = None,
    sealed: bool = True,
) -> AuditEvent:
    """Append one event in the caller's transaction, marked with the partnership it belongs to (the
    case's, else the one given, else the acting user's) so that each partnership sees its own. A case's
    event has its reason and detail sealed under the case's key (`trigger.seal`), unless `sealed` is
    False (the purge's own event, written as the key goes)."""
    writers_lock(session)
    if partnership_id is None:
        partnership_id = case.partnership_id if case is not None else access.scope_of(session)
    # take the head row first: the write lock (SQLite) or row lock (PostgreSQL) orders the appends
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(seq=AuditHead.seq + 1))
    head = session.exec(select(AuditHead).where(AuditHead.id == 1)).one()
    session.refresh(head)
    row = AuditEvent(
        seq=head.seq,
        case_id=case.id if case is not None else None,
        reference=case.reference if case is not None else None,
        at=utcnow().replace(microsecond=0),
        on=on,
        actor=actor,
        event=event,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        detail=json.dumps(detail, sort_keys=True, default=str) if detail else None,
        prev_hash=head.last_hash or GENESIS,
        hash="",
        partnership_id=partnership_id,
    )
    if case is not None and sealed:
        seal.seal_event(session, row)  # the hash covers the ciphertext: docs/operations.md#erasure
    row.hash = _digest(row)
    head.last_hash = row.hash
    session.add(row)
    session.add(head)
    session.flush()
    return row


def ensure_head(session: Session) -> None:
    if session.get(AuditHead, 1) is None:
        session.add(AuditHead(id=1, seq=0, last_hash=GENESIS))
        session.flush()


@dataclass
class Verification:
    ok: bool
    events: int
    broken_seq: int | None = None
    problem: str | None = None


def verify(session: Session) -> Verification:
    """Walk the chain in order; report the first event whose hash or link does not hold."""
    prev = GENESIS
    count = 0
    expected_seq = 1
    for row in session.exec(select(AuditEvent).order_by(AuditEvent.seq)):
        count += 1
        if row.seq != expected_seq:
            return Verification(False, count, expected_seq, f"event {expected_seq} is missing")
        if row.prev_hash != prev:
            return Verification(False, count, row.seq, f"event {row.seq} does not follow event {row.seq - 1}")
        if _digest(row) != row.hash:
            return Verification(False, count, row.seq, f"event {row.seq} ({row.event}) was altered")
        prev = row.hash
        expected_seq += 1
    head = session.get(AuditHead, 1)
    if head is not None and head.seq != count:
        return Verification(False, count, count + 1, f"event {count + 1} is missing (the log ends early)")
    return Verification(True, count)


@access.needs(access.AUDIT)
def verify_log(app) -> Verification:
    """`trigger audit verify`. The chain runs through every partnership's events, so in a database of
    several partnerships only an admin (who reads them all) can walk it."""
    with app.read() as session:
        acting = access.of(session)
        head = session.get(AuditHead, 1)
        seen = session.exec(select(func.count()).select_from(AuditEvent)).one()
        # the chain runs through every partnership's events; on PostgreSQL a login sees only its own
        hidden = head is not None and seen < head.seq
        if acting is not None and acting.scope is not None and (hidden or access.partnerships(session) > 1):
            raise NotPermitted(
                "verifying the audit log of a database of several partnerships needs the admin role; "
                f"{acting.actor.login} is registered as {acting.actor.role} (the chain runs through every "
                "partnership's events)"
            )
        return verify(session)
