"""The key store (docs/operations.md#the-key-store): with TRIGGER_KEYSTORE set, the keys that seal
personal data live in a database of their own, so the database's files, its WAL and its backups hold
none of them, and a purge that deletes a key from the store makes every earlier copy of the database
unreadable for that case; and each program checks the store is its database's own. Proved on the
bytes: the keys are read from the key store's file and looked for in the database's files, its dumps
and WAL; and on real interruptions of `trigger keys move`."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import time
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.pool import NullPool

from tests.support.databases import ON_POSTGRES, sqlite_only
from tests.support.forks import Spawned
from tests.support.racers import started
from tests.support.sql import pg_dump, raw_sql, wal_readable, wal_since
from trigger.store.app import dispose_engines

NAME = "Quenbury Keystonewhistle"
REASON = "moving in with Ermintrude Keyholder"


@pytest.fixture
def store(tmp_path, monkeypatch) -> Path:
    """TRIGGER_KEYSTORE: a SQLite file in a folder of its own."""
    folder = tmp_path / "keys"
    folder.mkdir()
    path = folder / "trigger-keys.db"
    monkeypatch.setenv("TRIGGER_KEYSTORE", f"sqlite:///{path}")
    yield path
    dispose_engines()


def _keys(path: Path) -> list[bytes]:
    """Every key the key store's file holds (case keys, month keys, match keys)."""
    conn = sqlite3.connect(path)
    try:
        every = (
            "SELECT key FROM case_key UNION ALL SELECT key FROM log_key UNION ALL SELECT key FROM match_key"
        )
        return [bytes(k) for (k,) in conn.execute(every)]
    finally:
        conn.close()


def _activate(db, name: str, received: str = "2026-05-01", statement: str = "x") -> str:
    args = ("--applicant", name, "--received", received, "--channel", "online", "--statement", statement)
    return db.json("activate", *args)["reference"]


def _old_case(db, tmp_path) -> str:
    ref = _activate(db, NAME, "2018-05-01", f"{NAME} cannot sleep")
    db("withdraw", ref, "--reason", REASON, "--on", "2019-01-10")
    log = tmp_path / "log.csv"
    log.write_text(
        "victim_id,occurred,reported,agency,agency_ref,hate,category,location,description\n"
        "V77,2018-03-01,2018-03-02,police,CAD-1,,,,Thistlekey banged on the wall\n"
    )
    db("incidents", "import", log)
    return ref


def _db_files() -> list[Path]:
    path = Path(os.environ["TRIGGER_DB"][len("sqlite:///") :])
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def _one_line(result) -> str:
    assert result.exit_code != 0 and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@sqlite_only
def test_on_sqlite_the_database_holds_no_key_and_a_copy_taken_before_the_purge_cannot_be_read(
    db, store, tmp_path, monkeypatch
):
    monkeypatch.delenv("TRIGGER_KEYSTORE")
    old = _old_case(db, tmp_path)  # its keys made in the database, as before a key store was set
    monkeypatch.setenv("TRIGGER_KEYSTORE", f"sqlite:///{store}")
    moved = db("keys", "move")
    assert "Moved 1 case key, 1 month key and 1 match key to the key store" in moved.stdout
    assert oct(store.stat().st_mode & 0o777) == "0o600"
    new = _activate(db, "Bea New", statement="the noise goes on")
    keys = _keys(store)
    assert len(keys) == 4 and all(len(k) == 32 for k in keys)
    for f in _db_files():  # neither the moved keys nor the one made since are in the database's files
        data = f.read_bytes()
        assert [k for k in keys if k in data] == [], f
    assert raw_sql("SELECT count(*) FROM case_key")[0][0] == 0
    assert NAME in db("show", old).stdout and "Bea New" in db("show", new).stdout
    verified = db("audit", "verify").stdout
    kept = "Keys: 2 case keys, 1 month key and 1 match key, kept in the key store"
    assert f"{kept} sqlite:///{store}; none in the database." in verified

    before = tmp_path / "before-purge.db"
    backed = db("backup", before)
    assert "Backed up" in backed.stdout
    assert [k for k in keys if k in before.read_bytes()] == []  # the backup holds no key
    key_copy = tmp_path / "keys-backup.db"
    db("backup", "--keys", key_copy)
    assert set(keys) <= {k for k in keys if k in key_copy.read_bytes()}

    purged = db("purge", "--closed-before", "2020-01-01")
    assert "Purged personal data of 1 case" in purged.stdout and purged.stderr == ""
    left = _keys(store)
    assert len(left) == 2  # the live case's, and the partnership's match key (kept while it keeps ids)
    gone = [k for k in keys if k not in left]
    assert len(gone) == 2 and [k for k in gone if k in store.read_bytes()] == []  # zeroed in the file
    assert "intact" in db("audit", "verify").stdout

    # the copy taken before the purge: its case cannot be read, in one line
    monkeypatch.setenv("TRIGGER_DB", f"sqlite:///{before}")
    shown = db("show", old, ok=False)
    line = _one_line(shown)
    assert f"{old}: the case's key is not in the key store" in line and "cannot be read" in line
    assert NAME not in shown.stdout
    assert "Bea New" in db("show", new).stdout  # the live case opens from the copy with the store


def test_keys_move_back_to_the_database_and_out_again(db, store, tmp_path):
    db("keys", "move")  # none yet: the database now says its keys are in the store
    old = _old_case(db, tmp_path)
    assert raw_sql("SELECT count(*) FROM case_key")[0][0] == 0 and len(_keys(store)) == 3
    back = db("keys", "move", "--to-database")
    assert "Moved 1 case key, 1 month key and 1 match key from the key store" in back.stdout
    assert _keys(store) == [] and raw_sql("SELECT count(*) FROM case_key")[0][0] == 1
    assert NAME in db("show", old).stdout
    events = [e["event"] for e in db.json("show", old)["events"]]
    assert events  # the case's own; the moves are the database's events:
    assert raw_sql("SELECT count(*) FROM audit_event WHERE event = 'keys_move'")[0][0] == 2
    again = db("keys", "move")
    assert "Moved 1 case key, 1 month key and 1 match key" in again.stdout and len(_keys(store)) == 3
    assert db("keys", "move").stdout.startswith("Moved 0 case keys and 0 month keys")  # rerun: nothing


def test_keys_move_without_a_key_store_is_refused(db, monkeypatch):
    monkeypatch.delenv("TRIGGER_KEYSTORE", raising=False)
    line = _one_line(db("keys", "move", ok=False))
    assert line.startswith("Error: TRIGGER_KEYSTORE is not set") and "nothing was changed" in line


def test_a_key_store_set_but_never_moved_to_refuses_to_make_keys(db, store):
    args = ("--applicant", "A", "--received", "2026-05-01", "--channel", "online", "--statement", "x")
    result = db("activate", *args, ok=False)
    assert "were never moved to the key store" in _one_line(result)
    assert raw_sql("SELECT count(*) FROM review_case")[0][0] == 0


def test_without_the_key_store_a_database_whose_keys_are_in_one_refuses_in_one_line(db, store, monkeypatch):
    db("keys", "move")
    ref = _activate(db, "Ann")
    monkeypatch.delenv("TRIGGER_KEYSTORE")
    for args in (("show", ref), ("audit", "verify"), ("case", "update", ref, "--phone", "0116 496 0000",
                                                     "--reason", "new number")):  # fmt: skip
        line = _one_line(db(*args, ok=False))
        assert "this database's keys are kept in a key store" in line and "TRIGGER_KEYSTORE" in line


def test_an_unreachable_key_store_is_one_line_and_nothing_is_saved(db, tmp_path, monkeypatch):
    monkeypatch.setenv("TRIGGER_KEYSTORE", f"sqlite:///{tmp_path / 'no-such-folder' / 'keys.db'}")
    line = _one_line(db("keys", "move", ok=False))
    assert "cannot be reached" in line and "no-such-folder" in line
    monkeypatch.setenv("TRIGGER_KEYSTORE", "postgresql+psycopg://nobody@127.0.0.1:9/keys")
    line = _one_line(db("keys", "move", ok=False))
    assert "the key store postgresql+psycopg://nobody@127.0.0.1:9/keys cannot be reached" in line
    monkeypatch.setenv("TRIGGER_KEYSTORE", "mysql://x@y/z")
    assert "a key store is a SQLite file" in _one_line(db("keys", "move", ok=False))
    assert raw_sql("SELECT count(*) FROM audit_event WHERE event = 'keys_move'")[0][0] == 0


def test_a_key_missing_from_the_key_store_is_named_by_show_and_verify(db, store):
    db("keys", "move")
    ref = _activate(db, "Ann")
    db("withdraw", ref, "--reason", "moved away", "--on", "2026-05-02")
    conn = sqlite3.connect(store)
    with conn:
        conn.execute("DELETE FROM case_key")
    conn.close()
    assert "the case's key is not in the key store" in _one_line(db("show", ref, ok=False))
    verified = db("audit", "verify", ok=False)
    assert f"{ref}: the case's key is gone" in verified.stdout and "Traceback" not in verified.stderr
    assert "Keys: 0 case keys and 0 month keys, kept in the key store" in verified.stdout


def test_a_backup_of_the_database_refuses_while_keys_are_still_in_it(db, store, tmp_path, monkeypatch):
    if ON_POSTGRES:
        pytest.skip("PostgreSQL is backed up with pg_dump")
    monkeypatch.delenv("TRIGGER_KEYSTORE")
    _activate(db, "Ann")
    monkeypatch.setenv("TRIGGER_KEYSTORE", f"sqlite:///{store}")
    line = _one_line(db("backup", tmp_path / "b.db", ok=False))
    assert "1 keys are still in the database" in line and "trigger keys move" in line
    assert not (tmp_path / "b.db").exists()


# -- interrupted, for real ---------------------------------------------------------------------------------


def _cli(*args: str) -> Spawned:
    return started(["cli.py", *args])


def _until(what, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.02)


def _marker() -> list:
    return raw_sql("SELECT value FROM setting WHERE key = 'key_store'")


def _killed_while_the_store_waits(store: Path, args: tuple[str, ...], ready) -> None:
    """Run `trigger ARGS` while a reader holds the key store (a shared lock: no writer commits), and
    kill it once `ready()` and its change to the store waits to commit."""
    reader = sqlite3.connect(store)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM case_key").fetchall()
    running = _cli(*args)
    _until(ready)
    _until(lambda: Path(f"{store}-journal").exists())
    running.send_signal(signal.SIGKILL)
    running.wait()
    reader.rollback()
    reader.close()


def test_keys_move_killed_midway_and_run_again_loses_nothing(db, store, tmp_path, monkeypatch):
    """Killed while the key store's change waits to commit (a reader holds the store), and, moving
    back, after the database committed and before the store's keys were deleted: every key is still in
    one place or both, the cases read, and a rerun finishes the move."""
    db("keys", "move")  # the store made and bound to the database (no key yet), then left again
    db("keys", "move", "--to-database")
    monkeypatch.delenv("TRIGGER_KEYSTORE")
    refs = [_activate(db, f"Person {n}") for n in range(3)]
    monkeypatch.setenv("TRIGGER_KEYSTORE", f"sqlite:///{store}")
    dispose_engines()
    # the copy is written, waiting to commit
    _killed_while_the_store_waits(store, ("keys", "move"), lambda: True)
    assert raw_sql("SELECT count(*) FROM case_key")[0][0] == 3 and _marker() == []
    dispose_engines()
    assert _keys(store) == []  # the store's half-made change rolled back
    done = db("keys", "move")
    assert "Moved 3 case keys" in done.stdout and len(_keys(store)) == 3
    assert raw_sql("SELECT count(*) FROM case_key")[0][0] == 0

    # the database committed; deleting from the store, waiting to commit
    committed = lambda: _marker() == [] and raw_sql("SELECT count(*) FROM case_key")[0][0] == 3  # noqa: E731
    _killed_while_the_store_waits(store, ("keys", "move", "--to-database"), committed)
    dispose_engines()
    assert len(_keys(store)) == 3 and raw_sql("SELECT count(*) FROM case_key")[0][0] == 3  # in both
    for n, ref in enumerate(refs):
        assert f"Person {n}" in db("show", ref).stdout
    again = db("keys", "move", "--to-database")
    assert "Moved 3 case keys" in again.stdout and _keys(store) == []
    monkeypatch.delenv("TRIGGER_KEYSTORE")
    for n, ref in enumerate(refs):
        assert f"Person {n}" in db("show", ref).stdout
    assert "intact" in db("audit", "verify").stdout


# -- PostgreSQL ----------------------------------------------------------------------------------------------


@pytest.mark.skipif(not ON_POSTGRES, reason="needs TRIGGER_TEST_DB (PostgreSQL's WAL and pg_dump)")
@pytest.mark.slow
def test_on_postgresql_no_key_is_in_the_wal_or_a_dump(db, store, tmp_path):
    why_not = wal_readable()
    if why_not:
        pytest.skip(why_not)
    (lsn,) = raw_sql("SELECT pg_current_wal_lsn()::text")[0]
    db("keys", "move")
    ref = _old_case(db, tmp_path)
    assert NAME in db("show", ref).stdout
    keys = _keys(store)
    assert len(keys) == 3 and raw_sql("SELECT count(*) FROM case_key")[0][0] == 0
    data = pg_dump(tmp_path / "dump.sql")
    assert b"sealed:c" in data and [k for k in keys if k in data or k.hex().encode() in data] == []
    raw_sql("CHECKPOINT")
    wal = wal_since(lsn)
    assert ref.encode() in wal and [k for k in keys if k in wal] == []
    purged = db("purge", "--closed-before", "2020-01-01")
    assert "Purged personal data of 1 case" in purged.stdout
    gone = [k for k in keys if k not in _keys(store)]
    assert len(gone) == 2 and [k for k in gone if k in store.read_bytes()] == []  # the match key stays
    assert "intact" in db("audit", "verify").stdout


# -- the key store checked against its database ---------------------------------------------------------
# another database's store, a missing one, or the database itself, refused in one line with nothing
# changed; a missing key never made again; a purged case's key brought back goes with the next purge;
# a password in the store's URL shown and kept nowhere

FOREIGN = "is not this database's key store"


def _other_database(db, tmp_path: Path, monkeypatch, name: str) -> tuple[str, Path, str]:
    """Another database (a SQLite file) with a key store of its own and one case: (its URL, its
    store's file, its case's reference). TRIGGER_DB and TRIGGER_KEYSTORE are left naming them."""
    url = f"sqlite:///{tmp_path / f'{name}.db'}"
    folder = tmp_path / f"keys-{name}"
    folder.mkdir()
    path = folder / "trigger-keys.db"
    monkeypatch.setenv("TRIGGER_DB", url)
    monkeypatch.setenv("TRIGGER_KEYSTORE", f"sqlite:///{path}")
    db("init", "--policy", "llr", "--manager-email", "csm@example.gov.uk")
    db("keys", "move")
    ref = _activate(db, f"Bob {name.title()}", statement=f"{name}'s own statement")
    return url, path, ref


def _case_keys(path: Path) -> dict[int, bytes]:
    conn = sqlite3.connect(path)
    try:
        return {cid: bytes(k) for cid, k in conn.execute("SELECT case_id, key FROM case_key")}
    finally:
        conn.close()


def test_another_databases_key_store_is_refused_in_one_line_and_nothing_changes(
    db, store, tmp_path, monkeypatch
):
    home = os.environ["TRIGGER_DB"]
    _url, theirs, their_ref = _other_database(db, tmp_path, monkeypatch, "other")
    their_keys = _case_keys(theirs)
    assert list(their_keys) == [1]

    # this database, its keys never moved, pointed at the other's store: keys move refuses it
    monkeypatch.setenv("TRIGGER_DB", home)
    monkeypatch.delenv("TRIGGER_KEYSTORE")
    ref = _activate(db, "Ann Home", statement="home's own statement")
    assert ref == their_ref  # the same number, case id 1, in both
    monkeypatch.setenv("TRIGGER_KEYSTORE", f"sqlite:///{theirs}")
    line = _one_line(db("keys", "move", ok=False))
    assert FOREIGN in line and "nothing was moved" in line
    assert raw_sql("SELECT count(*) FROM case_key")[0][0] == 1 and _case_keys(theirs) == their_keys
    assert raw_sql("SELECT count(*) FROM setting WHERE key = 'key_store'") == [(0,)]

    # moved to its own store, then pointed at the other's: every use of the store is refused
    monkeypatch.setenv("TRIGGER_KEYSTORE", f"sqlite:///{store}")
    db("keys", "move")
    mine = _case_keys(store)
    monkeypatch.setenv("TRIGGER_KEYSTORE", f"sqlite:///{theirs}")
    events = raw_sql("SELECT count(*) FROM audit_event")
    shown = db("show", ref, ok=False)
    assert FOREIGN in _one_line(shown) and "sealed text" not in shown.stdout
    args = ("--applicant", "Cy New", "--received", "2026-05-01", "--channel", "online", "--statement", "x")
    assert FOREIGN in _one_line(db("activate", *args, ok=False))
    assert "nothing was moved" in _one_line(db("keys", "move", ok=False))
    assert FOREIGN in _one_line(db("keys", "move", "--to-database", ok=False))
    assert FOREIGN in _one_line(db("purge", "--closed-before", "2020-01-01", ok=False))
    assert FOREIGN in _one_line(db("audit", "verify", ok=False))
    assert FOREIGN in _one_line(db("backup", "--keys", tmp_path / "k.db", ok=False))
    assert raw_sql("SELECT count(*) FROM audit_event") == events
    assert raw_sql("SELECT count(*) FROM review_case")[0][0] == 1
    assert _case_keys(theirs) == their_keys and _case_keys(store) == mine  # neither store touched

    monkeypatch.setenv("TRIGGER_KEYSTORE", f"sqlite:///{store}")
    assert "Ann Home" in db("show", ref).stdout


def test_a_missing_key_store_is_refused_and_not_made_again(db, store, tmp_path, monkeypatch):
    db("keys", "move")
    ref = _activate(db, "Ann")
    away = tmp_path / "unmounted.db"
    store.rename(away)
    dispose_engines()
    for args in (("show", ref), ("withdraw", ref, "--reason", "moved away", "--on", "2026-05-02")):
        line = _one_line(db(*args, ok=False))
        assert f"there is no key store at sqlite:///{store}" in line and "nothing was changed" in line
        assert not store.exists()
    away.rename(store)
    dispose_engines()
    assert "Ann" in db("show", ref).stdout


@pytest.mark.parametrize("url", ["sqlite:///relative-keys.db", "sqlite:///{path}?mode=ro"])
def test_a_sqlite_key_store_is_an_absolute_file_and_nothing_else(db, store, url, monkeypatch):
    db("keys", "move")
    monkeypatch.setenv("TRIGGER_KEYSTORE", url.format(path=store))
    result = db("show", "CT-2026-0001", ok=False)
    assert "a SQLite key store must be a file named by its absolute path alone" in _one_line(result)
    assert "Warning" not in result.stderr


def test_the_database_itself_as_its_key_store_is_refused(db, monkeypatch):
    ref = _activate(db, "Ann")
    monkeypatch.setenv("TRIGGER_KEYSTORE", os.environ["TRIGGER_DB"])
    for args in (("keys", "move"), ("show", ref)):
        line = _one_line(db(*args, ok=False))
        assert "TRIGGER_KEYSTORE names the database itself" in line and "locked" not in line
    assert raw_sql("SELECT count(*) FROM case_key")[0][0] == 1


def test_a_write_to_a_case_whose_key_is_missing_is_refused_and_makes_no_key(db, store):
    db("keys", "move")
    ref = _activate(db, "Ann")
    conn = sqlite3.connect(store)
    with conn:
        conn.execute("DELETE FROM case_key")
    conn.close()
    before = raw_sql("SELECT state, (SELECT count(*) FROM audit_event) FROM review_case")
    line = _one_line(db("withdraw", ref, "--reason", "moved away", "--on", "2026-05-02", ok=False))
    assert f"{ref}: the case's key is not in the key store" in line and "nothing was changed" in line
    assert raw_sql("SELECT state, (SELECT count(*) FROM audit_event) FROM review_case") == before
    assert _case_keys(store) == {}


def test_a_write_to_a_case_whose_key_was_deleted_from_the_database_is_refused(db, monkeypatch):
    if os.environ["TRIGGER_DB"].startswith("postgresql"):
        pytest.skip("the database's own guard keeps a live case's key once `db grant` has run")
    ref = _activate(db, "Ann")
    raw_sql("DELETE FROM case_key")
    line = _one_line(db("withdraw", ref, "--reason", "moved away", "--on", "2026-05-02", ok=False))
    assert f"{ref}: the case's key is gone" in line
    assert raw_sql("SELECT count(*) FROM case_key")[0][0] == 0
    assert raw_sql("SELECT state FROM review_case")[0][0] != "withdrawn"


def test_a_purged_cases_key_brought_back_by_a_restored_store_goes_with_the_next_purge(db, store, tmp_path):
    db("keys", "move")
    old = _old_case(db, tmp_path)
    live = _activate(db, "Bea Live", statement="the noise goes on")
    copy = tmp_path / "keys-before-purge.db"
    db("backup", "--keys", copy)
    before = _keys(store)
    db("purge", "--closed-before", "2020-01-01")
    gone = [k for k in before if k not in _keys(store)]
    assert len(gone) == 2  # the old case's key and its month's

    dispose_engines()
    shutil.copyfile(copy, store)  # the key store restored from the copy taken before the purge
    verified = db("audit", "verify", ok=False).stdout
    assert f"{old}: purged on" in verified and "its key is still held" in verified
    again = db("purge", "--closed-before", "2019-01-01")
    assert (
        "Deleted from the key store 1 case keys and 1 month keys that earlier purges had deleted"
        in again.stderr
    )
    data = store.read_bytes()
    assert [k for k in gone if k in data] == []  # gone from the file's bytes
    assert "intact" in db("audit", "verify").stdout
    assert "Bea Live" in db("show", live).stdout
    detail = raw_sql("SELECT detail FROM audit_event WHERE event = 'purge_keys'")
    assert len(detail) == 1 and old in detail[0][0]
    third = db("purge", "--closed-before", "2019-01-01")
    assert "Deleted from the key store" not in third.stderr


def test_a_password_in_the_key_stores_url_is_shown_and_kept_nowhere(db, monkeypatch):
    monkeypatch.setenv("TRIGGER_KEYSTORE", "postgresql+psycopg://u@127.0.0.1:1/x?password=s3cretpw")
    result = db("keys", "move", ok=False)
    assert "cannot be reached" in _one_line(result) and "s3cretpw" not in result.stderr + result.stdout
    monkeypatch.setenv("TRIGGER_KEYSTORE", "postgresql+psycopg://u:s3cretpw@127.0.0.1:1/x")
    result = db("keys", "move", ok=False)
    assert "s3cretpw" not in result.stderr + result.stdout


def _pg_server() -> str:
    return (
        os.environ.get("TRIGGER_TEST_DB", "").strip() or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )


@pytest.mark.any_engine
def test_on_a_postgresql_key_store_a_key_is_never_changed_and_no_password_is_kept(db, tmp_path, monkeypatch):
    """The key store on PostgreSQL (its own schema): made by `keys move` only, guarded by its own
    triggers; the password in its URL is in neither the database's record nor the audit log."""
    import secrets
    from urllib.parse import quote

    server = _pg_server()
    admin = sqlalchemy.create_engine(server, poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sqlalchemy.exc.OperationalError:
        pytest.skip("no PostgreSQL server at " + server)
    schema = f"ks_{secrets.token_hex(4)}"
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    base = sqlalchemy.engine.make_url(server).set(password="s3cretpw").render_as_string(hide_password=False)
    url = f"{base}?options={quote(f'-csearch_path={schema}', safe='')}"
    try:
        ref = _activate(db, "Ann")
        monkeypatch.setenv("TRIGGER_KEYSTORE", url)
        line = _one_line(db("show", ref, ok=False))
        assert "were never moved" in line and "s3cretpw" not in line
        with admin.connect() as conn:  # no command but `keys move` makes the store's tables
            assert (
                conn.exec_driver_sql(f"SELECT count(*) FROM pg_tables WHERE schemaname = '{schema}'").scalar()
                == 0
            )
        db("keys", "move")
        assert "Ann" in db("show", ref).stdout and "Bea" in db("show", _activate(db, "Bea")).stdout
        kept = raw_sql("SELECT value FROM setting WHERE key = 'key_store'")[0][0]
        moved = raw_sql("SELECT detail FROM audit_event WHERE event = 'keys_move'")[0][0]
        assert "s3cretpw" not in kept and "s3cretpw" not in moved and "password" not in kept
        with admin.connect() as conn:
            conn.exec_driver_sql(f"SET search_path = {schema}")
            conn.exec_driver_sql("INSERT INTO match_key VALUES (99, '\\x00')")
            conn.commit()
            for statement in (
                "UPDATE case_key SET key = key",
                "DELETE FROM match_key",
                "TRUNCATE case_key",
                "UPDATE keystore_id SET id = 'another'",
            ):
                with pytest.raises(sqlalchemy.exc.DBAPIError, match="is refused"):
                    with conn.begin():
                        conn.exec_driver_sql(statement)
        back = db("keys", "move", "--to-database")
        assert "none is left in the key store" in back.stdout and "1 keys of no case" in back.stderr
        monkeypatch.delenv("TRIGGER_KEYSTORE")
        assert "Ann" in db("show", ref).stdout
    finally:
        dispose_engines()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()
