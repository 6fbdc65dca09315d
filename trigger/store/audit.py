"""The audit log: append-only and hash-chained. Each event's hash covers its own fields and the
previous event's hash, so an edited, deleted or reordered row breaks the chain at that point.

Writers take the single `audit_head` row first (an UPDATE), which serialises appends on SQLite and
PostgreSQL alike, then read the chain head and append.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path, PurePath
from typing import Any

from sqlalchemy import Integer, bindparam, event, func, update
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from trigger.checks import ID_MAX
from trigger.errors import InvalidInput, NotPermitted
from trigger.store import access, facts, seal, tables
from trigger.store.app import App, writers_lock
from trigger.store.models import AuditEvent, AuditHead, CaseKey, Partnership, ReviewCase, utcnow

GENESIS = "0" * 64


def _utc(moment: datetime) -> str:
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


@dataclass
class _Pending:
    """An event appended in the transaction in hand, chained as the transaction commits (`_finish`)."""

    row: AuditEvent
    detail: dict
    sealed: bool
    snapshot: bool


PENDING = "audit_pending"  # session.info: the events appended in this transaction, in order


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
    snapshot: bool = False,
) -> AuditEvent:
    """Append one event in the caller's transaction, marked with the partnership it belongs to (the
    case's, else the one given, else the acting user's) so that each partnership sees its own. Its
    number is taken now; its detail gets the facts of the rows the transaction wrote, and it is sealed
    and chained, as the transaction commits (`_finish`), so it carries the rows as committed. A case's
    event has its reason and detail sealed under the case's key (`trigger.store.seal`), unless `sealed`
    is False (the purge's own event, written as the key goes); with `snapshot`, it carries the facts
    of every row of the case (the purge's, whose rows change outside the ORM). Until then the event is
    seen by `pending` only."""
    writers_lock(session)
    if partnership_id is None:
        partnership_id = case.partnership_id if case is not None else access.scope_of(session)
    # take the head row first: the write lock (SQLite) or row lock (PostgreSQL) orders the appends
    session.execute(_head()["bump"])
    # read back as the database now has it (the row may be in the session from before the UPDATE)
    head = session.exec(_head()["reread"]).one()
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
        detail=None,
        prev_hash="",
        hash="",
        partnership_id=partnership_id,
    )
    # written once, whole, as the transaction commits: the log is append-only (on PostgreSQL under
    # `db grant` even its writers may not UPDATE a row), so nothing is stored before it is final
    pending = _Pending(row, dict(detail or {}), case is not None and sealed, snapshot)
    session.info.setdefault(PENDING, []).append(pending)
    return row


@cache
def _head() -> dict[str, Any]:
    """The statements on the log's head row, built once per process (every change runs them)."""
    one = col(AuditHead.id) == 1
    return {
        "bump": update(AuditHead).where(one).values(seq=col(AuditHead.seq) + 1),
        "reread": select(AuditHead).where(one).execution_options(populate_existing=True),
        "read": select(AuditHead).where(one),
    }


def _finish(session: Session) -> None:
    """Just before a transaction commits: put the facts of the rows it wrote into its events (each
    case's last event carries its case's rows, the transaction's last event the partnership's), seal
    each case's event under its key and chain them (docs/architecture.md#the-record-checks-itself)."""
    if session.in_nested_transaction() or not session.info.get(PENDING):
        return
    session.flush()  # the last rows, and so their facts (`facts.collect`)
    pending: list[_Pending] = session.info.pop(PENDING)
    wrote = facts.written(session)
    last = {p.row.case_id: p for p in pending}
    first: dict[int | None, int] = {}
    for p in pending:
        first.setdefault(p.row.case_id, p.row.seq)
    for case_id, p in last.items():
        carried: dict[str, dict | None] = wrote.get(case_id, {})
        if case_id is not None and (p.snapshot or not _carries_facts(session, case_id, first[case_id])):
            # the whole case: the purge's rows, or a case whose earlier events predate the facts
            carried = dict(facts.snapshot(session.connection(), [case_id]).get(case_id, {}))
            p.detail["baseline"] = True
        p.detail["facts"] = carried
    head = session.exec(_head()["read"]).one()
    prev = head.last_hash or GENESIS
    for p in sorted(pending, key=lambda p: p.row.seq):
        row = p.row
        p.detail.setdefault("facts", {})
        row.detail = json.dumps(p.detail, sort_keys=True, default=str)
        row.prev_hash = prev
        if p.sealed:
            seal.seal_event(session, row)  # the hash covers the ciphertext: docs/operations.md#erasure
        row.hash = prev = _digest(row)
    session.add_all(p.row for p in sorted(pending, key=lambda p: p.row.seq))
    head.last_hash = prev
    session.add(head)
    session.flush()


@cache
def _earlier() -> Any:
    """The case's last event before a number (`cid`, `before`): built once per process."""
    ev = tables.audit_event
    cid, before = bindparam("cid", type_=Integer()), bindparam("before", type_=Integer())
    return (
        select(ev.c.seq, ev.c.detail)
        .where(ev.c.case_id == cid, ev.c.seq < before)
        .order_by(ev.c.seq.desc())
        .limit(1)
    )


def pending(session: Session, case_id: int) -> list[AuditEvent]:
    """The case's events appended in this transaction, not yet written (`record`)."""
    return [p.row for p in session.info.get(PENDING, ()) if p.row.case_id == case_id]


def pending_details(session: Session, case_id: int) -> list[tuple[AuditEvent, dict]]:
    """The case's events appended in this transaction, each with the detail it will carry."""
    return [(p.row, p.detail) for p in session.info.get(PENDING, ()) if p.row.case_id == case_id]


def _carries_facts(session: Session, case_id: int, before: int) -> bool:
    """Whether the case's last event before `before` carries facts (its history does too), or the case
    has no earlier event (its rows are all new in this transaction)."""
    earlier = session.execute(_earlier(), {"cid": case_id, "before": before}).first()
    if earlier is None:
        return True
    text = earlier.detail
    if seal.is_sealed(text):
        key = session.get(CaseKey, case_id)
        text = seal.opened(key.key, case_id, earlier.seq, "detail", text) if key is not None else None
    try:
        return isinstance(recorded := json.loads(text or "null"), dict) and "facts" in recorded
    except ValueError:
        return False


event.listen(OrmSession, "before_flush", facts.collect)
event.listen(OrmSession, "before_commit", _finish)


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
    # the tables against the log (`trigger.store.replay`): one line per difference
    differences: list[str] = field(default_factory=list)
    cases: int = 0
    partial: int = 0  # cases whose older events cannot be replayed in full
    agencies_unknown: int = 0
    keys: str = ""  # where the keys are kept (`trigger.store.replay`)


def verify(session: Session) -> Verification:
    """Walk the chain in order; report the first event whose hash or link does not hold."""
    prev = GENESIS
    count = 0
    expected_seq = 1
    for row in session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))):
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


# -- anchors: the chain's head kept outside the database (docs/operations.md#audit-anchors) -------------
#
# A hash chain in the database proves nothing against someone who can write to the database: they can
# edit a row and compute every hash after it again. An anchor, the head's sequence and hash written to
# a file the manager keeps elsewhere (or printed in a published return), pins the history up to that
# event: a chain that no longer runs through it was rewritten.

ANCHOR_ABOUT = (
    "The head of a Community Trigger audit chain, to keep outside the database: "
    "`trigger audit verify --anchor FILE` fails if the chain no longer runs through this event."
)
ANCHOR_MAX_BYTES = 5_000_000  # an anchor or a published return's JSON is a few kilobytes
_HASH = re.compile(r"[0-9a-f]{64}")
_MOMENT = re.compile(r"[0-9][0-9T:.+Z -]{0,39}")  # shown back in messages: no control characters


@dataclass(frozen=True)
class Anchor:
    """A kept head of the chain: event `seq` had hash `hash` when the anchor was taken (`at`)."""

    seq: int
    hash: str
    at: str | None = None
    source: str = "kept"
    kept: bool = False  # found in the anchor folder (`trigger.store.anchors`), not given

    @property
    def named(self) -> str:
        return f"the anchor {self.source}" + (f" (taken {self.at})" if self.at else "")


def _now_utc() -> str:
    return utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")


def head_anchor(session: Session) -> dict | None:
    """The chain's head now, as a published return carries it: {seq, hash, at (UTC)}; None while the
    log is empty. Holds no personal data: a count and a hash."""
    head = session.get(AuditHead, 1)
    if head is None or head.seq == 0:
        return None
    return {"seq": head.seq, "hash": head.last_hash, "at": _now_utc()}


def _whole_chain_readable(session: Session, doing: str) -> None:
    """The chain runs through every partnership's events, so in a database of several partnerships
    only an admin (who reads them all) can walk or anchor it
    (docs/architecture.md#partnerships-people-and-roles)."""
    acting = access.of(session)
    head = session.get(AuditHead, 1)
    seen = session.exec(select(func.count()).select_from(AuditEvent)).one()
    # on PostgreSQL a login sees only its own partnership's events
    hidden = head is not None and seen < head.seq
    if acting is not None and acting.scope is not None and (hidden or access.partnerships(session) > 1):
        raise NotPermitted(
            f"{doing} the audit log of a database of several partnerships needs the admin role; "
            f"{acting.actor.login} is registered as {acting.actor.role} (the chain runs through every "
            "partnership's events)"
        )


def _database_label(url: str) -> str:
    """Which database, for the person holding the anchor: the SQLite file's name, or the PostgreSQL
    server and database; never a login, a password or a folder (which may carry a person's name)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite file {PurePath(parsed.database or '').name or 'in memory'}"
    where = f"{parsed.host or 'localhost'}" + (f":{parsed.port}" if parsed.port else "")
    return f"PostgreSQL database {parsed.database} on {where}"


def database_id(url: str) -> str:
    """Which database an anchor belongs to, as a digest: the SQLite file's full path, or the PostgreSQL
    server, port, database and options (the login left out: every person logs in as themselves)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        where = str(Path(parsed.database or "").expanduser().resolve()) if parsed.database else ":memory:"
    else:
        query = "&".join(f"{k}={v}" for k, v in sorted(parsed.query.items()))
        where = f"{parsed.host}:{parsed.port}/{parsed.database}?{query}"
    return hashlib.sha256(f"{parsed.get_backend_name()}:{where}".encode()).hexdigest()[:32]


@access.needs(access.AUDIT)
def take_anchor(app: App) -> dict:
    """`trigger audit anchor`: the head of a chain that verifies, with what a person needs to know
    which database it belongs to. Refused while the chain is broken (an anchor would vouch for it) or
    empty."""
    with app.read() as session:
        _whole_chain_readable(session, "anchoring")
        result = verify(session)
        if not result.ok:
            raise InvalidInput(
                f"audit chain broken at event {result.broken_seq}: {result.problem}; "
                "an anchor would vouch for it, so none was taken"
            )
        anchor = head_anchor(session)
        if anchor is None:
            raise InvalidInput("the audit log is empty; there is nothing to anchor yet")
        first = session.exec(select(AuditEvent.hash).where(AuditEvent.seq == 1)).one()
        partnerships = session.exec(select(Partnership.code, Partnership.name).order_by(Partnership.code))
        return {
            "about": ANCHOR_ABOUT,
            **anchor,
            "first_hash": first,
            "database": _database_label(app.url),
            "database_id": database_id(app.url),
            "partnerships": [{"code": code, "name": name} for code, name in partnerships],
        }


def anchor_json(anchor: dict) -> bytes:
    return (json.dumps(anchor, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def read_anchor(path: str) -> Anchor:
    """An anchor file written by `trigger audit anchor`, or the JSON of a published return (its
    `audit_anchor`). Anything else is refused in one line naming the file."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(ANCHOR_MAX_BYTES + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read the anchor {path}: {exc.strerror or exc}") from None
    if len(raw) > ANCHOR_MAX_BYTES:
        raise InvalidInput(f"{path} is not an audit anchor: it is larger than any anchor")
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InvalidInput(f"{path} is not an audit anchor: it is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"{path} is not an audit anchor: not JSON ({exc.msg}, line {exc.lineno})"
        ) from None
    except RecursionError:
        raise InvalidInput(f"{path} is not an audit anchor: its JSON is nested too deeply") from None
    if isinstance(data, dict) and isinstance(data.get("audit_anchor"), dict):
        data = data["audit_anchor"]  # a published return (`report annual --publish --json`)
    if not isinstance(data, dict):
        raise InvalidInput(f"{path} is not an audit anchor: it holds no seq and hash")
    seq, digest, at = data.get("seq"), data.get("hash"), data.get("at")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= ID_MAX:
        raise InvalidInput(f"{path} is not an audit anchor: seq must be a whole number from 1 to {ID_MAX}")
    if not isinstance(digest, str) or not _HASH.fullmatch(digest):
        raise InvalidInput(f"{path} is not an audit anchor: hash must be 64 hexadecimal digits")
    return Anchor(seq, digest, at if isinstance(at, str) and _MOMENT.fullmatch(at) else None, path)


def runs_through(session: Session, anchor: Anchor) -> str | None:
    """Why the chain no longer runs through `anchor` (its event gone, or its hash changed: the history
    up to it was written again), or None when it does."""
    stored = session.exec(select(AuditEvent.hash).where(AuditEvent.seq == anchor.seq)).one_or_none()
    if stored is None:
        return f"event {anchor.seq} is missing, but {anchor.named} has it (the log was cut back)"
    if stored != anchor.hash:
        return (
            f"event {anchor.seq} has hash {stored[:12]}..., but {anchor.named} says {anchor.hash[:12]}... "
            "(the history up to it was written again)"
        )
    return None


@access.needs(access.AUDIT)
def verify_through(app: App, anchors: list[Anchor]) -> Verification:
    """`trigger audit verify`: the chain holds, still runs through every anchor given, and the tables
    hold what the log says (`trigger.store.replay`: every difference named)."""
    from trigger.store import replay

    with app.read() as session:
        _whole_chain_readable(session, "verifying")
        result = verify(session)
        for anchor in anchors if result.ok else ():
            problem = runs_through(session, anchor)
            if problem is not None:
                result = Verification(False, result.events, anchor.seq, problem)
                break
        checked = replay.replay(session)
        result.differences = checked.differences
        result.cases, result.partial = checked.cases, checked.partial
        result.agencies_unknown = checked.agencies_unknown
        result.keys = checked.keys
        return result
