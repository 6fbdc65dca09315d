"""The annual return as a council's web team publishes it (docs/procedure.md#reporting): a tidy table
(one row per partnership, period, measure and value, with a suppressed flag), written as CSV (with a
byte-order mark for Excel), XLSX (openpyxl) or ODS, and the HTML page rendered from a Jinja template a
partnership may override.

Tidy means numbers are numbers: a small number withheld for publication is an empty value with
`suppressed` true, never the text "<5" in a column of numbers.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from letters.glossary import welsh_name
from trigger.access.partnership import welsh_in_scope
from trigger.reports import welsh
from trigger.reports.annual import LABELS, STAGE_LABELS, STATUTORY, SUPPRESSED
from trigger.store import access, partnerships
from trigger.store.access import READ, needs
from trigger.store.app import App
from trigger.store.outputs import csv_cell
from trigger.store.unit import default_policy

COLUMNS = (
    "partnership",
    "period",
    "period_from",
    "period_to",
    "section",
    "measure",
    "label",
    "value",
    "suppressed",
)
# under a Welsh policy: the partnership's Welsh name and each label in Welsh, before the English
WELSH_COLUMNS = ("partnership_cy", *COLUMNS[:6], "label_cy", *COLUMNS[6:])
TEMPLATES = Path(__file__).parent / "templates"
COUNTS = (
    "threshold_decisions",
    "threshold_met",
    "discretionary_below_threshold",
    "rejections",
    "withdrawals",
    "appeals",
    "appeals_against_threshold",
    "appeals_against_outcome",
    "appeals_decided",
    "appeals_upheld",
)
EXTRA_LABELS = {
    "threshold_decisions": "Threshold decisions made",
    "appeals_against_threshold": "Appeals against a threshold decision",
    "appeals_against_outcome": "Appeals against a review's outcome",
}
RESPONSE_LABELS = {
    "accepted": "Recommendations accepted by the body",
    "declined": "Recommendations declined by the body",
    "awaiting": "Recommendations awaiting the body's response",
}
# WCAG 2.2 AA: text and chart colours keep at least 4.5:1 against the page's white (tests compute it)
INK = "#0b0c0c"
PALETTE = {
    "applications": "#1d70b8",
    "threshold_not_met": "#aa2a16",
    "reviews_carried_out": "#00703c",
    "reviews_with_recommendations": "#4c2c92",
}
SHORT = {
    "applications": "Applications",
    "threshold_not_met": "Not met",
    "reviews_carried_out": "Reviews",
    "reviews_with_recommendations": "With recommendations",
}


@dataclass(frozen=True)
class Publisher:
    """Whose return it is: the partnership's name as its letters give it (its own name, else its
    policy's partnership name), and, under a Welsh policy, its Welsh name (else the glossary's rendering
    of the English one), which makes the page and the table's labels bilingual, Welsh first."""

    name: str
    name_cy: str | None = None


@needs(READ)
def publisher(app: App) -> Publisher:
    """The partnership whose return it is ("All partnerships" for a county's total), in Welsh too when
    its policy is Welsh (`welsh_in_scope`)."""
    with app.read() as session:
        scope = access.scope_of(session)
        welsh_too = welsh_in_scope(app, session)
        if scope is None and access.partnerships(session) > 1:
            return Publisher("All partnerships", welsh.ALL_PARTNERSHIPS if welsh_too else None)
        policy = default_policy(app, session, scope)
        head = partnerships.heading(session, policy, scope)
        if not welsh_too:
            return Publisher(head.name)
        return Publisher(head.name, head.name_cy or welsh_name(head.name, policy.glossary))


# -- the tidy table --------------------------------------------------------------------------------------


def _cell(value) -> tuple[int | float | None, bool]:
    """(number or None, suppressed) from a figure of the return."""
    if value == SUPPRESSED:
        return None, True
    if isinstance(value, bool) or value is None:
        return None, False
    return value, False


def tidy_rows(d: dict, partnership: str, partnership_cy: str | None = None) -> list[dict]:
    """One row per partnership, period, measure: the year's figures, then each quarter's statutory ones.
    With the partnership's Welsh name (a Welsh policy), each row carries it and its label in Welsh too,
    first (`WELSH_COLUMNS`)."""
    p = d["period"]
    rows: list[dict] = []

    def add(
        section, measure, labels, value, suppressed=None, period=p["label"], start=p["from"], end=p["to"]
    ):
        label, label_cy = labels
        number, hidden = _cell(value)
        row: dict = {"partnership_cy": partnership_cy} if partnership_cy is not None else {}
        row |= {
            "partnership": partnership,
            "period": period,
            "period_from": start,
            "period_to": end,
            "section": section,
            "measure": measure,
        }
        if partnership_cy is not None:
            row["label_cy"] = label_cy
        row |= {
            "label": label,
            "value": number,
            "suppressed": hidden if suppressed is None else suppressed,
        }
        rows.append(row)

    def agency(name: str) -> str:
        return welsh_name(name) if partnership_cy is not None else name

    for k in STATUTORY:
        add("statutory", k, (LABELS[k], welsh.LABELS[k]), d[k])
    for k in COUNTS:
        add("activity", k, (EXTRA_LABELS.get(k) or LABELS[k].strip(), welsh.LABELS[k]), d[k])
    for stage, v in d["median_days"].items():
        withheld = v["cases"] == SUPPRESSED
        stage_cy = welsh.STAGES[stage]
        median = (STAGE_LABELS[stage], welsh.MEDIAN.format(stage=stage_cy))
        add("timeliness", f"median_days.{stage}", median, v["median"], suppressed=withheld)
        cases = (f"Cases in the median: {STAGE_LABELS[stage][13:]}", welsh.IN_MEDIAN.format(stage=stage_cy))
        add("timeliness", f"cases.{stage}", cases, v["cases"])
    for r in d["lead_agencies"]:
        name, name_cy = r["name"], agency(r["name"])
        led = (f"Reviews led by {name}", welsh.LEAD_REVIEWS.format(name=name_cy))
        add("lead agency", f"lead_agency_reviews.{r['agency']}", led, r["reviews"])
        hidden = r["share"] is None and SUPPRESSED in (r["reviews"], r["of"])
        share = (f"Share led by {name} (%)", welsh.LEAD_SHARE.format(name=name_cy))
        add("lead agency", f"lead_agency_share.{r['agency']}", share, r["share"], hidden)
    for ch, n in d["channels"].items():
        how = welsh.CHANNELS.get(ch, ch.replace("_", " "))
        add(
            "channel",
            f"channel.{ch}",
            (f"Applications: {ch.replace('_', ' ')}", welsh.CHANNEL.format(channel=how)),
            n,
        )
    for k, n in d["recommendation_responses"].items():
        labels = (RESPONSE_LABELS.get(k, k), welsh.RESPONSES.get(k, k))
        add("recommendations", f"recommendation_response.{k}", labels, n)
    for q in d["quarters"]:
        for k in STATUTORY:
            add(
                "quarter",
                k,
                (LABELS[k], welsh.LABELS[k]),
                q[k],
                period=f"{p['label']} {q['quarter']}",
                start=q["from"],
                end=q["to"],
            )
    return rows


def columns_of(rows: list[dict]) -> tuple[str, ...]:
    """The table's columns: the Welsh ones first when the rows carry them."""
    return WELSH_COLUMNS if rows and "label_cy" in rows[0] else COLUMNS


def _safe_text(value: str) -> str:
    """A spreadsheet must not take a name for a formula (=, +, -, @ at the start): the one rule of
    `trigger.store.outputs.csv_cell`."""
    return str(csv_cell(value))


def csv_text(rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    columns = columns_of(rows)
    writer.writerow(columns)
    for r in rows:
        writer.writerow(
            [
                *(_safe_text(str(r[c])) for c in columns[:-2]),
                "" if r["value"] is None else r["value"],
                "true" if r["suppressed"] else "false",
            ]
        )
    return buf.getvalue()


def notes(d: dict, partnership: str) -> list[tuple[str, str]]:
    """What a reader of a spreadsheet needs to know, as (heading, text) pairs."""
    p = d["period"]
    out = [
        ("Title", f"ASB case reviews (the Community Trigger): {p['label']}"),
        ("Partnership", partnership),
        ("Period", f"{p['from']} to {p['to']}"),
        (
            "Basis",
            "Published under section 104 (the publication duty) of the Anti-social Behaviour, Crime and "
            "Policing Act 2014. Each figure is counted by the date of its own event.",
        ),
        ("Produced", date.today().isoformat()),
    ]
    anchor = d.get("audit_anchor")
    if anchor:
        # docs/operations.md#audit-anchors; the tidy CSV has no place for it (every row is a measure)
        out.append(
            (
                "Audit anchor",
                f"When these figures were published ({anchor['at']}), event {anchor['seq']} of the audit "
                f"log had the SHA-256 hash {anchor['hash']}.",
            )
        )
    if d["suppressed"]:
        out.append(
            (
                "Suppression",
                "Numbers from 1 to 4, and figures that would reveal them, are withheld so that no one can be "
                "identified: their value is empty and suppressed is TRUE.",
            )
        )
    return out


def published_json(d: dict, rows: list[dict]) -> dict:
    """The return for publication as JSON: a withheld figure is null, never the text "<5" among numbers,
    and `figures` holds the tidy rows, each with its `suppressed` flag."""

    def plain(value):
        if value == SUPPRESSED:
            return None
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return {**plain(d), "figures": rows}


# each column's width in a spreadsheet: characters (XLSX), centimetres (ODS)
WIDTHS = {
    "partnership_cy": (28, 6),
    "partnership": (28, 6),
    "period": (14, 3),
    "period_from": (12, 2.6),
    "period_to": (12, 2.6),
    "section": (16, 3.4),
    "measure": (40, 8),
    "label_cy": (60, 12),
    "label": (60, 12),
    "value": (10, 2.4),
    "suppressed": (11, 2.4),
}
DATES = ("period_from", "period_to")


def xlsx_bytes(rows: list[dict], d: dict, partnership: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    columns = columns_of(rows)
    book = Workbook()
    sheet = book.active
    sheet.title = "Figures"
    sheet.append(list(columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for r in rows:
        sheet.append(
            [date.fromisoformat(str(r[c])) if c in DATES else _safe_text(str(r[c])) for c in columns[:-2]]
            + [r["value"], bool(r["suppressed"])]
        )
        for cell in sheet[sheet.max_row]:
            if columns[cell.column - 1] in DATES:
                cell.number_format = "yyyy-mm-dd"  # real dates: Excel sorts and filters them as dates
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for n, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(n)].width = WIDTHS[column][0]
    about = book.create_sheet("Notes")
    for heading, text in notes(d, partnership):
        about.append([heading, text])
        about.cell(about.max_row, 1).font = Font(bold=True)
    about.column_dimensions["A"].width = 14
    about.column_dimensions["B"].width = 100
    book.properties.title = notes(d, partnership)[0][1]
    book.properties.creator = "Community Trigger"
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def ods_bytes(rows: list[dict], d: dict, partnership: str) -> bytes:
    from trigger.reports.ods import Sheet, spreadsheet

    columns = columns_of(rows)
    figures = Sheet("Figures", list(columns), widths_cm=[WIDTHS[c][1] for c in columns])
    for r in rows:
        figures.rows.append([*(str(r[c]) for c in columns[:-2]), r["value"], bool(r["suppressed"])])
    about = Sheet("Notes", ["", ""], widths_cm=[3, 20], header=False)
    about.rows.extend([list(pair) for pair in notes(d, partnership)])
    return spreadsheet([figures, about], title=notes(d, partnership)[0][1])


# -- the HTML page ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str
    value: str


def _chart(quarters: list[dict], short: dict[str, str] = SHORT, name=str) -> dict:
    """The geometry of a grouped bar chart of the four statutory counts by quarter (drawn by the template),
    its words from `short` and `name` (a quarter's name from its code): English unless told."""
    width, height, left, bottom, top_pad = 640, 300, 44, 250, 24
    values = [q[k] for q in quarters for k in STATUTORY]
    top = max([v for v in values if isinstance(v, int)] + [5, 1])
    step = max(1, -(-top // 5))
    top = step * -(-top // step)
    group = (width - left - 10) / max(len(quarters), 1)
    bar = group / (len(STATUTORY) + 1)
    scale = (bottom - top_pad) / top
    bars, labels = [], []
    for i, q in enumerate(quarters):
        x0 = left + i * group + bar / 2
        labels.append({"x": round(x0 + group / 2 - bar / 2, 1), "text": name(q["quarter"])})
        for j, k in enumerate(STATUTORY):
            v = q[k]
            h = v * scale if isinstance(v, int) else 0
            bars.append(
                Bar(
                    round(x0 + j * bar, 1),
                    round(bottom - h, 1),
                    round(bar - 2, 1),
                    round(h, 1),
                    PALETTE[k],
                    f"{short[k]}, {name(q['quarter'])}",
                    str(v),
                )
            )
    ticks = [{"y": round(bottom - t * scale, 1), "text": str(t)} for t in range(0, top + 1, step)]
    legend = [{"x": left + j * 150, "colour": PALETTE[k], "text": short[k]} for j, k in enumerate(STATUTORY)]
    described = "; ".join(
        f"{name(q['quarter'])}: " + ", ".join(f"{short[k].lower()} {q[k]}" for k in STATUTORY)
        for q in quarters
    )
    return {
        "width": width,
        "height": height + 40,
        "left": left,
        "right": width - 10,
        "bottom": bottom,
        "bars": bars,
        "ticks": ticks,
        "groups": labels,
        "legend": legend,
        "legend_y": bottom + 26,
        "description": described,
        "ink": INK,
    }


def _shown(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


TITLES = {
    "statutory": "The statutory figures",
    "activity": "Decisions, withdrawals and appeals",
    "timeliness": "Timeliness",
    "lead agency": "Lead agencies",
    "channel": "How applications were made",
    "recommendations": "Responses to recommendations",
}


def _english_note(n: str) -> str:
    return f"of {n} case{'' if n == '1' else 's'}"


def _sections(rows: list[dict], d: dict, cy: bool) -> list[dict]:
    """The year's tables, each a section of rows, in English or (`cy`) in Welsh."""
    year = [r for r in rows if r["section"] != "quarter"]
    titles, label = (welsh.SECTIONS, "label_cy") if cy else (TITLES, "label")
    few, of = (welsh.FEWER_THAN_5_CASES, welsh.of_cases) if cy else ("fewer than 5 cases", _english_note)
    sections = []
    for key, title in titles.items():
        items = [
            {
                "label": r[label],
                "value": _shown(r["value"]),
                "suppressed": r["suppressed"],
                # a median or a share is withheld, not "<5": only counts are small numbers
                "derived": r["measure"].startswith(("median_days.", "lead_agency_share.")),
            }
            for r in year
            if r["section"] == key and not (key == "timeliness" and r["measure"].startswith("cases."))
        ]
        if key == "timeliness":
            cases = {r["measure"][6:]: r for r in year if r["measure"].startswith("cases.")}
            for item, stage in zip(items, d["median_days"], strict=True):
                c = cases[stage]
                n = _shown(c["value"])
                item["note"] = few if c["suppressed"] else of(n)
        if items:
            sections.append(
                {"id": ("cy-" if cy else "") + key.replace(" ", "-"), "title": title, "rows": items}
            )
    return sections


def _quarters(d: dict, name=str) -> list[dict]:
    return [
        {
            "quarter": name(q["quarter"]),
            "from": q["from"],
            "to": q["to"],
            "cells": [{"value": _shown(_cell(q[k])[0]), "suppressed": _cell(q[k])[1]} for k in STATUTORY],
        }
        for q in d["quarters"]
    ]


def page_context(d: dict, partnership: str, partnership_cy: str | None = None) -> dict:
    """Plain data for the template: no ORM rows, nothing with side effects (docs/architecture.md#letters).
    With the partnership's Welsh name (a Welsh policy), `welsh` holds the Welsh page, shown first."""
    rows = tidy_rows(d, partnership, partnership_cy)
    welsh_page = None
    if partnership_cy is not None:
        welsh_page = {
            "partnership": partnership_cy,
            "period": {**d["period"], "label": welsh.period(d["period"]["label"])},
            "sections": _sections(rows, d, cy=True),
            "quarter_columns": [welsh.SHORT[k] for k in STATUTORY],
            "quarters": _quarters(d, welsh.quarter),
            "chart": _chart(d["quarters"], welsh.SHORT, welsh.quarter),
        }
    return {
        "partnership": partnership,
        "period": d["period"],
        "suppressed": d["suppressed"],
        "sections": _sections(rows, d, cy=False),
        "quarter_columns": [SHORT[k] for k in STATUTORY],
        "quarters": _quarters(d),
        "chart": _chart(d["quarters"]),
        "ink": INK,
        "audit_anchor": d.get("audit_anchor"),
        "welsh": welsh_page,
    }


def render_page(
    d: dict, partnership: str, templates: str | Path | None = None, partnership_cy: str | None = None
) -> str:
    """The page from `annual.html`: the partnership's own (in `templates`) if it has one, else ours. The
    partnership's template may `{% extends "trigger/annual.html" %}` and replace blocks. Rendered in the
    sandbox with autoescape, like partnership letters."""
    from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader, StrictUndefined, TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    from trigger.errors import InvalidInput

    ours = FileSystemLoader(TEMPLATES)
    loaders = [FileSystemLoader(str(templates))] if templates else []
    if templates and not Path(templates).is_dir():
        raise InvalidInput(f"--templates {templates} is not a folder")
    if templates:
        # a partnership's own template runs in the child process, with the letters' limits
        # (docs/architecture.md#letters): time, memory, output, no link out of its folder
        from letters.render import LetterError
        from letters.sandbox import render_page_isolated

        folders: list[tuple[str | None, str | Path]] = [
            (None, templates),
            ("trigger", TEMPLATES),
            (None, TEMPLATES),
        ]
        try:
            return render_page_isolated(
                "annual.html", page_context(d, partnership, partnership_cy), folders, "annual.html"
            )
        except LetterError as exc:
            raise InvalidInput(f"the annual page template in {templates} failed: {exc}") from None
    env = ImmutableSandboxedEnvironment(
        loader=ChoiceLoader([*loaders, PrefixLoader({"trigger": ours}), ours]),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    try:
        return env.get_template("annual.html").render(page_context(d, partnership, partnership_cy))
    except TemplateError as exc:
        where = f" in {templates}" if templates else ""
        raise InvalidInput(f"the annual page template{where} failed: {exc}") from None
