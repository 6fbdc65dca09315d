"""SQL behind the program's back: `raw_sql` reads or tampers with this test's database, `database_dump`
gives the whole database as plain data, to prove that a refused command changed nothing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from pathlib import Path

import sqlalchemy

from trigger.store import tables
from trigger.store.app import App
from trigger.store.models import metadata


def raw_sql(statement: str, **params) -> list[tuple]:
    """SQL on this test's database behind the program's back (SQLite or PostgreSQL, as TRIGGER_DB says):
    the rows as tuples, or [] for a statement that returns none."""
    engine = sqlalchemy.create_engine(os.environ["TRIGGER_DB"], poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.begin() as conn:
            result = conn.execute(sqlalchemy.text(statement), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def read_column(table: str, column: str) -> list:
    """A column as the engine reads it (sealed personal values opened with their case's key), in
    primary-key order."""
    with App().read() as session:
        read = getattr(tables, table)
        return list(session.scalars(sqlalchemy.select(read.c[column]).order_by(*read.primary_key.columns)))


# one engine per database URL for the dumps: its cache keeps their forty-odd statements compiled (a fresh
# engine compiled them all again, most of a dump's time); NullPool, so no connection stays open between them
_DUMPERS: dict[str, sqlalchemy.Engine] = {}


def database_dump(url: str | None = None) -> dict:
    """The whole database as plain data. On SQLite the `sqlite3` module's `.dump` of the file (what the
    `sqlite3` shell prints): every table's definition and every row of every table, the models' and any
    other, every value. On PostgreSQL every table of the models, every row in primary-key order."""
    url = url or os.environ["TRIGGER_DB"]
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url[len("sqlite:///") :])
        try:
            return {"-- sqlite3 .dump": list(conn.iterdump())}
        finally:
            conn.close()
    engine = _DUMPERS.get(url)
    if engine is None:
        engine = _DUMPERS[url] = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    with engine.connect() as conn:
        return {
            table.name: [
                tuple(row) for row in conn.execute(table.select().order_by(*table.primary_key.columns))
            ]
            for table in metadata.sorted_tables
        }


# -- what the PostgreSQL server copies beyond the tables -------------------------------------------------


def wal_readable() -> str | None:
    """Why this test's server's WAL cannot be read here (not a superuser, or its folder out of reach),
    or None when it can."""
    if not raw_sql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")[0][0]:
        return "reading the server's WAL needs a superuser"
    (folder,) = raw_sql("SELECT current_setting('data_directory') || '/pg_wal'")[0]
    if not os.access(folder, os.R_OK):
        return f"the server's WAL ({folder}) is not readable on this machine"
    return None


def wal_since(lsn: str) -> bytes:
    """The bytes of the server's WAL from `lsn` on (this test's, and whatever was written since)."""
    (folder,) = raw_sql("SELECT current_setting('data_directory') || '/pg_wal'")[0]
    first, offset = raw_sql("SELECT file_name, file_offset FROM pg_walfile_name_offset(:l)", l=lsn)[0]
    names = sorted(p for p in Path(folder).iterdir() if len(p.name) == 24 and p.name[8:] >= first[8:])
    return b"".join(p.read_bytes()[offset if p.name == first else 0 :] for p in names)


def pg_dump(target: Path) -> bytes:
    """`pg_dump` of this test's schema, as plain SQL, into `target`; its bytes."""
    (schema,) = raw_sql("SELECT current_schema()")[0]
    url = sqlalchemy.engine.make_url(os.environ["TRIGGER_DB"])
    server = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-U", url.username or "postgres"]
    subprocess.run(
        ["pg_dump", *server, "-d", url.database or "postgres", "-n", schema, "-f", str(target)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return target.read_bytes()
