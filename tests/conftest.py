"""Every test gets its own data directory and database, and acts as `tester`.

The database is a SQLite file per test, copied from one database migrated once per run (migrating
each test's database with Alembic was most of the suite's set-up time) to one path per test process,
whose SQLAlchemy engine the process keeps (`keep_engine`); with
`TRIGGER_TEST_DB=postgresql+psycopg://...` it is instead a PostgreSQL schema selected through libpq's
search_path option: one migrated schema per test process (`w_<random>`), emptied after every test and
made anew when a test changed its shape, or a fresh empty schema (`t_<random>`) for a test marked
`no_schema`; so the whole suite runs against a shared server and the tests stay independent.

`snapshot(name, build)` lets a module build a large fixture database once and hand each test its own
copy (SQLite); on PostgreSQL it builds it for each test.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy
import sqlmodel
import transitions
from click.testing import CliRunner

import cli
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


def pytest_collection_modifyitems(config, items):
    """On PostgreSQL leave out the tests marked `any_engine`: the SQLite pass has run them, and what they
    prove (a PDF's layout, a console's encoding) would be the same on any database."""
    if not ON_POSTGRES:
        return
    same = [item for item in items if item.get_closest_marker("any_engine") is not None]
    if same:
        config.hook.pytest_deselected(items=same)
        items[:] = [item for item in items if item.get_closest_marker("any_engine") is None]


def pytest_report_header(config):
    versions = (
        f"sqlalchemy {sqlalchemy.__version__}, sqlmodel {sqlmodel.__version__}, "
        f"transitions {transitions.__version__}, sqlite {sqlite3.sqlite_version}"
    )
    if ON_POSTGRES:
        where = f"database: PostgreSQL {_pg_url_safe()}, one schema per test"
    else:
        where = (
            "database: SQLite only (set TRIGGER_TEST_DB=postgresql+psycopg://USER@HOST/DB to run the suite "
            "on PostgreSQL too)"
        )
    return [versions, where]


def _pg_url_safe() -> str:
    return sqlalchemy.engine.make_url(PG_URL).render_as_string(hide_password=True)


def with_search_path(url: str, schema: str) -> str:
    """The URL of one schema: libpq's `options=-csearch_path=...` makes it the default for every
    connection."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}', safe='')}"


@pytest.fixture(scope="session")
def pg_admin():
    """One connection engine to the test server, for creating and dropping the per-test schemas."""
    if not ON_POSTGRES:
        yield None
        return
    engine = sqlalchemy.create_engine(
        PG_URL, isolation_level="AUTOCOMMIT", poolclass=sqlalchemy.pool.NullPool
    )
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sqlalchemy.exc.OperationalError as exc:
        pytest.exit(f"TRIGGER_TEST_DB={_pg_url_safe()} is not reachable: {exc.orig}", returncode=3)
    yield engine
    engine.dispose()


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database (the online backup API; no WAL left behind)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory, pg_admin) -> Path | None:
    """One SQLite database migrated to the newest schema, copied for every test (SQLite runs only)."""
    if pg_admin is not None:
        return None
    path = tmp_path_factory.mktemp("template") / "trigger.store.db"
    database.upgrade(get_engine(f"sqlite:///{path}"))
    dispose_engines()
    return path


# what a test could change in its PostgreSQL schema besides rows: its tables and columns, grants,
# row-level security and policies, functions, the migration revision. A worker's schema is reused
# only while this is as it was after migrating.
_SCHEMA_PRINT = """
SELECT
  (SELECT count(*) FROM information_schema.columns WHERE table_schema = :s),
  (SELECT count(*) FROM pg_policies WHERE schemaname = :s),
  (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = :s),
  (SELECT string_agg(c.relname || ':' || c.relrowsecurity || ':' || coalesce(c.relacl::text, ''), ','
                     ORDER BY c.relname)
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :s)
"""


class _WorkerSchema:
    """One migrated PostgreSQL schema per test process, emptied after each test that left its shape
    alone (TRUNCATE) and made anew after one that changed it: migrating a fresh schema for every test
    was most of the suite's time on PostgreSQL."""

    def __init__(self, admin):
        self.admin, self.name, self.print = admin, None, None
        self.saved: dict[str, str] = {}  # snapshot name -> the schema holding its rows

    def make(self) -> None:
        self.__dict__.pop("_sql", None)
        self._drop_worker()
        self.name = f"w_{secrets.token_hex(6)}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {self.name}")
        database.upgrade(get_engine(with_search_path(PG_URL, self.name)))
        dispose_engines()
        self.print = self._print()

    def _print(self):
        with self.admin.connect() as conn:
            shape = tuple(conn.execute(sqlalchemy.text(_SCHEMA_PRINT), {"s": self.name}).one())
            revision = conn.exec_driver_sql(f"SELECT version_num FROM {self.name}.alembic_version").all()
            return (*shape, tuple(revision))

    def reset(self) -> None:
        """Empty every table, or make the schema anew when the test changed more than rows."""
        try:
            if self._print() != self.print:
                raise RuntimeError("the schema changed")
            with self.admin.connect() as conn:
                conn.exec_driver_sql(self._emptying(conn))
        except Exception:  # noqa: BLE001 - anything unexpected: start again from a fresh schema
            self.make()

    def _drop_worker(self) -> None:
        if self.name:
            with self.admin.connect() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {self.name} CASCADE")
            self.name = None

    def drop(self) -> None:
        self._drop_worker()
        for saved in self.saved.values():
            with self.admin.connect() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {saved} CASCADE")
        self.saved.clear()

    def _emptying(self, conn) -> str:
        """One batch of SQL that deletes every row and restarts every id sequence (DELETE is cheaper
        than TRUNCATE for tables this small: no new files)."""
        if not hasattr(self, "_sql"):
            sequences = conn.execute(
                sqlalchemy.text(
                    "SELECT pg_get_serial_sequence(table_schema || '.' || table_name, column_name) "
                    "FROM information_schema.columns "
                    "WHERE table_schema = :s AND column_default LIKE 'nextval%'"
                ),
                {"s": self.name},
            ).scalars()
            self._sql = ";".join(
                [
                    "SET lock_timeout = '10s'",
                    "SET session_replication_role = replica",  # rows in any order, foreign keys or not
                    *(f"DELETE FROM {self.name}.{t}" for t in self._tables(conn)),
                    "SET session_replication_role = DEFAULT",
                    *(f"ALTER SEQUENCE {seq} RESTART" for seq in sequences),
                ]
            )
        return self._sql

    def _tables(self, conn) -> list[str]:
        rows = conn.execute(
            sqlalchemy.text("SELECT tablename FROM pg_tables WHERE schemaname = :s ORDER BY tablename"),
            {"s": self.name},
        ).scalars()
        return [t for t in rows if t != "alembic_version"]

    def save(self, key: str) -> None:
        """Keep a copy of every table's rows (the `snapshot` fixture), in a schema of its own."""
        copy = f"s_{secrets.token_hex(6)}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {copy}")
            for table in self._tables(conn):
                conn.exec_driver_sql(f"CREATE TABLE {copy}.{table} AS TABLE {self.name}.{table}")
        self.saved[key] = copy

    def restore(self, key: str) -> None:
        """Put the saved rows back, and each id sequence after the highest id restored."""
        copy = self.saved[key]
        with self.admin.connect() as conn:
            tables = self._tables(conn)
            conn.exec_driver_sql(self._emptying(conn))
            conn.exec_driver_sql("SET session_replication_role = replica")  # copy rows in any order
            for table in tables:
                conn.exec_driver_sql(f"INSERT INTO {self.name}.{table} SELECT * FROM {copy}.{table}")
            conn.exec_driver_sql("SET session_replication_role = DEFAULT")
            serials = conn.execute(
                sqlalchemy.text(
                    "SELECT table_name, column_name, "
                    "pg_get_serial_sequence(table_schema || '.' || table_name, column_name) "
                    "FROM information_schema.columns "
                    "WHERE table_schema = :s AND column_default LIKE 'nextval%'"
                ),
                {"s": self.name},
            ).all()
            for table, column, sequence in serials:
                highest = f"coalesce((SELECT max({column}) FROM {self.name}.{table}), 0) + 1"
                conn.exec_driver_sql(f"SELECT setval('{sequence}', {highest}, false)")


@pytest.fixture(scope="session")
def pg_worker_schema(pg_admin):
    if pg_admin is None:
        yield None
        return
    worker = _WorkerSchema(pg_admin)
    worker.make()
    yield worker
    dispose_engines()
    worker.drop()


_KEPT: dict[str, sqlalchemy.Engine] = {}  # this process's engine for each test database URL


def keep_engine(url: str) -> None:
    """Hand this test the engine earlier tests in this process used for `url`, its pool emptied. An
    engine's SQLAlchemy caches (compiled statements, column types adapted to the dialect) were about a
    quarter of the suite's time when every test built its own; nothing of the database's contents is kept.
    A test wanting an engine of its own (other pragmas, say) calls `dispose_engines()` and gets one; the
    kept engine was made here, before any test could patch what `get_engine` does."""
    engine = _KEPT.get(url)
    if engine is None:
        _KEPT[url] = get_engine(url)
        return
    engine.dispose()
    app_module._engines[url] = engine


@pytest.fixture(scope="session")
def sqlite_home(tmp_path_factory) -> Path:
    """Where this test process's SQLite test database lives: one path, so one engine (`keep_engine`)."""
    return tmp_path_factory.mktemp("database")


def remove_sqlite(path: Path) -> None:
    """A SQLite file and what SQLite keeps beside it, so a copy put there starts clean."""
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm", f"{path.name}-journal"):
        (path.parent / name).unlink(missing_ok=True)


@pytest.fixture
def db_url(request, sqlite_home, pg_admin, migrated_template, pg_worker_schema):
    """The URL of this test's own database: migrated but empty (`trigger init` not yet run), or with
    no schema at all for a test marked `no_schema`."""
    empty = request.node.get_closest_marker("no_schema") is not None
    if pg_admin is None:
        path = sqlite_home / "trigger.store.db"
        url = f"sqlite:///{path}"
        dispose_engines()
        remove_sqlite(path)
        if not empty:
            copy_sqlite(migrated_template, path)
            os.chmod(path, 0o600)
            keep_engine(url)
        yield url
        dispose_engines()
        return
    if not empty:
        url = with_search_path(PG_URL, pg_worker_schema.name)
        keep_engine(url)
        yield url
        dispose_engines()
        pg_worker_schema.reset()
        return
    schema = f"t_{secrets.token_hex(6)}"
    with pg_admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    yield with_search_path(PG_URL, schema)
    dispose_engines()
    with pg_admin.connect() as conn:
        conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch, db_url):
    monkeypatch.setenv("TRIGGER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TRIGGER_DB", db_url)
    monkeypatch.setenv("TRIGGER_USER", "tester")
    monkeypatch.delenv("TRIGGER_SMTP_URL", raising=False)
    monkeypatch.delenv("TRIGGER_OUTBOX", raising=False)
    # tables as wide as a desktop terminal, whatever runs the tests (a parallel worker has no terminal)
    monkeypatch.setenv("COLUMNS", "160")
    yield
    dispose_engines()


@pytest.fixture(scope="session")
def _snapshots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("snapshots")


_PG_SNAPSHOT_DATA: dict[str, object] = {}  # what each PostgreSQL snapshot's build returned


@pytest.fixture
def snapshot(db_url, _snapshots, pg_worker_schema):
    """`snapshot(name, build)`: run `build()` (which fills this test's database and returns plain JSON
    data) once per run, and give later tests a copy of the database it made and the data it returned
    (on PostgreSQL, once per test process, the rows kept in a schema of their own)."""
    pg_data: dict[str, object] = _PG_SNAPSHOT_DATA

    def use(name: str, build):
        if ON_POSTGRES:
            dispose_engines()
            if name in pg_worker_schema.saved:
                pg_worker_schema.restore(name)
                keep_engine(db_url)
                return pg_data[name]
            keep_engine(db_url)
            value = build()
            dispose_engines()
            pg_worker_schema.save(name)
            keep_engine(db_url)
            pg_data[name] = value
            return value
        saved = _snapshots / f"{name}.db"
        data = saved.with_suffix(".json")
        here = Path(db_url.removeprefix("sqlite:///"))
        dispose_engines()
        if saved.exists():
            copy_sqlite(saved, here)
            keep_engine(db_url)
            return json.loads(data.read_text())
        keep_engine(db_url)
        value = build()
        dispose_engines()
        copy_sqlite(here, saved)
        keep_engine(db_url)
        data.write_text(json.dumps(value))
        return value

    return use


class Runner:
    """The real command line, through CliRunner."""

    def __init__(self):
        self.runner = CliRunner()

    def __call__(self, *args, ok=True, input=None):
        result = self.runner.invoke(cli.cli, [str(a) for a in args], catch_exceptions=False, input=input)
        if ok and result.exit_code != 0:
            raise AssertionError(
                f"trigger {' '.join(map(str, args))} failed ({result.exit_code}):\n"
                f"{result.stdout}{result.stderr}"
            )
        return result

    def fails(self, *args):
        result = self(*args, ok=False)
        assert result.exit_code != 0, f"expected trigger {' '.join(map(str, args))} to fail:\n{result.stdout}"
        return result

    def json(self, *args):
        return json.loads(self(*args, "--json").stdout)


@pytest.fixture
def trigger():
    return Runner()


@pytest.fixture
def db(trigger, snapshot):
    """An initialised database with the LLR policy and its four agencies (initialised once per test
    process through the command line, then copied)."""
    snapshot(
        "init-llr",
        lambda: trigger("init", "--policy", "llr", "--manager-email", "csm@example.gov.uk") and None,
    )
    return trigger


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


THREE_COMPLAINTS = (("2026-01-10", "2026-01-12"), ("2026-01-20", "2026-01-21"), ("2026-02-03", "2026-02-04"))


def add_complaints(run, ref: str, dates, *, on: str, agency: str = "police") -> None:
    """Record one complaint to `agency` for each (occurred, reported) pair, as a clerk would."""
    for occurred, reported in dates:
        run(
            "incident",
            "add",
            ref,
            "--occurred",
            occurred,
            "--reported",
            reported,
            "--agency",
            agency,
            "--on",
            on,
        )


@pytest.fixture
def case(db, snapshot):
    """A case received on 2 March 2026 with three qualifying complaints to the police."""

    def build() -> str:
        ref = db.json(
            "activate",
            "--applicant",
            "Ann Example",
            "--received",
            "2026-03-02",
            "--channel",
            "online",
            "--statement",
            "Five reports and nothing has changed",
        )["reference"]
        add_complaints(db, ref, THREE_COMPLAINTS, on="2026-03-03")
        return ref

    return snapshot("case-ann", build)
