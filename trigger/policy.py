"""Local procedures as TOML policies (SPEC §8): loaded, validated and refused at load with the file,
the key and the reason. Presets ship in `workflows/`; a partnership may point `--policy` at its own file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from trigger.calendar import NATIONS, Span, WorkingCalendar, parse_span
from trigger.errors import PolicyError
from workflows import PRESETS_DIR

AGENCY_KINDS = ("council", "police", "health", "housing", "other")
TIMESCALES = (
    "acknowledge",
    "threshold_decision",
    "review",
    "outcome_letter",
    "appeal_window",
    "appeal_bundle",
    "appeal_decision",
)
# Local caveats stricter than the Act (DOMAIN §2.4); always labelled as such in explanations.
STRICTER_CAVEATS = ("latest_within_month", "no_diary_sheets", "report_within_7_days")


@dataclass(frozen=True)
class AgencySpec:
    code: str
    name: str
    kind: str
    email: str | None = None


@dataclass(frozen=True)
class Policy:
    name: str
    title: str
    area: str
    nation: str
    version: str
    effective: date
    source: str
    qualifying_complaints: int
    hate_route: bool
    community_route: bool
    community_individuals: int
    stricter_caveats: tuple[str, ...]
    timescales: dict[str, Span]
    roll_forward: bool
    appeal_body: str
    appeal_final: bool
    appeal_grounds: dict[str, str]
    warn_before: Span
    escalate_after: Span
    hourly_rate: float
    retention_years: int
    closures: tuple[date, ...]
    manager_name: str
    manager_email: str
    agencies: tuple[AgencySpec, ...]
    welsh: bool = False  # bilingual letters for applicants who ask for Welsh
    partnership: str = ""  # the letterhead: the partnership's name (default "<area> Community Safety Partnership")
    templates: str = ""  # a folder of the partnership's own letter templates (rendered in the sandbox)
    path: str = ""
    text: str = field(default="", repr=False)

    def calendar(self) -> WorkingCalendar:
        return WorkingCalendar(self.nation, self.closures)


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS_DIR.glob("*.toml"))


def resolve(name_or_path: str) -> Path:
    """A preset name (`llr`) or a path to a TOML file."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        if not candidate.is_file():
            raise PolicyError(f"{name_or_path}: no such policy file")
        return candidate
    preset = PRESETS_DIR / f"{name_or_path}.toml"
    if not preset.is_file():
        raise PolicyError(
            f"no policy called {name_or_path!r}; presets are {', '.join(preset_names())}, or give a .toml file"
        )
    return preset


def load(name_or_path: str) -> Policy:
    path = resolve(name_or_path)
    return parse(path.read_text(encoding="utf-8"), str(path))


def parse(text: str, where: str = "<policy>") -> Policy:
    """Validate a policy's TOML text; any problem raises PolicyError naming the file, key and reason."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{where}: not valid TOML: {exc}") from None
    r = _Reader(raw, where)

    nation = r.get("nation", str)
    if nation not in NATIONS:
        r.fail("nation", f"{nation!r} is not a nation; use england or wales")
    qualifying = r.get("threshold.qualifying_complaints", int)
    if qualifying > 3:
        # s.104(4) and EN para 231: the threshold may be set no higher than three complaints
        r.fail("threshold.qualifying_complaints", f"{qualifying} is above 3, which the Act caps (s.104(4))")
    if qualifying < 1:
        r.fail("threshold.qualifying_complaints", "must be at least 1")
    caveats = tuple(r.get("threshold.stricter_caveats", list, []))
    for caveat in caveats:
        if caveat not in STRICTER_CAVEATS:
            r.fail("threshold.stricter_caveats", f"{caveat!r} is not one of {', '.join(STRICTER_CAVEATS)}")

    timescales = {name: r.span(f"timescales.{name}") for name in TIMESCALES}
    grounds = r.get("appeal.grounds", dict)
    if not grounds:
        r.fail("appeal.grounds", "list at least one ground of appeal")

    closures = []
    for value in r.get("closures", list, []):
        if not isinstance(value, date):
            r.fail("closures", f"{value!r} is not a date; write ISO dates such as 2026-12-24")
        closures.append(value)

    agencies = []
    for i, entry in enumerate(r.get("agencies", list, [])):
        key = f"agencies[{i}]"
        if not isinstance(entry, dict) or not {"code", "name", "kind"} <= entry.keys():
            r.fail(key, "each agency needs code, name and kind")
        if entry["kind"] not in AGENCY_KINDS:
            r.fail(f"{key}.kind", f"{entry['kind']!r} is not one of {', '.join(AGENCY_KINDS)}")
        agencies.append(AgencySpec(entry["code"], entry["name"], entry["kind"], entry.get("email")))

    retention = r.get("retention_years", int)
    if retention < 1:
        r.fail("retention_years", "must be at least 1")
    effective = r.get("effective", date)
    if isinstance(effective, date) is False:
        r.fail("effective", "must be a date")

    return Policy(
        name=r.get("name", str),
        title=r.get("title", str),
        area=r.get("area", str),
        nation=nation,
        version=str(r.get("version", str)),
        effective=effective,
        source=r.get("source", str, ""),
        qualifying_complaints=qualifying,
        hate_route=r.get("threshold.hate_route", bool),
        community_route=r.get("threshold.community_route", bool),
        community_individuals=r.get("threshold.community_individuals", int, 3),
        stricter_caveats=caveats,
        timescales=timescales,
        roll_forward=r.get("timescales.roll_forward", bool, True),
        appeal_body=r.get("appeal.body", str),
        appeal_final=r.get("appeal.final", bool, True),
        appeal_grounds={str(k): str(v) for k, v in grounds.items()},
        warn_before=r.span("reminders.warn_before"),
        escalate_after=r.span("reminders.escalate_after"),
        hourly_rate=float(r.get("hourly_rate", (int, float))),
        retention_years=retention,
        closures=tuple(closures),
        manager_name=r.get("manager.name", str, "Community Safety Manager"),
        manager_email=r.get("manager.email", str, ""),
        agencies=tuple(agencies),
        welsh=r.get("welsh", bool, nation == "wales"),
        partnership=r.get("partnership", str, "") or f"{r.get('area', str)} Community Safety Partnership",
        templates=r.get("templates", str, ""),
        path=where,
        text=text,
    )


_MISSING = object()


class _Reader:
    def __init__(self, raw: dict, where: str):
        self.raw, self.where = raw, where

    def fail(self, key: str, reason: str):
        raise PolicyError(f"{self.where}: {key}: {reason}")

    def get(self, key: str, kind: Any, default: Any = _MISSING) -> Any:
        node: Any = self.raw
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                if default is _MISSING:
                    self.fail(key, "missing")
                return default
            node = node[part]
        # bool is an int in Python: do not accept true for a number, nor 1 for a flag
        if kind is not bool and isinstance(node, bool) and kind in (int, float, (int, float)):
            self.fail(key, f"expected a number, got {node!r}")
        if not isinstance(node, kind):
            expected = getattr(kind, "__name__", "number")
            self.fail(key, f"expected {expected}, got {node!r}")
        return node

    def span(self, key: str) -> Span:
        value = self.get(key, str)
        try:
            return parse_span(value)
        except ValueError as exc:
            self.fail(key, str(exc))
