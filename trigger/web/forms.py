"""Reading what a form sent, and wording its mistakes as the GOV.UK Design System does ("Enter your
full name", "The date it happened must be a real date"). Which answers are wrong is decided by the
engine's checks (`trigger.cases.online`); this module only turns their refusals into words for the
field they came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from trigger.errors import InvalidInput
from trigger.web.words import TEXT, say

MAX_FIELDS = 40  # fields one page's form may send (the incident page sends the most: 13)


@dataclass
class Problems:
    """The mistakes on one page: field -> message, in the order the page shows the fields."""

    language: str
    messages: dict[str, str] = field(default_factory=dict)

    def add(self, name: str, message: str) -> None:
        self.messages.setdefault(name, message)

    def refused(self, name: str, refusal: InvalidInput, variant: str = "") -> None:
        """An engine refusal of the field `name`, worded for the applicant."""
        self.add(name, wording(name, refusal.problem, self.language, refusal.limit, variant))

    def __bool__(self) -> bool:
        return bool(self.messages)


def wording(
    name: str, problem: str | None, language: str, limit: int | None = None, variant: str = ""
) -> str:
    """The GOV.UK-style message for a field's mistake: the field's own words when it has them
    (`err_<field>_<problem>`), else the general wording with the field's name filled in."""
    problem = "required" if problem in ("blank", None) else problem
    for key in (f"err_{name}_{problem}_{variant}", f"err_{name}_{problem}"):
        if key in TEXT:
            return say(key, language)
    label = say(f"label_{name}", language) if f"label_{name}" in TEXT else name
    if problem in ("future", "year"):
        key = "err_date_future" if problem == "future" else "err_date_real"
        return say(key, language, label=label)
    if problem == "too_long":
        return say("err_too_long", language, label=label, limit=f"{limit or 0:,}")
    if problem == "character":
        return say("err_character", language, label=label)
    if problem == "required" and f"err_{name}_required" not in TEXT:
        return say("err_format", language, label=label)
    return say("err_format", language, label=label)


def text(form, name: str) -> str | None:
    """A text answer as typed (None when absent); the engine's checks decide what is wrong with it."""
    value = form.get(name)
    return value if isinstance(value, str) else None


def day(form, name: str, problems: Problems) -> tuple[date | None, dict]:
    """A GOV.UK date input (`NAME-day`, `NAME-month`, `NAME-year`): the date, or None with the mistake
    added to `problems`; and the parts as typed, to show again."""
    parts = {part: (text(form, f"{name}-{part}") or "").strip() for part in ("day", "month", "year")}
    label = say(f"label_{name}", problems.language)
    if not any(parts.values()):
        problems.add(name, wording(name, "required", problems.language))
        return None, parts
    missing = [part for part in ("day", "month", "year") if not parts[part]]
    if missing:
        problems.add(
            name,
            say(
                "err_date_part",
                problems.language,
                label=label,
                part=say(f"part_{missing[0]}", problems.language),
            ),
        )
        return None, parts
    try:
        number = {part: int(parts[part]) for part in parts}
        if len(parts["year"]) != 4:
            raise ValueError("a year has four digits")
        return date(number["year"], number["month"], number["day"]), parts
    except ValueError:
        problems.add(name, say("err_date_real", problems.language, label=label))
        return None, parts


def parts_of(iso: str | None) -> dict:
    """A stored date shown again in a date input's three boxes."""
    if not iso:
        return {"day": "", "month": "", "year": ""}
    d = date.fromisoformat(iso)
    return {"day": str(d.day), "month": str(d.month), "year": str(d.year)}
