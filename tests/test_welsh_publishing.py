"""Under a Welsh policy what the partnership publishes is bilingual, Welsh first, as its letters are: the
annual return's page (read in Chromium, checked by axe-core), the tidy CSV's labels (its header row
names the Welsh columns first) and the calendar feed (read back by icalendar and by vobject). The
partnership's Welsh name heads the Welsh half. English-only policies are untouched (test_publish.py,
test_calendar_ics.py)."""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

import icalendar
import pytest
import vobject

from tests.support.cases import build_year

pytestmark = pytest.mark.any_engine  # what is published reads the same rows on any database

NAME = "Safer Newport Community Safety Partnership"
NAME_CY = "Partneriaeth Diogelwch Cymunedol Casnewydd Fwy Diogel"
WELSH_HEADER = [
    "partnership_cy",
    "partnership",
    "period",
    "period_from",
    "period_to",
    "section",
    "measure",
    "label_cy",
    "label",
    "value",
    "suppressed",
]


@pytest.fixture
def welsh_year(trigger, snapshot):
    """The year of cases test_publish.py publishes, under the Gwent (Welsh) policy, for a partnership
    with a Welsh name (and the borough council the year's cases are led by)."""

    def build():
        trigger("init", "--policy", "wales", "--name", NAME, "--name-cy", NAME_CY)
        trigger("agency", "add", "cbc", "--name", "Caerphilly County Borough Council", "--kind", "council")
        return build_year()

    return snapshot("year-wales", build)


def _figure(rows: list[dict], measure: str, period: str = "2025/26") -> dict:
    [row] = [r for r in rows if r["measure"] == measure and r["period"] == period]
    return row


def test_the_tidy_csv_gives_the_welsh_name_and_labels_before_the_english(trigger, welsh_year):
    text = trigger("report", "annual", "--year", "2025", "--publish", "--csv").stdout
    header, *_ = csv.reader(io.StringIO(text))
    assert header == WELSH_HEADER
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {(r["partnership_cy"], r["partnership"]) for r in rows} == {(NAME_CY, NAME)}
    applications = _figure(rows, "applications")
    assert (applications["label_cy"], applications["label"]) == (
        "Ceisiadau a ddaeth i law",
        "Applications received",
    )
    assert _figure(rows, "threshold_decisions")["label_cy"] == "Penderfyniadau ar y trothwy a wnaed"
    assert _figure(rows, "median_days.received_to_decision")["label_cy"] == (
        "Canolrif y dyddiau, o ddod i law i benderfyniad y trothwy"
    )
    # an agency's Welsh name where it has one (the glossary), else its own name
    assert _figure(rows, "lead_agency_reviews.police")["label_cy"] == "Adolygiadau dan arweiniad Heddlu Gwent"
    assert _figure(rows, "lead_agency_reviews.cbc")["label_cy"] == (
        "Adolygiadau dan arweiniad Caerphilly County Borough Council"
    )
    assert _figure(rows, "channel.phone")["label_cy"] == "Ceisiadau: dros y ffôn"
    assert all(r["label_cy"] and r["label_cy"] != r["label"] for r in rows)
    # the quarters carry their labels too, and the figures are as an English return gives them
    assert _figure(rows, "applications", "2025/26 Q1")["label_cy"] == "Ceisiadau a ddaeth i law"
    assert (applications["value"], applications["suppressed"]) == ("7", "false")


def test_the_workbook_has_the_welsh_columns_too(trigger, welsh_year, tmp_path):
    import openpyxl

    path = tmp_path / "return.xlsx"
    trigger("report", "annual", "--year", "2025", "--publish", "--xlsx", path)
    sheet = openpyxl.load_workbook(path)["Figures"]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == WELSH_HEADER
    applications = next(r for r in rows if r[6] == "applications" and r[2] == "2025/26")
    assert applications[3].date().isoformat() == "2025-04-01"  # still a real date
    assert (applications[7], applications[9], applications[10]) == ("Ceisiadau a ddaeth i law", 7, False)


class _Parts(HTMLParser):
    """Each element's language, and the text read in each language, in page order."""

    def __init__(self):
        super().__init__()
        self.lang: list[str] = []
        self.html_lang = None
        self.texts: list[tuple[str, str]] = []
        self.h1: list[tuple[str, str]] = []
        self._h1 = False
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.html_lang = a["lang"]
        self.lang.append(a.get("lang") or (self.lang[-1] if self.lang else ""))
        self._h1 = tag == "h1"
        if "id" in a:
            self.ids.append(a["id"])

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        self.lang.pop()

    def handle_endtag(self, tag):
        self.lang.pop()

    def handle_data(self, data):
        if data.strip() and self.lang:
            self.texts.append((self.lang[-1], " ".join(data.split())))
            if self._h1:
                self.h1.append((self.lang[-1], " ".join(data.split())))


@pytest.fixture
def welsh_page(trigger, welsh_year, tmp_path):
    path = tmp_path / "adolygiadau-2025-26.html"
    trigger("report", "annual", "--year", "2025", "--publish", "--html", path)
    return path


def test_the_page_is_welsh_first_then_english_each_marked_with_its_language(welsh_page):
    page = welsh_page.read_text(encoding="utf-8")
    parts = _Parts()
    parts.feed(page)
    assert parts.html_lang == "cy"
    assert parts.h1 == [
        ("cy", "Adolygiadau Achos Ymddygiad Gwrthgymdeithasol (y Sbardun Cymunedol): 2025/26"),
        ("en-GB", "ASB case reviews (the Community Trigger): 2025/26"),
    ]
    said = [text for _lang, text in parts.texts]
    welsh_name = next(
        i for i, t in enumerate(said) if t.startswith(NAME_CY + ". Ffigurau ar gyfer 2025-04-01 i")
    )
    english_name = next(i for i, t in enumerate(said) if t.startswith(NAME + ". Figures for 2025-04-01 to"))
    assert welsh_name < english_name  # the Welsh name heads the Welsh half, which comes first
    assert dict(parts.texts[welsh_name : welsh_name + 1]) == {"cy": said[welsh_name]}
    welsh_half = {t for lang, t in parts.texts if lang == "cy"}
    english_half = {t for lang, t in parts.texts if lang == "en-GB"}
    assert {
        "Y ffigurau statudol",
        "Ceisiadau a ddaeth i law",
        "Fesul chwarter",
        "Ch1 (2025-04-01 i 2025-06-30)",
    } <= (welsh_half)
    assert {
        "The statutory figures",
        "Applications received",
        "By quarter",
        "Q1 (2025-04-01 to 2025-06-30)",
    } <= (english_half)
    assert "Applications received" not in welsh_half and "Ceisiadau a ddaeth i law" not in english_half
    assert len(parts.ids) == len(set(parts.ids))  # each half's headings and chart have their own ids
    assert "Ann Example" not in page


def test_the_welsh_page_passes_axe_in_chromium_wide_and_narrow(welsh_page, browser):
    from tests.support.browser import axe, need_chromium, new_page

    need_chromium()
    found: list[str] = []
    for width in (1280, 320):
        page = new_page(browser, width)
        page.goto(welsh_page.as_uri())
        assert page.locator("html").get_attribute("lang") == "cy"
        assert page.get_by_role("heading", level=1).all_inner_texts() == [
            "Adolygiadau Achos Ymddygiad Gwrthgymdeithasol (y Sbardun Cymunedol): 2025/26",
            "ASB case reviews (the Community Trigger): 2025/26",
        ]
        # each half's chart is an image named in its own language
        assert page.get_by_role("img", name="Ceisiadau, trothwy heb ei gyrraedd", exact=False).count() == 1
        assert page.get_by_role("img", name="Applications, threshold not met", exact=False).count() == 1
        axe(page, f"published-page-cy-{width}", found)
        # WCAG 1.4.10 lets a data table need two dimensions: only the tables by quarter (five columns,
        # as on the English page) are wider than 320 pixels; nothing else makes the page scroll sideways
        wider = page.evaluate(
            "[...document.querySelectorAll('main > *, main > div > *, footer > *')]"
            ".filter(e => e.getBoundingClientRect().right > innerWidth)"
            ".map(e => e.querySelector('caption')?.textContent || e.tagName)"
        )
        assert wider == (
            []
            if width == 1280
            else ["Y ffigurau statudol fesul chwarter, 2025/26", "The statutory figures by quarter, 2025/26"]
        )
        found = [f for f in found if "pixels wide" not in f]
    assert found == []


# -- the calendar feed ------------------------------------------------------------------------------------


@pytest.fixture
def welsh_case(trigger, snapshot):
    """A case under the Gwent policy, its threshold met, a meeting arranged and an action due."""

    def build():
        trigger("init", "--policy", "wales", "--name", NAME, "--name-cy", NAME_CY)
        ref = trigger.json(
            *("activate", "--applicant", "Ann Example", "--received", "2026-03-02", "--channel", "phone"),
            *("--statement", "Nothing has changed"),
        )["reference"]
        for day in ("2026-01-05", "2026-01-19", "2026-02-02"):
            trigger("incident", "add", ref, "--occurred", day, "--reported", day, "--agency", "police")
        trigger("decide", ref, "--met", "--on", "2026-03-05")
        trigger("assign", ref, "--lead", "police", "--reviewer", "Sam Reviewer", "--on", "2026-03-06")
        trigger(
            "meeting",
            ref,
            "--at",
            "2026-03-20T10:00",
            "--place",
            "Newport Civic Centre",
            "--on",
            "2026-03-09",
        )
        trigger(
            *("action", "add", ref, "--owner", "ncc", "--due", "2026-06-19", "--on", "2026-03-10"),
            *("--action", "Patrols"),
        )
        return ref

    return snapshot("case-wales", build)


def test_the_calendar_gives_each_event_in_welsh_then_english(trigger, welsh_case):
    raw = trigger("calendar", "ics").stdout_bytes
    cal = icalendar.Calendar.from_ical(raw)
    assert str(cal["x-wr-calname"]) == "Adolygiadau Achos Ymddygiad Gwrthgymdeithasol / ASB case reviews"
    events = {str(e["summary"]): e for e in cal.walk("VEVENT")}
    ref = welsh_case
    assert f"{ref}: adolygiad yn ddyledus / review due (review)" in events
    assert f"{ref}: cam gweithredu 1 yn ddyledus / action 1 due (action)" in events
    meeting = events[f"{ref}: cyfarfod yr adolygiad / case review meeting"]
    welsh, english = str(meeting["description"]).split("\n\n")
    assert welsh.splitlines() == [
        NAME_CY,
        "Cyfarfod yr adolygiad; amcangyfrif yw'r amser gorffen",
        f"Achos: {ref} (in_review)",
        "Asiantaeth arweiniol: police",
        "Adolygydd: Sam Reviewer",
        f"Gweler: trigger show {ref}",
    ]
    assert english.splitlines()[:2] == [NAME, "Case review meeting; the end time is assumed"]
    assert [str(c) for c in meeting["categories"].cats] == [
        "Adolygiad Achos Ymddygiad Gwrthgymdeithasol",
        "ASB case review",
        "meeting",
    ]
    assert "Ann Example" not in raw.decode()

    # another reader, vobject, reads the same Welsh and the same time (GMT in March)
    feed = vobject.readOne(raw.decode())
    by_summary = {e.summary.value: e for e in feed.vevent_list}
    read = by_summary[f"{ref}: cyfarfod yr adolygiad / case review meeting"]
    assert read.description.value.startswith(NAME_CY + "\nCyfarfod yr adolygiad;")
    assert read.dtstart.value.utcoffset().total_seconds() == 0 and read.dtstart.value.hour == 10
    assert feed.contents["x-wr-calname"][0].value.startswith("Adolygiadau Achos")


def test_a_held_meeting_says_so_in_both_languages(trigger, welsh_case):
    trigger("meeting", welsh_case, "--at", "2026-03-20T10:00", "--held", "--on", "2026-03-20")
    cal = icalendar.Calendar.from_ical(trigger("calendar", "ics").stdout_bytes)
    summaries = {str(e["summary"]) for e in cal.walk("VEVENT")}
    assert f"{welsh_case}: cyfarfod yr adolygiad (wedi'i gynnal) / case review meeting (held)" in summaries
