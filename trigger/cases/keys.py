"""`trigger keys move`: the keys that seal personal data moved from the database to the key store
(`TRIGGER_KEYSTORE`), or back with `--to-database` (docs/operations.md#the-key-store).

Never a moment where a key is nowhere: each key is copied and committed where it goes, read back from
there and compared, and only then deleted where it was. Interrupted at any point, every key is in one
place or both, and a rerun finishes the move (a key already where it goes, with the same bytes, is
not copied again; one with other bytes is refused, and nothing is deleted). The whole move holds the
writers' lock, so no change makes a key meanwhile; it is recorded in the audit log.

Moving out, the key store is made if there is none (no other command makes one), and bound to the
database: a random id, committed in the database first (`keystore.ID_SETTING`), then written into the
store, whose own id, if it has one, must be the same (another database's store is refused, nothing
moved). The database records that its keys are kept in a store (`trigger.store.keystore.MARKER`),
and the old key rows are cleaned from its files as a purge cleans them (`VACUUM (FULL)` on
PostgreSQL, the WAL emptied on SQLite). Moving back, the keys of cases that no longer exist or were
purged (a change that rolled back after its key was stored) stay out of the database and leave the
store with the rest.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy import delete, insert, select, text
from sqlmodel import Session

from trigger.errors import Damaged, NotInitialised, NotPermitted, StorageError
from trigger.store import audit, db, keystore
from trigger.store import tables as t
from trigger.store.access import SETUP, needs
from trigger.store.app import App, today, writers_lock

KEY_TABLES = list(keystore.TABLES)


@dataclass
class Moved:
    where: str  # the key store, as a message names it
    to_database: bool
    moved: dict[str, list[tuple]] = field(default_factory=dict)  # table -> the keys moved
    dropped: int = 0  # keys in the store of no case (or of a purged one), not moved back
    warnings: list[str] = field(default_factory=list)


def _table(name: str):
    return getattr(t, name)


def _describe(name: str, ident: tuple) -> str:
    if name == "case_key":
        return f"case {ident[0]}"
    return (
        f"partnership {ident[0]}'s month {ident[1]}"
        if name == "log_key"
        else f"partnership {ident[0]}'s match key"
    )


def _database_keys(conn) -> dict[str, dict[tuple, bytes]]:
    out = {}
    for name in KEY_TABLES:
        table = _table(name)
        out[name] = {tuple(r[:-1]): bytes(r[-1]) for r in conn.execute(select(*table.c))}
    return out


def _owner_only(session: Session) -> list[tuple[str, str]]:
    """On PostgreSQL: only the tables' owner (or a superuser) may move keys, as only they may lift the
    guards that keep a live case's key and a match key from being deleted (`trigger db grant`): the
    (table, trigger) of each installed (none on SQLite)."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return []
    owner, me, superuser = conn.execute(
        text(
            "SELECT pg_get_userbyid(c.relowner), current_user, (SELECT rolsuper FROM pg_roles "
            "WHERE rolname = current_user) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relname = 'case_key'"
        )
    ).one()
    if owner != me and not superuser:
        raise NotPermitted(
            f"`trigger keys move` must run as the tables' owner ({owner}) or a superuser, not {me}; "
            "nothing was moved"
        )
    guarded = conn.execute(
        text(
            "SELECT c.relname, g.tgname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
            "AND (c.relname, g.tgname) IN (('case_key', 'trigger_key_kept'), "
            "('match_key', 'trigger_match_key_kept'))"
        )
    ).all()
    return [(table, name) for table, name in guarded]


def _xid(session: Session) -> int | None:
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return None
    return conn.exec_driver_sql("SELECT pg_current_xact_id()::text::bigint").scalar()


def _set_marker(session: Session, value: str | None) -> None:
    conn = session.connection()
    conn.execute(text("DELETE FROM setting WHERE key = :k"), {"k": keystore.MARKER})
    if value is not None:
        conn.execute(
            text("INSERT INTO setting (key, value) VALUES (:k, :v)"), {"k": keystore.MARKER, "v": value}
        )


@needs(SETUP)
def move(app: App, *, to_database: bool = False) -> Moved:
    """Move every key to the key store `TRIGGER_KEYSTORE` names (or back to the database); refused
    when none is set. Safe to rerun, and to rerun after an interruption."""
    with app.read():  # who may (only an admin), before what is set
        pass
    store = keystore.required()
    if not db.schema_state(app.engine).up_to_date:
        raise NotInitialised(
            "the database's schema is not this trigger's: run `trigger db upgrade` first (its migrations "
            "may make keys in the database); nothing was moved"
        )
    return _back(app, store) if to_database else _out(app, store)


def _store_id(app: App) -> str:
    """The id binding the database to its key store (`keystore.ID_SETTING`): made and committed in the
    database first, so that a move interrupted after the store took it finds it again."""
    with app.write() as session:
        writers_lock(session)
        _owner_only(session)
        conn = session.connection()
        query = text("SELECT value FROM setting WHERE key = :k")
        ident = conn.execute(query, {"k": keystore.ID_SETTING}).scalar()
        if ident is None:
            ident = secrets.token_hex(16)
            conn.execute(
                text("INSERT INTO setting (key, value) VALUES (:k, :v)"),
                {"k": keystore.ID_SETTING, "v": ident},
            )
    return ident


def _out(app: App, store: keystore.Store) -> Moved:
    from trigger.cases.retention import reclaim

    done = Moved(store.where, False)
    bond = _store_id(app)
    with app.write() as session:
        writers_lock(session)  # no change makes a key while they move
        guard = _owner_only(session)
        xid = _xid(session)
        conn = session.connection()
        store.create(conn, bond)  # made, or refused when it is another database's
        keys = _database_keys(conn)
        # 1. copied, and committed in the store
        for name, held in keys.items():
            there = store.put(name, [(*ident, key) for ident, key in held.items()])
            other = [ident for ident, key in held.items() if there[ident] != key]
            if other:
                raise Damaged(
                    f"{store.where} already holds another key for {_describe(name, other[0])} "
                    f"({len(other)} in all): nothing was moved or deleted; find which key opens the "
                    "case's values before going on"
                )
        # 2. read back from the store and compared
        for name, held in keys.items():
            there = {tuple(r[:-1]): r[-1] for r in store.rows(name)}
            if any(there.get(ident) != key for ident, key in held.items()):
                raise StorageError(f"{store.where} did not keep the keys written to it; nothing was deleted")
        # 3. only then deleted from the database (each row only if it still holds that key)
        for table, name in guard:
            conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER {name}")
        for name, held in keys.items():
            table = _table(name)
            for ident, key in held.items():
                conn.execute(delete(table).where(keystore.named(table, ident), table.c.key == key))
        for table, name in guard:
            conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER {name}")
        done.moved = {name: list(held) for name, held in keys.items()}
        _set_marker(session, keystore.described(store.url))
        _recorded(session, app, store, done)
    if any(done.moved.values()):
        done.warnings += reclaim(app, xid, KEY_TABLES)
    return done


def _recorded(session: Session, app: App, store: keystore.Store, done: Moved) -> None:
    """The move, in the audit log: which way, the key store and how many keys."""
    counted = {name: len(done.moved.get(name, ())) for name in KEY_TABLES}
    where = keystore.described(store.url)
    detail = {"to": "database" if done.to_database else "key store", "store": where}
    audit.record(session, None, "keys_move", actor=app.actor, on=today(), detail={**detail, **counted})


def _back(app: App, store: keystore.Store) -> Moved:
    done = Moved(store.where, True)
    leaving: dict[str, list[tuple]] = {}
    with app.write() as session:
        writers_lock(session)
        _owner_only(session)
        conn = session.connection()
        store.check(conn)  # this database's, or refused
        cases = dict(conn.execute(select(t.review_case.c.id, t.review_case.c.purged)).all())
        partnerships = set(conn.execute(select(t.partnership.c.id)).scalars())
        here = _database_keys(conn)
        for name in KEY_TABLES:
            table = _table(name)
            rows = store.rows(name)
            leaving[name] = [tuple(r[:-1]) for r in rows]
            moving = []
            for *ident_list, key in rows:
                ident = tuple(ident_list)
                wanted = cases.get(ident[0]) is False if name == "case_key" else ident[0] in partnerships
                if not wanted:
                    done.dropped += 1
                    continue
                if ident in here[name]:
                    if here[name][ident] != key:
                        raise Damaged(
                            f"the database already holds another key for {_describe(name, ident)}: nothing "
                            "was moved or deleted; find which key opens the case's values before going on"
                        )
                else:
                    moving.append(dict(zip(keystore.TABLES[name], ident, strict=True), key=key))
                done.moved.setdefault(name, []).append(ident)
            if moving:
                conn.execute(insert(table), moving)
        _set_marker(session, None)
        _recorded(session, app, store, done)
    # committed: read back from the database, and only then deleted from the store
    with app.engine.connect() as conn:
        here = _database_keys(conn)
    kept = {name: store.rows(name) for name in KEY_TABLES}
    for name, rows in kept.items():
        for *ident_list, key in rows:
            ident = tuple(ident_list)
            if ident in done.moved.get(name, ()) and here[name].get(ident) != key:
                raise StorageError(
                    f"the database did not keep the key of {_describe(name, ident)}; nothing was deleted "
                    f"from {store.where}"
                )
    for name in KEY_TABLES:
        store.delete(name, leaving[name], lift=True)
    warning = store.reclaim()
    done.warnings += [warning] if warning else []
    return done
