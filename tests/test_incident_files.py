"""Incident logs as partners really send them (docs/operations.md#importing-partners-exports): Excel's
Windows-1252 CSV with UK dates and the partner's own headers, UTF-8 with and without a byte-order mark,
a workbook written by openpyxl, standard input; refused files say why in one line and import nothing."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy

from tests.support.forks import spawn
from tests.support.incident_logs import ECINS_HEADER, ECINS_ROWS, csv_bytes
from tests.support.sql import raw_sql
from tests.support.waiting import HANG
from trigger.intake import log_files
from trigger.store.app import App
from trigger.store.sealed import Sealed

ROOT = Path(__file__).resolve().parents[1]


def _incidents():
    """The imported rows as the engine reads them: their victim's id and text are stored sealed under
    the month's key (docs/operations.md#erasure) and opened here with it."""
    query = sqlalchemy.text(
        "SELECT victim_ref, occurred, reported, a.code, agency_ref, hate, category, "
        "location, description FROM incident JOIN agency a ON a.id = incident.agency_id "
        "ORDER BY incident.id"
    ).columns(victim_ref=Sealed(), location=Sealed(), description=Sealed())
    with App().read() as session:
        return [tuple(r) for r in session.execute(query)]


def _day(value) -> str:
    return value if isinstance(value, str) else value.isoformat()


def test_an_excel_cp1252_export_with_ecins_headers_and_uk_dates_imports_through_the_preset(db, tmp_path):
    path = tmp_path / "ECINS export.csv"
    path.write_bytes(csv_bytes([ECINS_HEADER, *ECINS_ROWS], "cp1252"))
    assert b"\xa3250" in path.read_bytes() and b"Caf\xe9" in path.read_bytes()  # really Windows-1252
    out = db("incidents", "import", path, "--map", "ecins").stdout
    assert "Imported 4 of 4 rows from" in out
    rows = [(v, _day(o), _day(r), *rest) for v, o, r, *rest in _incidents()]
    assert rows[0] == (
        "V-0001",
        "2026-01-10",
        "2026-01-12",
        "police",  # "Leicestershire Police" through [values.agency]
        "P/2026/1",
        None,  # "No" is no hate strand
        "Noise",
        "Café Row",
        "£250 damage",
    )
    assert rows[1][5] == "race" and rows[1][8] == "José was abused"
    assert rows[2][2] == "2026-03-03"  # the time of day after the date is ignored
    assert rows[3][5] == "religion"


def test_the_same_export_without_the_map_is_refused_and_told_which_preset_fits(db, tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(csv_bytes([ECINS_HEADER, *ECINS_ROWS], "cp1252"))
    err = db.fails("incidents", "import", path).stderr
    assert err.count("\n") == 1 and err.startswith("Error: ")
    assert "line 1: missing columns victim_id, occurred, reported, agency_ref" in err
    assert "the headers are those of the ecins preset: give --map ecins" in err
    assert _incidents() == []


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_utf8_with_or_without_a_byte_order_mark(db, tmp_path, encoding):
    path = tmp_path / "export.csv"
    path.write_bytes(csv_bytes([ECINS_HEADER, *ECINS_ROWS], encoding))
    result = db.json("incidents", "import", path, "--map", "ecins")
    assert result["imported"] == 4
    assert _incidents()[0][7:] == ("Café Row", "£250 damage")  # no "Ã©", no BOM in the first header
    assert raw_sql("SELECT description FROM incident ORDER BY id")[0][0].startswith(
        "sealed:m"
    )  # stored sealed


def test_utf16_is_refused_in_one_line_saying_how_to_save_the_file(db, tmp_path):
    path = tmp_path / "unicode.txt"
    path.write_bytes(csv_bytes([ECINS_HEADER, *ECINS_ROWS], "utf-16"))
    err = db.fails("incidents", "import", path, "--map", "ecins").stderr
    assert err.count("\n") == 1
    assert "is UTF-16" in err and 'save it from Excel as "CSV UTF-8 (Comma delimited)"' in err
    assert _incidents() == []


def test_a_file_neither_utf8_nor_windows_1252_is_refused_naming_the_byte(db, tmp_path):
    path = tmp_path / "odd.csv"
    body = csv_bytes([ECINS_HEADER, *ECINS_ROWS[:1]], "utf-8")
    path.write_bytes(body + b"V-9,10/01/2026,12/01/2026,police,P-9,,,\x81,\r\n")  # 0x81: unused in cp1252
    err = db.fails("incidents", "import", path, "--map", "ecins").stderr
    assert err.count("\n") == 1
    assert "neither UTF-8 nor Windows-1252 (byte 0x81 on line 3)" in err
    assert _incidents() == []


def test_an_old_xls_workbook_is_refused(db, tmp_path):
    path = tmp_path / "export.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    err = db.fails("incidents", "import", path).stderr
    assert "old Excel .xls workbook; open it in Excel and save it as .xlsx or CSV UTF-8" in err


def _sentinel_workbook(path: Path, rows) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Incidents"
    sheet.append(
        [
            "Victim Ref",
            "Incident Date",
            "Date Reported",
            "Reporting Agency",
            "Incident Number",
            "Hate Motivation",
            "ASB Category",
            "Incident Location",
            "Incident Details",
        ]
    )
    for row in rows:
        sheet.append(row)
    book.create_sheet("Notes").append(["exported by Sentinel"])
    book.save(path)


def test_an_xlsx_written_with_openpyxl_imports_date_cells_text_dates_and_numeric_ids(db, tmp_path):
    path = tmp_path / "sentinel.xlsx"
    _sentinel_workbook(
        path,
        [
            [
                10234,
                datetime(2026, 1, 10),
                datetime(2026, 1, 12, 14, 30),
                "police",
                5501,
                "Racist",
                "Noise",
                "",
                "",
            ],
            [10234, date(2026, 2, 1), "01/02/2026", "cbc", "C-7", None, None, None, "Dŵr Cymru van"],
            [],  # a blank row is skipped
            [10235, "05/03/2026", "06/03/2026", "Police", "P-8", "none", "Abuse", "Shepshed", None],
        ],
    )
    out = db.json("incidents", "import", path, "--map", "sentinel")
    assert (out["rows"], out["imported"]) == (3, 3)
    rows = [(v, _day(o), _day(r), a, ref, h) for v, o, r, a, ref, h, *_ in _incidents()]
    assert rows == [
        ("10234", "2026-01-10", "2026-01-12", "police", "5501", "race"),  # not "10234.0"
        ("10234", "2026-02-01", "2026-02-01", "cbc", "C-7", None),
        ("10235", "2026-03-05", "2026-03-06", "police", "P-8", None),
    ]
    assert _incidents()[1][8] == "Dŵr Cymru van"


def test_bad_rows_of_a_workbook_are_named_by_row_with_the_partners_headers_and_nothing_imported(db, tmp_path):
    path = tmp_path / "sentinel.xlsx"
    _sentinel_workbook(
        path,
        [
            [1, datetime(2026, 1, 10), datetime(2026, 1, 12), "police", "P-1", None, None, None, None],
            [2, "31/02/2026", "01/03/2026", "police", "P-2", None, None, None, None],  # row 3
            [3, datetime(2026, 3, 5), datetime(2026, 3, 1), "police", "P-3", None, None, None, None],  # row 4
            [4, datetime(2026, 3, 5), datetime(2026, 3, 6), "fire", "F-1", None, None, None, None],  # row 5
            [5, datetime(2026, 3, 5), datetime(2026, 3, 6), "police", "P-5", "football", None, None, None],
            [None, datetime(2026, 3, 5), datetime(2026, 3, 6), "police", "P-6", None, None, None, None],
        ],
    )
    err = db.fails("incidents", "import", path, "--map", "sentinel").stderr
    for expected in (
        "row 3: Incident Date '31/02/2026' is not a date; write it as %d/%m/%Y (e.g. 14/03/2026) or "
        "YYYY-MM-DD",
        "row 4: Date Reported 2026-03-01 is before Incident Date 2026-03-05",
        "row 5: unknown agency 'fire'; add it with `trigger agency add` or map it in [values.agency] of "
        "sentinel",
        "row 6: Hate Motivation 'football' is not a strand; add it to [values.hate] of sentinel",
        "row 7: Victim Ref is empty",
        "sentinel.xlsx: 5 bad rows (listed above); nothing was imported",
    ):
        assert expected in err
    assert "Traceback" not in err
    assert _incidents() == []


def test_standard_input_reads_csv_and_xlsx(db, tmp_path):
    body = csv_bytes([ECINS_HEADER, *ECINS_ROWS[:2]], "cp1252")
    out = db("incidents", "import", "-", "--map", "ecins", input=body).stdout
    assert "Imported 2 of 2 rows from standard input." in out
    path = tmp_path / "s.xlsx"
    _sentinel_workbook(
        path, [[7, datetime(2026, 1, 10), datetime(2026, 1, 12), "police", "P-77", None, "", "", ""]]
    )
    out = db("incidents", "import", "-", "--map", "sentinel", "--json", input=path.read_bytes()).stdout
    assert json.loads(out)["imported"] == 1
    assert len(_incidents()) == 3


def test_date_format_reads_a_standard_file_with_uk_dates_and_a_wrong_format_is_refused(db, tmp_path):
    path = tmp_path / "log.csv"
    path.write_text(
        "victim_id,occurred,reported,agency,agency_ref\nV1,10/01/2026,12/01/2026,police,P-1\n"
        "V2,2026-01-10,2026-01-12,police,P-2\n",
        encoding="utf-8",
    )
    err = db.fails("incidents", "import", path).stderr
    assert "line 2: occurred '10/01/2026' is not a date; write it as YYYY-MM-DD, or give --date-format" in err
    assert db.json("incidents", "import", path, "--date-format", "%d/%m/%Y")["imported"] == 2
    assert sorted(_day(r[1]) for r in _incidents()) == ["2026-01-10", "2026-01-10"]
    err = db.fails("incidents", "import", path, "--date-format", "%d/%m").stderr
    assert "--date-format '%d/%m' must give the day, month and year" in err


def test_a_partnerships_own_map_with_value_maps_and_a_default_agency(db, tmp_path):
    mapping = tmp_path / "ours.toml"
    mapping.write_text(
        'title = "Our council\'s export"\ndate_format = "%d.%m.%Y"\n'
        '[columns]\nvictim_id = "Customer"\noccurred = "When"\nreported = "Logged"\nagency_ref = "Case"\n'
        'hate = "Hate?"\n[defaults]\nagency = "cbc"\n[values.hate]\n"Y - Disability" = "disability"\n',
        encoding="utf-8",
    )
    log = tmp_path / "council.csv"
    log.write_text("Customer,When,Logged,Case,Hate?\nC1,10.01.2026,12.01.2026,X-1,Y - Disability\n")
    assert db.json("incidents", "import", log, "--map", mapping)["imported"] == 1
    assert _incidents()[0][3:6] == ("cbc", "X-1", "disability")


@pytest.mark.parametrize(
    "toml, expected",
    [
        ('[columns]\nvictim = "Victim ID"\n', "[columns] 'victim' is not one of our columns"),
        ('[values.hate]\n"Racial" = "racism"\n', "[values.hate] 'Racial' maps to 'racism', not a strand"),
        ("colums = {}\n", "unknown key 'colums'"),
        ("[columns\n", "not a valid TOML column map"),
    ],
)
def test_a_broken_column_map_is_refused_in_one_line(db, tmp_path, toml, expected):
    mapping = tmp_path / "bad.toml"
    mapping.write_text(toml, encoding="utf-8")
    log = tmp_path / "log.csv"
    log.write_text("victim_id,occurred,reported,agency,agency_ref\n")
    err = db.fails("incidents", "import", log, "--map", mapping).stderr
    assert expected in err and err.count("\n") == 1


def test_an_unknown_map_name_lists_the_presets(db, tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("victim_id,occurred,reported,agency,agency_ref\n")
    err = db.fails("incidents", "import", log, "--map", "ecinz").stderr
    assert "--map 'ecinz' is neither a preset (civica, ecins, sentinel) nor a TOML file that exists" in err


def test_presets_ship_say_they_are_to_be_checked_and_map_only_to_real_strands(trigger):
    listed = trigger("incidents", "maps").stdout
    assert [line.split()[0] for line in listed.splitlines()] == ["civica", "ecins", "sentinel"]
    for name in log_files.preset_names():
        text = trigger("incidents", "maps", name).stdout
        assert "NOT TAKEN FROM A REAL EXPORT: check them against a real" in text
        cmap = log_files.load_map(name)  # validates the strands and columns
        assert set(log_files.REQUIRED) <= set(cmap.columns) and cmap.date_format == "%d/%m/%Y"


@pytest.mark.any_engine
def test_the_progress_callback_reaches_the_whole_file(db, tmp_path):
    from trigger.intake import partner_logs
    from trigger.store.app import App

    path = tmp_path / "big.csv"
    lines = ["victim_id,occurred,reported,agency,agency_ref"] + [
        f"V{i % 97},2026-01-10,2026-01-12,police,P-{i}" for i in range(45_000)
    ]
    path.write_text("\n".join(lines) + "\n")
    seen = []
    result = partner_logs.import_file(App(), path, progress=lambda done, total: seen.append((done, total)))
    assert result.imported == 45_000
    assert len(seen) == 3 and seen[-1] == (path.stat().st_size, path.stat().st_size)
    assert seen[0][0] < seen[1][0] < seen[2][0]


@pytest.mark.any_engine
@pytest.mark.slow
def test_the_progress_bar_shows_on_a_terminal_only(db, tmp_path):
    path = tmp_path / "log.csv"
    path.write_bytes(csv_bytes([ECINS_HEADER, *ECINS_ROWS], "cp1252"))
    env = dict(os.environ, COLUMNS="100")
    master, slave = pty.openpty()
    command = ["cli.py", "incidents", "import", str(path), "--map", "ecins"]
    proc = spawn(command, env=env, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    terminal = b""
    while True:  # read the terminal while the command runs, or a full pty would block it
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the command ended and closed the terminal
                break
            if not chunk:
                break
            terminal += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    stdout = proc.stdout.read()
    proc.wait(timeout=HANG)
    assert proc.returncode == 0 and b"Imported 4 of 4 rows" in stdout
    assert b"Importing" in terminal and "━".encode() in terminal  # rich's bar, on the terminal
    piped = spawn(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = piped.communicate(timeout=HANG)
    assert piped.returncode == 0 and err == b""  # no bar when stderr is not a terminal


def test_the_audit_event_names_the_format_encoding_and_map_but_no_person(db, tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(csv_bytes([ECINS_HEADER, *ECINS_ROWS], "cp1252"))
    db("incidents", "import", path, "--map", "ecins")
    engine = sqlalchemy.create_engine(os.environ["TRIGGER_DB"])
    with engine.connect() as conn:
        detail = conn.execute(
            sqlalchemy.text("SELECT detail FROM audit_event WHERE event = 'incidents_import'")
        ).scalar_one()
    engine.dispose()
    data = json.loads(detail)
    assert (data["format"], data["encoding"], data["map"], data["imported"]) == ("csv", "cp1252", "ecins", 4)
    assert "V-0001" not in detail and "José" not in detail
