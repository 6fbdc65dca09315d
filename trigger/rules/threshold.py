"""The ASB case review threshold (docs/procedure.md#threshold): complaints in, decision and explanation out.

Pure functions over plain values; nothing here opens the database.

How the routes fit together:
- the **statutory route** (s.104(4)) counts qualifying complaints (s.104, "qualifying complaint":
  within one month beginning with the behaviour; the application within six months beginning with
  the complaint) about separate incidents. When the count reaches the policy's number the threshold
  is met and nothing local can change that;
- the **local routes** (s.104(5)) are the partnership's own: one qualifying hate incident (LLR), or
  N different people complaining about the same incident within six months (an incident being a
  report and the reports linked to it with --same-as; docs/procedure.md#llr-threshold);
- **stricter local caveats** (docs/procedure.md#stricter-local-caveats: Horsham's 7 days, Ashfield's
  diary sheets, Melton's latest report within a month) are the partnership's discretion too, so they are
  applied to the local routes only, never to the statutory count, and every explanation labels them
  "stricter than the Act".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from letters.words import number, plural
from trigger.checks import name_key
from trigger.rules.calendar import months_beginning_with
from trigger.rules.dates import long_date

STRICTER = "stricter than the Act"
DIARY_CATEGORIES = ("diary", "diary_sheet")  # how an incident log marks a diary-sheet entry
CAVEAT_TEXT = {
    # docs/procedure.md#stricter-local-caveats: Melton, Westminster, Ashfield
    "latest_within_month": (
        "the most recent complaint must have been made within the month before the application"
    ),
    # docs/procedure.md#stricter-local-caveats: Ashfield
    "no_diary_sheets": "diary sheets do not count as complaints",
    # docs/procedure.md#stricter-local-caveats: Horsham
    "report_within_7_days": "each incident must be reported within 7 days",
}
ROUTE_TEXT = {
    "statutory": "the statutory route (s.104(4))",
    "hate": "the local hate incident route (s.104(5))",
    "community": "the local community route (s.104(5))",
}


@dataclass(frozen=True)
class Complaint:
    id: int
    occurred: date
    reported: date
    agency: str
    hate: str | None = None
    same_as: int | None = None
    complainant: str | None = None  # who complained; None is the victim
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
    caveat: str | None = None  # what a stricter local caveat says about it, labelled as such
    detail: str | None = None  # the dates behind the reason, for the letter


@dataclass
class Caveat:
    name: str
    text: str
    effect: str  # what it changed, in plain English

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "text": self.text,
            "label": STRICTER,
            "applied_to": "local routes only",
            "effect": self.effect,
        }


@dataclass(frozen=True)
class IncidentPeople:
    """Who complained about one incident: the report it was first recorded as (followed through
    --same-as links), the day of the behaviour, the qualifying reports of it and how many different
    people made them."""

    incident: int
    occurred: date
    complaints: tuple[int, ...]
    people: int


@dataclass(frozen=True)
class CommunityCount:
    """The local community route: the incident the most different people complained about, if any."""

    needed: int
    most: IncidentPeople | None

    @property
    def met(self) -> bool:
        return self.most is not None and self.most.people >= self.needed

    def as_dict(self) -> dict:
        most = self.most
        return {
            "met": self.met,
            "needed": self.needed,
            "people": most.people if most else 0,
            "incident": most.incident if most else None,
            "occurred": most.occurred.isoformat() if most else None,
            "complaints": list(most.complaints) if most else [],
        }

    def text(self) -> str:
        """What the explanation says of the route: which incident met it, or the most any one reached."""
        most = self.most
        if most is None:
            return (
                "No qualifying complaint counts for the local community route, which needs "
                f"{self.needed} different people to complain about the same incident within six months."
            )
        which = f"the behaviour on {long_date(most.occurred)} ({_ids(most.complaints)})"
        if self.met:
            return (
                f"{most.people} different people complained about the same incident, {which}, within six "
                f"months (at least {self.needed} needed), which meets the local community route."
            )
        who = "one person" if most.people == 1 else f"{most.people} different people"
        return (
            f"No incident was complained about by {self.needed} different people within six months: the "
            f"most was {who}, about {which}. The local community route needs {self.needed} about the "
            "same incident."
        )


@dataclass
class Explanation:
    met: bool
    route: str | None  # statutory, hate, community, or None
    statutory_count: int
    statutory_required: int
    counted: list[Verdict] = field(default_factory=list)
    excluded: list[Verdict] = field(default_factory=list)
    application: date | None = None
    routes: dict[str, str] = field(default_factory=dict)  # each route considered -> what it found
    caveats: list[Caveat] = field(default_factory=list)
    possible_duplicates: list[tuple[int, ...]] = field(default_factory=list)
    void: list[Verdict] = field(default_factory=list)  # recorded in error: kept, never counted
    community: CommunityCount | None = None  # when the policy has the community route

    @property
    def statutory_met(self) -> bool:
        return self.statutory_count >= self.statutory_required

    def as_dict(self) -> dict:
        return {
            "met": self.met,
            "route": self.route,
            "statutory_count": self.statutory_count,
            "statutory_required": self.statutory_required,
            "statutory_met": self.statutory_met,
            "application": self.application.isoformat() if self.application else None,
            "counted": [_verdict_dict(v) for v in self.counted],
            "excluded": [_verdict_dict(v) for v in self.excluded],
            "routes": dict(self.routes),
            "stricter_caveats": [c.as_dict() for c in self.caveats],
            "possible_duplicates": [list(group) for group in self.possible_duplicates],
            "void": [_verdict_dict(v) for v in self.void],
            "community": self.community.as_dict() if self.community else None,
            "text": self.text(),
        }

    def text(self) -> str:
        """The explanation as the paragraph a threshold letter quotes."""
        total = len(self.counted) + len(self.excluded)
        parts = []
        applied = f" on {long_date(self.application)}" if self.application else ""
        parts.append(
            f"The application was made{applied}. Under section 104 of the Anti-social Behaviour, Crime and "
            "Policing Act 2014 a complaint counts towards the threshold when it was made within one month "
            "of the behaviour and the application was made within six months of the complaint; the same "
            "incident reported more than once counts once."
        )
        ids = _ids([v.id for v in self.counted])
        required = plural(self.statutory_required, "{n} qualifying complaint", "{n} qualifying complaints")
        threshold = f"the threshold under section 104(4) is {required}."
        if total == 0:
            parts.append(f"No complaints are recorded; {threshold}")
        elif total == 1:
            found = "it qualifies" if self.counted else "it does not qualify"
            only = _ids([v.id for v in self.counted + self.excluded])
            parts.append(f"One complaint is recorded and {found} ({only}); {threshold}")
        elif self.counted:
            qualifying = plural(
                self.statutory_count,
                "{n} qualifies",
                "{n} about separate incidents qualify",
            )
            parts.append(f"Of the {number(total)} complaints recorded, {qualifying} ({ids}); {threshold}")
        else:
            parts.append(f"Of the {number(total)} complaints recorded, none qualifies; {threshold}")
        for v in self.excluded:
            parts.append(
                f"Complaint {v.id} was not counted: {v.reason}" + (f" ({v.detail})." if v.detail else ".")
            )
        for v in self.void:
            parts.append(f"Complaint {v.id} is void and not counted: {v.reason}.")
        for group in self.possible_duplicates:
            parts.append(
                f"Complaints {_ids(group, prefix=False)} were made to different agencies about behaviour on "
                "the same day and may be the same incident; unless they are linked as one incident they are "
                "treated as separate incidents."
            )
        for route in ("hate", "community"):
            if route in self.routes:
                parts.append(self.routes[route])
        for caveat in self.caveats:
            parts.append(f"Local rule, {STRICTER}: {caveat.text}. {caveat.effect}")
        if self.route == "statutory":
            parts.append(
                "The threshold is therefore met under section 104(4), and the partners must carry "
                "out an ASB case review."
            )
        elif self.route:
            parts.append(f"The threshold is therefore met under {ROUTE_TEXT[self.route]}.")
        else:
            parts.append("The threshold is therefore not met.")
        return " ".join(parts)


def _verdict_dict(v: Verdict) -> dict:
    out = {"id": v.id, "reason": v.reason}
    if v.detail:
        out["detail"] = v.detail
    if v.caveat:
        out["stricter_caveat"] = v.caveat
    return out


def _ids(ids: Iterable[int], prefix: bool = True) -> str:
    names = [str(i) for i in ids]
    head = ("complaint " if len(names) == 1 else "complaints ") if prefix else ""
    if len(names) <= 1:
        return head + "".join(names)
    return head + ", ".join(names[:-1]) + " and " + names[-1]


# -- the statutory definition ---------------------------------------------------------------------------


def why_not_qualifying(c: Complaint, application: date) -> tuple[str, str] | None:
    """None when the complaint qualifies, else (reason, detail): the reason in plain English, as
    docs/procedure.md#qualifying-complaint words it, the detail naming the dates the limit ran between."""
    if c.reported > application:
        return (
            "reported after the application",
            f"reported on {long_date(c.reported)}; the application was made on {long_date(application)}",
        )
    # s.104 (qualifying complaint, EN para 231): made within one month beginning with the behaviour's date
    month_end = months_beginning_with(c.occurred, 1)
    if c.reported > month_end:
        return (
            f"reported {(c.reported - c.occurred).days} days after the behaviour; the limit is one month",
            f"the month beginning with {long_date(c.occurred)} ended on {long_date(month_end)}",
        )
    # ... and the application made within six months beginning with the complaint's date
    six_end = months_beginning_with(c.reported, 6)
    if application > six_end:
        return (
            "reported more than six months before the application",
            f"the six months beginning with {long_date(c.reported)} ended on {long_date(six_end)}",
        )
    return None


def window_start(application: date, months: int = 6) -> date:
    """The earliest complaint date from which an application on `application` is within `months`
    months beginning with the complaint (the inverse of `months_beginning_with`)."""
    day = application - timedelta(days=31 * months + 1)
    while months_beginning_with(day, months) < application:
        day += timedelta(days=1)
    return day


# -- evaluation -----------------------------------------------------------------------------------------


def _root(c: Complaint, by_id: dict[int, Complaint]) -> int:
    """The incident a report repeats (following --same-as links), to count it once."""
    seen = set()
    while c.same_as is not None and c.same_as in by_id and c.id not in seen:
        seen.add(c.id)
        c = by_id[c.same_as]
    return c.id


def evaluate(complaints: list[Complaint], application: date, rules: Rules) -> Explanation:
    by_id = {c.id: c for c in complaints}
    ordered = sorted(complaints, key=lambda c: (c.reported, c.id))
    failing = {c.id: why_not_qualifying(c, application) for c in ordered}
    qualifying = [c for c in ordered if failing[c.id] is None]

    # one incident, many agencies: counted once, by its first qualifying report (docs/procedure.md#threshold)
    counted_for: dict[int, int] = {}  # incident root -> the report counted for it
    for c in qualifying:
        counted_for.setdefault(_root(c, by_id), c.id)
    counted_ids = set(counted_for.values())

    caveat_notes = _caveat_notes(ordered, rules)
    counted: list[Verdict] = []
    excluded: list[Verdict] = []
    for c in ordered:
        note = caveat_notes.get(c.id)
        if c.id in counted_ids:
            reason = "a qualifying complaint about a separate incident"
            if c.hate:
                reason += f" (hate: {c.hate.replace('_', ' ')})"
            counted.append(Verdict(c.id, True, reason, note))
        elif (failed := failing[c.id]) is not None:
            reason, detail = failed
            excluded.append(Verdict(c.id, False, reason, note, detail))
        else:
            first = counted_for[_root(c, by_id)]
            excluded.append(
                Verdict(
                    c.id,
                    False,
                    f"the same incident as complaint {first}; counted once",
                    note,
                    "one incident reported to several agencies counts once",
                )
            )
    counted.sort(key=lambda v: v.id)
    excluded.sort(key=lambda v: v.id)
    count = len(counted)

    routes: dict[str, str] = {}
    caveats: list[Caveat] = []
    statutory = count >= rules.qualifying_complaints  # s.104(4): must be decided met
    local_pool, caveat_effects, set_aside = _apply_caveats(qualifying, application, rules)
    route = "statutory" if statutory else None

    if rules.hate_route:
        # s.104(5), LLR: one qualifying hate incident or crime (docs/procedure.md#hate-incidents)
        hate = [c for c in local_pool if c.hate]
        if hate:
            routes["hate"] = (
                f"Complaint {hate[0].id} is a qualifying report of a hate incident "
                f"({(hate[0].hate or '').replace('_', ' ')}), which meets the local hate incident route."
            )
            route = route or "hate"
        elif aside := [c for c in qualifying if c.hate and c.id in set_aside]:
            # a qualifying hate complaint that a stricter local caveat set aside: said, never hidden
            shown = aside[0]
            routes["hate"] = (
                f"Complaint {shown.id} is a qualifying report of a hate incident "
                f"({(shown.hate or '').replace('_', ' ')}), but the local rule that "
                f"{CAVEAT_TEXT[set_aside[shown.id]]} ({STRICTER}) sets it aside, so the local hate "
                "incident route is not met."
            )
        else:
            routes["hate"] = (
                "No qualifying complaint is about a hate incident, "
                "so the local hate incident route is not met."
            )
    community = None
    if rules.community_route:
        # s.104(5), LLR procedure (Leicester City): three people about the same incident, counted per incident
        most = next(iter(people_per_incident(local_pool, by_id)), None)
        community = CommunityCount(rules.community_individuals, most)
        routes["community"] = community.text()
        if community.met:
            route = route or "community"

    for name in rules.stricter_caveats:
        effect = caveat_effects.get(name, "It made no difference here.")
        if statutory:
            effect += (
                " It was not applied to the statutory count: section 104(4) requires the threshold to be "
                "decided met when the qualifying complaints reach the number, whatever local rules say."
            )
        else:
            effect += " It is applied only to the local routes, never to the statutory count."
        caveats.append(Caveat(name, CAVEAT_TEXT[name], effect))

    return Explanation(
        met=route is not None,
        route=route,
        statutory_count=count,
        statutory_required=rules.qualifying_complaints,
        counted=counted,
        excluded=excluded,
        application=application,
        routes=routes,
        caveats=caveats,
        possible_duplicates=_possible_duplicates(ordered),
        community=community,
    )


def people_per_incident(pool: list[Complaint], by_id: dict[int, Complaint]) -> list[IncidentPeople]:
    """Each incident of `pool` with the different people who complained about it (a complaint with no
    complainant is the victim's; names compared as `checks.name_key` compares them), the incident the
    most people complained about first, then the earlier behaviour."""
    reports: dict[int, list[Complaint]] = {}
    for c in pool:
        reports.setdefault(_root(c, by_id), []).append(c)
    out = [
        IncidentPeople(
            incident=root,
            occurred=by_id[root].occurred,
            complaints=tuple(sorted(c.id for c in group)),
            people=len({name_key(c.complainant) or "the victim" for c in group}),
        )
        for root, group in reports.items()
    ]
    return sorted(out, key=lambda i: (-i.people, i.occurred, i.incident))


def _caveat_notes(ordered: list[Complaint], rules: Rules) -> dict[int, str]:
    notes = {}
    for c in ordered:
        if "report_within_7_days" in rules.stricter_caveats and (c.reported - c.occurred).days > 7:
            notes[c.id] = (
                f"reported {(c.reported - c.occurred).days} days after the behaviour, outside the "
                f"local 7-day rule ({STRICTER}; not applied to the statutory count)"
            )
        elif "no_diary_sheets" in rules.stricter_caveats and (c.category or "").lower() in DIARY_CATEGORIES:
            notes[c.id] = (
                f"a diary sheet, which the local rule does not count "
                f"({STRICTER}; not applied to the statutory count)"
            )
    return notes


def _apply_caveats(
    qualifying: list[Complaint], application: date, rules: Rules
) -> tuple[list[Complaint], dict, dict[int, str]]:
    """The qualifying complaints the local routes may use once the stricter caveats are applied, what
    each caveat did, and which caveat set each other qualifying complaint aside."""
    pool = list(qualifying)
    effects: dict[str, str] = {}
    set_aside: dict[int, str] = {}
    if "report_within_7_days" in rules.stricter_caveats:
        late = [c.id for c in pool if (c.reported - c.occurred).days > 7]
        pool = [c for c in pool if c.id not in late]
        set_aside.update(dict.fromkeys(late, "report_within_7_days"))
        if late:
            effects["report_within_7_days"] = f"It sets aside {_ids(late)} for the local routes."
    if "no_diary_sheets" in rules.stricter_caveats:
        diary = [c.id for c in pool if (c.category or "").lower() in DIARY_CATEGORIES]
        pool = [c for c in pool if c.id not in diary]
        set_aside.update(dict.fromkeys(diary, "no_diary_sheets"))
        if diary:
            effects["no_diary_sheets"] = f"It sets aside {_ids(diary)} for the local routes."
    if "latest_within_month" in rules.stricter_caveats and qualifying:
        latest = max(c.reported for c in qualifying)
        if application > months_beginning_with(latest, 1):
            set_aside.update(dict.fromkeys((c.id for c in pool), "latest_within_month"))
            pool = []
            effects["latest_within_month"] = (
                f"The most recent qualifying complaint was made on {long_date(latest)}, "
                "more than a month before the application, so the local routes "
                "are not met."
            )
    return pool, effects, set_aside


def _possible_duplicates(ordered: list[Complaint]) -> list[tuple[int, ...]]:
    """Unlinked same-day reports to different agencies (docs/procedure.md#threshold): flagged, not merged."""
    groups: dict[date, list[Complaint]] = {}
    for c in ordered:
        if c.same_as is None:  # a linked report is already counted once with its incident
            groups.setdefault(c.occurred, []).append(c)
    out = []
    for _day, reports in sorted(groups.items()):
        if len(reports) > 1 and len({r.agency for r in reports}) > 1:
            out.append(tuple(sorted(r.id for r in reports)))
    return out
