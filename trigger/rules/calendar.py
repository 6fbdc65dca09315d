"""Dates the procedure counts in: calendar months "beginning with" a day, working days in England or
Wales, and policy timescales with explicit units (`1wd`, `14d`). The one date-arithmetic module.

Pure functions over plain values; nothing here opens the database.
"""

from __future__ import annotations

import calendar as _cal
import importlib.util
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from letters.words import plural

if TYPE_CHECKING:  # the holidays package is imported only when working days are counted
    from holidays import HolidayBase

# the `holidays` package's subdivision codes for the two nations the Act covers
SUBDIVISIONS = {"england": "ENG", "wales": "WLS"}


# -- calendar months -------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The date with `day`'s day number `months` later, clamped to that month's last day."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, _cal.monthrange(year, month)[1]))


def months_beginning_with(start: date, months: int) -> date:
    """The last day of a period of `months` months beginning with `start` (docs/procedure.md#counting-months).

    It ends the day before the date in the Nth following month with `start`'s day number; where
    that month has no such day, it ends on that month's last day (15 Jan -> 14 Feb; 31 Jan -> 28 Feb).
    """
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    last = _cal.monthrange(year, month)[1]
    if start.day > last:
        return date(year, month, last)
    return date(year, month, start.day) - timedelta(days=1)


# -- the time of day -------------------------------------------------------------------------------

LONDON = ZoneInfo("Europe/London")


def wall_clock(moment: datetime) -> datetime:
    """A moment as the wall-clock time in England and Wales (naive), which meetings are kept in: a time
    typed with an offset (`10:00+05:00`) is converted, never stored with its offset dropped."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(LONDON).replace(tzinfo=None)


# -- policy timescales ----------------------------------------------------------------------------

_SPAN = re.compile(r"^\s*(\d+)\s*(wd|d)\s*$")
SPAN_MAX = {"d": 3_660, "wd": 2_610}  # ten years: beyond any time limit, and within the calendar's dates


@dataclass(frozen=True)
class Span:
    """A timescale with its unit: working days (`wd`) or calendar days (`d`)."""

    count: int
    unit: str  # "wd" or "d"

    def __str__(self) -> str:
        return f"{self.count}{self.unit}"

    def describe(self) -> str:
        noun = "working day" if self.unit == "wd" else "day"
        return plural(self.count, "{n} " + noun, "{n} " + noun + "s")


def parse_span(text: str) -> Span:
    """`"20wd"` -> Span(20, "wd"); a unit-less, negative or zero value is refused (ValueError)."""
    match = _SPAN.match(str(text))
    if not match:
        raise ValueError(f"{text!r} is not a timescale; write a whole number with its unit, e.g. 1wd or 14d")
    count, unit = match.group(1), match.group(2)
    if int(count) < 1:
        raise ValueError(f"{text!r} is not a timescale: it must be at least one day (1{unit})")
    if len(count) > 6 or int(count) > SPAN_MAX[unit]:
        raise ValueError(f"{text!r} is more than ten years; give at most {SPAN_MAX[unit]}{unit}")
    return Span(int(count), unit)


# -- working days -----------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _bank_holidays(nation: str) -> HolidayBase:
    if nation not in SUBDIVISIONS:
        raise ValueError(f"unknown nation {nation!r}; use england or wales")
    return _united_kingdom()(subdiv=SUBDIVISIONS[nation])


def _united_kingdom() -> type[HolidayBase]:
    """The `holidays` package's United Kingdom calendar (the one `country_holidays("GB")` gives), loaded
    from its own file: importing it by name first imports `holidays.countries`, the module of every
    country in the world, which costs a write command a fifth of its time."""
    import holidays  # imported here: only the commands that count working days pay for it

    path = Path(holidays.__file__).parent / "countries" / "united_kingdom.py"
    spec = importlib.util.spec_from_file_location("holidays.countries.united_kingdom", path)
    if spec is None or spec.loader is None or not path.is_file():  # laid out otherwise in this version
        return holidays.country_holidays("GB").__class__
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.UnitedKingdom


class WorkingCalendar:
    """Monday to Friday, less the nation's bank holidays and the partnership's closure days."""

    def __init__(self, nation: str = "england", closures: Iterable[date] = ()):
        self.nation = nation
        self._holidays = _bank_holidays(nation)
        self.closures = frozenset(closures)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._holidays and day not in self.closures

    def add_working_days(self, start: date, n: int) -> date:
        """The Nth working day strictly after `start` (docs/procedure.md#counting-days)."""
        day = start
        while n > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
        return day

    def subtract_working_days(self, end: date, n: int) -> date:
        """The working day N working days before `end`."""
        day = end
        while n > 0:
            day -= timedelta(days=1)
            if self.is_working_day(day):
                n -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days fall after `start`, up to and including `end` (0 when end <= start):
        the inverse of `add_working_days` on working days."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def next_working_day(self, day: date) -> date:
        """`day` itself when it is a working day, else the next one."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def due(self, start: date, span: Span, roll_forward: bool = True) -> date:
        """When a timescale from `start` ends. A calendar-day deadline that falls on a non-working day
        moves to the next working day unless the policy says otherwise (docs/procedure.md#counting-days)."""
        if span.unit == "wd":
            return self.add_working_days(start, span.count)
        end = start + timedelta(days=span.count)
        return self.next_working_day(end) if roll_forward else end

    def before(self, due: date, span: Span) -> date:
        """The day `span` before `due`: when a warning goes out."""
        if span.unit == "wd":
            return self.subtract_working_days(due, span.count)
        return due - timedelta(days=span.count)

    def holidays_in(self, year: int) -> list[tuple[date, str]]:
        """The bank holidays (and closure days) of a year, in date order."""
        _ = date(year, 1, 1) in self._holidays  # `holidays` fills a year when first asked about it
        days = {d: name for d, name in self._holidays.items() if d.year == year}
        days.update({d: "Partnership closure day" for d in self.closures if d.year == year})
        return sorted(days.items())
