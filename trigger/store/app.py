"""Settings (TRIGGER_DB, TRIGGER_USER; the data directory is `trigger.settings`), the engine and the
unit of work.

The database defaults to a SQLite file in the user's data directory, created private to its owner
(0600, directory 0700), with WAL, foreign keys and a busy timeout. Any SQLAlchemy URL works, e.g.
`postgresql+psycopg://host/db` for a partnership sharing one database across offices.
"""

from __future__ import annotations

import atexit
import functools
import getpass
import os
import random
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import ParamSpec, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, create_engine

from trigger import checks
from trigger.errors import (
    ConcurrentChange,
    InvalidInput,
    MissingDependency,
    NotInitialised,
    NotPermitted,
    Retry,
    StorageError,
    TriggerError,
)
from trigger.settings import DB_NAME, data_dir
from trigger.store import access, db, outputs, queue, sealed


def default_db_url() -> str:
    return f"sqlite:///{data_dir() / DB_NAME}"


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
    cur.execute("PRAGMA busy_timeout=10000")  # a writer sets its own, from what is left of its patience
    # a deleted or overwritten value is zeroed in the file, not left in free space until reused, so
    # that purge erases for good (docs/operations.md#erasure)
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def _sqlite_begin(writers: queue.Queue | None, conn: Connection) -> None:
    # A writer takes the write lock at BEGIN (IMMEDIATE), never by turning a reader's snapshot into a
    # write, which fails at once when another writer committed in between (SQLITE_BUSY_SNAPSHOT); and
    # before that it waits for its turn in the writers' queue (`trigger.store.queue`), which hands
    # the lock on in order. Readers begin DEFERRED and never block.
    options = conn.get_execution_options()
    if not options.get("trigger_write"):
        conn.exec_driver_sql("BEGIN")
        return
    limit = queue.patience()
    raw = conn.connection.dbapi_connection
    turn = writers.join(limit, options.get("trigger_notice")) if writers is not None else None
    try:
        if isinstance(raw, queue.QueuedConnection):
            raw.turn = turn  # ended just after this transaction's COMMIT or ROLLBACK
        # SQLite's own wait, for a writer outside the queue (another program): what patience is left
        left = limit - (turn.waited if turn is not None else 0.0)
        conn.exec_driver_sql(f"PRAGMA busy_timeout={max(1, int(left * 1000))}")
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        if turn is not None:
            turn.end()
        raise


def _postgres_session(dbapi_conn, _record) -> None:
    # timestamps are stored as UTC wall-clock (TIMESTAMP WITHOUT TIME ZONE); a server in another zone
    # would otherwise convert aware datetimes on the way in and break the audit hashes
    cur = dbapi_conn.cursor()
    cur.execute("SET TIME ZONE 'UTC'")
    cur.close()
    dbapi_conn.commit()


_engines: dict[str, Engine] = {}


SUPPORTED = ("sqlite", "postgresql")
SQLITE_HEADER = b"SQLite format 3\x00"


def check_url(url: str) -> None:
    """Only SQLite and PostgreSQL are supported: say so, rather than fail somewhere inside a driver."""
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower() if ":" in url else ""
    if scheme == "postgres":
        raise InvalidInput(
            f"{outputs.safe_url(url)}: write a PostgreSQL URL as postgresql+psycopg://USER@HOST/DATABASE"
        )
    if scheme not in SUPPORTED:
        raise InvalidInput(
            f"{outputs.safe_url(url)}: only SQLite (sqlite:///FILE) and PostgreSQL "
            "(postgresql+psycopg://USER@HOST/DATABASE) databases are supported"
        )


def _check_sqlite_file(path: Path) -> None:
    """An existing file that is not a SQLite database is refused before anything touches it."""
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder, not a database file; check --db or TRIGGER_DB")
    try:
        with open(path, "rb") as fh:
            head = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise InvalidInput(f"cannot open the database {path}: {exc.strerror}") from None
    if head and head != SQLITE_HEADER:
        raise InvalidInput(
            f"{path} is not a SQLite database (it does not start with the SQLite header); "
            "check --db or TRIGGER_DB"
        )


def get_engine(url: str) -> Engine:
    """One engine per URL per process; a SQLite file is created 0600 before SQLite touches it."""
    if url in _engines:
        return _engines[url]
    check_url(url)
    path = outputs.sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        _check_sqlite_file(path)
        os.chmod(path, 0o600)  # personal data: private to its owner
    kwargs = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "factory": queue.QueuedConnection}
    try:
        engine = create_engine(url, **kwargs)
    except ImportError as exc:  # the URL's driver is not installed
        raise missing_driver(url, exc) from None
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
        writers = queue.Queue(path) if path is not None else None
        event.listen(engine, "begin", functools.partial(_sqlite_begin, writers))
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
# deadlock detected, lock not available; and a unique key taken by a simultaneous insert
_PG_RETRY = {"40001", "40P01", "55P03"}
_PG_UNIQUE = "23505"
_PG_PERMISSION = "42501"
_PG_READ_ONLY = "25006"
_SQLITE_BUSY_SNAPSHOT = 517
_SQLITE_READONLY = 8


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def concurrency_error(exc: BaseException) -> TriggerError | None:
    """The clear error for a database error caused by another user's simultaneous change (a `Retry`
    when running the command again will settle it), or by what the login may do; else None."""
    if isinstance(exc, StaleDataError):
        what = "action" if "'action'" in str(exc) else "case"
        return ConcurrentChange(
            f"this {what} was changed by someone else while you worked; reload it "
            "(`trigger show REF`) and try again"
        )
    if not isinstance(exc, DBAPIError):
        return None
    orig = exc.orig
    state = getattr(orig, "sqlstate", None)
    if state in _PG_RETRY:
        return Retry(
            "this case was changed by someone else at the same moment; "
            "reload it (`trigger show REF`) and try again"
        )
    if state == _PG_UNIQUE:
        return Retry(
            "someone else recorded the same thing at the same moment; nothing was saved, "
            f"reload and try again ({_first_line(exc)})"
        )
    if state in (_PG_PERMISSION, _PG_READ_ONLY):
        return NotPermitted(
            f"the database refused the change: {_first_line(exc)}; this login may only read. "
            "Nothing was saved; ask the database administrator for write access"
        )
    if isinstance(exc, IntegrityError):
        return InvalidInput(f"that is already recorded: {_first_line(exc)}; nothing was saved")
    code = getattr(orig, "sqlite_errorcode", None)
    if code == _SQLITE_BUSY_SNAPSHOT:
        return ConcurrentChange(
            "the data was changed by someone else while you worked; reload it and try again"
        )
    if code is not None and code & 0xFF in (5, 6):  # SQLITE_BUSY, SQLITE_LOCKED after busy_timeout
        return ConcurrentChange(
            "the database is busy with another user's change; nothing was saved, try again in a moment"
        )
    if code is not None and code & 0xFF == _SQLITE_READONLY:
        return NotPermitted(
            f"the database file cannot be written ({_first_line(exc)}); nothing was saved; "
            "check the file's permissions"
        )
    return None


# -- the writers' lock and retries ---------------------------------------------------------------------

LOCK_SQL = "SELECT id FROM audit_head WHERE id = 1 FOR UPDATE"


def writers_lock(session: Session) -> None:
    """Take the writers' lock once per transaction, before the first write: on PostgreSQL the row of
    `audit_head` (the audit chain's head, which every change appends to anyway), so writers go one
    at a time from their first write to their commit; on SQLite `BEGIN IMMEDIATE` already did.
    Then run the checks registered for this moment (`trigger.store.unit.changing` registers the case's
    version check: docs/architecture.md#optimistic-locking)."""
    info = session.info
    if info.get("locked"):
        return
    info["locked"] = True
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(LOCK_SQL)
    for check in info.get("on_lock", ()):
        check(session)


def _lock_before_flush(session: Session, _context: object, _instances: object) -> None:
    writers_lock(session)


ATTEMPTS = 6
P = ParamSpec("P")
R = TypeVar("R")


def retried(fn: Callable[P, R]) -> Callable[P, R]:
    """Run a use-case again when its transaction lost a race it can simply win next time (a
    serialization failure, a deadlock, a unique number taken at the same moment, or the case
    changed under an addition): up to ATTEMPTS times with a short random pause. A command the fresh
    case then refuses says that someone else changed the case at the same moment."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        raced = None
        for attempt in range(ATTEMPTS):
            try:
                return fn(*args, **kwargs)
            except Retry as exc:
                raced = exc
                if attempt == ATTEMPTS - 1:
                    raise ConcurrentChange(str(exc)) from None
                time.sleep(random.uniform(0.01, 0.05) * (2**attempt))
            except ConcurrentChange:
                raise
            except TriggerError as exc:
                if raced is None:
                    raise
                raise ConcurrentChange(
                    f"this case was changed by someone else at the same moment: {exc}"
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    return run


def dispose_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
    sealed.keystore.dispose()


# the connections are closed as the program ends, so SQLite folds its WAL into the database file and
# removes it (a file copied or moved afterwards is the whole database), whatever order the interpreter
# tears its modules down in
atexit.register(dispose_engines)


def _acting(name: str) -> str:
    """Who is acting, as typed (--as, TRIGGER_USER) or the OS user: a name of one line, never blank,
    recorded on every change and shown back, so no control or escape characters."""
    if not name.strip():
        raise InvalidInput("--as (or TRIGGER_USER) is blank; give the name of who is acting")
    return checks.name(name, "--as (or TRIGGER_USER)", required=True) or ""


class App:
    """What every command needs: where the data is, who is acting, which policy by default, and the
    partnership chosen with --partnership (`public`: the online door, whose one permission is to apply).
    `needs` is the stack of permissions the use-cases in hand
    declared (`trigger.store.access.needs`); `who` is the acting user once resolved. `notice` is told
    when a change has waited a few seconds for its turn (the command line prints it on stderr)."""

    def __init__(
        self,
        url: str | None = None,
        actor: str | None = None,
        policy: str | None = None,
        partnership: str | None = None,
        public: bool = False,
        notice: queue.Notice | None = None,
    ):
        self.url = url or db_url()
        self.public = public  # the online door: a member of the public, who may only apply
        self.actor_given = bool(actor or typed_user())
        self.actor = _acting(actor if actor is not None else current_user())
        self.policy_override = policy
        self.partnership = partnership
        self.needs: list[access.Permission] = []
        self.who: access.Actor | None = None
        self._schema_checked = False
        self._ahead = False
        self._writer: Engine | None = None
        self.notice = notice

    @property
    def engine(self) -> Engine:
        return get_engine(self.url)

    @property
    def write_engine(self) -> Engine:
        """The engine for changes: the same pool; on SQLite each transaction waits for its turn in the
        writers' queue and begins IMMEDIATE (`_sqlite_begin`)."""
        if self._writer is None:
            self._writer = self.engine.execution_options(trigger_write=True, trigger_notice=self._notice)
        return self._writer

    def _notice(self, text: str) -> None:
        if self.notice is not None:
            self.notice(text)

    def require_file(self) -> None:
        """A SQLite file that does not exist is refused before the engine would make it (and its
        folders) for a command that only reads or changes what is there."""
        path = outputs.sqlite_path(self.url)
        if path is not None and not path.exists():
            raise NotInitialised(f"no Community Trigger database at {path} yet; run `trigger init` first")

    def require_schema(self, writing: bool = False) -> None:
        """Refuse a database without our tables, or with tables but no migration record (it must be
        adopted first); warn once (stderr) when it is behind the code's migrations; refuse to write to
        one migrated by a newer trigger. Checked once per App, with one cheap query
        (`trigger.store.db.schema_state`)."""
        if not self._schema_checked:
            self.require_file()
            state = db.schema_state(self.engine)
            if not state.initialised or state.current is None:
                # a login the server keeps out sees no tables, or cannot read them
                db.refuse_unregistered(self.engine)
            if not state.initialised:
                raise NotInitialised("no Community Trigger database here yet; run `trigger init` first")
            if state.current is None:
                raise NotInitialised(db.UNADOPTED)
            self._ahead = state.ahead
            self._schema_checked = True
            if writing and self._ahead:
                raise NotInitialised(db.ahead_refusal(state))
            warning = db.behind_warning(state)
            if warning:
                print(warning, file=sys.stderr)
        if writing and self._ahead:
            raise NotInitialised(db.ahead_refusal(db.schema_state(self.engine)))

    def schema_ready(self) -> None:
        """Called after `trigger init` / `trigger db upgrade` brought the schema to the head."""
        self._schema_checked = True
        self._ahead = False

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session."""
        self.require_schema()
        with Session(self.engine, expire_on_commit=False) as session:
            keys = sealed.use(session)
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
            finally:
                sealed.done(keys)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: everything inside commits together with its audit events, or nothing does.
        The writers' lock is taken before the first write (`writers_lock`). A clash with another
        user's simultaneous change becomes `ConcurrentChange` (one clear line), or `Retry` when running
        the command again settles it (see `retried`)."""
        self.require_schema(writing=True)
        with Session(self.write_engine, expire_on_commit=False) as session:
            event.listen(session, "before_flush", _lock_before_flush)
            sealed.seal_on_flush(session)
            keys = sealed.use(session)
            try:
                _enter(self, session)
                yield session
                try:
                    session.commit()
                except DBAPIError as exc:
                    if concurrency_error(exc) is not None:
                        raise
                    session.rollback()
                    raise StorageError(
                        f"the database could not store the change ({_first_line(exc)}); nothing was saved"
                    ) from None
            except (StaleDataError, DBAPIError) as exc:
                session.rollback()
                clash = concurrency_error(exc) or permission_error(exc)
                if clash is None:
                    raise
                raise clash from None
            except BaseException:
                session.rollback()
                raise
            finally:
                sealed.done(keys)


def _enter(app: App, session: Session) -> None:
    access.enter(app, session)


_PG_PERMISSION = "42501"


def permission_error(exc: BaseException) -> NotPermitted | None:
    """The server refused the login (PostgreSQL's insufficient privilege): one line, or None."""

    if getattr(getattr(exc, "orig", None), "sqlstate", None) != _PG_PERMISSION:
        return None
    text = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    return NotPermitted(
        f"the database refused this login: {text}; nothing was changed (an admin registers people and "
        "their roles with `trigger user add`)"
    )
