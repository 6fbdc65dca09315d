"""Retention reaches everything personal (docs/procedure.md#retention): `purge` deletes imported
incident rows older than the date, blanks every free text of a purged case (closure and decision
reasons, findings, recommendations, actions, notes), and afterwards rewrites the tables touched so the
old bytes are gone from the files: on PostgreSQL (VACUUM FULL) the table files themselves are read
back through the server; on SQLite the file and its WAL."""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

import pytest

from tests.support.databases import ON_POSTGRES, sqlite_only
from tests.support.sql import raw_sql
from trigger.cases import moves, review
from trigger.store.app import App

HEADER = "victim_id,occurred,reported,agency,agency_ref,hate,category,location,description\n"
SECRET = "Zebediah Quartermaine"  # a name to look for, byte by byte, after the purge


@pytest.fixture
def old_case(db, tmp_path):
    """A case closed in 2019 with free text everywhere, and an imported log with a 2012 row."""
    app = App()
    ref = moves.activate(
        app,
        applicant=SECRET,
        received=date(2018, 5, 1),
        channel="online",
        statement=f"{SECRET} says the shouting never stops",
        address="12 Ashby Road",
    ).reference
    for day in ("2018-04-03", "2018-04-10", "2018-04-17"):
        db(
            "incident", "add", ref, "--occurred", day, "--reported", day, "--agency", "police",
            "--description", f"{SECRET} shouting", "--complainant", SECRET, "--on", "2018-05-02",
        )  # fmt: skip
    moves.decide(app, ref, met=True, reason=f"discretion: {SECRET} is vulnerable", on=date(2018, 5, 10))
    moves.assign(app, ref, lead="cbc", reviewer="Sam Reviewer", on=date(2018, 5, 11))
    review.meeting(app, ref, at=datetime(2018, 6, 1, 10), held=True, attendees=f"{SECRET}, police")
    review.add_finding(app, ref, category="risk", text=f"{SECRET} was not risk assessed", on=date(2018, 6, 1))
    review.recommend(app, ref, to="police", text=f"Visit {SECRET}", on=date(2018, 6, 1))
    review.add_action(
        app, ref, action=f"Call {SECRET} weekly", owner="cbc", due=date(2018, 7, 1), on=date(2018, 6, 1)
    )
    review.update_action(app, ref, 1, status="done", note=f"{SECRET} called", on=date(2018, 6, 20))
    moves.issue_outcome(app, ref, victim_consulted=True, on=date(2018, 6, 5))
    moves.close(app, ref, reason=f"{SECRET} moved to Leeds", force=True, on=date(2019, 1, 10))
    log = tmp_path / "log.csv"
    log.write_text(
        HEADER
        + f"V9,2012-03-01,2012-03-02,police,CAD-2012,,,,{SECRET} shouting at 2am\n"
        + "V9,2026-01-10,2026-01-11,police,CAD-2026,,,,recent report\n"
    )
    db("incidents", "import", log)
    for agency_ref in ("CAD-2012", "CAD-2026"):  # what each row said is kept in its correction
        ((row,),) = raw_sql("SELECT id FROM incident WHERE agency_ref = :r", r=agency_ref)
        db(
            "incident",
            "update",
            row,
            "--description",
            "at Ashby Road",
            "--reason",
            f"{SECRET} gave the street",
        )
    return ref


def test_purge_removes_old_imported_rows_and_every_free_text_of_the_case(db, old_case):
    out = db("purge", "--closed-before", "2020-01-01").stdout
    assert "Purged personal data of 1 case" in out
    assert "Removed 1 imported incident row reported before 2020-01-01." in out
    left = raw_sql("SELECT agency_ref FROM incident WHERE case_id IS NULL")
    assert [r[0] for r in left] == ["CAD-2026"]  # the 2012 row is gone, the recent one kept
    # and its correction, which kept what it said and why; the recent row's stays, and reads
    fixed = raw_sql(
        "SELECT c.reason FROM correction c JOIN incident i ON i.id = c.subject_id WHERE c.case_id IS NULL"
    )
    assert raw_sql("SELECT count(*) FROM correction WHERE case_id IS NULL") == [(1,)] and len(fixed) == 1
    assert fixed[0][0].startswith("sealed:m1/2026-01:")
    # and the key its text was sealed under: a backup's copy of the row can no longer be read
    assert [r[0] for r in raw_sql("SELECT month FROM log_key")] == ["2026-01"]
    shown = db.json("show", old_case)
    # the audit events' reasons too: their case's key went with the purge (docs/operations.md#erasure)
    dumped = (
        repr(shown)
        + repr(raw_sql("SELECT * FROM threshold_decision"))
        + repr(raw_sql("SELECT * FROM action"))
    )
    dumped += repr(raw_sql("SELECT * FROM finding")) + repr(raw_sql("SELECT * FROM recommendation"))
    dumped += repr(raw_sql("SELECT * FROM meeting")) + repr(raw_sql("SELECT * FROM review_case"))
    assert SECRET not in dumped, [dumped[max(0, i - 150) : i + 40] for i in [dumped.find(SECRET)]]
    assert "Leeds" not in dumped and "vulnerable" not in dumped
    assert "intact" in db("audit", "verify").stdout
    again = db("purge", "--closed-before", "2020-01-01").stdout
    assert "0 cases" in again and "Removed 0 imported" in again


def test_a_dry_run_counts_the_imported_rows_and_changes_nothing(db, old_case):
    out = db("purge", "--closed-before", "2020-01-01", "--dry-run").stdout
    assert "Would remove 1 imported incident row" in out
    assert len(raw_sql("SELECT id FROM incident WHERE case_id IS NULL")) == 2


@pytest.mark.skipif(not ON_POSTGRES, reason="needs TRIGGER_TEST_DB (PostgreSQL table files)")
def test_on_postgresql_the_purged_name_is_gone_from_the_table_files(db, old_case):
    tables = (
        "review_case",
        "incident",
        "finding",
        "action",
        "meeting",
        "threshold_decision",
        "recommendation",
        "correction",
    )

    def found_in_files() -> list[str]:
        raw_sql("CHECKPOINT")  # what is in shared buffers goes to the files
        hits = []
        for table in tables:
            (path,) = raw_sql(f"SELECT pg_relation_filepath('{table}')")[0]
            (data,) = raw_sql("SELECT pg_read_binary_file(:p)", p=path)[0]
            if SECRET.encode() in bytes(data):
                hits.append(table)
        return hits

    # the case's rows are sealed under its key from the start, the imported log's rows under the key of
    # the month they were reported, while the engine reads them (docs/operations.md#erasure)
    assert found_in_files() == [] and SECRET in db("show", old_case).stdout
    purged = db("purge", "--closed-before", "2020-01-01")
    assert "Purged personal data of 1 case" in purged.stdout and purged.stderr == ""
    assert found_in_files() == [], purged.stdout


@sqlite_only
def test_on_sqlite_the_purged_name_is_gone_from_the_file_and_its_wal(db, old_case):
    path = Path(os.environ["TRIGGER_DB"][len("sqlite:///") :])
    db("purge", "--closed-before", "2020-01-01")
    files = [path, Path(f"{path}-wal")]
    data = b"".join(f.read_bytes() for f in files if f.exists())
    assert SECRET.encode() not in data  # the audit log's reasons included: their key is gone
