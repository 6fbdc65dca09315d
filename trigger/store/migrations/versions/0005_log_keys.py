"""the rows imported from partners' logs sealed under a key per partnership and month

Revision ID: 0005_log_keys
Revises: 0004_sealed_fields
Create Date: 2026-12-07 01:00:00

What an imported row says (location, description) is stored sealed under its partnership's key for
the month it was reported (`log_key`), which `purge` deletes with the rows (docs/operations.md#erasure).
This seals the rows imported before, in place, in the format of `trigger.store.sealed`, written out
here so that this migration does the same whatever the code becomes.
"""

import base64
import os
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0005_log_keys"
down_revision: Union[str, Sequence[str], None] = "0004_sealed_fields"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PREFIX = "sealed:"
COLUMNS = ("location", "description")


def _aead(key: bytes):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)


def upgrade() -> None:
    op.create_table(
        "log_key",
        sa.Column("partnership_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["partnership_id"], ["partnership.id"], name=op.f("fk_log_key_partnership_id_partnership")),
        sa.PrimaryKeyConstraint("partnership_id", "month", name=op.f("pk_log_key")),
    )
    conn = op.get_bind()
    keys: dict[tuple[int, str], bytes] = {}
    rows = conn.execute(
        sa.text("SELECT id, partnership_id, reported, location, description FROM incident WHERE case_id IS NULL")
    ).all()
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
        conn.execute(sa.text(f"UPDATE incident SET {sets} WHERE id = :row_id"), {**sealed, "row_id": row_id})


def downgrade() -> None:
    conn = op.get_bind()
    keys = {
        (pid, month): bytes(key)
        for pid, month, key in conn.execute(sa.text("SELECT partnership_id, month, key FROM log_key"))
    }
    rows = conn.execute(sa.text("SELECT id, location, description FROM incident WHERE case_id IS NULL")).all()
    for row_id, *values in rows:
        opened = {}
        for column, value in zip(COLUMNS, values):
            if value is None or not value.startswith(PREFIX + "m"):
                continue
            scope, _, body = value[len(PREFIX):].partition(":")
            pid, _, month = scope[1:].partition("/")
            key = keys.get((int(pid), month))
            if key is not None:
                data = base64.b64decode(body)
                opened[column] = _aead(key).decrypt(data[:12], data[12:], scope.encode()).decode()
        if opened:
            sets = ", ".join(f"{c} = :{c}" for c in opened)
            conn.execute(sa.text(f"UPDATE incident SET {sets} WHERE id = :row_id"), {**opened, "row_id": row_id})
    op.drop_table("log_key")
