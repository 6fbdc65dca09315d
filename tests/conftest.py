"""Every test gets its own data directory and database, and acts as `tester`.

The database is a SQLite file per test; with `TRIGGER_TEST_DB=postgresql+psycopg://...` it is instead
a fresh PostgreSQL schema per test (`t_<random>`, selected through libpq's search_path option and
dropped afterwards), so the whole suite runs against a shared server and the tests stay independent.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from urllib.parse import quote

import pytest
import sqlalchemy
import sqlmodel
import transitions
from click.testing import CliRunner

import cli
from trigger.app import dispose_engines

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


@pytest.fixture
def db_url(tmp_path, pg_admin):
    """The URL of this test's own empty database."""
    if pg_admin is None:
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
