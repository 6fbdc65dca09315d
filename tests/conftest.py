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

import gc
import json
import os
import secrets
import sqlite3
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import sqlalchemy
import sqlmodel
import transitions

from tests.support.cases import THREE_COMPLAINTS, add_complaints, build_year
from tests.support.databases import (
    ON_POSTGRES,
    PG_URL,
    WorkerSchema,
    copy_sqlite,
    keep_engine,
    pg_url_safe,
    remove_sqlite,
    with_search_path,
)
from tests.support.runner import Runner
from trigger.store import db as database
from trigger.store.app import dispose_engines, get_engine

# No time limit per example: hypothesis's default (200 ms) fails a test because the machine is busy,
# which says nothing about the rule under test. What a property must hold it asserts itself.
hypothesis.settings.register_profile("trigger", deadline=None)
hypothesis.settings.load_profile("trigger")


def pytest_xdist_auto_num_workers(config):
    """One test process more than the cores this process may run on (`-n auto`): a tenth of the suite's
    time is spent waiting (for a mail server's time limit, a claim window, another process's lock), when a
    core would otherwise sit idle; measured on two cores, three processes finished the suite about 5 %
    sooner, for about 8 % more CPU (a third process's start-up). PYTEST_XDIST_AUTO_NUM_WORKERS overrides
    it."""
    return len(os.sched_getaffinity(0)) + 1 if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1) + 1


def pytest_collection_modifyitems(config, items):
    """The tests in a real browser first: they take seconds each, and started last they kept one
    parallel worker busy after the other had finished. On PostgreSQL leave out the tests marked
    `any_engine`: the SQLite pass has run them, and what they prove (a PDF's layout, a console's
    encoding) would be the same on any database."""
    items.sort(key=lambda item: "browser" not in getattr(item, "fixturenames", ()))  # stable: else as found
    if not ON_POSTGRES:
        return
    same = [item for item in items if item.get_closest_marker("any_engine") is not None]
    if same:
        config.hook.pytest_deselected(items=same)
        items[:] = [item for item in items if item.get_closest_marker("any_engine") is None]


def pytest_collection_finish(session):
    """Spare the garbage collector the work it redoes for every test: what stands once the tests are
    collected (the modules, their classes and tables) is frozen out of its reach, and it runs a full
    collection less often (each went through everything the process had loaded, again and again: about
    a tenth of the tests' time). Garbage is still collected: the youngest objects every ten thousand
    allocations rather than every seven hundred."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def pytest_report_header(config):
    versions = (
        f"sqlalchemy {sqlalchemy.__version__}, sqlmodel {sqlmodel.__version__}, "
        f"transitions {transitions.__version__}, sqlite {sqlite3.sqlite_version}"
    )
    if ON_POSTGRES:
        where = f"database: PostgreSQL {pg_url_safe()}, one schema per test"
    else:
        where = (
            "database: SQLite only (set TRIGGER_TEST_DB=postgresql+psycopg://USER@HOST/DB to run the suite "
            "on PostgreSQL too)"
        )
    return [versions, where]


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
        pytest.exit(f"TRIGGER_TEST_DB={pg_url_safe()} is not reachable: {exc.orig}", returncode=3)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory, pg_admin) -> Path | None:
    """One SQLite database migrated to the newest schema, copied for every test (SQLite runs only)."""
    if pg_admin is not None:
        return None
    path = tmp_path_factory.mktemp("template") / "trigger.db"
    database.upgrade(get_engine(f"sqlite:///{path}"))
    dispose_engines()
    return path


@pytest.fixture(scope="session")
def pg_worker_schema(pg_admin):
    if pg_admin is None:
        yield None
        return
    worker = WorkerSchema(pg_admin)
    worker.make()
    yield worker
    dispose_engines()
    worker.drop()


@pytest.fixture(scope="session")
def sqlite_home(tmp_path_factory) -> Path:
    """Where this test process's SQLite test database lives: one path, so one engine (`keep_engine`)."""
    return tmp_path_factory.mktemp("database")


@pytest.fixture
def db_url(request, sqlite_home, pg_admin, migrated_template, pg_worker_schema):
    """The URL of this test's own database: migrated but empty (`trigger init` not yet run), or with
    no schema at all for a test marked `no_schema`."""
    empty = request.node.get_closest_marker("no_schema") is not None
    if pg_admin is None:
        path = sqlite_home / "trigger.db"
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


@pytest.fixture
def outbox(tmp_path, monkeypatch) -> Path:
    """The outbox folder (TRIGGER_OUTBOX), in the test's own directory."""
    folder = tmp_path / "outbox"
    monkeypatch.setenv("TRIGGER_OUTBOX", str(folder))
    return folder


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


@pytest.fixture
def year(db, snapshot):
    """Cases around the 2025/26 performance year (1 Apr 2025 to 31 Mar 2026), with known figures
    (built once per run; each test gets its own copy)."""
    return snapshot("year", build_year)


# -- the applicant's door in a real browser (tests/support/browser.py) ----------------------------------


@pytest.fixture
def browser():
    """The browser for one test: the test process's one tab (`tests.support.browser.Tab`), which
    `new_page` hands back as a new visitor opens it. Left empty when the test ends (an open page keeps
    Chromium busy however idle)."""
    from tests.support.browser import CHROME

    tab = CHROME.tab()
    yield tab
    tab.leave()


@pytest.hookimpl(trylast=True)  # after the test's fixtures, the tab's among them, have ended
def pytest_runtest_teardown(item, nextitem):
    """Close Chromium, and stop the browser tests' server, after the last of a run of browser tests (they
    run first: `pytest_collection_modifyitems`), not at each module's end: one Chromium, one Playwright
    driver and one server for the test process, started again only if a browser test comes later.
    Closed before the next test, not kept for the session: Playwright's synchronous API keeps an event
    loop running in this thread while it is open, and a later test's `asyncio.run()` would fail."""
    if "browser" in item.fixturenames and (nextitem is None or "browser" not in nextitem.fixturenames):
        from tests.support.browser import CHROME

        CHROME.close()
        _stop_door_server()


# the `trigger web serve` the browser tests of a test process share (SQLite): started by the first to ask
# for it (`server`), stopped with Chromium after the last of them (`pytest_runtest_teardown`); one for
# each test, or each test module, was a second of CPU each
_DOOR_SERVER: dict[str, Any] = {}


def _stop_door_server() -> None:
    s = _DOOR_SERVER.pop("server", None)
    if s is not None:
        s.stop()


def pytest_sessionfinish(session):
    _stop_door_server()


@pytest.fixture
def server(db, db_url, tmp_path, tmp_path_factory, monkeypatch):
    """`trigger web serve` in its own process over this test's database, its log kept. On SQLite it is
    the test process's (`_DOOR_SERVER`) over a database file of its own, which each test refills with
    a copy of its own database as it stands (a fixture that puts a `snapshot` in place comes before
    `server`), and which the test's command line then uses too: each test starts from its own data, the
    server from where the last left its memory (visits, limits, the log; a test that stops the server
    asks for `own_server`). On PostgreSQL a server of the test's own."""
    from tests.support.browser import Server

    if ON_POSTGRES:
        s = Server(tmp_path)
        yield s
        s.stop()
        return
    mine = Path(db_url.removeprefix("sqlite:///"))
    dispose_engines()
    s = _DOOR_SERVER.get("server")
    if s is None:
        folder = tmp_path_factory.mktemp("door")
        shared = folder / "trigger.db"
        copy_sqlite(mine, shared)
        s = Server(
            folder,
            env={
                "TRIGGER_DB": f"sqlite:///{shared}",
                "TRIGGER_HOME": str(folder / "home"),
                # the process's applications all come from this one client
                "TRIGGER_WEB_SUBMISSIONS_PER_HOUR": "1000",
            },
        )
        s.db_path = shared
        _DOOR_SERVER["server"] = s
    else:
        assert s.proc.poll() is None, (
            "the shared server has stopped: a test wanting to stop it asks for own_server"
        )
        copy_sqlite(mine, s.db_path)  # in place: the server's connections read the copy
    url = f"sqlite:///{s.db_path}"
    monkeypatch.setenv("TRIGGER_DB", url)
    keep_engine(url)
    yield s
    dispose_engines()


@pytest.fixture
def own_server(db, tmp_path):
    """`trigger web serve` over the test's own database, in its own process, its log kept: for a test
    that stops it."""
    from tests.support.browser import Server

    s = Server(tmp_path)
    yield s
    s.stop()
