"""Personal fields stored sealed under their case's key (docs/operations.md#erasure).

A value in the WAL, an archive or a backup outlives every UPDATE and VACUUM: only a value that was
never written in the clear can be erased from them. So the columns typed `Sealed` (names, addresses,
contact details, statements, what a complaint says) reach the database as AES-GCM ciphertext under
the key of their case (`case_key`, the key that seals its audit text), a random nonce for each value,
the case bound in. `purge` deletes the key, and every copy of the values, wherever it lies, can never
be read again.

One mechanism, at the store's boundary, so that no use-case seals or opens anything itself:
- writing: a session's `before_flush` replaces each new or changed sealed value of an ORM row by its
  sealed form, and `after_flush_postexec` puts the plain value back on the row, so the code that made
  the change goes on reading what it wrote;
- reading: the column type opens the value with the keys of the session that reads it (`Keyring`,
  fetched as first needed), for the ORM and the Core read paths alike (`trigger.store.tables`).

A row of no case (a signposting record, an imported log row written through the ORM) is sealed under
its partnership's key for its month (`log_key`: `Keyring.seal_log`), which the purge of that month
deletes with the rows.

The victim's id in the partners' systems (`victim_ref`), which the scan and the duty to signpost group
and match on, is sealed like any other field and stored beside it as a keyed hash (`victim_hash`:
HMAC-SHA256 under the partnership's `match_key`, made on first need), so that the database matches on
the hash and never holds the id in the clear.

A value stored in the clear (written before sealing began, or a purge's placeholder) reads as it is.
"""

from __future__ import annotations

import base64
import hmac
import os
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import Any

from sqlalchemy import bindparam, event, insert, inspect, select, text
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql import column, table
from sqlalchemy.types import LargeBinary, TypeDecorator
from sqlmodel.sql.sqltypes import AutoString

from trigger.errors import Damaged
from trigger.store import keystore

PREFIX = "sealed:"  # an audit event's: sealed:<base64>; a field's: sealed:c<case id>:<base64>
NONCE = 12  # bytes: AES-GCM's standard 96-bit nonce, random for each value
GONE = "[erased: the case's key is gone]"
ALTERED = "[sealed text that does not open: run `trigger audit verify`]"

_keys = table("case_key", column("case_id"), column("key"))
# built once: a command reading a case reads its key through them (their cache keys made once too)
_KEYS_ALL = select(_keys.c.case_id, _keys.c.key)
_KEYS_OF = _KEYS_ALL.where(_keys.c.case_id.in_(bindparam("ids", expanding=True)))
_log_keys = table("log_key", column("partnership_id"), column("month"), column("key"))
_match_keys = table("match_key", column("partnership_id"), column("key"))
# a sealed column and the column holding its keyed hash, which the engine matches on in SQL
HASHED = {"victim_ref": "victim_hash"}
# a row of no case: the column whose month names its log key (`log_key`), by table
_MONTH_OF = {"incident": "reported", "signposting": "told_on"}
_ring: ContextVar[Keyring | None] = ContextVar("trigger_keyring", default=None)


def ready() -> Any:
    """The cipher (AES-GCM), imported only when there is text to seal or open: `list` and `--help`
    never pay for it."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM


def _bound(case_id: int) -> bytes:
    return f"case {case_id}".encode()


class Keyring:
    """The case keys one session (or connection) reads and writes with: the first case's fetched alone,
    then, at the next case not yet fetched, every key at once (a listing of many cases costs one query).
    With a key store (`trigger.store.keystore`) the keys are read from it (and from the database, for
    any not moved yet), and a key made is committed to it before the change that uses it can commit."""

    def __init__(self, connection: Callable[[], Connection]):
        self._connection = connection
        self._store = keystore.configured()
        self._keys: dict[int, bytes | None] = {}
        self._aeads: dict[int | str, Any] = {}
        self._fetched = 0
        self.made: list[tuple[int, bytes]] = []  # keys made in this flush, inserted after it (no store)
        self._scoped: dict[str, dict[tuple, bytes]] = {}  # log_key and match_key: {table: {ident: key}}
        self._kept_in: list[str | None] = []  # the database's word on where its keys are, once read

    def _reachable(self, *, writing: bool) -> None:
        """A key looked for and not found: refuse when the database says its keys are in a key store and
        none is set (they would read as erased, and a second key would be made); and, to make a key,
        when a store is set that the keys were never moved to."""
        if not self._kept_in:
            self._kept_in.append(keystore.marker(self._connection()))
        kept_in = self._kept_in[0]
        if self._store is None and kept_in is not None:
            raise keystore.refuse_without_store(kept_in)
        if writing and self._store is not None and kept_in is None:
            raise keystore.refuse_unmoved(self._store)

    def key(self, case_id: int) -> bytes | None:
        if case_id not in self._keys:
            ids = None if self._fetched else [case_id]
            self._fetched += 1
            self._keys.update(case_keys(self._connection(), ids, self._store))
            self._keys.setdefault(case_id, None)
            if self._keys[case_id] is None:
                self._reachable(writing=False)
        return self._keys[case_id]

    def log_key(self, partnership_id: int, month: str, *, make: bool = False) -> bytes | None:
        """The key sealing a partnership's imported log rows reported in `month` (YYYY-MM); made when
        `make` and there is none yet (`_scoped_key`)."""
        return self._scoped_key(_log_keys, (partnership_id, month), make=make)

    def match_key(self, partnership_id: int, *, make: bool = False) -> bytes | None:
        """The key of a partnership's keyed hashes of victims' ids (`match`); made when `make` and there
        is none yet (`_scoped_key`)."""
        return self._scoped_key(_match_keys, (partnership_id,), make=make)

    def _scoped_key(self, keys: Any, ident: tuple, *, make: bool) -> bytes | None:
        """A partnership's key from the table `keys` (log_key or match_key), named by `ident` (the values
        of its naming columns, `keystore.TABLES`): read from the key store, else the database; made
        when `make` and there is none, and stored at once (in the key store, committed; else inside the
        caller's change)."""
        cache = self._scoped.setdefault(keys.name, {})
        key = cache.get(ident)
        if key is None:
            key = (
                self._store.check(self._connection()).key(keys.name, ident)
                if self._store is not None
                else None
            )
            names = keystore.TABLES[keys.name]
            if key is None:
                found = select(keys.c.key).where(keystore.named(keys, ident))
                stored = self._connection().execute(found).scalar()
                key = bytes(stored) if stored is not None else None
            if key is None:
                self._reachable(writing=make)
            if key is None and make:
                key = os.urandom(32)
                if self._store is not None:
                    key = self._store.put(keys.name, [(*ident, key)])[ident]
                else:
                    row = {**dict(zip(names, ident, strict=True)), "key": key}
                    self._connection().execute(insert(keys), [row])
            if key is not None:
                cache[ident] = key
        return key

    def match(self, partnership_id: int, value: str, *, make: bool = False) -> bytes | None:
        """The keyed hash (HMAC-SHA256 under the partnership's `match_key`) of a victim's id, exactly as
        given: what the database matches and groups on. None when the partnership has no key yet (and
        so no id stored to match) and `make` is not given."""
        key = self.match_key(partnership_id, make=make)
        return None if key is None else hmac.digest(key, value.encode(), "sha256")

    def seal_log(self, partnership_id: int, month: str, value: str) -> str:
        """A value of an imported log row, sealed under its partnership's key for its reported month."""
        scope = f"m{partnership_id}/{month}"
        key = self.log_key(partnership_id, month, make=True)
        assert key is not None  # made when missing
        aead = self._aead(scope, key)
        nonce = os.urandom(NONCE)
        data = aead.encrypt(nonce, value.encode(), scope.encode())
        return f"{PREFIX}{scope}:{base64.b64encode(nonce + data).decode('ascii')}"

    def writing_key(self, case_id: int) -> bytes:
        """The case's key, made when it has none: committed to the key store at once, or (no store)
        inserted with the next flush, after the case's own row."""
        key = self._keys.get(case_id)
        if key is None:
            self._keys.pop(case_id, None)  # made since it was looked for (an audit event's `key_of`)
            key = self.key(case_id)
        if key is None:
            self._reachable(writing=True)
            self._may_make(case_id)
            key = os.urandom(32)
            if self._store is not None:
                # durable before the change sealed under it commits; if that change rolls back, the
                # key stays behind unused (the next case of the same number takes it)
                key = self._store.put_case_key(case_id, key)
            else:
                self.made.append((case_id, key))
            self._keys[case_id] = key
        return key

    def _may_make(self, case_id: int) -> None:
        """A case is given a key only while nothing of it is sealed: a case being created, a purged one
        (what was sealed went with its old key), or one written before sealing began. Otherwise its
        key is missing (a key store not this database's, or restored from an older copy, or the key
        deleted outside the engine), and a new key would seal its values apart from the old ones, which
        could then never be read again, even with the real key back: refused, nothing changed."""
        conn = self._connection()
        case = conn.execute(
            text("SELECT reference, purged FROM review_case WHERE id = :c"), {"c": case_id}
        ).first()
        if case is None or case.purged:
            return
        seen = select(_EVENTS.c.case_id).where(_EVENTS.c.case_id == case_id, sealed_event(_EVENTS)).limit(1)
        if conn.execute(seen).first() is not None:
            raise missing_key(case.reference, self._store)

    def _aead(self, scope: int | str, key: bytes) -> Any:
        aead = self._aeads.get(scope)
        if aead is None:
            aead = self._aeads[scope] = ready()(key)
        return aead

    def seal(self, case_id: int, value: str) -> str:
        nonce = os.urandom(NONCE)
        data = self._aead(case_id, self.writing_key(case_id)).encrypt(nonce, value.encode(), _bound(case_id))
        return f"{PREFIX}c{case_id}:{base64.b64encode(nonce + data).decode('ascii')}"

    def seal_bytes(self, case_id: int, value: bytes) -> bytes:
        nonce = os.urandom(NONCE)
        data = self._aead(case_id, self.writing_key(case_id)).encrypt(nonce, value, _bound(case_id))
        return f"{PREFIX}c{case_id}:".encode() + nonce + data

    def open_bytes(self, stored: bytes) -> bytes:
        scope, _, data = stored[len(PREFIX) :].partition(b":")
        case_id = int(scope[1:])
        key = self.key(case_id)
        if key is None:
            return GONE.encode()
        try:
            return self._aead(case_id, key).decrypt(data[:NONCE], data[NONCE:], _bound(case_id))
        except Exception:  # noqa: BLE001 - another case's value, or altered
            return ALTERED.encode()

    def open(self, stored: str) -> str:
        scope, _, body = stored[len(PREFIX) :].partition(":")
        if scope.startswith("m"):
            return self._open_log(scope, body)
        case_id = int(scope[1:])
        key = self.key(case_id)
        if key is None:
            return GONE
        data = base64.b64decode(body)
        try:
            return self._aead(case_id, key).decrypt(data[:NONCE], data[NONCE:], _bound(case_id)).decode()
        except Exception:  # noqa: BLE001 - another case's value, or altered
            return ALTERED

    def _open_log(self, scope: str, body: str) -> str:
        pid, _, month = scope[1:].partition("/")
        key = self.log_key(int(pid), month)
        if key is None:
            return GONE
        data = base64.b64decode(body)
        try:
            return self._aead(scope, key).decrypt(data[:NONCE], data[NONCE:], scope.encode()).decode()
        except Exception:  # noqa: BLE001 - another month's value, or altered
            return ALTERED


def case_keys(conn: Connection, ids: list[int] | None = None, store: Any = None) -> dict[int, bytes]:
    """The case keys (of `ids`, or all): the database's, and over them the key store's when one is set
    (`store`, else the one configured)."""
    if ids is not None and not ids:
        return {}
    if ids is None:
        rows = conn.execute(_KEYS_ALL)
    else:
        rows = conn.execute(_KEYS_OF, {"ids": ids})
    found = {cid: bytes(key) for cid, key in rows}
    store = store if store is not None else keystore.configured()
    if store is not None:
        found.update(store.check(conn).case_keys(ids))
    return found


# the audit log's columns that tell whether a case has anything sealed (the engine's tables live above)
_EVENTS = table("audit_event", column("case_id"), column("detail"), column("reason"))


def sealed_event(events: Any) -> Any:
    """Where an audit event (of `events`, the audit log's table) holds a reason or detail sealed under
    its case's key: a case with one needs its key to be read."""
    return events.c.detail.startswith(PREFIX) | events.c.reason.startswith(PREFIX)


def missing_key(reference: str, store: Any) -> Damaged:
    """A case not purged whose key is gone, though its events were sealed under it."""
    if store is not None:
        return Damaged(
            f"{reference}: the case's key is not in {store.where}, so its personal data and the "
            "reasons and details of its events cannot be read: the case was purged after this copy of the "
            "database was taken (or the key store was restored from a copy older than the case); nothing "
            "was changed"
        )
    return Damaged(
        f"{reference}: the case's key is gone, so the reasons and details of its events cannot be "
        "read, yet it was never purged: the record was changed outside the engine; run `trigger audit "
        "verify`, and restore the database from a backup; nothing was changed"
    )


def keys_reachable(conn: Connection) -> None:
    """Refuse (one line) when the database's keys are kept in a key store and none is set."""
    if keystore.configured() is None:
        kept_in = keystore.marker(conn)
        if kept_in is not None:
            raise keystore.refuse_without_store(kept_in)


def writing_key(session: Session, case_id: int) -> bytes:
    """The case's key to seal with, made (and stored: `Keyring.writing_key`) when it has none."""
    ring = ring_of(session)
    if ring is None:  # a session without the store's hooks: a key made goes in at once
        ring = Keyring(session.connection)
        key = ring.writing_key(case_id)
        _store_keys(session, None)
        session.info["keyring"] = ring
        return key
    return ring.writing_key(case_id)


def is_sealed_field(stored: object) -> bool:
    return isinstance(stored, str) and stored.startswith((PREFIX + "c", PREFIX + "m"))


class Sealed(TypeDecorator):
    """A text column stored sealed under its case's key, read back in the clear by a session that
    holds the key (`Keyring`)."""

    impl = AutoString
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if not is_sealed_field(value):
            return value
        ring = _ring.get()
        return value if ring is None else ring.open(value)


class SealedBytes(TypeDecorator):
    """Binary content (the exact bytes of a letter sent) stored sealed under its case's key: the
    prefix `sealed:c<case>:`, then the nonce and the ciphertext."""

    impl = LargeBinary
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = bytes(value)
        if not value.startswith(_BYTES_PREFIX):
            return value
        ring = _ring.get()
        return value if ring is None else ring.open_bytes(value)


_BYTES_PREFIX = (PREFIX + "c").encode()


def use(session: Session) -> Token:
    """Read and write with `session`'s keys until `done`: its sealed values open, and its changes seal."""
    ring = Keyring(session.connection)
    session.info["keyring"] = ring
    return _ring.set(ring)


def use_connection(conn: Connection) -> Token:
    return _ring.set(Keyring(lambda: conn))


def done(token: Token) -> None:
    _ring.reset(token)


def ring_of(session: Session) -> Keyring | None:
    return session.info.get("keyring")


def match(session: Session, partnership_id: int, value: str) -> bytes | None:
    """The keyed hash a victim's id is stored with in the partnership (`Keyring.match`), to find their
    rows by; None when the partnership has no key yet, and so no row to find."""
    ring = ring_of(session)
    if ring is None:  # pragma: no cover - every session of the engine has its keyring
        raise RuntimeError("a match on a victim's id reads through a session with its keys")
    return ring.match(partnership_id, value)


_SEALED: dict[type, tuple[str, ...]] = {}


def _sealed_fields(cls: type) -> tuple[str, ...]:
    fields = _SEALED.get(cls)
    if fields is None:
        mapper: Any = inspect(cls, raiseerr=False)
        cols = mapper.columns if mapper is not None else []
        fields = _SEALED[cls] = tuple(c.key for c in cols if isinstance(c.type, (Sealed, SealedBytes)))
    return fields


def _next_case_id(session: Session) -> int:
    """A new case's id before its row is written: its values are sealed under a key named by it. The
    writers' lock is held (every flush takes it first), so no other case takes the same one."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        return conn.execute(text("SELECT nextval(pg_get_serial_sequence('review_case', 'id'))")).scalar_one()
    return conn.execute(text("SELECT coalesce(max(id), 0) + 1 FROM review_case")).scalar_one()


def _plain(value: object) -> bool:
    if isinstance(value, str):
        return not value.startswith(PREFIX)
    return isinstance(value, bytes) and not value.startswith(_BYTES_PREFIX)


def _case_of(session: Session, row: Any) -> int | None:
    """The case a row's values belong to: its own `case_id`, or that of the letter it belongs to."""
    if hasattr(row, "case_id"):
        return row.case_id
    if getattr(row, "letter_id", None) is not None:
        letter = text("SELECT case_id FROM letter WHERE id = :letter")
        return session.connection().execute(letter, {"letter": row.letter_id}).scalar_one_or_none()
    return None


def _log_scope(row: Any) -> tuple[int, str] | None:
    """The partnership and month (YYYY-MM) whose log key seals a row of no case, if its table has one."""
    month_of = _MONTH_OF.get(row.__tablename__)
    day = getattr(row, month_of) if month_of else None
    if day is None or getattr(row, "partnership_id", None) is None:
        return None
    return row.partnership_id, str(day)[:7]


def _corrected(session: Session, row: Any) -> Any:
    """The imported row a correction of no case corrects, as this change leaves it: the correction is
    sealed under that row's log key (its month), to go with it (docs/architecture.md#corrections)."""
    if row.__tablename__ != "correction" or row.subject != "incident" or row.subject_id is None:
        return None
    held: Any
    for held in session.identity_map.values():
        if getattr(held, "__tablename__", None) == "incident" and held.id == row.subject_id:
            return held
    return None


def _moved_month(row: Any, state: Any, fields: tuple[str, ...], changed: list[str]) -> list[str]:
    """A row of no case whose month changed (a corrected report date): its other sealed values, opened
    when read, to seal again under the new month's log key, so that the purge of the old month does not
    erase a row it keeps (docs/operations.md#erasure). A value that did not open stays as stored."""
    month_of = _MONTH_OF.get(row.__tablename__)
    if month_of is None or state.pending or state.transient or getattr(row, "case_id", None) is not None:
        return []
    was = state.attrs[month_of].history.deleted
    if not was or str(was[0])[:7] == str(getattr(row, month_of))[:7]:
        return []
    return [
        f
        for f in fields
        if f not in changed and _plain(state.dict.get(f)) and state.dict.get(f) not in (GONE, ALTERED)
    ]


def _hash_changes(ring: Keyring, row: Any, state: Any, fields: tuple[str, ...]) -> None:
    """Set the keyed hash beside each hashed field written (None beside no value), before it is sealed."""
    for field, hashed in HASHED.items():
        if field not in fields:
            continue
        if not (state.pending or state.transient or state.attrs[field].history.has_changes()):
            continue
        value = state.dict.get(field)
        if value is None:
            setattr(row, hashed, None)
        elif _plain(value):
            setattr(row, hashed, ring.match(row.partnership_id, value, make=True))


def _seal_changes(session: Session, _context: object, _instances: object) -> None:
    ring = ring_of(session)
    if ring is None:
        return
    plain: list[tuple[Any, str, Any]] = []
    session.info["unsealed"] = plain
    for row in [*session.new, *session.dirty]:
        fields = _sealed_fields(type(row))
        if not fields:
            continue
        state = inspect(row)
        if not (row.__tablename__ == "review_case" and row.purged):
            _hash_changes(ring, row, state, fields)
        changed = [
            f
            for f in fields
            if _plain(state.dict.get(f))
            and (state.pending or state.transient or state.attrs[f].history.has_changes())
        ]
        changed += _moved_month(row, state, fields, changed)
        if not changed:
            continue
        if row.__tablename__ == "review_case":
            if row.purged:
                continue  # the purge's placeholders: the key goes in the same change
            if row.id is None:
                row.id = _next_case_id(session)
            case_id = row.id
        else:
            case_id = _case_of(session, row)
        scope = _log_scope(_corrected(session, row) or row) if case_id is None else None
        if case_id is None and scope is None:
            continue
        for f in changed:
            value = state.dict[f]
            if scope is not None:
                stored: str | bytes = ring.seal_log(*scope, value)
            elif isinstance(value, bytes):
                stored = ring.seal_bytes(case_id, value)
            else:
                stored = ring.seal(case_id, value)
            setattr(row, f, stored)
            plain.append((row, f, value))


def _store_keys(session: Session, _context: object) -> None:
    ring = ring_of(session)
    if ring is not None and ring.made:
        made, ring.made = ring.made, []
        session.connection().execute(insert(_keys), [{"case_id": c, "key": k} for c, k in made])


def _plain_again(session: Session, _context: object) -> None:
    for row, field, value in session.info.pop("unsealed", []):
        set_committed_value(row, field, value)


def seal_on_flush(session: Session) -> None:
    """Seal `session`'s new and changed personal values as they are written (after the writers' lock)."""
    event.listen(session, "before_flush", _seal_changes)
    event.listen(session, "after_flush", _store_keys)
    event.listen(session, "after_flush_postexec", _plain_again)
