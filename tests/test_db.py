"""The database: migrations shipped in the package, the schema check on open, backup and restore."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from tests.support.databases import ON_POSTGRES, sqlite_only
from trigger.store import audit
from trigger.store import db as database
from trigger.store.app import App, get_engine
from trigger.store.models import metadata


def _differences(url: str) -> list:
    with get_engine(url).connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), metadata)


def test_init_migrates_an_empty_database_to_a_schema_that_matches_the_models(trigger):
    url = os.environ["TRIGGER_DB"]
    trigger("init", "--policy", "llr")
    assert _differences(url) == []
    shown = trigger("db", "current").stdout
    assert f"current: {database.head_revisions()[0]}" in shown and "up to date" in shown
    assert trigger.json("db", "current") == {
        "current": database.head_revisions(),
        "head": database.head_revisions(),
        "up_to_date": True,
    }


@pytest.mark.no_schema
def test_db_upgrade_creates_the_schema_and_is_safe_to_rerun(trigger):
    url = os.environ["TRIGGER_DB"]
    assert "no migrations applied" in trigger("db", "current").stdout
    assert "(up to date)" in trigger("db", "upgrade").stdout
    assert "(up to date)" in trigger("db", "upgrade").stdout
    assert _differences(url) == []


def test_the_shipped_head_follows_the_initial_revision_and_is_found_without_alembic():
    assert database.head_revisions() == ["0007_sealed_log_corrections"]
    assert (database.VERSIONS / "0001_initial.py").read_text().count("import sqlmodel") == 1


@pytest.mark.no_schema
def test_a_command_on_an_empty_database_says_run_init(trigger):
    for args in (
        ("show", "CT-2026-0001"),
        ("list",),
        (
            "activate",
            "--applicant",
            "A",
            "--received",
            "2026-03-02",
            "--channel",
            "online",
            "--statement",
            "x",
        ),
    ):
        result = trigger.fails(*args)
        assert "run `trigger init` first" in result.stderr
        assert "Traceback" not in result.stderr


def test_a_database_behind_the_code_warns_once_on_stderr(db, case, monkeypatch):
    monkeypatch.setattr(database, "_head_cache", ["0099_future"])
    result = db("show", case)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: this database is at schema revision 0007_sealed_log_corrections, the code expects "
        "0099_future; run `trigger db upgrade`"
    ]
    assert case in result.stdout


@sqlite_only  # PostgreSQL alters a table in place; SQLite's batch migrations copy it
def test_a_database_with_cases_goes_back_to_the_first_revision_and_up_again_keeping_them(db, case):
    # each revision after the first rebuilds review_case on SQLite, which every other table refers to
    from alembic import command

    url = os.environ["TRIGGER_DB"]
    before = db.json("show", case)
    with database.migrating(get_engine(url)) as conn:
        command.downgrade(database._config(conn), database.INITIAL)
    assert "current: 0001_initial" in db("db", "current").stdout
    assert "up to date" in db("db", "upgrade").stdout
    after = db.json("show", case)
    kept = ("reference", "state", "received", "applicant", "incidents", "threshold", "events")
    assert {k: after[k] for k in kept} == {k: before[k] for k in kept}
    assert before["incidents"]
    assert _differences(url) == []


def test_a_database_migrated_by_a_newer_trigger_is_flagged(db, case):
    with get_engine(os.environ["TRIGGER_DB"]).begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0009_unknown'"))
    result = db("show", case)
    assert "migrated by a newer trigger (revision 0009_unknown)" in result.stderr


def _one_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in result.stderr, (
        result.stderr
    )
    return lines[0]


@pytest.mark.no_schema
def test_a_database_made_before_migrations_is_refused_until_adopted_after_a_check(trigger):
    url = os.environ["TRIGGER_DB"]
    metadata.create_all(get_engine(url))  # what the foundation's `trigger init` did
    for args in (("list",), ("db", "upgrade"), ("init", "--policy", "llr")):
        line = _one_line(trigger.fails(*args))
        assert "no record of its schema revision" in line and "trigger db upgrade --adopt" in line
    assert "no migrations applied" in trigger("db", "current").stdout  # never stamped by a refusal
    trigger("db", "upgrade", "--adopt")
    assert f"current: {database.head_revisions()[0]}" in trigger("db", "current").stdout
    assert trigger("list").stderr == ""
    assert "only for a database with tables but no revision" in _one_line(
        trigger.fails("db", "upgrade", "--adopt")
    )


@pytest.mark.no_schema
def test_a_database_whose_tables_do_not_match_is_not_adopted(trigger):
    url = os.environ["TRIGGER_DB"]
    metadata.create_all(get_engine(url))
    with get_engine(url).begin() as conn:
        conn.execute(text("DROP TABLE reminder"))
        conn.execute(text("ALTER TABLE agency ADD COLUMN fax VARCHAR"))
    line = _one_line(trigger.fails("db", "upgrade", "--adopt"))
    assert "table reminder is missing" in line and "agency.fax is not one of ours" in line
    assert "no migrations applied" in trigger("db", "current").stdout


def test_a_database_migrated_by_a_newer_trigger_is_read_with_a_warning_and_never_written(db, case):
    with get_engine(os.environ["TRIGGER_DB"]).begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0009_unknown'"))
    before = db.json("show", case)
    for args in (
        ("decide", case, "--met", "--on", "2026-03-05"),
        ("agency", "add", "fire", "--name", "Fire and Rescue", "--kind", "other"),
        ("db", "upgrade"),
        ("init", "--policy", "llr"),
    ):
        line = _one_line(db.fails(*args))
        assert "migrated by a newer trigger" in line and "Upgrade trigger" in line, line
    shown = db("show", case)
    assert "migrated by a newer trigger (revision 0009_unknown)" in shown.stderr
    assert db.json("show", case) == before


@sqlite_only
def test_the_sqlite_database_file_is_private_to_its_owner(trigger):
    trigger("init", "--policy", "llr")
    path = Path(os.environ["TRIGGER_DB"][len("sqlite:///") :])
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@sqlite_only
def test_backup_then_restore_brings_back_the_data_as_it_was(db, case, tmp_path):
    url = os.environ["TRIGGER_DB"]
    live = Path(url[len("sqlite:///") :])
    copy = tmp_path / "backup.db"
    out = db("backup", copy).stdout
    assert "Backed up" in out and str(copy) in out
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600

    db("decide", case, "--met", "--on", "2026-03-05")
    assert db.json("show", case)["state"] == "threshold_met"

    from trigger.store.app import dispose_engines

    dispose_engines()  # "stop trigger", then copy the file back
    for suffix in ("-wal", "-shm"):
        Path(f"{live}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(copy, live)

    assert db.json("show", case)["state"] == "received"
    with App(url).read() as session:
        assert audit.verify(session).ok
    db("decide", case, "--met", "--on", "2026-03-05")  # and work carries on from the restored state


@sqlite_only
def test_backup_refuses_a_folder_and_the_database_itself(db, tmp_path):
    live = os.environ["TRIGGER_DB"][len("sqlite:///") :]
    assert "is a folder; name a file" in db.fails("backup", tmp_path).stderr
    assert "is the database" in db.fails("backup", live).stderr
    assert "does not exist" in db.fails("backup", tmp_path / "nope" / "b.db").stderr


def test_backup_of_a_postgresql_database_points_to_pg_dump(trigger, tmp_path):
    result = trigger.fails("--db", "postgresql+psycopg://nobody@127.0.0.1:1/x", "backup", tmp_path / "b.db")
    assert "pg_dump" in result.stderr and "Shared PostgreSQL" in result.stderr
    assert not (tmp_path / "b.db").exists()


@pytest.mark.skipif(not ON_POSTGRES, reason="needs TRIGGER_TEST_DB (PostgreSQL)")
def test_postgres_stores_recording_times_as_timestamptz(db, case):
    with get_engine(os.environ["TRIGGER_DB"]).connect() as conn:
        kind = conn.execute(
            text(
                "SELECT data_type FROM information_schema.columns WHERE table_schema = "
                "current_schema() AND table_name = 'audit_event' AND column_name = 'at'"
            )
        ).scalar()
        verified = conn.execute(text("SELECT count(*) FROM audit_event")).scalar()
    assert kind == "timestamp with time zone" and verified >= 4
