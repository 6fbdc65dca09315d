"""The key store: the keys that seal personal data kept in a database of their own
(`TRIGGER_KEYSTORE`; docs/operations.md#the-key-store).

A key kept in the same database as the values it seals is copied with them into the WAL, its
archives, base backups and every dump or SQLite copy: a copy taken before a purge still opens the
purged case. With `TRIGGER_KEYSTORE` set to a SQLAlchemy URL (`sqlite:////srv/keys/trigger-keys.db`,
or a PostgreSQL database on another server), the key tables (`case_key`, `log_key`, `match_key`) live
there and nowhere else, so the database's files and backups hold only ciphertext, and a purge that deletes a
key from the store erases every copy of the values it sealed, wherever they lie, once the key store's
own (short-lived) backups from before it are gone.

A SQLite key store is created private (0600), with `secure_delete` (a deleted key is zeroed in the
file) and a rollback journal that is deleted at each commit (no WAL lingers beside it); each write is
committed, and so on disk, before the change that uses the key commits (`trigger.store.sealed`).

The database records that its keys are kept in a store (the setting `key_store`, written by
`trigger keys move`), so that a command run without `TRIGGER_KEYSTORE` refuses, in one line, rather
than read the values as erased or make a second key for a case. Only `trigger keys move` makes a
key store, and it binds the two: a random id written into the store (`keystore_id`) and into the
database (the setting `key_store_id`). Every program checks them once, on its first use of the store
(`Store.check`), and refuses in one line a store that is missing, or is another database's, or the
database itself.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from sqlalchemy import (
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    and_,
    create_engine,
    delete,
    event,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from trigger.errors import InvalidInput, MissingDependency, NotInitialised, StorageError
from trigger.store.outputs import safe_url, sqlite_path

ENV = "TRIGGER_KEYSTORE"
MARKER = "key_store"  # the database's setting: its keys are kept in a key store (`described`)
ID_SETTING = "key_store_id"  # the database's setting: the id of its key store (`keystore_id`)

metadata = MetaData()
case_key = Table(
    "case_key",
    metadata,
    Column("case_id", Integer, primary_key=True, autoincrement=False),
    Column("key", LargeBinary, nullable=False),
)
log_key = Table(
    "log_key",
    metadata,
    Column("partnership_id", Integer, primary_key=True, autoincrement=False),
    Column("month", String(7), primary_key=True),
    Column("key", LargeBinary, nullable=False),
)
match_key = Table(
    "match_key",
    metadata,
    Column("partnership_id", Integer, primary_key=True, autoincrement=False),
    Column("key", LargeBinary, nullable=False),
)
# the key store's id, one row, written by `trigger keys move` (and in the database: `ID_SETTING`)
keystore_id = Table("keystore_id", metadata, Column("id", String(32), primary_key=True))
# each key table: the columns that name a key (the rest is the key itself)
TABLES: dict[str, tuple[str, ...]] = {
    "case_key": ("case_id",),
    "log_key": ("partnership_id", "month"),
    "match_key": ("partnership_id",),
}
NOUNS = {"case_key": "case key", "log_key": "month key", "match_key": "match key"}


def named(keys: Any, ident: tuple) -> Any:
    """The condition picking the key `ident` names (one value per naming column, `TABLES`) in the key
    table `keys`, the key store's or the database's."""
    return and_(*(keys.c[n] == v for n, v in zip(TABLES[keys.name], ident, strict=True)))


class KeyStoreError(StorageError):
    """The key store cannot be reached, or refused a read or a write: nothing was saved."""


def configured_url() -> str | None:
    return os.environ.get(ENV, "").strip() or None


def described(url: str) -> str:
    """What identifies a key store, for the database's record and the audit log: its driver, host and
    database (or file), without its login, password or options."""
    try:
        u = make_url(url)
    except ArgumentError:
        return safe_url(url)
    return URL.create(u.drivername, host=u.host, port=u.port, database=u.database).render_as_string()


def _same_database(url: str, db_url: str) -> bool:
    """Whether the key store's URL names the database itself (a key store is a database of its own)."""
    mine, theirs = sqlite_path(url), sqlite_path(db_url)
    if mine is not None or theirs is not None:
        if mine is None or theirs is None:
            return False
        try:
            return os.path.samefile(mine, theirs)
        except OSError:
            return os.path.realpath(mine) == os.path.realpath(theirs)
    try:
        a, b = make_url(url), make_url(db_url)
    except ArgumentError:
        return False
    same = (a.get_backend_name(), a.host or "", a.port, a.database, a.query.get("options"))
    return same == (b.get_backend_name(), b.host or "", b.port, b.database, b.query.get("options"))


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA secure_delete=ON")  # a deleted key is zeroed in the file, not left in free space
    cur.execute("PRAGMA journal_mode=DELETE")  # the journal goes at each commit: no WAL keeps old pages
    cur.execute("PRAGMA synchronous=FULL")  # committed means on disk, before the change using it commits
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


class Store:
    """One key store (one per URL per process: `configured`)."""

    def __init__(self, url: str):
        self.url = url
        self.where = f"the key store {safe_url(url)}"
        scheme = url.split(":", 1)[0].split("+", 1)[0].lower() if ":" in url else ""
        if scheme not in ("sqlite", "postgresql"):
            raise InvalidInput(
                f"{ENV}={safe_url(url)}: a key store is a SQLite file (sqlite:////FOLDER/trigger-keys.db) "
                "or a PostgreSQL database (postgresql+psycopg://USER@HOST/DATABASE)"
            )
        self.path = sqlite_path(url)
        if scheme == "sqlite" and (self.path is None or not self.path.is_absolute() or "?" in url):
            # a relative path names another store from another folder; options (`?mode=ro`) do not apply
            raise InvalidInput(
                f"{ENV}={safe_url(url)}: a SQLite key store must be a file named by its absolute path "
                "alone, sqlite:////FOLDER/FILE"
            )
        self._engine: Engine | None = None
        self._bound: set[str] = set()  # the databases it was checked against (`check`)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            options: dict[str, Any] = {}
            if self.path is not None:
                path = self.path  # opened, never created: only `create` makes the file
                options["creator"] = lambda: sqlite3.connect(
                    f"file:{quote(str(path))}?mode=rw", uri=True, check_same_thread=False
                )
            try:
                engine = create_engine(self.url, **options)
            except ImportError:
                raise MissingDependency(
                    f"{ENV}={safe_url(self.url)} needs PostgreSQL's driver, psycopg 3; install the postgres "
                    "extra: pip install 'community-trigger[postgres]'"
                ) from None
            if self.path is not None:
                event.listen(engine, "connect", _sqlite_pragmas)
            self._engine = engine
        return self._engine

    def _failed(self, exc: BaseException) -> KeyStoreError:
        orig = getattr(exc, "orig", None) or exc
        first = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
        return KeyStoreError(
            f"{self.where} cannot be reached or refused the change ({first}); nothing was saved"
        )

    @contextmanager
    def connect(self, *, write: bool = False, checked: bool = True) -> Iterator[Connection]:
        """A connection in a transaction, committed at the end (and so durable) when `write`. Only
        once the store was checked against the database (`check`, `create`)."""
        if checked and not self._bound:
            raise RuntimeError(f"{self.where} used before it was checked against the database")
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except (DBAPIError, SQLAlchemyError, OSError) as exc:
            if isinstance(exc, KeyStoreError):
                raise
            raise self._failed(exc) from None

    def _not_the_database(self, db_url: str) -> None:
        if _same_database(self.url, db_url):
            raise InvalidInput(
                f"{ENV} names the database itself ({safe_url(self.url)}): the key store is a database of "
                "its own, e.g. sqlite:////srv/keys/trigger-keys.db (docs/operations.md#the-key-store); "
                "nothing was changed"
            )

    def _held_id(self) -> str | bool | None:
        """The store's id; None when it records none (made by an older trigger); False when there is
        no key store there at all."""
        if self.path is not None and not self.path.exists():
            return False
        with self.connect(checked=False) as conn:
            tables = inspect(conn)
            if not tables.has_table("case_key"):
                return False
            if not tables.has_table("keystore_id"):
                return None
            return conn.execute(select(keystore_id.c.id)).scalar()

    def _foreign(self, held: str, wanted: str | None, what: str) -> InvalidInput:
        return InvalidInput(
            f"{self.where} is not this database's key store: it holds another database's keys (its id "
            f"{held[:8]}, this database's {wanted[:8] if wanted else 'none'}); set {ENV} to this "
            f"database's own key store (docs/operations.md#the-key-store); {what}"
        )

    def check(self, conn: Connection) -> Store:
        """Refuse, in one line, to use a key store that is not the database's (`conn`): missing (only
        `trigger keys move` makes one), another database's (their ids differ), or the database
        itself. Once per database per process."""
        db_url = conn.engine.url.render_as_string(hide_password=False)
        if db_url in self._bound:
            return self
        self._not_the_database(db_url)
        kept_in = marker(conn)
        wanted = conn.execute(text("SELECT value FROM setting WHERE key = :k"), {"k": ID_SETTING}).scalar()
        held = self._held_id()
        if held is False:
            if kept_in is None and wanted is None:
                raise refuse_unmoved(self)
            raise KeyStoreError(
                f"there is no key store at {safe_url(self.url)} (its file or tables are gone, or not "
                f"mounted, or {ENV} names the wrong place): only `trigger keys move` makes one; restore "
                "the key store, or set its right URL; nothing was changed"
            )
        if held is None:
            raise NotInitialised(
                f"{self.where} does not record which database it serves (an older trigger made it): run "
                "`trigger keys move` once more to bind it to this database; nothing was changed"
            )
        if held != wanted:
            raise self._foreign(str(held), wanted, "nothing was changed")
        self._bound.add(db_url)
        return self

    def create(self, conn: Connection, ident: str) -> None:
        """`trigger keys move`: make the key store if there is none (a SQLite file private to its
        owner, the key tables) and write the database's id `ident` into it, or check that the store
        is the database's (`conn`): refused, in one line, when it carries another id."""
        db_url = conn.engine.url.render_as_string(hide_password=False)
        self._not_the_database(db_url)
        if self.path is not None:
            if not self.path.parent.is_dir():
                raise KeyStoreError(
                    f"{self.where} cannot be reached: its folder {self.path.parent} does not exist; "
                    "nothing was saved"
                )
            try:
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
                os.chmod(self.path, 0o600)  # keys: private to their owner, like the database
            except OSError as exc:
                raise KeyStoreError(
                    f"{self.where} cannot be created: {exc.strerror}; nothing was saved"
                ) from None
        with self.connect(write=True, checked=False) as store:
            metadata.create_all(store, checkfirst=True)
            held = store.execute(select(keystore_id.c.id)).scalar()
            if held is None:
                store.execute(keystore_id.insert().values(id=ident))
            elif held != ident:
                raise self._foreign(held, ident, "nothing was moved")
            if self.path is None:
                guard(store)
        self._bound.add(db_url)

    def rows(self, table: str) -> list[tuple]:
        """Every key of a table: (the columns naming it..., the key)."""
        t = metadata.tables[table]
        with self.connect() as conn:
            return [(*r[:-1], bytes(r[-1])) for r in conn.execute(select(*t.c))]

    def case_keys(self, ids: Iterable[int] | None = None) -> dict[int, bytes]:
        query = select(case_key.c.case_id, case_key.c.key)
        if ids is not None:
            query = query.where(case_key.c.case_id.in_(list(ids)))
        with self.connect() as conn:
            return {cid: bytes(key) for cid, key in conn.execute(query)}

    def key(self, table: str, ident: tuple) -> bytes | None:
        """The key `table` holds under `ident` (the values of its naming columns), or None."""
        t = metadata.tables[table]
        with self.connect() as conn:
            found = conn.execute(select(t.c.key).where(named(t, ident))).scalar()
        return bytes(found) if found is not None else None

    def put(self, table: str, rows: list[tuple]) -> dict[tuple, bytes]:
        """Store keys (each `(naming columns..., key)`) not held yet, and commit before returning: the
        key each name now has in the store (an existing one is kept, not replaced)."""
        t = metadata.tables[table]
        names = TABLES[table]
        held: dict[tuple, bytes] = {}
        with self.connect(write=True) as conn:
            for row in rows:
                ident = tuple(row[:-1])
                found = conn.execute(select(t.c.key).where(named(t, ident))).scalar()
                if found is None:
                    conn.execute(t.insert().values(**dict(zip(names, ident, strict=True)), key=row[-1]))
                    held[ident] = row[-1]
                else:
                    held[ident] = bytes(found)
        return held

    def put_case_key(self, case_id: int, key: bytes) -> bytes:
        return self.put("case_key", [(case_id, key)])[(case_id,)]

    def held(self, table: str) -> set[tuple]:
        """The names of the keys a table holds (`TABLES`), without the keys."""
        t = metadata.tables[table]
        with self.connect() as conn:
            return {tuple(r) for r in conn.execute(select(*(t.c[n] for n in TABLES[table])))}

    def delete(self, table: str, idents: Iterable[tuple], *, lift: bool = False) -> int:
        """Delete keys; with `lift` (`trigger keys move`, as the owner) past a PostgreSQL store's guard
        on match keys (`guard`)."""
        t = metadata.tables[table]
        gone = 0
        lifted = lift and self.path is None and table == "match_key"
        with self.connect(write=True) as conn:
            if lifted:
                conn.exec_driver_sql("ALTER TABLE match_key DISABLE TRIGGER trigger_match_key_kept")
            for ident in idents:
                gone += conn.execute(delete(t).where(named(t, ident))).rowcount or 0
            if lifted:
                conn.exec_driver_sql("ALTER TABLE match_key ENABLE TRIGGER trigger_match_key_kept")
        return gone

    def delete_months(self, partnership_id: int, before: str) -> int:
        """The partnership's month keys before `before` (YYYY-MM)."""
        with self.connect(write=True) as conn:
            done = conn.execute(
                delete(log_key).where(log_key.c.partnership_id == partnership_id, log_key.c.month < before)
            )
            return done.rowcount or 0

    def reclaim(self) -> str | None:
        """After a deletion, on PostgreSQL: rewrite the key tables so the deleted keys leave their files
        (SQLite zeroes them as they go: secure_delete). A warning when it could not, else None."""
        if self.path is not None:
            return None
        try:
            with self.engine.connect() as conn:
                auto = conn.execution_options(isolation_level="AUTOCOMMIT")
                auto.exec_driver_sql("VACUUM (FULL) " + ", ".join(TABLES))
        except (DBAPIError, SQLAlchemyError) as exc:
            first = (str(getattr(exc, "orig", exc)).strip().splitlines() or ["refused"])[0]
            return (
                f"the deleted keys may stay in {self.where}'s table files until its owner runs "
                f"`VACUUM (FULL) {', '.join(TABLES)}` there ({first})"
            )
        return None

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def guard(conn: Connection) -> None:
    """On a PostgreSQL key store: a key is never changed, a match key never deleted (but by the
    tables' owner inside `trigger keys move`), nor the store's id, whoever the login. A case's or a
    month's key can still be deleted by any login holding DELETE (a purge's): the store cannot see
    the database, to know whether the case was purged (docs/operations.md#the-key-store)."""
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(  # the driver's own cursor: no parameters, so RAISE's % placeholders stay as they are
        "CREATE OR REPLACE FUNCTION trigger_store_key_kept() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'a key in the key store is never changed, and a match key never deleted: "
        "% on % is refused', TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $$"
    )
    cursor.close()
    guarded = (
        ("case_key", "UPDATE"),
        ("log_key", "UPDATE"),
        ("match_key", "UPDATE OR DELETE"),
        ("keystore_id", "UPDATE OR DELETE"),  # the id binding the store to its database
    )
    for table, ops in guarded:
        for name, when, each in (
            ("trigger_key_kept", ops, "ROW"),
            ("trigger_key_kept_all", "TRUNCATE", "STATEMENT"),
        ):
            if table == "match_key" and name == "trigger_key_kept":
                name = "trigger_match_key_kept"
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            conn.exec_driver_sql(
                f"CREATE TRIGGER {name} BEFORE {when} ON {table} FOR EACH {each} "
                "EXECUTE FUNCTION trigger_store_key_kept()"
            )


_stores: dict[str, Store] = {}


def configured() -> Store | None:
    """The key store `TRIGGER_KEYSTORE` names; None when it is not set (the keys are in the database)."""
    url = configured_url()
    if url is None:
        return None
    store = _stores.get(url)
    if store is None:
        store = _stores[url] = Store(url)
    return store


def checked(conn: Connection) -> Store | None:
    """The key store `TRIGGER_KEYSTORE` names, checked to be the database's (`Store.check`); None when
    it is not set."""
    store = configured()
    return store.check(conn) if store is not None else None


def required() -> Store:
    """The key store, for a command that is about it: refused in one line when none is set."""
    store = configured()
    if store is None:
        raise InvalidInput(
            f"{ENV} is not set: name the key store the keys go to, e.g. "
            f"{ENV}=sqlite:////srv/keys/trigger-keys.db (docs/operations.md#the-key-store); "
            "nothing was changed"
        )
    return store


def dispose() -> None:
    for store in _stores.values():
        store.dispose()
    _stores.clear()


def marker(conn: Connection) -> str | None:
    """The key store the database says its keys are kept in (`described`), or None."""
    return conn.execute(text("SELECT value FROM setting WHERE key = :k"), {"k": MARKER}).scalar()


def refuse_without_store(kept_in: str) -> NotInitialised:
    return NotInitialised(
        f"this database's keys are kept in a key store ({kept_in}), and {ENV} is not set: set it to the "
        "key store's URL (docs/operations.md#the-key-store); nothing was changed"
    )


def refuse_unmoved(store: Store) -> NotInitialised:
    return NotInitialised(
        f"{ENV} is set, but this database's keys were never moved to {store.where}: run `trigger keys "
        f"move` first (or unset {ENV} to keep them in the database); nothing was saved"
    )


def counts(rows: dict[str, Any]) -> str:
    """`3 case keys and 1 month key` from {table: rows} (match keys named when there are any)."""
    from letters.words import plural

    parts = [
        plural(len(rows.get(name, ())), f"{{n}} {noun}", f"{{n}} {noun}s")
        for name, noun in NOUNS.items()
        if name != "match_key" or rows.get(name)
    ]
    return ", ".join(parts[:-1]) + " and " + parts[-1]
