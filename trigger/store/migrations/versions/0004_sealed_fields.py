"""personal fields sealed under their case's key

Revision ID: 0004_sealed_fields
Revises: 0003_applicant_notices
Create Date: 2026-12-07 00:30:00

Names, addresses, contact details, statements and what complaints, meetings, decisions and
corrections say are stored sealed under their case's key (docs/operations.md#erasure): this seals the
values written before, in place. The format is that of `trigger.store.sealed`, written out here so
that this migration does the same whatever the code becomes. Cases already purged hold placeholders
only and are left as they are. No column changes type: a sealed value is text.

Downgrade opens the values again, with the keys still there.
"""

import base64
import os
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0004_sealed_fields"
down_revision: Union[str, Sequence[str], None] = "0003_applicant_notices"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PREFIX = "sealed:"
# (table, columns); review_case's own values are its case's, every other row's those of its case_id
SEALED = (
    ("review_case", ("applicant_name", "victim_name", "consent_method", "email", "phone", "accessibility",
                     "address", "postcode", "victim_address", "victim_postcode", "victim_email",
                     "victim_phone", "statement", "vulnerability", "no_recommendations_reason",
                     "closure_reason")),
    ("incident", ("location", "description", "complainant")),
    ("threshold_decision", ("reason",)),
    ("evidence_request", ("note",)),
    ("hours_entry", ("note",)),
    ("meeting", ("attendees", "place", "link", "phone")),
    ("finding", ("text",)),
    ("recommendation", ("text", "response_reason")),
    ("action", ("action", "resources", "outcome_measure", "progress")),
    ("appeal", ("detail", "late_reason", "reason")),
    ("letter", ("recipient",)),
    ("correction", ("old_value", "new_value", "reason")),
    ("consultation", ("response",)),
    ("letter_delivery", ("sent_to",)),  # the case's by its letter
    ("letter_copy", ("content",)),  # the exact bytes of a letter sent (binary), keyed by its letter
)  # fmt: skip
APPEND_ONLY = ("consultation", "correction", "threshold_decision")  # guarded by a trigger on PostgreSQL


def _aead(key: bytes):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM(key)


def _keys(conn) -> dict[int, bytes]:
    return {cid: bytes(key) for cid, key in conn.execute(sa.text("SELECT case_id, key FROM case_key"))}


ROW_ID = {"letter_copy": "letter_id"}


def _rows(conn, table: str, columns: tuple[str, ...]):
    listed = ", ".join(f"t.{c}" for c in columns)
    if table in ("letter_copy", "letter_delivery"):
        joined = "JOIN letter l ON l.id = t.letter_id JOIN review_case c ON c.id = l.case_id"
    else:
        joined = f"JOIN review_case c ON c.id = t.{'id' if table == 'review_case' else 'case_id'}"
    row_id = ROW_ID.get(table, "id")
    return conn.execute(sa.text(f"SELECT t.{row_id}, c.id, {listed} FROM {table} t {joined} WHERE NOT c.purged")).all()


def _is_plain(value) -> bool:
    if isinstance(value, (bytes, memoryview)):
        return not bytes(value).startswith(PREFIX.encode())
    return value is not None and not value.startswith(PREFIX)


def _update(conn, table: str, values: dict, row_id: int) -> None:
    sets = ", ".join(f"{c} = :{c}" for c in values)
    key = ROW_ID.get(table, "id")
    conn.execute(sa.text(f"UPDATE {table} SET {sets} WHERE {key} = :row_id"), {**values, "row_id": row_id})


def _guards(conn, enable: bool) -> None:
    if conn.dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"ALTER TABLE {table} {'ENABLE' if enable else 'DISABLE'} TRIGGER USER")


def upgrade() -> None:
    conn = op.get_bind()
    keys = _keys(conn)
    _guards(conn, enable=False)
    for table, columns in SEALED:
        for row_id, case_id, *values in _rows(conn, table, columns):
            plain = {c: v for c, v in zip(columns, values) if _is_plain(v)}
            if not plain:
                continue
            if case_id not in keys:
                keys[case_id] = os.urandom(32)
                conn.execute(sa.text("INSERT INTO case_key (case_id, key) VALUES (:c, :k)"),
                             {"c": case_id, "k": keys[case_id]})  # fmt: skip
            aead = _aead(keys[case_id])
            sealed = {}
            for column, value in plain.items():
                nonce = os.urandom(12)
                binary = isinstance(value, (bytes, memoryview))
                data = aead.encrypt(nonce, bytes(value) if binary else value.encode(), f"case {case_id}".encode())
                if binary:
                    sealed[column] = f"{PREFIX}c{case_id}:".encode() + nonce + data
                else:
                    sealed[column] = f"{PREFIX}c{case_id}:{base64.b64encode(nonce + data).decode('ascii')}"
            _update(conn, table, sealed, row_id)
    _guards(conn, enable=True)


def downgrade() -> None:
    conn = op.get_bind()
    keys = _keys(conn)
    _guards(conn, enable=False)
    for table, columns in SEALED:
        for row_id, case_id, *values in _rows(conn, table, columns):
            opened = {}
            prefix = f"{PREFIX}c{case_id}:"
            for column, value in zip(columns, values):
                if value is None or case_id not in keys:
                    continue
                if isinstance(value, (bytes, memoryview)):
                    value = bytes(value)
                    if value.startswith(prefix.encode()):
                        data = value[len(prefix):]
                        opened[column] = _aead(keys[case_id]).decrypt(data[:12], data[12:], f"case {case_id}".encode())
                elif value.startswith(prefix):
                    data = base64.b64decode(value[len(prefix):])
                    opened[column] = _aead(keys[case_id]).decrypt(data[:12], data[12:], f"case {case_id}".encode()).decode()
            if opened:
                _update(conn, table, opened, row_id)
    _guards(conn, enable=True)
