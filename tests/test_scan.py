"""Importing incident logs and the proactive scan (docs/procedure.md#2025-revision): second reports and
unsignposted victims."""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import date, timedelta

import pytest
import sqlalchemy
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.cases import THREE_COMPLAINTS, add_complaints
from tests.support.sql import read_column
from trigger.intake.scan import ScanRules, scan_query, within_one_month
from trigger.rules.calendar import months_beginning_with
from trigger.rules.threshold import Complaint, Rules, evaluate
from trigger.store.models import Incident

HEADER = "victim_id,occurred,reported,agency,agency_ref,hate,category,location,description"
# a small county: V1 three qualifying reports; V2 one hate report; V3 two reports, one of them late;
# V4 one report; V5 three qualifying reports but an open case; V6 reports older than six months
KNOWN = [
    "V1,2026-01-10,2026-01-12,police,P-1,,noise,Loughborough,loud music",
    "V1,2026-02-01,2026-02-01,cbc,C-1,,noise,Loughborough,loud music",
    "V1,2026-03-01,2026-03-03,emh,H-1,,noise,Loughborough,shouting",
    "V2,2026-03-05,2026-03-06,police,P-2,race,abuse,Shepshed,",
    "V3,2026-01-10,2026-02-20,police,P-3,,,,",
    "V3,2026-03-01,2026-03-02,cbc,C-3,,,,",
    "V4,2026-03-01,2026-03-02,cbc,C-4,,,,",
    "V5,2026-01-10,2026-01-12,police,P-5,,,,",
    "V5,2026-02-10,2026-02-12,police,P-6,,,,",
    "V5,2026-03-10,2026-03-12,police,P-7,,,,",
    "V6,2025-06-01,2025-06-02,police,P-8,,,,",
    "V6,2025-07-01,2025-07-02,police,P-9,,,,",
    "V6,2025-08-01,2025-08-02,police,P-10,,,,",
]


def _write(tmp_path, lines, name="log.csv"):
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    return path


def _db_rows(sql):
    engine = sqlalchemy.create_engine(os.environ["TRIGGER_DB"])
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sqlalchemy.text(sql))]
    finally:
        engine.dispose()


# -- import ---------------------------------------------------------------------------------------------


def test_import_stores_every_row_without_a_case_and_with_the_victims_id(db, tmp_path):
    out = db("incidents", "import", _write(tmp_path, KNOWN)).stdout
    assert "Imported 13 of 13 rows" in out
    rows = _db_rows("SELECT case_id, victim_ref, agency_ref, hate FROM incident ORDER BY id")
    assert len(rows) == 13
    assert all(case_id is None for case_id, *_ in rows)
    assert rows[0][2:] == ("P-1", None) and rows[3][2:] == ("P-2", "race")
    # the victim's id is stored sealed under the month's log key, beside its keyed hash
    assert all(ref.startswith("sealed:m") for _, ref, *_ in rows)
    assert read_column("incident", "victim_ref")[:4] == ["V1", "V1", "V1", "V2"]
    hashes = [bytes(h) for (h,) in _db_rows("SELECT victim_hash FROM incident ORDER BY id")]
    assert len(hashes[0]) == 32 and hashes[0] == hashes[1] != hashes[3]


def test_reimporting_the_same_file_adds_nothing(db, tmp_path):
    path = _write(tmp_path, KNOWN)
    db("incidents", "import", path)
    again = db.json("incidents", "import", path)
    assert (again["imported"], again["already_held"]) == (0, 13)
    assert _db_rows("SELECT count(*) FROM incident") == [(13,)]
    # a later export with one new row adds just that row
    more = db.json(
        "incidents", "import", _write(tmp_path, [*KNOWN, "V7,2026-03-01,2026-03-01,cbc,C-9,,,,"], "b.csv")
    )
    assert (more["imported"], more["already_held"]) == (1, 13)


def test_bad_rows_are_reported_with_line_numbers_and_nothing_is_imported(db, tmp_path):
    lines = [
        KNOWN[0],
        "V2,2026-02-30,2026-03-01,police,P-20,,,,",  # line 3: no 30 February
        "V2,2026-03-05,2026-03-01,police,P-21,,,,",  # line 4: reported before it happened
        "V2,2026-03-01,2026-03-01,fire,F-1,,,,",  # line 5: unknown agency
        "V2,2026-03-01,2026-03-01,police,,,,,",  # line 6: no reference
        "V2,2026-03-01,2026-03-01,police,P-22,football,,,",  # line 7: not a strand
        ",2026-03-01,2026-03-01,police,P-23,,,,",  # line 8: no victim
        "V2,2026-03-01,2026-03-01,police",  # line 9: short row
        "V1,2026-01-10,2026-01-12,police,P-1,,,,",  # line 10: repeats line 2
        "V2,2099-03-01,2099-03-01,police,P-24,,,,",  # line 11: in the future
    ]
    result = db.fails("incidents", "import", _write(tmp_path, lines))
    err = result.stderr
    for expected in (
        "line 3: occurred '2026-02-30' is not a date",
        "line 4: reported 2026-03-01 is before occurred",
        "line 5: unknown agency 'fire'",
        "line 6: agency_ref is empty",
        "line 7: hate 'football'",
        "line 8: victim_id is empty",
        "line 9: 4 fields where the header has 9",
        "line 10: police reference 'P-1' repeats line 2",
        "line 11: reported 2099-03-01 is in the future",
        "9 bad rows (listed above); nothing was imported",
    ):
        assert expected in err
    assert "Traceback" not in err
    assert _db_rows("SELECT count(*) FROM incident") == [(0,)]
    assert _db_rows("SELECT count(*) FROM audit_event WHERE event = 'incidents_import'") == [(0,)]


def test_skip_bad_imports_the_good_rows_and_still_lists_the_bad(db, tmp_path):
    result = db(
        "incidents",
        "import",
        _write(tmp_path, [KNOWN[0], "V2,2026-03-0x,2026-03-01,police,P-20,,,,", KNOWN[1]]),
        "--skip-bad",
    )
    assert "Imported 2 of 3 rows" in result.stdout and "1 bad row skipped" in result.stdout
    assert "line 3: occurred '2026-03-0x' is not a date" in result.stderr


def test_a_missing_column_is_refused_naming_it(db, tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("victim_id,occurred,reported,agency\nV1,2026-01-01,2026-01-02,police\n")
    result = db.fails("incidents", "import", path)
    assert "line 1: missing column agency_ref;" in result.stderr
    assert "the file's headers are 'victim_id', 'occurred', 'reported', 'agency'" in result.stderr
    # the descriptive columns are optional
    path.write_text("victim_id,occurred,reported,agency,agency_ref\nV1,2026-01-01,2026-01-02,police,P-1\n")
    assert "Imported 1 of 1 rows" in db("incidents", "import", path).stdout


def test_import_is_one_audit_event_with_counts_and_no_personal_data(db, tmp_path):
    db("incidents", "import", _write(tmp_path, KNOWN))
    events = _db_rows("SELECT detail FROM audit_event WHERE event = 'incidents_import'")
    assert len(events) == 1
    detail = json.loads(events[0][0])
    assert detail["file"] == "log.csv" and detail["imported"] == 13 and detail["rows"] == 13
    assert "V1" not in events[0][0] and "Loughborough" not in events[0][0]


# -- scan -------------------------------------------------------------------------------------------------


@pytest.fixture
def county(db, tmp_path):
    db("incidents", "import", _write(tmp_path, KNOWN))
    db(
        "activate",
        "--applicant",
        "Eve Example",
        "--received",
        "2026-03-15",
        "--channel",
        "phone",
        "--statement",
        "Nothing done",
        "--victim-ref",
        "V5",
    )
    return db


def test_scan_lists_second_reports_and_victims_meeting_the_threshold_without_a_case(county):
    found = county.json("scan", "--as-of", "2026-03-20")
    assert found["window_start"] == "2025-09-21"
    second = {r["victim_id"]: r for r in found["second_report"]}
    assert sorted(second) == ["V1", "V3", "V5"]  # V6's reports are older than six months
    assert second["V1"] == {
        "victim_id": "V1",
        "reports": 3,
        "qualifying": 3,
        "first_report": "2026-01-12",
        "last_report": "2026-03-03",
        "list": "second_report",
        "told": False,
        "told_on": None,
    }
    meets = {r["victim_id"]: r["route"] for r in found["meets_threshold"]}
    # V1 by the statutory count, V2 by LLR's hate route; V5 has an open case;
    # V3's late report does not qualify
    assert meets == {"V1": "statutory", "V2": "hate"}


def test_a_closed_case_does_not_hide_a_victim_who_meets_the_threshold_again(county):
    county("withdraw", "CT-2026-0001", "--reason", "moved away", "--on", "2026-03-16")
    meets = [r["victim_id"] for r in county.json("scan", "--as-of", "2026-03-20")["meets_threshold"]]
    assert meets == ["V1", "V2", "V5"]


def test_scan_window_follows_the_six_months_beginning_with_each_report(county):
    # V1's first report (12 Jan) is within six months of an application on 11 July, not on 12 July
    on_11 = {r["victim_id"]: r for r in county.json("scan", "--as-of", "2026-07-11")["second_report"]}
    on_12 = {r["victim_id"]: r for r in county.json("scan", "--as-of", "2026-07-12")["second_report"]}
    assert on_11["V1"]["reports"] == 3 and on_12["V1"]["reports"] == 2


def test_scan_csv_and_text_show_ids_and_dates_but_no_names(county):
    rows = list(csv.DictReader(io.StringIO(county("scan", "--as-of", "2026-03-20", "--csv").stdout)))
    assert {(r["list"], r["victim_id"]) for r in rows} >= {("second_report", "V1"), ("meets_threshold", "V2")}
    assert set(rows[0]) == {
        "list",
        "victim_id",
        "reports",
        "qualifying",
        "first_report",
        "last_report",
        "told_on",
    }
    text = county("scan", "--as-of", "2026-03-20").stdout
    assert "(a) 3 victims made a second report within six months" in text
    assert "(b) 2 victims meet the threshold with no open case" in text
    assert "Eve Example" not in text


def test_scan_of_an_empty_log_lists_nobody(db):
    found = db.json("scan", "--as-of", "2026-03-20")
    assert found["second_report"] == [] and found["meets_threshold"] == []


# -- the SQL rule is the statute's rule ---------------------------------------------------------------------

_engine = sqlalchemy.create_engine("sqlite://")


@settings(max_examples=300, deadline=None)
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)), st.integers(0, 70))
def test_the_scans_sql_one_month_rule_agrees_with_months_beginning_with(occurred, lag):
    reported = occurred + timedelta(days=lag)
    expr = within_one_month(
        sqlalchemy.literal(occurred, sqlalchemy.Date), sqlalchemy.literal(reported, sqlalchemy.Date)
    )
    with _engine.connect() as conn:
        in_sql = bool(conn.execute(sqlalchemy.select(sqlalchemy.case((expr, 1), else_=0))).scalar_one())
    assert in_sql == (reported <= months_beginning_with(occurred, 1))


_county = sqlalchemy.create_engine("sqlite://")
Incident.__table__.create(_county)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 400), st.integers(0, 50), st.sampled_from([None, "race"])), max_size=8),
    st.integers(150, 420),
)
def test_scan_counts_what_check_would_count_for_an_application_on_the_as_of_date(raw, as_of_day):
    base = date(2025, 1, 1)
    as_of = base + timedelta(days=as_of_day)
    reports = [(base + timedelta(days=o), base + timedelta(days=o + lag), hate) for o, lag, hate in raw]
    reports = [r for r in reports if r[1] <= as_of]  # a log holds no reports from the future
    with _county.begin() as conn:
        conn.execute(Incident.__table__.delete())
        if reports:
            conn.execute(
                Incident.__table__.insert(),
                [
                    {
                        "victim_ref": "V1",
                        "victim_hash": b"V1",  # what the scan groups on (a keyed hash, in the engine)
                        "occurred": o,
                        "reported": r,
                        "agency_id": 1,
                        "agency_ref": f"R{i}",
                        "hate": h,
                        "partnership_id": 1,
                    }
                    for i, (o, r, h) in enumerate(reports)
                ],
            )
        query, _start = scan_query(as_of, ScanRules(qualifying_complaints=3, hate_route=True))
        found = {bytes(row.victim_hash).decode(): row for row in conn.execute(query)}
    explained = evaluate(
        [Complaint(i, o, r, "police", h) for i, (o, r, h) in enumerate(reports)],
        as_of,
        Rules(qualifying_complaints=3, hate_route=True),
    )
    listed = found.get("V1")
    if listed is not None:
        assert listed.qualifying == explained.statutory_count
    assert (listed is not None and (listed.qualifying >= 3 or listed.hate >= 1)) == explained.met


# -- the victim's id: sealed, matched on its keyed hash (docs/operations.md#erasure) -------------------------


def test_the_victims_id_is_stored_sealed_and_matched_on_its_keyed_hash(county):
    """The case's id and the imported rows' are sealed under different keys (the case's, the month's),
    yet match: the scan leaves V5 out of (b) by the hash both share, and a corrected id moves the match."""
    assert _db_rows("SELECT count(*) FROM incident WHERE victim_ref LIKE 'V%'") == [(0,)]
    ((ref, case_hash),) = _db_rows("SELECT victim_ref, victim_hash FROM review_case")
    assert ref.startswith("sealed:c1:") and read_column("review_case", "victim_ref") == ["V5"]
    imported = {bytes(h) for (h,) in _db_rows("SELECT victim_hash FROM incident")}
    v5 = {
        bytes(h) for (h,) in _db_rows("SELECT victim_hash FROM incident WHERE agency_ref IN ('P-5', 'P-6')")
    }
    assert v5 == {bytes(case_hash)} and len(imported) == 6  # V1 to V6
    assert _db_rows("SELECT count(*) FROM match_key") == [(1,)]
    # the case's id corrected: the correction shows the ids as given, and the scan follows the new one
    county(
        "case",
        "update",
        "CT-2026-0001",
        "--victim-ref",
        "V1",
        "--reason",
        "the police's id",
        "--on",
        "2026-03-16",
    )
    (fixed,) = county.json("show", "CT-2026-0001")["corrections"]
    assert (fixed["field"], fixed["old"], fixed["new"]) == ("victim_ref", "V5", "V1")
    meets = {
        r["victim_id"]: r["route"] for r in county.json("scan", "--as-of", "2026-03-20")["meets_threshold"]
    }
    assert meets == {"V2": "hate", "V5": "statutory"}
    ((now,),) = _db_rows("SELECT victim_hash FROM review_case")
    assert bytes(now) != bytes(case_hash) and bytes(now) in imported


def test_a_signposting_record_is_sealed_under_its_months_log_key_and_read_as_written(county):
    told = county("signpost", "V3", "--on", "2026-03-18", "--how", "Phone call to Mrs Example")
    assert told.stdout == "Victim V3 told about the ASB Case Review on 2026-03-18; `scan` marks them.\n"
    ((ref, how, digest),) = _db_rows("SELECT victim_ref, how, victim_hash FROM signposting")
    assert ref.startswith("sealed:m1/2026-03:") and how.startswith("sealed:m1/2026-03:")
    assert read_column("signposting", "how") == ["Phone call to Mrs Example"]
    (v3,) = {
        bytes(h) for (h,) in _db_rows("SELECT victim_hash FROM incident WHERE agency_ref IN ('P-3', 'C-3')")
    }
    assert bytes(digest) == v3
    second = {
        r["victim_id"]: r["told_on"] for r in county.json("scan", "--as-of", "2026-03-20")["second_report"]
    }
    assert second == {"V1": None, "V3": "2026-03-18", "V5": None}
    text = county("scan", "--as-of", "2026-03-20").stdout
    assert "Phone call" not in text and "V3" in text


def test_a_report_moved_to_another_month_is_resealed_and_outlives_the_purge_of_its_old_month(db, tmp_path):
    """A row's sealed values move to its new month's log key with the corrected date: the purge of the old
    month leaves it readable, and each victim keeps their own "told" date."""
    lines = [
        "V3,2019-12-20,2019-12-20,police,P-1,,noise,Loughborough,loud music",
        "V3,2020-02-01,2020-02-01,police,P-2,,noise,Loughborough,loud music",
        "V4,2019-12-21,2019-12-21,police,P-3,,noise,Shepshed,shouting",
        "V4,2020-02-02,2020-02-02,police,P-4,,noise,Shepshed,shouting",
    ]
    db("incidents", "import", _write(tmp_path, lines))
    db("incident", "update", "1", "--reported", "2020-01-15", "--reason", "the log's date was wrong")
    db("incident", "update", "3", "--reported", "2020-01-16", "--reason", "the log's date was wrong")
    moved = _db_rows("SELECT victim_ref, location, description FROM incident WHERE id IN (1, 3)")
    assert all(v.startswith("sealed:m1/2020-01:") for row in moved for v in row)
    db("signpost", "V4", "--how", "letter", "--on", "2020-02-20")
    db("purge", "--closed-before", "2020-01-01")
    assert read_column("incident", "victim_ref") == ["V3", "V3", "V4", "V4"]
    assert read_column("incident", "description")[0] == "loud music"
    listed = csv.DictReader(io.StringIO(db("scan", "--as-of", "2020-03-01", "--csv").stdout))
    told = {r["victim_id"]: r["told_on"] for r in listed if r["list"] == "second_report"}
    assert told == {"V3": "", "V4": "2020-02-20"}


def test_victims_whose_reports_no_longer_open_stay_apart_in_the_scan(db, tmp_path):
    """Reports kept after their month's key went (left so by an earlier version) read as erased: the
    scan names each victim by a report that opens, and never lends one victim's "told" date to another."""
    lines = [
        "V3,2019-12-20,2019-12-20,police,P-1,,,,",
        "V3,2020-02-01,2020-02-01,police,P-2,,,,",
        "V4,2019-12-21,2019-12-21,police,P-3,,,,",
        "V4,2020-02-02,2020-02-02,police,P-4,,,,",
        "V5,2019-12-22,2019-12-22,police,P-5,,,,",
        "V5,2019-12-23,2019-12-23,police,P-6,,,,",
    ]
    db("incidents", "import", _write(tmp_path, lines))
    db("signpost", "V4", "--how", "letter", "--on", "2020-02-20")
    engine = sqlalchemy.create_engine(os.environ["TRIGGER_DB"])
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("DELETE FROM log_key WHERE month = '2019-12'"))
    engine.dispose()
    listed = list(csv.DictReader(io.StringIO(db("scan", "--as-of", "2020-03-01", "--csv").stdout)))
    told = [(r["victim_id"], r["told_on"]) for r in listed if r["list"] == "second_report"]
    assert told == [("V3", ""), ("V4", "2020-02-20"), ("[erased: the case's key is gone]", "")]


def test_a_cases_corrected_victim_id_carries_its_complaints_with_it(db):
    """Complaints recorded on a case hold the case's victim id as a copy: corrected on the case, they
    follow it in the same correction, and the scan counts them under the new id only."""
    ref = db.json(
        "activate",
        "--applicant",
        "Eve Example",
        "--received",
        "2026-03-02",
        "--channel",
        "phone",
        "--statement",
        "Nothing done",
        "--victim-ref",
        "V8",
    )["reference"]
    add_complaints(db, ref, THREE_COMPLAINTS[:2], on="2026-03-03")
    db("case", "update", ref, "--victim-ref", "V9", "--reason", "the police's id", "--on", "2026-03-10")
    fixed = [(c["field"], c["old"], c["new"]) for c in db.json("show", ref)["corrections"]]
    assert fixed == [("victim_ref", "V8", "V9")] * 3  # the case's, then each complaint's
    assert read_column("incident", "victim_ref") == ["V9", "V9"]
    second = db.json("scan", "--as-of", "2026-03-20")["second_report"]
    assert [(r["victim_id"], r["reports"]) for r in second] == [("V9", 2)]


def test_ids_whose_key_is_gone_go_through_a_downgrade_and_upgrade_as_erased(db, tmp_path):
    """Rows kept after their month's key went (left so by an earlier version): downgrade writes what the
    purge writes for their id, and upgrade hashes every sealed id it can open and says what it cannot."""
    from alembic import command

    from trigger.store import db as database
    from trigger.store.app import get_engine

    lines = [
        "V3,2019-12-20,2019-12-20,police,P-1,,,,",
        "V3,2020-02-01,2020-02-01,police,P-2,,,,",
        "V4,2019-12-21,2019-12-21,police,P-3,,,,",
        "V4,2020-02-02,2020-02-02,police,P-4,,,,",
    ]
    db("incidents", "import", _write(tmp_path, lines))
    stored = _db_rows("SELECT victim_ref, victim_hash FROM incident ORDER BY id")
    engine = sqlalchemy.create_engine(os.environ["TRIGGER_DB"])
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("DELETE FROM log_key WHERE month = '2019-12'"))
    with database.migrating(get_engine(os.environ["TRIGGER_DB"])) as conn:
        command.downgrade(database._config(conn), "0005_log_keys")
    assert _db_rows("SELECT victim_ref FROM incident ORDER BY id") == [(None,), ("V3",), (None,), ("V4",)]
    # as an earlier downgrade left them: ids sealed, one under the key that is gone, one under a kept one
    with engine.begin() as conn:
        for row_id in (1, 2):
            put = sqlalchemy.text("UPDATE incident SET victim_ref = :ref WHERE id = :id")
            conn.execute(put, {"ref": stored[row_id - 1][0], "id": row_id})
    engine.dispose()
    upgraded = db("db", "upgrade")
    assert "0006: 1 victim id(s) sealed under a key that is gone" in upgraded.stderr
    assert _db_rows("SELECT count(*) FROM incident WHERE victim_ref IS NOT NULL AND victim_hash IS NULL") == [
        (0,)
    ]
    assert read_column("incident", "victim_ref") == [None, "V3", None, "V4"]
    hashes = [h and bytes(h) for (h,) in _db_rows("SELECT victim_hash FROM incident ORDER BY id")]
    assert hashes[0] is None and hashes[2] is None and hashes[1] != hashes[3]
