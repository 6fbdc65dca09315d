"""The key store checked against its database (docs/operations.md#the-key-store): a store that is
another database's, missing, or the database itself is refused in one line, and nothing changes; a
case whose key is missing is never given a new one; a purged case's key that comes back (a restored
copy of the store) goes with the next purge; a password in the store's URL is shown nowhere."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy
from sqlalchemy.pool import NullPool

from tests.support.sql import raw_sql
from tests.test_keystore import _activate, _keys, _old_case, _one_line
from trigger.store.app import dispose_engines

FOREIGN = "is not this database's key store"


@pytest.fixture
def store(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "keys"
    folder.mkdir()
    path = folder / "trigger-keys.db"
    monkeypatch.setenv("TRIGGER_KEYSTORE", f"sqlite:///{path}")
    yield path
    dispose_engines()


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
            for statement in ("UPDATE case_key SET key = key", "DELETE FROM match_key", "TRUNCATE case_key"):
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
