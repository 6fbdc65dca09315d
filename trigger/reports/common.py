"""What the reports share: the reporting period (a performance year, 1 April to 31 March, or any period
up to twelve months) and the median of a histogram of days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from trigger.errors import InvalidInput
from trigger.rules.calendar import add_months, months_beginning_with
from trigger.store.app import today

# -- the reporting period --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    @property
    def label(self) -> str:
        if self.start.month == 4 and self.start.day == 1 and self.end == date(self.start.year + 1, 3, 31):
            return f"{self.start.year}/{str(self.start.year + 1)[2:]}"
        return f"{self.start.isoformat()} to {self.end.isoformat()}"

    def quarters(self) -> list[Period]:
        """Quarters from the start (Q1 = Apr-Jun in a performance year, docs/procedure.md#reporting)."""
        out, start = [], self.start
        while start <= self.end:
            end = min(add_months(start, 3) - timedelta(days=1), self.end)
            out.append(Period(start, end))
            start = end + timedelta(days=1)
        return out


def period(year: int | None = None, start: date | None = None, end: date | None = None) -> Period:
    """A performance year (1 April Y to 31 March Y+1: docs/procedure.md#reporting) or up to 12 months."""
    if year is not None and (start or end):
        raise InvalidInput("give either --year or --from/--to, not both")
    if year is not None:
        if not 2014 <= year <= 9998:
            raise InvalidInput(f"--year {year} is not a performance year; give e.g. --year 2025 for 2025/26")
        return Period(date(year, 4, 1), date(year + 1, 3, 31))
    if start is None and end is None:
        now = today()
        y = now.year if now.month >= 4 else now.year - 1
        return Period(date(y, 4, 1), date(y + 1, 3, 31))
    if start is None or end is None:
        raise InvalidInput("give both --from and --to (or --year)")
    if end < start:
        raise InvalidInput(f"--to {end.isoformat()} is before --from {start.isoformat()}; swap them")
    longest = months_beginning_with(start, 12)
    if end > longest:
        raise InvalidInput(
            f"{start.isoformat()} to {end.isoformat()} is longer than 12 months; the longest period from "
            f"{start.isoformat()} ends {longest.isoformat()}"
        )
    return Period(start, end)


def median(histogram: dict[int, int]) -> tuple[float | None, int]:
    n = sum(histogram.values())
    if not n:
        return None, 0
    values = sorted(histogram.items())

    def nth(k: int) -> int:  # 0-based
        seen = 0
        for v, c in values:
            seen += c
            if k < seen:
                return v
        return values[-1][0]

    mid = (nth((n - 1) // 2) + nth(n // 2)) / 2
    return (int(mid) if mid == int(mid) else mid), n
