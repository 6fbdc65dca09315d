"""the corrections of imported log rows sealed under the row's log key

Revision ID: 0007_sealed_log_corrections
Revises: 0006_victim_hash
Create Date: 2026-12-07 04:00:00

A correction of an imported log row (`trigger incident update` on a row of no case) keeps what the row
said, what it became and why; it is sealed, like the row, under the partnership's key for the month
the row is reported in (`log_key`, docs/operations.md#erasure), and `purge` deletes it with the row.
This seals the corrections recorded before, in place, in the format of `trigger.store.sealed`, written
out here so that this migration does the same whatever the code becomes; a correction whose row is
gone (deleted by an earlier purge) is deleted as the purge now deletes it.

Downgrade opens them again; one whose key is gone gets what the purge writes in a purged case's
correction.
"""

import base64
import os
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0007_sealed_log_corrections"
down_revision: Union[str, Sequence[str], None] = "0006_victim_hash"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PREFIX = "sealed:"
COLUMNS = ("old_value", "new_value", "reason")
ERASED = {"old_value": None, "new_value": None, "reason": "[purged]"}  # as trigger.cases.retention writes
OF_LOG_ROWS = "c.case_id IS NULL AND c.subject = 'incident'"


def _aead(key: bytes):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)


def _guard(conn, enable: bool) -> None:
    if conn.dialect.name == "postgresql":  # correction is append-only (a trigger keeps it so)
        op.execute(f"ALTER TABLE correction {'ENABLE' if enable else 'DISABLE'} TRIGGER USER")


def _keys(conn) -> dict:
    rows = conn.execute(sa.text("SELECT partnership_id, month, key FROM log_key"))
    return {(pid, month): bytes(key) for pid, month, key in rows}


def upgrade() -> None:
    conn = op.get_bind()
    keys = _keys(conn)
    _guard(conn, enable=False)
    conn.execute(sa.text(
        f"DELETE FROM correction WHERE id IN (SELECT c.id FROM correction c WHERE {OF_LOG_ROWS} "
        "AND NOT EXISTS (SELECT 1 FROM incident i WHERE i.id = c.subject_id))"
    ))  # fmt: skip
    rows = conn.execute(sa.text(
        "SELECT c.id, i.partnership_id, i.reported, c.old_value, c.new_value, c.reason "
        f"FROM correction c JOIN incident i ON i.id = c.subject_id WHERE {OF_LOG_ROWS}"
    )).all()  # fmt: skip
    for row_id, pid, reported, *values in rows:
        plain = {c: v for c, v in zip(COLUMNS, values) if v is not None and not v.startswith(PREFIX)}
        if not plain:
            continue
        month = str(reported)[:7]
        if (pid, month) not in keys:
            keys[(pid, month)] = os.urandom(32)
            conn.execute(
                sa.text("INSERT INTO log_key (partnership_id, month, key) VALUES (:p, :m, :k)"),
                {"p": pid, "m": month, "k": keys[(pid, month)]},
            )
        scope = f"m{pid}/{month}"
        aead = _aead(keys[(pid, month)])
        sealed = {}
        for column, value in plain.items():
            nonce = os.urandom(12)
            data = aead.encrypt(nonce, value.encode(), scope.encode())
            sealed[column] = f"{PREFIX}{scope}:{base64.b64encode(nonce + data).decode('ascii')}"
        sets = ", ".join(f"{c} = :{c}" for c in sealed)
        conn.execute(sa.text(f"UPDATE correction SET {sets} WHERE id = :row_id"), {**sealed, "row_id": row_id})
    _guard(conn, enable=True)


def downgrade() -> None:
    conn = op.get_bind()
    keys = _keys(conn)
    rows = conn.execute(sa.text(
        f"SELECT c.id, c.old_value, c.new_value, c.reason FROM correction c WHERE {OF_LOG_ROWS}"
    )).all()  # fmt: skip
    _guard(conn, enable=False)
    for row_id, *values in rows:
        opened = {}
        for column, value in zip(COLUMNS, values):
            if value is None or not value.startswith(PREFIX + "m"):
                continue
            scope, _, body = value[len(PREFIX):].partition(":")
            pid, _, month = scope[1:].partition("/")
            key = keys.get((int(pid), month))
            if key is None:
                opened[column] = ERASED[column]
                continue
            data = base64.b64decode(body)
            opened[column] = _aead(key).decrypt(data[:12], data[12:], scope.encode()).decode()
        if opened:
            sets = ", ".join(f"{c} = :{c}" for c in opened)
            conn.execute(sa.text(f"UPDATE correction SET {sets} WHERE id = :row_id"), {**opened, "row_id": row_id})
    _guard(conn, enable=True)
