"""Dates the procedure counts in: calendar months "beginning with" a day, working days in England or
Wales, and policy timescales with explicit units (`1wd`, `14d`). The one date-arithmetic module.

Pure functions over plain values; nothing here opens the database. The one file it keeps is a stored
copy of the bank holidays (`BankHolidays`).
"""

from __future__ import annotations

import calendar as _cal
import contextlib
import hashlib
import importlib.util
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from letters.words import plural
from trigger.checks import YEAR_MAX, YEAR_MIN

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
def _bank_holidays(nation: str) -> BankHolidays:
    if nation not in SUBDIVISIONS:
        raise ValueError(f"unknown nation {nation!r}; use england or wales")
    return BankHolidays(nation)


# The years a date may have (trigger.checks.YEAR_MIN to YEAR_MAX) and the longest timescale either side:
# the years whose bank holidays are kept in the stored copy; any other year is asked of `holidays`.
STORED_YEARS = range(YEAR_MIN - 11, YEAR_MAX + 12)


class BankHolidays:
    """A nation's bank holidays with their names, by year: those the `holidays` package gives for the
    United Kingdom's subdivision. Reading them from the package costs a command that counts working
    days about a twentieth of its CPU time (the package imports every calendar system it knows), so the days
    of `STORED_YEARS` are computed by it once and kept in a stored copy (`_stored_copy`) named by the
    package's version and its files, which later commands read instead."""

    def __init__(self, nation: str) -> None:
        self.nation = nation
        self._years: dict[int, dict[date, str]] = {}
        self._stored: dict[str, list[list[str]]] | None = None
        self._package: HolidayBase | None = None

    def __contains__(self, day: date) -> bool:
        return day in self.of_year(day.year)

    def of_year(self, year: int) -> dict[date, str]:
        """The bank holidays of a year: day -> name."""
        days = self._years.get(year)
        if days is None:
            if year in STORED_YEARS:
                if self._stored is None:
                    self._stored = _stored_copy(self.nation, self._from_package)
                listed = self._stored[str(year)]
            else:
                listed = self._from_package(range(year, year + 1))[str(year)]
            days = self._years[year] = {date.fromisoformat(day): name for day, name in listed}
        return days

    def _from_package(self, years: range) -> dict[str, list[list[str]]]:
        """The days of `years` as the `holidays` package gives them: {"2026": [["2026-01-01", name]...]}."""
        if self._package is None:
            self._package = _united_kingdom()(subdiv=SUBDIVISIONS[self.nation])
        for year in years:
            _ = date(year, 1, 1) in self._package  # `holidays` fills a year when first asked about it
        found: dict[str, list[list[str]]] = {str(year): [] for year in years}
        for day, name in sorted(self._package.items()):
            if day.year in years:
                found[str(day.year)].append([day.isoformat(), name])
        return found


def _stored_copy(
    nation: str, compute: Callable[[range], dict[str, list[list[str]]]]
) -> dict[str, list[list[str]]]:
    """The bank holidays of `STORED_YEARS` from the stored copy, or computed (`compute`) and stored.

    The copy is a JSON file in the private folder Jinja keeps for this user in the system's temporary
    folder (created 0700; refused unless this user owns it and no one else may open it), the folder the
    letters' compiled templates are kept in. Its name carries the nation, the years and the `holidays`
    package's version and files (their sizes and times), so another version of the package, or an
    edited one, is asked again. A copy that cannot be read or does not hold every year is computed again;
    where no copy can be kept, the package is asked every time, as without one."""
    folder, name = _copy_place(nation)
    if folder is not None:
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                stored = json.load(f)
            if _holds_every_year(stored):
                return stored
        except (OSError, ValueError):
            pass
    days = compute(STORED_YEARS)
    if folder is not None:
        _store(folder, name, days)
    return days


def _holds_every_year(stored: object) -> bool:
    """Whether a stored copy read back is one: every year of `STORED_YEARS`, each day a valid date."""
    if not isinstance(stored, dict):
        return False
    for year in STORED_YEARS:
        days = stored.get(str(year))
        if not isinstance(days, list):
            return False
        for entry in days:
            if not (isinstance(entry, list) and len(entry) == 2 and all(isinstance(v, str) for v in entry)):
                return False
            if date.fromisoformat(entry[0]).year != year:  # ValueError on a date that is none
                return False
    return True


def _store(folder: str, name: str, days: dict[str, list[list[str]]]) -> None:
    """Write the stored copy whole (a temporary file renamed into place), or not at all."""
    try:
        fd, temporary = tempfile.mkstemp(prefix=".bank-holidays-", dir=folder)
    except OSError:  # a read-only folder: the package is asked again next time
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(days, f)
        os.replace(temporary, os.path.join(folder, name))
    except OSError:  # a full or read-only disk: the package is asked again next time
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def _copy_place(nation: str) -> tuple[str | None, str]:
    """The private folder the stored copy is kept in (None where there is none) and the copy's name."""
    from jinja2 import FileSystemBytecodeCache

    spec = importlib.util.find_spec("holidays")
    places = spec.submodule_search_locations if spec is not None else None
    if not places:
        return None, ""
    package = Path(next(iter(places)))
    identity = [nation, str(STORED_YEARS)]
    try:
        identity.append((package / "version.py").read_text(encoding="utf-8"))
        for part in ("countries/united_kingdom.py", "holiday_base.py", "groups/christian.py"):
            found = (package / part).stat()
            identity.append(f"{part} {found.st_size} {found.st_mtime_ns}")
        folder = FileSystemBytecodeCache().directory
    except (OSError, RuntimeError):  # no such file, or no private folder to be had
        return None, ""
    key = hashlib.sha256("\n".join(identity).encode()).hexdigest()[:16]
    return folder, f"trigger-bank-holidays-{nation}-{key}.json"


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
        days = dict(self._holidays.of_year(year))
        days.update({d: "Partnership closure day" for d in self.closures if d.year == year})
        return sorted(days.items())
