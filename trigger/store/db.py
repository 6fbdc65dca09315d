"""The database itself: migrations (Alembic, shipped in `trigger/store/migrations`), the schema check done
when a command opens the database, and backups.

Opening must stay cheap (tests/perf/bench.py: `show`/`list` within 1.3x of the import floor), so nothing here
imports Alembic until a migration actually runs: the code's head revision is read from the revision
files' own `revision = ...` lines, and the database's from `alembic_version`, in one query.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from trigger.errors import InvalidInput, NotInitialised, NotPermitted
from trigger.store.outputs import FileTarget, OutputError, place_file, safe_url, sqlite_path, temp_beside

MIGRATIONS = Path(__file__).parent / "migrations"
VERSIONS = MIGRATIONS / "versions"
INITIAL = "0001_initial"  # the first revision (scripts/regen_migration.py rewrites it; later ones follow)

UNADOPTED = (
    "this database has tables but no record of its schema revision (it was made before migrations, "
    "or copied without its alembic_version table); nothing was changed. If it was made by trigger, run "
    "`trigger db upgrade --adopt`, which checks that its tables match before recording the revision"
)

_REV = re.compile(r"^(down_revision|revision)\b[^=]*=\s*(.+)$", re.M)
_head_cache: list[str] | None = None


def shipped_revisions() -> tuple[set[str], set[str]]:
    """The revisions the code ships and the ones that have a successor, read from the revision files
    without importing Alembic."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in VERSIONS.glob("*.py"):
        for key, value in _REV.findall(path.read_text(encoding="utf-8")):
            names = re.findall(r"['\"]([^'\"]+)['\"]", value)
            (revisions if key == "revision" else parents).update(names)
    return revisions, parents


def head_revisions() -> list[str]:
    """The code's head revision(s)."""
    global _head_cache
    if _head_cache is None:
        revisions, parents = shipped_revisions()
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
        if not self.current:
            return False
        known = _revision_files() | set(self.heads)
        return any(r not in known for r in self.current)


@functools.cache
def _revision_files() -> frozenset[str]:
    """The names of the shipped revision files (read once: every command checks the schema)."""
    return frozenset(p.stem for p in VERSIONS.glob("*.py"))


def schema_state(engine: Engine) -> SchemaState:
    with engine.connect() as conn:
        current = current_revisions(conn)
        has_tables = current is not None or inspect(conn).has_table("review_case")
    return SchemaState(current, head_revisions(), has_tables)


def ahead_refusal(state: SchemaState) -> str:
    """The one line refusing to write to a database a newer trigger migrated."""
    return (
        f"this database was migrated by a newer trigger (revision {', '.join(state.current or [])}); "
        "this version will not change it. Upgrade trigger (pip install -U community-trigger), then try again"
    )


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
    cfg.set_main_option(
        "script_location", "trigger.store:migrations"
    )  # a package resource: works when installed
    cfg.attributes["connection"] = conn
    return cfg


def upgrade(engine: Engine, revision: str = "head", *, adopt: bool = False) -> SchemaState:
    """Bring the database to `revision` (default the newest). A database with tables but no revision
    record is refused unless `adopt` is given; then its tables are first checked against the models
    (`adoption_problems`) and only a match is recorded at the newest revision. A database migrated by
    a newer trigger is refused."""
    shipped = sorted(shipped_revisions()[0])
    if revision not in ("head", *shipped):
        raise InvalidInput(
            f"--revision {revision!r} is not a revision this trigger ships ({', '.join(shipped)}, or head); "
            "nothing was changed"
        )
    state = schema_state(engine)
    if state.ahead:
        raise InvalidInput(ahead_refusal(state))
    if state.current is None and state.has_tables:
        if not adopt:
            raise NotInitialised(UNADOPTED)
        problems = adoption_problems(engine)
        if problems:
            raise InvalidInput(
                "not adopting this database: its tables do not match what trigger expects ("
                + "; ".join(problems[:5])
                + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
                + "); nothing was changed"
            )
    elif adopt:
        raise InvalidInput(
            "--adopt is only for a database with tables but no revision record; this one has one"
        )
    if revision == "head" and state.up_to_date:
        return state  # nothing to apply: skip loading Alembic and its environment
    from alembic import command

    with migrating(engine) as conn:
        if current_revisions(conn) is None and inspect(conn).has_table("review_case"):
            # adopted: its tables matched the models of this code, so it is at this code's newest revision
            command.stamp(_config(conn), "head")
        command.upgrade(_config(conn), revision)
    return schema_state(engine)


@contextmanager
def migrating(engine: Engine) -> Iterator[Connection]:
    """One transaction for a migration. On SQLite a batch migration rebuilds a table (copy, drop the
    old, rename), and dropping a table that other rows refer to fails while foreign keys are enforced;
    SQLite ignores the switch inside a transaction, so enforcement is off from before BEGIN, and the
    references are checked before COMMIT instead (https://www.sqlite.org/lang_altertable.html)."""
    with engine.connect() as conn:
        raw = conn.connection.driver_connection if conn.dialect.name == "sqlite" else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                yield conn
                if raw is not None:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
                    if broken is not None:
                        raise InvalidInput(
                            f"the migration left a row of {broken[0]} pointing at a missing row of "
                            f"{broken[2]}; nothing was changed"
                        )
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")


def adoption_problems(engine: Engine) -> list[str]:
    """What keeps a database made before migrations from being adopted: each table of the models that
    is missing, and each of its columns that is missing or extra. Empty when they match."""
    from trigger.store.models import metadata  # the models: only when adopting

    problems = []
    with engine.connect() as conn:
        found = inspect(conn)
        tables = set(found.get_table_names())
        for table in metadata.sorted_tables:
            if table.name not in tables:
                problems.append(f"table {table.name} is missing")
                continue
            have = {c["name"] for c in found.get_columns(table.name)}
            want = {c.name for c in table.columns}
            problems += [f"column {table.name}.{c} is missing" for c in sorted(want - have)]
            problems += [f"column {table.name}.{c} is not one of ours" for c in sorted(have - want)]
    return problems


def backup_sqlite(source: Path, target: FileTarget) -> int:
    """Copy a live SQLite database with the online backup API (consistent while others write) into a
    private temporary file beside `target` (a `trigger.store.outputs.FileTarget`), then rename it into place
    (docs/architecture.md#files-the-engine-writes). Returns the copy's size in bytes."""
    import sqlite3

    fd, tmp = temp_beside(target)
    os.close(fd)
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
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
    except sqlite3.Error as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {target.description}: {exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    size = tmp.stat().st_size
    place_file(tmp, target)
    return size


def backup(url: str, file: str | os.PathLike[str], *, force: bool = False) -> int:
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
    target = FileTarget(file, force=force, db_url=url)
    if target.stream:
        raise InvalidInput(f"{file} is not a regular file; a backup goes to a file")
    return backup_sqlite(source, target)


def backup_keys(
    url: str, file: str | os.PathLike[str], *, force: bool = False, db_url: str | None = None
) -> int:
    """`trigger backup --keys FILE`: a SQLite key store copied as the database is (the online backup
    API); a PostgreSQL one with pg_dump. Returns the copy's size in bytes."""
    source = sqlite_path(url)
    if source is None:
        raise InvalidInput(
            f"the key store {safe_url(url)} is a PostgreSQL database: back it up with pg_dump, e.g. "
            "`pg_dump -Fc -f trigger-keys.dump DBNAME`, and keep those copies for days, not months "
            "(docs/operations.md#the-key-store)"
        )
    if not source.exists():
        raise NotInitialised(f"there is no key store at {source} yet; run `trigger keys move` first")
    target = FileTarget(file, force=force, db_url=db_url)
    if target.stream:
        raise InvalidInput(f"{file} is not a regular file; a backup goes to a file")
    if target.path == Path(os.path.realpath(source)):
        raise InvalidInput(f"{file} is the key store itself; name another file")
    return backup_sqlite(source, target)


def refuse_unregistered(engine: Engine) -> None:
    """A PostgreSQL login without a group cannot see or read the tables `db grant` protects: say so,
    rather than "no database here" or "no migration history"."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        kept_out = conn.execute(
            text(
                "SELECT session_user FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relname = 'review_case' "
                "AND NOT (has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT')) "
                "AND n.nspname = ANY(string_to_array(replace(current_setting('search_path'), ' ', ''), ','))"
            )
        ).scalar()
    if kept_out is not None:
        raise NotPermitted(
            f"the login {kept_out} may not use this database: it is not registered, or was disabled "
            "(an admin registers people with `trigger user add`, which gives their login its group)"
        )
