"""The free text of a case's audit events, sealed under the case's own key (docs/operations.md#erasure).

The audit log is append-only and hash-chained, so nothing may blank a row of it; yet a reason or a
detail can hold a person's name, words or address. So the `reason` and `detail` of every event that
belongs to a case are stored encrypted: AES-GCM under a 256-bit key kept in `case_key`, a random nonce
for each value, and the case, the event's number and the field bound in, so that a sealed value cannot
be moved to another event. The chain's hashes cover what is stored, the ciphertext. `purge` deletes the
key: the chain still verifies, and the text can never be read again.

Events that belong to no case (setup, people, imports, reminder runs) hold no victim's data and are
stored as written; so are the events of a database written before sealing began.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from sqlalchemy import select

from trigger.store import keystore, sealed
from trigger.store import tables as t

PREFIX = sealed.PREFIX  # before the base64 of nonce + ciphertext + tag
NONCE = sealed.NONCE
FIELDS = ("reason", "detail")
CARRIED = ("facts", "baseline")  # what an event carries for `audit verify` (trigger.store.facts)


ready = sealed.ready  # a change imports the cipher before its turn in the writers' queue


def _aead(key: bytes) -> Any:
    return ready()(key)


def _bound(case_id: int, seq: int, field: str) -> bytes:
    return f"{case_id}/{seq}/{field}".encode()


def key_of(session: Any, case_id: int) -> bytes:
    """The case's key, made with its first sealed event (in the key store when one is set:
    `trigger.store.sealed.Keyring.writing_key`). The caller holds the writers' lock (every append
    does), so two first events of one case never make two keys."""
    return sealed.writing_key(session, case_id)


def seal_event(session: Any, event: Any) -> None:
    """Replace the event's reason and detail by their sealed form (before its hash is taken)."""
    values = {f: getattr(event, f) for f in FIELDS if getattr(event, f)}
    if not values:
        return
    aead = _aead(key_of(session, event.case_id))
    for field, text in values.items():
        nonce = os.urandom(NONCE)
        sealed = aead.encrypt(nonce, text.encode(), _bound(event.case_id, event.seq, field))
        setattr(event, field, PREFIX + base64.b64encode(nonce + sealed).decode("ascii"))


def opened(key: bytes, case_id: int, seq: int, field: str, stored: str) -> str | None:
    """One sealed value opened with the case's key; None when the key does not open it."""
    data = base64.b64decode(stored[len(PREFIX) :])
    try:
        return _aead(key).decrypt(data[:NONCE], data[NONCE:], _bound(case_id, seq, field)).decode()
    except Exception:  # noqa: BLE001 - another key, or altered
        return None


def is_sealed(stored: str | None) -> bool:
    return stored is not None and stored.startswith(PREFIX)


def require_key(session: Any, case: Any) -> None:
    """Refuse to show a case whose key is gone though it was never purged (deleted outside the
    engine): its reasons and details would show as blanks, as if the record held none."""
    if case.purged:
        return
    ev = t.audit_event
    conn = session.connection()
    if sealed.case_keys(conn, [case.id]):
        return
    sealed.keys_reachable(conn)  # kept in a key store that is not set: say so, not "the key is gone"
    closed = sealed.sealed_event(ev)
    if session.execute(select(ev.c.seq).where(ev.c.case_id == case.id, closed).limit(1)).first() is None:
        return  # written before sealing began: nothing needs the key
    raise sealed.missing_key(case.reference, keystore.configured())


class Opener:
    """Reads the reason and detail of the events of some cases: the text while the case's key
    exists, "[erased by purge on DATE]" once `purge` has destroyed it; a value stored unsealed (no case,
    or written before sealing began) as it is. Rows are ORM events or Core rows with `case_id`, `seq`
    and the field read."""

    def __init__(self, session: Any, case_ids: Any):
        self._session = session
        self._ids = sorted({c for c in case_ids if c is not None})
        self._keys = sealed.case_keys(session.connection(), self._ids)
        if len(self._keys) < len(self._ids):
            sealed.keys_reachable(session.connection())
        self._aeads: dict[int, Any] = {}
        self._purged: dict[int, Any] | None = None

    def _purge(self, case_id: int) -> tuple[Any, int] | None:
        """The day and place in the log of the case's purge, if it was purged."""
        if self._purged is None:
            ev = t.audit_event
            purges = select(ev.c.case_id, ev.c.on, ev.c.seq).where(
                ev.c.event == "purge", ev.c.case_id.in_(self._ids)
            )
            self._purged = {case_id: (on, seq) for case_id, on, seq in self._session.execute(purges)}
        return self._purged.get(case_id)

    def _open(self, row: Any, field: str) -> tuple[str | None, bool]:
        """(the text, whether it was erased)."""
        stored = getattr(row, field)
        if not is_sealed(stored) or row.case_id is None:
            return stored, False
        key = self._keys.get(row.case_id)
        opened = None
        if key is not None:
            aead = self._aeads.get(row.case_id) or self._aeads.setdefault(row.case_id, _aead(key))
            data = base64.b64decode(stored[len(PREFIX) :])
            try:
                opened = aead.decrypt(data[:NONCE], data[NONCE:], _bound(row.case_id, row.seq, field))
            except Exception:  # noqa: BLE001 - sealed under the key the purge destroyed, or altered
                opened = None
        if opened is not None:
            return opened.decode(), False
        purge = self._purge(row.case_id)
        if purge is not None and row.seq < purge[1]:  # a key made after the purge opens only what followed
            return f"[erased by purge on {purge[0].isoformat()}]", True
        if key is None:
            return "[erased: the case's key is gone]", True
        return "[sealed text that does not open: run `trigger audit verify`]", True

    def reason(self, row: Any) -> str | None:
        return self._open(row, "reason")[0]

    def detail(self, row: Any) -> str | None:
        """The detail's JSON text, as recorded but for the facts of the rows it carries (which only
        `trigger audit verify` reads); after purge `{"erased": "[erased by purge on DATE]"}`."""
        text, erased = self._open(row, "detail")
        if erased:
            return json.dumps({"erased": text})
        if text and '"facts"' in text:
            data = json.loads(text)
            for carried in CARRIED:
                data.pop(carried, None)
            return json.dumps(data, sort_keys=True) if data else None
        return text

    def details(self, row: Any) -> dict:
        text = self.detail(row)
        return json.loads(text) if text else {}

    def recorded(self, row: Any) -> dict | None:
        """The detail as recorded, with the facts it carries; None when it cannot be opened (the key
        is gone or does not open it) or there is none."""
        text, erased = self._open(row, "detail")
        if erased or not text:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None
