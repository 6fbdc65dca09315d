"""the victim's id sealed and matched on by a keyed hash; signposting and appeal grounds sealed

Revision ID: 0006_victim_hash
Revises: 0005_log_keys
Create Date: 2026-12-07 03:00:00

The victim's id in the partners' systems (`victim_ref`) is stored sealed, and beside it a keyed hash
(`victim_hash`, HMAC-SHA256 under the partnership's `match_key`) that the scan and the duty to signpost
group and match on (docs/operations.md#erasure): on a case and its complaints under the case's key;
on an imported log row under its log key (partnership, month reported); on a signposting record, with
how the victim was told, under the log key of the month they were told. An appeal's grounds are
sealed under its case's key. This seals the values written before, in place, in the format of
`trigger.store.sealed`, written out here so that this migration does the same whatever the code
becomes. Purged cases hold no id and are left as they are.

A value whose key is gone was erased by a purge (a row kept after its month's key went, left so by an
earlier version): it cannot be opened or hashed. Upgrade hashes every sealed id it can open, clears the
ids it cannot (as the purge clears them) and says how many; downgrade writes what the purge writes for
each such value. Downgrade opens the values again, with the keys still there, and drops the hashes and
their key.
"""

import base64
import hmac
import os
import sys
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0006_victim_hash"
down_revision: Union[str, Sequence[str], None] = "0005_log_keys"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PREFIX = "sealed:"
HASHED = ("incident", "review_case", "signposting")  # the tables with a victim's id
CHUNK = 5000
PURGED = "[purged]"  # what the purge writes in a text it blanks (trigger.cases.retention)


def _aead(key: bytes):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)


class _Keys:
    """The keys of the database, made where missing (as the engine makes them on first need)."""

    def __init__(self, conn):
        self.conn = conn
        self.case = {c: bytes(k) for c, k in conn.execute(sa.text("SELECT case_id, key FROM case_key"))}
        self.log = {
            (p, m): bytes(k) for p, m, k in conn.execute(sa.text("SELECT partnership_id, month, key FROM log_key"))
        }
        self.match = {p: bytes(k) for p, k in conn.execute(sa.text("SELECT partnership_id, key FROM match_key"))}
        self._aeads: dict = {}

    def _make(self, found: dict, scope, sql: str, params: dict) -> bytes:
        if scope not in found:
            found[scope] = os.urandom(32)
            self.conn.execute(sa.text(sql), {**params, "k": found[scope]})
        return found[scope]

    def digest(self, pid: int, value: str) -> bytes:
        key = self._make(self.match, pid, "INSERT INTO match_key (partnership_id, key) VALUES (:p, :k)", {"p": pid})
        return hmac.digest(key, value.encode(), "sha256")

    def seal_case(self, case_id: int, value: str) -> str:
        key = self._make(self.case, case_id, "INSERT INTO case_key (case_id, key) VALUES (:c, :k)", {"c": case_id})
        nonce = os.urandom(12)
        data = self._aead(("c", case_id), key).encrypt(nonce, value.encode(), f"case {case_id}".encode())
        return f"{PREFIX}c{case_id}:{base64.b64encode(nonce + data).decode('ascii')}"

    def seal_log(self, pid: int, day, value: str) -> str:
        month = str(day)[:7]
        key = self._make(
            self.log, (pid, month), "INSERT INTO log_key (partnership_id, month, key) VALUES (:p, :m, :k)",
            {"p": pid, "m": month},
        )  # fmt: skip
        scope = f"m{pid}/{month}"
        nonce = os.urandom(12)
        data = self._aead(scope, key).encrypt(nonce, value.encode(), scope.encode())
        return f"{PREFIX}{scope}:{base64.b64encode(nonce + data).decode('ascii')}"

    def open(self, value):
        """A sealed value opened (case or log scope); the value as it is when it is not sealed; None when
        its key is gone (erased by a purge)."""
        if value is None or not value.startswith((PREFIX + "c", PREFIX + "m")):
            return value
        scope, _, body = value[len(PREFIX):].partition(":")
        if scope.startswith("m"):
            pid, _, month = scope[1:].partition("/")
            key, bound = self.log.get((int(pid), month)), scope.encode()
        else:
            key, bound = self.case.get(int(scope[1:])), f"case {scope[1:]}".encode()
        if key is None:
            return None
        data = base64.b64decode(body)
        return self._aead(scope, key).decrypt(data[:12], data[12:], bound).decode()

    def _aead(self, scope, key: bytes):
        aead = self._aeads.get(scope)
        if aead is None:
            aead = self._aeads[scope] = _aead(key)
        return aead


def _plain(value) -> bool:
    return value is not None and not value.startswith(PREFIX)


def _update(conn, table: str, rows: list[dict]) -> None:
    """UPDATE `table` by id, a chunk at a time (the columns of the first row)."""
    for i in range(0, len(rows), CHUNK):
        chunk = rows[i : i + CHUNK]
        sets = ", ".join(f"{c} = :{c}" for c in chunk[0] if c != "row_id")
        conn.execute(sa.text(f"UPDATE {table} SET {sets} WHERE id = :row_id"), chunk)


def _hashed(keys: _Keys, pid: int, ref: str, seal) -> tuple[dict, int]:
    """A victim's id sealed (when plain) beside its hash; an id sealed already is hashed as it opens,
    and cleared, as the purge clears it, when its key is gone: (the values, 1 if cleared)."""
    if _plain(ref):
        return {"victim_ref": seal(ref), "victim_hash": keys.digest(pid, ref)}, 0
    opened = keys.open(ref)
    if opened is None:
        return {"victim_ref": None, "victim_hash": None}, 1
    return {"victim_ref": ref, "victim_hash": keys.digest(pid, opened)}, 0


def _opened(keys: _Keys, value, erased):
    """A value opened for the schema before sealing; what the purge writes for it when its key is gone."""
    if _plain(value) or value is None:
        return value
    opened = keys.open(value)
    return erased if opened is None else opened


def _guard(conn, enable: bool) -> None:
    if conn.dialect.name == "postgresql":  # signposting is append-only (a trigger keeps it so)
        op.execute(f"ALTER TABLE signposting {'ENABLE' if enable else 'DISABLE'} TRIGGER USER")


def upgrade() -> None:
    op.create_table(
        "match_key",
        sa.Column("partnership_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["partnership_id"], ["partnership.id"], name=op.f("fk_match_key_partnership_id_partnership")),
        sa.PrimaryKeyConstraint("partnership_id", name=op.f("pk_match_key")),
    )
    for table in HASHED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("victim_hash", sa.LargeBinary(), nullable=True))
    conn = op.get_bind()
    keys = _Keys(conn)
    cases = conn.execute(
        sa.text("SELECT id, partnership_id, victim_ref FROM review_case WHERE victim_ref IS NOT NULL AND NOT purged")
    ).all()
    gone = 0
    batch: list[dict] = []
    for cid, pid, ref in cases:
        found, erased = _hashed(keys, pid, ref, lambda v, cid=cid: keys.seal_case(cid, v))
        batch.append({"row_id": cid, **found})
        gone += erased
    _update(conn, "review_case", batch)
    incidents = conn.execute(
        sa.text("SELECT id, partnership_id, case_id, reported, victim_ref FROM incident WHERE victim_ref IS NOT NULL")
    ).all()
    batch = []
    for row_id, pid, case_id, reported, ref in incidents:
        def seal(value: str, pid=pid, case_id=case_id, reported=reported) -> str:
            return keys.seal_case(case_id, value) if case_id is not None else keys.seal_log(pid, reported, value)

        found, erased = _hashed(keys, pid, ref, seal)
        batch.append({"row_id": row_id, **found})
        gone += erased
    _update(conn, "incident", batch)
    told = conn.execute(sa.text("SELECT id, partnership_id, told_on, victim_ref, how FROM signposting")).all()
    _guard(conn, enable=False)
    signs, unopened = [], 0
    for row_id, pid, on, ref, how in told:
        opened = ref if _plain(ref) else keys.open(ref)
        if opened is None:
            unopened += 1  # the record stays (append-only), unmatched
            continue
        signs.append({
            "row_id": row_id, "victim_hash": keys.digest(pid, opened),
            "victim_ref": keys.seal_log(pid, on, ref) if _plain(ref) else ref,
            "how": keys.seal_log(pid, on, how) if _plain(how) else how,
        })  # fmt: skip
    _update(conn, "signposting", signs)
    _guard(conn, enable=True)
    if gone or unopened:
        sys.stderr.write(
            f"0006: {gone + unopened} victim id(s) sealed under a key that is gone (erased by a purge) cannot "
            f"be matched: {gone} cleared on cases and complaints, {unopened} signposting record(s) left "
            "without a hash\n"
        )
    appeals = conn.execute(
        sa.text("SELECT a.id, a.case_id, a.grounds FROM appeal a JOIN review_case c ON c.id = a.case_id WHERE NOT c.purged")
    ).all()
    _update(conn, "appeal", [
        {"row_id": row_id, "grounds": keys.seal_case(case_id, grounds)}
        for row_id, case_id, grounds in appeals if _plain(grounds)
    ])  # fmt: skip
    for table in HASHED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_victim_ref"))
            batch_op.create_index(batch_op.f(f"ix_{table}_victim_hash"), ["victim_hash"], unique=False)


def downgrade() -> None:
    conn = op.get_bind()
    keys = _Keys(conn)
    for table in ("review_case", "incident"):
        rows = conn.execute(sa.text(f"SELECT id, victim_ref FROM {table} WHERE victim_ref IS NOT NULL")).all()
        _update(conn, table, [{"row_id": i, "victim_ref": _opened(keys, v, None)} for i, v in rows if not _plain(v)])
    told = conn.execute(sa.text("SELECT id, victim_ref, how FROM signposting")).all()
    _guard(conn, enable=False)
    _update(conn, "signposting", [
        {"row_id": i, "victim_ref": _opened(keys, ref, PURGED), "how": _opened(keys, how, PURGED)}
        for i, ref, how in told if not (_plain(ref) and _plain(how))
    ])  # fmt: skip
    _guard(conn, enable=True)
    appeals = conn.execute(sa.text("SELECT id, grounds FROM appeal")).all()
    _update(conn, "appeal", [{"row_id": i, "grounds": _opened(keys, g, PURGED)} for i, g in appeals if not _plain(g)])
    for table in HASHED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_victim_hash"))
            batch_op.drop_column("victim_hash")
            batch_op.create_index(batch_op.f(f"ix_{table}_victim_ref"), ["victim_ref"], unique=False)
    op.drop_table("match_key")
