"""Settings (TRIGGER_DB, TRIGGER_USER, TRIGGER_HOME), the engine and the unit of work.

The database defaults to a SQLite file in the user's data directory, created private to its owner
(0600, directory 0700), with WAL, foreign keys and a busy timeout. Any SQLAlchemy URL works, e.g.
`postgresql+psycopg://host/db` for a partnership sharing one database across offices.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from sqlalchemy import event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, create_engine

from trigger.errors import ConcurrentChange, NotInitialised


def data_dir() -> Path:
    """Where the default database and the outbox live: $TRIGGER_HOME, else the XDG data dir."""
    home = os.environ.get("TRIGGER_HOME")
    if home:
        path = Path(home)
    else:
        base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
        path = Path(base) / "community-trigger"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def default_db_url() -> str:
    return f"sqlite:///{data_dir() / 'trigger.db'}"


def db_url() -> str:
    return os.environ.get("TRIGGER_DB") or default_db_url()


def current_user() -> str:
    return os.environ.get("TRIGGER_USER") or getpass.getuser()


def today() -> date:
    return date.today()


def _sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:///"):
        return None
    raw = url[len("sqlite:///"):].split("?")[0]
    return None if raw in ("", ":memory:") else Path(raw)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")  # the CLI and the reminder service read and write at once
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


_engines: dict[str, Engine] = {}


def get_engine(url: str) -> Engine:
    """One engine per URL per process; a SQLite file is created 0600 before SQLite touches it."""
    if url in _engines:
        return _engines[url]
    path = _sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(path, 0o600)  # personal data: private to its owner
    kwargs = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    _engines[url] = engine
    return engine


def dispose_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


class App:
    """What every command needs: where the data is, who is acting, which policy by default."""

    def __init__(self, url: str | None = None, actor: str | None = None, policy: str | None = None):
        self.url = url or db_url()
        self.actor = actor or current_user()
        self.policy_override = policy

    @property
    def engine(self) -> Engine:
        return get_engine(self.url)

    def require_schema(self) -> None:
        if not inspect(self.engine).has_table("review_case"):
            raise NotInitialised("no Community Trigger database here yet; run `trigger init` first")

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: everything inside commits together with its audit events, or nothing does."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except StaleDataError as exc:
                session.rollback()
                raise ConcurrentChange(
                    "this case was changed by someone else while you worked; reload it "
                    "(`trigger show REF`) and try again"
                ) from exc
            except BaseException:
                session.rollback()
                raise
