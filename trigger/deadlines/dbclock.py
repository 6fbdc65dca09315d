"""The database's clock, for claims that runners on hosts whose own clocks differ must agree on
(docs/architecture.md#deadlines-and-reminders)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, literal_column, select
from sqlmodel import Session


def dialect(db: Session | Connection) -> str:
    return (db.get_bind() if isinstance(db, Session) else db).dialect.name


def clock(db: Session | Connection, plus: float = 0.0) -> ColumnElement[Any]:
    """The database's clock (UTC), `plus` seconds ahead, as SQL comparable with our DateTime columns.
    SQLite's is the clock of the host holding the file; PostgreSQL's the server's (`clock_timestamp`,
    not the transaction's start). `db` is a Session or a Connection."""
    if dialect(db) == "sqlite":
        return func.strftime("%Y-%m-%d %H:%M:%f", "now", f"{plus:+.3f} seconds")
    now = func.timezone("UTC", func.clock_timestamp())
    return now + literal_column(f"interval '{round(plus * 1000)} milliseconds'") if plus else now


def db_now(db: Session | Connection) -> datetime:
    """The database's clock, read (UTC, aware)."""
    value = (db.execute(select(clock(db)))).scalar_one()
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)
