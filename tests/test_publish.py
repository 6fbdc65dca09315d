"""The annual return as a council's web team publishes it (docs/operations.md#published-figures): the tidy
CSV with a byte-order mark in a file, the XLSX and ODS read back by independent readers, and the HTML
page from an overridable template meeting WCAG 2.2 AA (captions, header scopes, a described chart,
contrast computed here from the WCAG formula)."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import zipfile
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest

from tests.support.forks import spawn
from tests.support.sql import raw_sql
from tests.support.waiting import HANG

ROOT = Path(__file__).resolve().parents[1]
HEADER = [
    "partnership",
    "period",
    "period_from",
    "period_to",
    "section",
    "measure",
    "label",
    "value",
    "suppressed",
]


def _tidy(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def _figure(rows, measure, period="2025/26"):
    [row] = [r for r in rows if r["measure"] == measure and r["period"] == period]
    return row


def test_the_tidy_csv_has_one_number_per_row_and_a_suppressed_flag_never_the_text_lt5(db, year):
    rows = _tidy(db("report", "annual", "--year", "2025", "--publish", "--csv").stdout)
    assert list(rows[0]) == HEADER
    assert {r["partnership"] for r in rows} == {
        "Leicester, Leicestershire and Rutland Community Safety Partnership"
    }
    assert _figure(rows, "applications") | {} == {
        "partnership": "Leicester, Leicestershire and Rutland Community Safety Partnership",
        "period": "2025/26",
        "period_from": "2025-04-01",
        "period_to": "2026-03-31",
        "section": "statutory",
        "measure": "applications",
        "label": "Applications received",
        "value": "7",
        "suppressed": "false",
    }
    assert (
        _figure(rows, "threshold_not_met")["value"],
        _figure(rows, "threshold_not_met")["suppressed"],
    ) == (
        "",
        "true",
    )
    assert all(r["value"] == "" or re.fullmatch(r"\d+(\.\d+)?", r["value"]) for r in rows)
    assert all(r["suppressed"] in ("true", "false") for r in rows)
    assert not any("<5" in v for r in rows for v in r.values())
    # each quarter is its own period, with its own dates
    q1 = _figure(rows, "applications", "2025/26 Q1")
    assert (q1["period_from"], q1["period_to"], q1["section"]) == ("2025-04-01", "2025-06-30", "quarter")


def test_unsuppressed_csv_gives_shares_and_medians_as_numbers(db, year):
    rows = _tidy(db("report", "annual", "--year", "2025", "--csv").stdout)
    assert _figure(rows, "lead_agency_reviews.police")["value"] == "2"
    assert _figure(rows, "lead_agency_share.police")["value"] == "66.7"
    assert _figure(rows, "median_days.decision_to_outcome")["value"] == "52"
    assert _figure(rows, "cases.decision_to_outcome")["value"] == "3"
    assert _figure(rows, "channel.online")["value"] == "3"
    assert not any(r["suppressed"] == "true" for r in rows)


def test_csv_written_to_a_file_starts_with_a_byte_order_mark_and_stdout_does_not(db, year, tmp_path):
    out = tmp_path / "asb 2025-26.csv"
    result = db("report", "annual", "--year", "2025", "--publish", "--csv", "-o", out)
    assert result.stdout == "" and f"Wrote {out}" in result.stderr
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf" + b"partnership,")
    assert _tidy(data.decode("utf-8-sig"))[0]["value"] == "7"
    assert not db("report", "annual", "--year", "2025", "--csv").stdout.startswith("\ufeff")


@pytest.mark.any_engine
@pytest.mark.slow
def test_csv_redirected_to_a_file_gets_the_byte_order_mark(db, year, tmp_path):
    target = tmp_path / "redirected.csv"
    command = ["cli.py", "report", "annual", "--year", "2025", "--csv"]
    with target.open("wb") as fh:
        assert spawn(command, stdout=fh).wait(timeout=HANG) == 0
    assert target.read_bytes().startswith(b"\xef\xbb\xbfpartnership,")
    out, _ = spawn(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE).communicate(timeout=HANG)
    assert out.startswith(b"partnership,")


def test_the_xlsx_reads_back_with_numbers_as_numbers(db, year, tmp_path):
    path = tmp_path / "asb.xlsx"
    db("report", "annual", "--year", "2025", "--publish", "--xlsx", path)
    book = openpyxl.load_workbook(path, read_only=True)
    assert book.sheetnames == ["Figures", "Notes"]
    rows = list(book["Figures"].iter_rows(values_only=True))
    assert list(rows[0]) == HEADER
    by_measure = {(r[1], r[5]): r for r in rows[1:]}
    apps = by_measure[("2025/26", "applications")]
    assert apps[7] == 7 and isinstance(apps[7], int) and apps[8] is False
    hidden = by_measure[("2025/26", "reviews_carried_out")]
    assert hidden[7] is None and hidden[8] is True
    assert by_measure[("2025/26 Q1", "applications")][8] is True
    assert apps[2:4] == (datetime(2025, 4, 1), datetime(2026, 3, 31))  # real dates, not text
    cells = next(book["Figures"].iter_rows(min_row=2, max_row=2))
    assert cells[2].is_date and cells[2].number_format == "yyyy-mm-dd"
    notes = dict(book["Notes"].iter_rows(values_only=True))
    assert notes["Partnership"] == "Leicester, Leicestershire and Rutland Community Safety Partnership"
    assert "value is empty and suppressed is TRUE" in notes["Suppression"]
    # the same rows as the CSV
    csv_rows = _tidy(db("report", "annual", "--year", "2025", "--publish", "--csv").stdout)
    assert len(csv_rows) == len(rows) - 1


def test_the_ods_reads_back_in_odfpy_with_floats_and_booleans(db, year, tmp_path):
    from odf import opendocument, table, teletype
    from odf.namespaces import OFFICENS

    path = tmp_path / "asb.ods"
    db("report", "annual", "--year", "2025", "--ods", path)
    with zipfile.ZipFile(path) as z:
        first = z.infolist()[0]
        assert (first.filename, first.compress_type) == ("mimetype", zipfile.ZIP_STORED)
        assert z.read("mimetype") == b"application/vnd.oasis.opendocument.spreadsheet"
    doc = opendocument.load(str(path))
    sheets = doc.spreadsheet.getElementsByType(table.Table)
    assert [s.getAttribute("name") for s in sheets] == ["Figures", "Notes"]

    def cells(row):
        out = []
        for cell in row.getElementsByType(table.TableCell):
            kind = cell.attributes.get((OFFICENS, "value-type"))
            if kind == "float":
                out.append(float(cell.attributes[(OFFICENS, "value")]))
            elif kind == "boolean":
                out.append(cell.attributes[(OFFICENS, "boolean-value")] == "true")
            else:
                out.append(teletype.extractText(cell) or None)
        return out

    rows = [cells(r) for r in sheets[0].getElementsByType(table.TableRow)]
    assert rows[0] == HEADER
    by_measure = {(r[1], r[5]): r for r in rows[1:]}
    assert by_measure[("2025/26", "applications")][7:] == [7.0, False]
    assert by_measure[("2025/26", "lead_agency_share.police")][7:] == [66.7, False]
    assert by_measure[("2025/26 Q4", "reviews_carried_out")][7:] == [1.0, False]


# -- the HTML page ----------------------------------------------------------------------------------------


class _Page(HTMLParser):
    """The structure an accessibility check looks at."""

    def __init__(self):
        super().__init__()
        self.lang = None
        self.headings: list[int] = []
        self.tables = 0
        self.captions = 0
        self.th: list[dict] = []
        self.svg: list[dict] = []
        self.ids: set[str] = set()
        self.text: list[str] = []
        self._in: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if "id" in a:
            self.ids.add(a["id"])
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "table":
            self.tables += 1
        if tag == "caption":
            self.captions += 1
        if tag == "th":
            self.th.append(a)
        if tag == "svg":
            self.svg.append(a)
        self._in.append(tag)

    def handle_endtag(self, tag):
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data):
        if "style" not in self._in:
            self.text.append(data)


def _luminance(hex_colour: str) -> float:
    """WCAG 2.2 relative luminance."""
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    channels = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_contrast_formula_matches_known_pairs():
    assert round(_contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(_contrast("#777777", "#ffffff"), 2) == 4.48  # the classic just-fails grey
    assert _contrast("#f47738", "#ffffff") < 3  # the old chart's orange


@pytest.fixture
def page(db, year, tmp_path):
    path = tmp_path / "asb-2025-26.html"
    db("report", "annual", "--year", "2025", "--publish", "--html", path)
    return path.read_text(encoding="utf-8")


def test_the_page_is_structured_for_assistive_technology(page):
    parsed = _Page()
    parsed.feed(page)
    assert parsed.lang == "en-GB"
    assert parsed.headings[0] == 1 and parsed.headings.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(parsed.headings, parsed.headings[1:], strict=False))
    assert parsed.tables >= 7 and parsed.captions == parsed.tables
    assert parsed.th and all(th.get("scope") in ("col", "row") for th in parsed.th)
    [svg] = parsed.svg
    assert svg["role"] == "img"
    assert set(svg["aria-labelledby"].split()) == {"chart-title", "chart-desc"} <= parsed.ids
    text = " ".join(parsed.text)
    assert "Q1: applications <5" in text  # the chart's description carries every figure
    assert "Ann Example" not in page and "12 Ashby Road" not in page


def test_every_colour_on_the_page_has_at_least_4_5_to_1_against_its_backgrounds(page):
    backgrounds = set(re.findall(r"background:\s*(#[0-9a-fA-F]{3,6})", page))
    assert backgrounds == {"#ffffff", "#f3f2f1"}
    foreground = set(re.findall(r"(?<!background: )(#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3})\b", page)) - backgrounds
    assert {"#0b0c0c", "#1d70b8", "#aa2a16", "#00703c", "#4c2c92"} <= foreground
    for colour in foreground:
        for background in backgrounds:
            assert _contrast(colour, background) >= 4.5, (colour, background, _contrast(colour, background))


def test_the_page_escapes_what_it_prints(db, year, tmp_path):
    db("agency", "add", "xss", "--name", "<script>alert(1)</script> & Co", "--kind", "other")
    import sqlalchemy

    from trigger.store.app import dispose_engines

    engine = sqlalchemy.create_engine(__import__("os").environ["TRIGGER_DB"])
    with engine.begin() as conn:
        conn.execute(
            sqlalchemy.text(
                "UPDATE review_case SET lead_agency_id = (SELECT id FROM agency WHERE code = 'xss') "
                "WHERE lead_agency_id = (SELECT id FROM agency WHERE code = 'cbc')"
            )
        )
    engine.dispose()
    dispose_engines()
    path = tmp_path / "p.html"
    db("report", "annual", "--year", "2025", "--html", path)
    html = path.read_text()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in html


def test_a_partnership_template_extends_ours_and_a_broken_one_is_one_line(db, year, tmp_path):
    folder = tmp_path / "brand"
    folder.mkdir()
    (folder / "annual.html").write_text(
        '{% extends "trigger/annual.html" %}{% block masthead %}<p class="brand">Melton CSP: '
        "{{ partnership }}</p>{% endblock %}",
        encoding="utf-8",
    )
    path = tmp_path / "p.html"
    db("report", "annual", "--year", "2025", "--html", path, "--templates", folder)
    html = path.read_text()
    brand = "Melton CSP: Leicester, Leicestershire and Rutland Community Safety Partnership"
    assert f'<p class="brand">{brand}</p>' in html
    assert "<caption>The statutory figures, 2025/26</caption>" in html  # the rest is ours
    (folder / "annual.html").write_text("{{ partnership.__class__.__mro__ }}", encoding="utf-8")
    err = db.fails(
        "report", "annual", "--year", "2025", "--html", path, "--templates", folder, "--force"
    ).stderr
    assert err.startswith("Error: the annual page template in") and err.count("\n") == 1


def test_publishing_files_is_refused_when_the_records_are_inconsistent(db, year, tmp_path):
    raw_sql(
        "UPDATE threshold_decision SET met = false, route = NULL WHERE case_id = "
        "(SELECT id FROM review_case WHERE reference = :ref)",
        ref=year["A"],
    )
    for option in ("--xlsx", "--ods"):
        target = tmp_path / f"x{option[2:]}"
        err = db.fails("report", "annual", "--year", "2025", option, target).stderr
        assert "not writing figures to publish: no review without the threshold met" in err
        assert not target.exists()


def test_an_unwritable_output_is_one_line(db, year, tmp_path):
    err = db.fails("report", "annual", "--year", "2025", "--xlsx", tmp_path / "missing" / "x.xlsx").stderr
    assert err.startswith("Error: the folder") and "does not exist" in err and err.count("\n") == 1
