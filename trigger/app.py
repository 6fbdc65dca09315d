"""Settings (TRIGGER_DB, TRIGGER_USER; the data directory is `trigger.settings`), the engine and the
unit of work.

The database defaults to a SQLite file in the user's data directory, created private to its owner
(0600, directory 0700), with WAL, foreign keys and a busy timeout. Any SQLAlchemy URL works, e.g.
`postgresql+psycopg://host/db` for a partnership sharing one database across offices.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, create_engine

from trigger import db
from trigger.errors import ConcurrentChange, MissingDependency, NotInitialised
from trigger.settings import data_dir


def default_db_url() -> str:
    return f"sqlite:///{data_dir() / 'trigger.db'}"


def db_url() -> str:
    return os.environ.get("TRIGGER_DB") or default_db_url()


def current_user() -> str:
    return os.environ.get("TRIGGER_USER") or getpass.getuser()


def typed_user() -> str | None:
    """The name typed with TRIGGER_USER, if any (the OS user is not typed)."""
    return os.environ.get("TRIGGER_USER") or None


def today() -> date:
    return date.today()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # we issue BEGIN ourselves (below), so pysqlite's own implicit transactions are switched off
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")  # the CLI and the reminder service read and write at once
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _sqlite_begin(conn) -> None:
    # A writer takes the write lock at BEGIN (IMMEDIATE), so it waits its turn under busy_timeout
    # instead of failing with "database is locked" when a reader's snapshot turns into a write
    # after another writer committed (SQLITE_BUSY_SNAPSHOT). Readers begin DEFERRED and never block.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("trigger_write") else "BEGIN")


def _postgres_session(dbapi_conn, _record) -> None:
    # timestamps are stored as UTC wall-clock (TIMESTAMP WITHOUT TIME ZONE); a server in another zone
    # would otherwise convert aware datetimes on the way in and break the audit hashes
    cur = dbapi_conn.cursor()
    cur.execute("SET TIME ZONE 'UTC'")
    cur.close()
    dbapi_conn.commit()


_engines: dict[str, Engine] = {}


def get_engine(url: str) -> Engine:
    """One engine per URL per process; a SQLite file is created 0600 before SQLite touches it."""
    if url in _engines:
        return _engines[url]
    path = db.sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(path, 0o600)  # personal data: private to its owner
    kwargs = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False}
    try:
        engine = create_engine(url, **kwargs)
    except ImportError as exc:  # the URL's driver is not installed
        raise missing_driver(url, exc) from None
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    elif engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _postgres_session)
    _engines[url] = engine
    return engine


def missing_driver(url: str, exc: ImportError) -> MissingDependency:
    """The one line that says what to install for a database URL whose driver is missing."""
    module = (exc.name or "").split(".")[0]
    if url.startswith("postgres") and module in ("psycopg", "psycopg_binary", ""):
        return MissingDependency(
            "this database URL needs PostgreSQL's driver, psycopg 3; "
            "install the postgres extra: pip install 'community-trigger[postgres]'"
        )
    return MissingDependency(
        f"the database driver {module or 'for this URL'} is not installed; for PostgreSQL use a "
        "postgresql+psycopg:// URL and install the postgres extra: pip install 'community-trigger[postgres]'"
    )


# PostgreSQL SQLSTATEs that mean "another transaction got there first": serialization failure,
# deadlock detected, lock not available
_PG_CONCURRENCY = {"40001", "40P01", "55P03"}
_SQLITE_BUSY_SNAPSHOT = 517


def concurrency_error(exc: BaseException) -> ConcurrentChange | None:
    """The clear message for a database error caused by another user's simultaneous change, or None."""
    if isinstance(exc, StaleDataError):
        return ConcurrentChange(
            "this case was changed by someone else while you worked; reload it "
            "(`trigger show REF`) and try again"
        )
    if not isinstance(exc, DBAPIError):
        return None
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in _PG_CONCURRENCY:
        return ConcurrentChange(
            "this case was changed by someone else at the same moment; "
            "reload it (`trigger show REF`) and try again"
        )
    code = getattr(orig, "sqlite_errorcode", None)
    if code == _SQLITE_BUSY_SNAPSHOT:
        return ConcurrentChange(
            "the data was changed by someone else while you worked; reload it and try again"
        )
    if code is not None and code & 0xFF in (5, 6):  # SQLITE_BUSY, SQLITE_LOCKED after busy_timeout
        return ConcurrentChange(
            "the database is busy with another user's change; nothing was saved, try again in a moment"
        )
    return None


def dispose_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


class App:
    """What every command needs: where the data is, who is acting, which policy by default, and the
    partnership chosen with --partnership. `needs` is the stack of permissions the use-cases in hand
    declared (`trigger.access.needs`); `who` is the acting user once resolved."""

    def __init__(
        self,
        url: str | None = None,
        actor: str | None = None,
        policy: str | None = None,
        partnership: str | None = None,
    ):
        self.url = url or db_url()
        self.actor_given = bool(actor or typed_user())
        self.actor = actor or current_user()
        self.policy_override = policy
        self.partnership = partnership
        self.needs: list = []
        self.who = None
        self._schema_checked = False
        self._writer: Engine | None = None

    @property
    def engine(self) -> Engine:
        return get_engine(self.url)

    @property
    def _write_engine(self) -> Engine:
        # the same pool; only the BEGIN differs on SQLite (see _sqlite_begin)
        if self._writer is None:
            self._writer = self.engine.execution_options(trigger_write=True)
        return self._writer

    def require_schema(self) -> None:
        """Refuse a database without our tables; warn once (stderr) when it is behind the code's
        migrations. Checked once per App, with one cheap query (`trigger.db.schema_state`)."""
        if self._schema_checked:
            return
        state = db.schema_state(self.engine)
        if not state.initialised or state.current is None:
            from trigger import grants  # a login the server keeps out sees no tables, or cannot read them

            grants.refuse_unregistered(self.engine)
        if not state.initialised:
            raise NotInitialised("no Community Trigger database here yet; run `trigger init` first")
        warning = (
            db.behind_warning(state)
            if state.current is not None
            else ("warning: this database has no migration history; run `trigger db upgrade` to adopt it")
        )
        if warning:
            print(warning, file=sys.stderr)
        self._schema_checked = True

    def schema_ready(self) -> None:
        """Called after `trigger init` / `trigger db upgrade` brought the schema to the head."""
        self._schema_checked = True

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session."""
        self.require_schema()
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                _enter(self, session)
                yield session
            except DBAPIError as exc:
                refused = permission_error(
                    exc
                )  # the server's own refusal (docs/architecture.md#partnerships-people-and-roles)
                if refused is None:
                    raise
                raise refused from None

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: everything inside commits together with its audit events, or nothing does.
        A clash with another user's simultaneous change becomes `ConcurrentChange`, one clear line."""
        self.require_schema()
        with Session(self._write_engine, expire_on_commit=False) as session:
            try:
                _enter(self, session)
                yield session
                session.commit()
            except (StaleDataError, DBAPIError) as exc:
                session.rollback()
                clash = concurrency_error(exc) or permission_error(exc)
                if clash is None:
                    raise
                raise clash from exc
            except BaseException:
                session.rollback()
                raise


def _enter(app: App, session: Session) -> None:
    from trigger import access  # light: the Core tables only

    access.enter(app, session)


_PG_PERMISSION = "42501"


def permission_error(exc: BaseException):
    """The server refused the login (PostgreSQL's insufficient privilege): one line, or None."""
    from trigger.errors import NotPermitted

    if getattr(getattr(exc, "orig", None), "sqlstate", None) != _PG_PERMISSION:
        return None
    text = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    return NotPermitted(
        f"the database refused this login: {text}; nothing was changed (an admin registers people and "
        "their roles with `trigger user add`)"
    )
