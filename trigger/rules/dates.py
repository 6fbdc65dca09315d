"""How the engine writes a date: ISO text where a program reads it (JSON, a letter's context), and the
long form where a person does ("2 March 2026"; "2 Mawrth 2026" in the Welsh half of a message). The
one place dates are formatted; `trigger.rules.calendar` is the one place they are counted.

Pure and standard library only. The long date and its month names are `letters.words`' (CLDR's for
en_GB and cy, the ones Babel gives; a test holds them equal), which the letter templates' `longdate`
and `dyddiad` filters write too: so writing a date never loads Babel and never depends on the
process's locale, as strftime's `%B` and `%A` do.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from letters.words import MONTHS, long_date

__all__ = ["MONTHS", "long_date"]  # re-exported: the engine writes every date through this module

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def iso(day: date | None) -> str | None:
    """A date as ISO text (`2026-03-02`), or None: how dates leave the engine in JSON and letter contexts."""
    return day.isoformat() if day else None


def iso_moment(moment: datetime | None) -> str | None:
    """A moment stored as UTC without its zone, as ISO text with the zone (`2026-03-02T09:30:00+00:00`)."""
    return moment.replace(tzinfo=UTC).isoformat(timespec="seconds") if moment else None


def weekday(day: date) -> str:
    """The day of the week in English: `Monday`."""
    return WEEKDAYS[day.weekday()]


def long_date_with_weekday(day: date) -> str:
    """`2027-01-08` -> `Friday 8 January 2027`: a due date in the e-mails about deadlines, where the day
    of the week helps."""
    return f"{weekday(day)} {long_date(day)}"
