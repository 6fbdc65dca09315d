"""Every test gets its own data directory and database, and acts as `tester`.

The database is a SQLite file per test, copied from one database migrated once per run (migrating
each test's database with Alembic was most of the suite's set-up time); with
`TRIGGER_TEST_DB=postgresql+psycopg://...` it is instead a fresh PostgreSQL schema per test
(`t_<random>`, selected through libpq's search_path option and dropped afterwards), so the whole suite
runs against a shared server and the tests stay independent.

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
from trigger import db as database
from trigger.app import dispose_engines, get_engine

PG_URL = os.environ.get("TRIGGER_TEST_DB", "").strip()
if PG_URL and not PG_URL.startswith("postgresql"):
    raise pytest.UsageError(f"TRIGGER_TEST_DB must be a postgresql+psycopg:// URL, not {PG_URL!r}")
ON_POSTGRES = bool(PG_URL)
sqlite_only = pytest.mark.skipif(
    ON_POSTGRES, reason="SQLite only (a file database); this run uses PostgreSQL"
)


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


def _copy_sqlite(source: Path, target: Path) -> None:
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
    path = tmp_path_factory.mktemp("template") / "trigger.db"
    database.upgrade(get_engine(f"sqlite:///{path}"))
    dispose_engines()
    return path


@pytest.fixture
def db_url(request, tmp_path, pg_admin, migrated_template):
    """The URL of this test's own database: migrated but empty (`trigger init` not yet run), or with
    no schema at all for a test marked `no_schema`."""
    if pg_admin is None:
        if request.node.get_closest_marker("no_schema") is None:
            _copy_sqlite(migrated_template, tmp_path / "trigger.db")
        yield f"sqlite:///{tmp_path / 'trigger.db'}"
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
    yield
    dispose_engines()


@pytest.fixture(scope="session")
def _snapshots(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("snapshots")


@pytest.fixture
def snapshot(db_url, _snapshots):
    """`snapshot(name, build)`: run `build()` (which fills this test's database and returns plain JSON
    data) once per run, and give later tests a copy of the database it made and the data it returned.
    On PostgreSQL every test builds its own."""

    def use(name: str, build):
        if ON_POSTGRES:
            return build()
        saved = _snapshots / f"{name}.db"
        data = saved.with_suffix(".json")
        here = Path(db_url.removeprefix("sqlite:///"))
        dispose_engines()
        if saved.exists():
            _copy_sqlite(saved, here)
            return json.loads(data.read_text())
        value = build()
        dispose_engines()
        _copy_sqlite(here, saved)
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
def db(trigger):
    """An initialised database with the LLR policy and its four agencies."""
    trigger("init", "--policy", "llr", "--manager-email", "csm@example.gov.uk")
    return trigger


@pytest.fixture
def case(db):
    """A case received on 2 March 2026 with three qualifying complaints to the police."""
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
    for occurred, reported in (
        ("2026-01-10", "2026-01-12"),
        ("2026-01-20", "2026-01-21"),
        ("2026-02-03", "2026-02-04"),
    ):
        db(
            "incident",
            "add",
            ref,
            "--occurred",
            occurred,
            "--reported",
            reported,
            "--agency",
            "police",
            "--on",
            "2026-03-03",
        )
    return ref
