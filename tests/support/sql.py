"""SQL behind the program's back: `raw_sql` reads or tampers with this test's database, `database_dump`
gives the whole database as plain data, to prove that a refused command changed nothing."""

from __future__ import annotations

import os
import sqlite3

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
    """Every table of the models, every row in primary-key order (SQLAlchemy, so the same on SQLite and
    PostgreSQL); on SQLite also the `sqlite3` module's `.dump` of the file (what the `sqlite3` shell
    prints)."""
    url = url or os.environ["TRIGGER_DB"]
    engine = _DUMPERS.get(url)
    if engine is None:
        engine = _DUMPERS[url] = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    with engine.connect() as conn:
        tables = {
            table.name: [
                tuple(row) for row in conn.execute(table.select().order_by(*table.primary_key.columns))
            ]
            for table in metadata.sorted_tables
        }
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url[len("sqlite:///") :])
        try:
            tables["-- sqlite3 .dump"] = list(conn.iterdump())
        finally:
            conn.close()
    return tables
