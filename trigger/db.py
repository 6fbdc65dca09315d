"""The database itself: migrations (Alembic, shipped in `trigger/migrations`), the schema check done
when a command opens the database, and backups.

Opening must stay cheap (tests/perf/bench.py: `show`/`list` within 1.3x of the import floor), so nothing here
imports Alembic until a migration actually runs: the code's head revision is read from the revision
files' own `revision = ...` lines, and the database's from `alembic_version`, in one query.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from trigger.errors import InvalidInput, NotInitialised

MIGRATIONS = Path(__file__).parent / "migrations"
VERSIONS = MIGRATIONS / "versions"
INITIAL = "0001_initial"  # the first revision; a database made before migrations is stamped with it

_REV = re.compile(r"^(down_revision|revision)\b[^=]*=\s*(.+)$", re.M)
_head_cache: list[str] | None = None


def sqlite_path(url: str) -> Path | None:
    """The file of a `sqlite:///` URL; None for any other database (or an in-memory one)."""
    if not url.startswith("sqlite:///"):
        return None
    raw = url[len("sqlite:///") :].split("?")[0]
    return None if raw in ("", ":memory:") else Path(raw)


def head_revisions() -> list[str]:
    """The code's head revision(s), read from the revision files without importing Alembic."""
    global _head_cache
    if _head_cache is None:
        revisions, parents = set(), set()
        for path in VERSIONS.glob("*.py"):
            for key, value in _REV.findall(path.read_text(encoding="utf-8")):
                names = re.findall(r"['\"]([^'\"]+)['\"]", value)
                (revisions if key == "revision" else parents).update(names)
        _head_cache = sorted(revisions - parents)
    return _head_cache


def current_revisions(conn: Connection) -> list[str] | None:
    """The database's revision(s); None when it has no `alembic_version` table."""
    try:
        with conn.begin_nested() if conn.in_transaction() else conn.begin():
            return sorted(conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalars())
    except DBAPIError:
        return None


@dataclass
class SchemaState:
    current: list[str] | None  # None: no migrations applied (no alembic_version table)
    heads: list[str]
    has_tables: bool

    @property
    def initialised(self) -> bool:
        return self.current is not None or self.has_tables

    @property
    def up_to_date(self) -> bool:
        return self.current == self.heads

    @property
    def ahead(self) -> bool:
        """The database carries a revision this code does not know: a newer `trigger` migrated it."""
        known = {p.stem for p in VERSIONS.glob("*.py")} | set(self.heads)
        return bool(self.current) and any(r not in known for r in self.current)


def schema_state(engine: Engine) -> SchemaState:
    with engine.connect() as conn:
        current = current_revisions(conn)
        has_tables = current is not None or inspect(conn).has_table("review_case")
    return SchemaState(current, head_revisions(), has_tables)


def behind_warning(state: SchemaState) -> str | None:
    """One line for stderr when the database and the code disagree on the schema, else None."""
    if state.current is None or state.up_to_date:
        return None
    have = ", ".join(state.current) or "no revision"
    if state.ahead:
        return (
            f"warning: this database was migrated by a newer trigger (revision {have}); "
            "upgrade trigger before changing anything"
        )
    return (
        f"warning: this database is at schema revision {have}, the code expects {', '.join(state.heads)}; "
        "run `trigger db upgrade`"
    )


def _config(conn: Connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "trigger:migrations")  # a package resource: works when installed
    cfg.attributes["connection"] = conn
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> SchemaState:
    """Bring the database to `revision` (default the newest). A database created before migrations
    existed (tables but no `alembic_version`) is first stamped with the initial revision."""
    if revision == "head" and schema_state(engine).up_to_date:
        return schema_state(engine)  # nothing to apply: skip loading Alembic and its environment
    from alembic import command

    with engine.begin() as conn:
        if current_revisions(conn) is None and inspect(conn).has_table("review_case"):
            command.stamp(_config(conn), INITIAL)
        command.upgrade(_config(conn), revision)
    return schema_state(engine)


def backup_sqlite(source: Path, target: Path) -> int:
    """Copy a live SQLite database with the online backup API (consistent while others write); the
    copy is private to its owner (0600), like the database. Returns the copy's size in bytes."""
    import sqlite3

    target = Path(target)
    if target.exists() and target.is_dir():
        raise IsADirectoryError(str(target))
    tmp = target.with_name(f".{target.name}.partial")
    if tmp.exists():
        tmp.unlink()
    os.close(os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600))
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        dst = sqlite3.connect(tmp)
        try:
            with dst:
                src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        finally:
            dst.close()
            src.close()
        os.chmod(tmp, 0o600)
        shutil.move(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target.stat().st_size


def backup(url: str, target: Path) -> int:
    """`trigger backup FILE`: SQLite through the online backup API; PostgreSQL is backed up with the
    server's own tools (README, "Shared PostgreSQL")."""
    if not url.startswith("sqlite"):
        raise InvalidInput(
            "a PostgreSQL database is backed up with pg_dump, e.g. `pg_dump -Fc -f trigger.dump DBNAME` "
            '(restore with pg_restore; README, "Shared PostgreSQL")'
        )
    source = sqlite_path(url)
    if source is None or not source.exists():
        raise NotInitialised(f"there is no database file to back up at {source}; run `trigger init` first")
    target = Path(target)
    if target.resolve() == source.resolve():
        raise InvalidInput("the backup file must not be the database itself; name another file")
    if not target.parent.is_dir():
        raise InvalidInput(f"the folder {target.parent} does not exist; create it or name another file")
    if target.is_dir():
        raise InvalidInput(f"{target} is a folder; name a file, e.g. {target / 'trigger-backup.db'}")
    return backup_sqlite(source, target)
