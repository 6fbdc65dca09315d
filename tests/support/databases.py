"""The test databases: which engine this run uses (`TRIGGER_TEST_DB`), a SQLite file copied from a
migrated template, one migrated PostgreSQL schema per test process (`WorkerSchema`), and the engine a
process keeps for its test database's URL (`keep_engine`). The fixtures in `tests/conftest.py` use them.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy

from trigger.store import app as app_module
from trigger.store import db as database
from trigger.store.app import dispose_engines, get_engine

PG_URL = os.environ.get("TRIGGER_TEST_DB", "").strip()
if PG_URL and not PG_URL.startswith("postgresql"):
    raise pytest.UsageError(f"TRIGGER_TEST_DB must be a postgresql+psycopg:// URL, not {PG_URL!r}")
ON_POSTGRES = bool(PG_URL)
sqlite_only = pytest.mark.skipif(
    ON_POSTGRES, reason="SQLite only (a file database); this run uses PostgreSQL"
)


def pg_url_safe() -> str:
    return sqlalchemy.engine.make_url(PG_URL).render_as_string(hide_password=True)


def with_search_path(url: str, schema: str) -> str:
    """The URL of one schema: libpq's `options=-csearch_path=...` makes it the default for every
    connection. Its commits do not wait for the WAL to reach the disk (synchronous_commit off: a test
    database needs no durability across a crash of the server, and the wait was a fifth of each test's
    time); they are still atomic and in order."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema} -csynchronous_commit=off', safe='')}"


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database, with no WAL left behind. Two files nobody has open (no
    `-wal` or `-shm` beside either, as SQLite leaves a database when its last connection closes) are
    copied as files, a tenth of the time; otherwise through the online backup API, which also copies
    into a database a server holds open."""
    if not (_in_use(source) or _in_use(target)):
        remove_sqlite(target)
        shutil.copyfile(source, target)
        return
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def _in_use(path: Path) -> bool:
    return any((path.parent / f"{path.name}{end}").exists() for end in ("-wal", "-shm"))


def remove_sqlite(path: Path) -> None:
    """A SQLite file and what SQLite keeps beside it, so a copy put there starts clean."""
    for name in (path.name, *(f"{path.name}{end}" for end in ("-wal", "-shm", "-journal", "-queue"))):
        (path.parent / name).unlink(missing_ok=True)


_KEPT: dict[str, sqlalchemy.Engine] = {}  # this process's engine for each test database URL


def keep_engine(url: str) -> None:
    """Hand this test the engine earlier tests in this process used for `url`, its pool emptied. An
    engine's SQLAlchemy caches (compiled statements, column types adapted to the dialect) were about a
    quarter of the suite's time when every test built its own; nothing of the database's contents is kept.
    A test wanting an engine of its own (other pragmas, say) calls `dispose_engines()` and gets one; the
    kept engine was made here, before any test could patch what `get_engine` does."""
    engine = _KEPT.get(url)
    if engine is None:
        engine = _KEPT[url] = get_engine(url)
        if engine.dialect.name == "sqlite":
            sqlalchemy.event.listen(engine, "connect", _no_sync)
        return
    engine.dispose()
    app_module._engines[url] = engine


def _no_sync(dbapi_conn, _record) -> None:
    """The test database's commits do not wait for the disk (SQLite's `synchronous=OFF`, as
    `with_search_path` for PostgreSQL): nothing needs it to survive a crash of the machine, and each
    commit's wait was most of its time. They are still atomic, and a process that dies loses nothing."""
    dbapi_conn.execute("PRAGMA synchronous=OFF")


# what a test could change in its PostgreSQL schema besides rows: its tables and columns, grants,
# row-level security and policies, functions, the migration revision. A worker's schema is reused
# only while this is as it was after migrating.
_SCHEMA_PRINT = """
SELECT
  (SELECT count(*) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
     JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = :s AND c.relkind IN ('r', 'v', 'f', 'p') AND a.attnum > 0 AND NOT a.attisdropped),
  (SELECT count(*) FROM pg_policies WHERE schemaname = :s),
  (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = :s),
  (SELECT string_agg(c.relname || ':' || c.relrowsecurity || ':' || coalesce(c.relacl::text, ''), ','
                     ORDER BY c.relname)
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :s)
"""


class WorkerSchema:
    """One migrated PostgreSQL schema per test process, emptied after each test that left its shape
    alone and made anew after one that changed it: migrating a fresh schema for every test was most of
    the suite's time on PostgreSQL. Its upkeep goes through one connection kept open (connecting was
    a third of it) in batches of SQL; what it learns of the schema (tables, id sequences) it learns
    once, as the shape is checked unchanged after every test."""

    def __init__(self, admin):
        self.admin, self.name, self.print = admin, None, None
        self.saved: dict[str, str] = {}  # snapshot name -> the schema holding its rows
        self._conn = None
        self._known: dict[str, object] = {}  # the tables and id sequences of this schema

    @contextmanager
    def _admin(self) -> Iterator[sqlalchemy.Connection]:
        """The kept connection (autocommit); closed and forgotten when a statement fails, so a batch
        cut off half-way leaves no session setting behind."""
        if self._conn is None:
            self._conn = self.admin.connect()
        try:
            yield self._conn
        except BaseException:
            self._close()
            raise

    def _close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # noqa: BLE001 - a broken connection is dropped whatever it says
                pass
            self._conn = None

    def make(self) -> None:
        self._known.clear()
        self._drop_worker()
        self.name = f"w_{secrets.token_hex(6)}"
        with self._admin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {self.name}")
        database.upgrade(get_engine(with_search_path(PG_URL, self.name)))
        dispose_engines()
        self.print = self._print()

    def _print(self):
        with self._admin() as conn:
            shape = tuple(conn.execute(sqlalchemy.text(_SCHEMA_PRINT), {"s": self.name}).one())
            revision = conn.exec_driver_sql(f"SELECT version_num FROM {self.name}.alembic_version").all()
            return (*shape, tuple(revision))

    def reset(self) -> None:
        """Empty every table, or make the schema anew when the test changed more than rows."""
        try:
            if self._print() != self.print:
                raise RuntimeError("the schema changed")
            with self._admin() as conn:
                conn.exec_driver_sql(self._emptying())
        except Exception:  # noqa: BLE001 - anything unexpected: start again from a fresh schema
            self.make()

    def _drop_worker(self) -> None:
        if self.name:
            with self._admin() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {self.name} CASCADE")
            self.name = None

    def drop(self) -> None:
        self._drop_worker()
        for saved in self.saved.values():
            with self._admin() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {saved} CASCADE")
        self.saved.clear()
        self._close()

    def _tables(self) -> list[str]:
        if "tables" not in self._known:
            with self._admin() as conn:
                rows = conn.execute(
                    sqlalchemy.text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = :s ORDER BY tablename"
                    ),
                    {"s": self.name},
                ).scalars()
                self._known["tables"] = [t for t in rows if t != "alembic_version"]
        return self._known["tables"]  # type: ignore[return-value]

    def _serials(self) -> list[tuple[str, str, str]]:
        """(table, column, sequence) of every id a sequence numbers."""
        if "serials" not in self._known:
            with self._admin() as conn:
                self._known["serials"] = [
                    tuple(row)
                    for row in conn.execute(
                        sqlalchemy.text(
                            "SELECT table_name, column_name, "
                            "pg_get_serial_sequence(table_schema || '.' || table_name, column_name) "
                            "FROM information_schema.columns "
                            "WHERE table_schema = :s AND column_default LIKE 'nextval%' "
                            "ORDER BY table_name, column_name"
                        ),
                        {"s": self.name},
                    ).all()
                ]
        return self._known["serials"]  # type: ignore[return-value]

    def _emptying(self) -> str:
        """One batch of SQL that deletes every row and restarts every id sequence (DELETE is cheaper
        than TRUNCATE for tables this small: no new files; `setval` than ALTER SEQUENCE ... RESTART,
        which gives the sequence a new file too)."""
        if "emptying" not in self._known:
            restart = ", ".join(f"setval('{seq}', 1, false)" for _, _, seq in self._serials())
            self._known["emptying"] = ";".join(
                [
                    "SET lock_timeout = '10s'",
                    "SET session_replication_role = replica",  # rows in any order, foreign keys or not
                    *(f"DELETE FROM {self.name}.{t}" for t in self._tables()),
                    "SET session_replication_role = DEFAULT",
                    *([f"SELECT {restart}"] if restart else []),
                ]
            )
        return self._known["emptying"]  # type: ignore[return-value]

    def save(self, key: str) -> None:
        """Keep a copy of every table's rows (the `snapshot` fixture), in a schema of its own."""
        copy = f"s_{secrets.token_hex(6)}"
        with self._admin() as conn:
            conn.exec_driver_sql(
                ";".join(
                    [
                        f"CREATE SCHEMA {copy}",
                        *(f"CREATE TABLE {copy}.{t} AS TABLE {self.name}.{t}" for t in self._tables()),
                    ]
                )
            )
        self.saved[key] = copy

    def restore(self, key: str) -> None:
        """Put the saved rows back, and each id sequence after the highest id restored: one batch."""
        copy = self.saved[key]
        after = ", ".join(
            f"setval('{seq}', coalesce((SELECT max({column}) FROM {self.name}.{table}), 0) + 1, false)"
            for table, column, seq in self._serials()
        )
        with self._admin() as conn:
            conn.exec_driver_sql(
                ";".join(
                    [
                        self._emptying(),
                        "SET session_replication_role = replica",  # copy rows in any order
                        *(f"INSERT INTO {self.name}.{t} SELECT * FROM {copy}.{t}" for t in self._tables()),
                        "SET session_replication_role = DEFAULT",
                        *([f"SELECT {after}"] if after else []),
                    ]
                )
            )
