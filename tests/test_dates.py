"""One way to write a date (trigger/rules/dates.py): the long form a person reads is the one the
letters print, in English and in Welsh, whatever the process's locale."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from babel.dates import format_date
from babel.lists import format_list
from hypothesis import given
from hypothesis import strategies as st

from letters.render import andlist, dyddiad, longdate
from trigger.rules.dates import iso, iso_moment, long_date, long_date_with_weekday, weekday
from trigger.rules.threshold import Complaint, why_not_qualifying

pytestmark = pytest.mark.any_engine  # pure functions: the same on any database

EVERY_MONTH = [date(2026, month, day) for month in range(1, 13) for day in (1, 9, 28)]


@pytest.mark.parametrize("day", EVERY_MONTH, ids=str)
def test_the_long_date_is_the_one_the_letters_print(day):
    # the letter templates' filters format with Babel's CLDR data; the engine's own text agrees
    assert long_date(day) == longdate(day) == format_date(day, format="long", locale="en_GB")
    assert long_date(day, "cy") == dyddiad(day) == format_date(day, format="long", locale="cy")
    assert weekday(day) == format_date(day, "EEEE", locale="en_GB")


@given(st.lists(st.text(st.characters(categories=["L", "N", "Zs"]), min_size=1, max_size=12), max_size=6))
def test_an_english_list_in_a_letter_is_cldrs(items):
    # the letters join a list themselves, so as not to load Babel's locale data; it is CLDR's en_GB list
    assert andlist(items) == format_list(items, locale="en_GB")


def test_the_long_forms():
    assert long_date(date(2026, 3, 2)) == "2 March 2026"
    # the Welsh months as Welsh public bodies write them
    assert long_date(date(2026, 3, 2), "cy") == "2 Mawrth 2026"
    assert long_date(date(2026, 7, 31), "cy") == "31 Gorffennaf 2026"
    assert long_date(date(2027, 2, 1), "cy") == "1 Chwefror 2027"
    assert long_date(date(2026, 3, 2), "en") == long_date(date(2026, 3, 2), "fr") == "2 March 2026"
    assert long_date_with_weekday(date(2027, 1, 8)) == "Friday 8 January 2027"


def test_iso_text_for_programs():
    assert iso(date(2026, 3, 2)) == "2026-03-02"
    assert iso(None) is None
    assert iso_moment(datetime(2026, 3, 2, 9, 30, 15, 123456)) == "2026-03-02T09:30:15+00:00"
    assert iso_moment(None) is None


def test_the_threshold_explanation_writes_dates_the_same_way():
    late = Complaint(id=1, occurred=date(2026, 1, 5), reported=date(2026, 3, 2), agency="police")
    _reason, detail = why_not_qualifying(late, date(2026, 3, 20))
    assert "5 January 2026" in detail
