"""The threshold for an ASB case review (SPEC §2): complaints in, decision and explanation out.

Pure functions over plain values; nothing here opens the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from trigger.calendar import months_beginning_with


@dataclass(frozen=True)
class Complaint:
    id: int
    occurred: date
    reported: date
    agency: str
    hate: str | None = None
    same_as: int | None = None
    complainant: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class Rules:
    qualifying_complaints: int = 3
    hate_route: bool = False
    community_route: bool = False
    community_individuals: int = 3
    stricter_caveats: tuple[str, ...] = ()


@dataclass
class Verdict:
    """One complaint's place in the explanation."""

    id: int
    counted: bool
    reason: str


@dataclass
class Explanation:
    met: bool
    route: str | None  # statutory, hate, community, or None
    statutory_count: int
    statutory_required: int
    counted: list[Verdict] = field(default_factory=list)
    excluded: list[Verdict] = field(default_factory=list)

    @property
    def statutory_met(self) -> bool:
        return self.statutory_count >= self.statutory_required

    def as_dict(self) -> dict:
        return {
            "met": self.met,
            "route": self.route,
            "statutory_count": self.statutory_count,
            "statutory_required": self.statutory_required,
            "counted": [{"id": v.id, "reason": v.reason} for v in self.counted],
            "excluded": [{"id": v.id, "reason": v.reason} for v in self.excluded],
        }


def qualifies(c: Complaint, application: date) -> str | None:
    """None when the complaint qualifies under s.104, else the plain-English reason it does not."""
    # s.104 (qualifying complaint): made within one month beginning with the behaviour's date
    if c.reported > months_beginning_with(c.occurred, 1):
        return (
            f"reported {(c.reported - c.occurred).days} days after the behaviour; the limit is one month"
        )
    # ... and the application made within six months beginning with the complaint's date
    if application > months_beginning_with(c.reported, 6):
        return "reported more than six months before the application"
    if c.reported > application:
        return "reported after the application"
    return None


def evaluate(complaints: list[Complaint], application: date, rules: Rules) -> Explanation:
    counted: list[Verdict] = []
    excluded: list[Verdict] = []
    for c in sorted(complaints, key=lambda c: (c.reported, c.id)):
        if c.same_as is not None:
            excluded.append(Verdict(c.id, False, f"the same incident as complaint {c.same_as}; counted once"))
            continue
        reason = qualifies(c, application)
        if reason:
            excluded.append(Verdict(c.id, False, reason))
        else:
            counted.append(Verdict(c.id, True, "a qualifying complaint"))
    count = len(counted)
    route = None
    if count >= rules.qualifying_complaints:
        route = "statutory"
    elif rules.hate_route and any(
        c.hate for c in complaints if c.id in {v.id for v in counted}
    ):
        route = "hate"
    return Explanation(route is not None, route, count, rules.qualifying_complaints, counted, excluded)
