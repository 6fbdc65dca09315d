"""`trigger calendar ics`: open deadlines and review meetings as an iCalendar file (RFC 5545) that
officers import or subscribe to in Outlook (docs/operations.md#calendars).

- A deadline is an all-day event on its due date; a meeting a timed event in Europe/London.
- Each event's UID is built from the row's id, which a refreshed deadline keeps
  (docs/architecture.md#deadlines-and-reminders), so a re-exported file updates events in place
  instead of duplicating them; after the @ comes the partnership (its code and a digest of when it was
  made), so an officer subscribed to the feeds of two partnerships, each with its own database and
  its own case CT-2026-0001, sees both.
- The Europe/London block states the UK's summer-time rule as yearly rules (the Summer Time Order
  2002: the last Sunday of March and of October, at 01:00 GMT), which every reader applies alike;
  icalendar's own block lists single dates, which some readers (vobject) apply to the wrong season.
- The summary says the case reference and what falls due; nothing names the applicant or the
  victim, because calendars are shared, synced to phones and shown in notifications.
- A case under a Welsh policy has its event in Welsh first, then English, as its letters are: the
  summary "Welsh / English", the description a Welsh half headed by the partnership's Welsh name and
  an English half headed by its name; the calendar's own name too when the feed's policy is Welsh.
  The Welsh is the letters' and the door's (letters/templates/glossary.toml, trigger/web/words.py)
  where they have it, else plain Welsh (`WHAT_CY` and the lines below it) a translator should confirm.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from hashlib import sha256
from typing import NotRequired, TypedDict
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlmodel import col

from letters.glossary import welsh_name
from trigger.access.partnership import welsh_in_scope
from trigger.codes import TIMESCALES
from trigger.rules.policy import Policy
from trigger.store import access
from trigger.store.access import READ, needs
from trigger.store.app import App
from trigger.store.models import Action, Agency, Deadline, Meeting, Partnership, ReviewCase
from trigger.store.partnerships import heading
from trigger.store.unit import case_policy
from workflows.machine import TERMINAL

LONDON = ZoneInfo("Europe/London")
MEETING_LENGTH = timedelta(hours=1, minutes=30)  # the record holds a start time only
DOMAIN = "community-trigger"
WHAT = {
    "acknowledge": "acknowledgement due",
    "threshold_decision": "threshold decision due",
    "review": "review due",
    "outcome_letter": "outcome letter due",
    "appeal_window": "appeal window closes",
    "appeal_bundle": "appeal bundle due",
    "appeal_decision": "appeal decision due",
    "action": "action due",
}
assert set(WHAT) == {*TIMESCALES, "action"}
CALENDAR = "ASB case reviews"
CALENDAR_CY = "Adolygiadau Achos Ymddygiad Gwrthgymdeithasol"
WHAT_CY = {
    "acknowledge": "llythyr cydnabod yn ddyledus",
    "threshold_decision": "penderfyniad y trothwy yn ddyledus",
    "review": "adolygiad yn ddyledus",
    "outcome_letter": "llythyr canlyniad yn ddyledus",
    "appeal_window": "y cyfnod apelio yn cau",
    "appeal_bundle": "bwndel yr apêl yn ddyledus",
    "appeal_decision": "penderfyniad yr apêl yn ddyledus",
    "action": "cam gweithredu yn ddyledus",
}
assert set(WHAT_CY) == set(WHAT)
ACTION_DUE_CY = "cam gweithredu {n} yn ddyledus"
MEETING_CY = "cyfarfod yr adolygiad"  # "Cyfarfod yr adolygiad", the door's name for it
HELD_CY = "wedi'i gynnal"


class Event(TypedDict):
    """One calendar event: a deadline has its `day`, a meeting its `start`."""

    uid: str
    summary: str
    day: NotRequired[date]
    start: NotRequired[datetime]
    kind: str
    description: str
    welsh: NotRequired[bool]


def _same_person(a: str | None, b: str) -> bool:
    return a is not None and " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def _domain(p: Partnership) -> str:
    made = sha256(f"{p.code}|{p.created_at.isoformat()}".encode()).hexdigest()[:8]
    return f"{p.code.lower()}-{made}"


@needs(READ)
def events(app: App, reviewer: str | None = None) -> list[Event]:
    """The calendar's events as plain data: open deadlines and meetings of cases still open (of one
    reviewer's cases, when named), in date order."""
    out: list[Event] = []
    with app.read() as session:
        agencies = dict(session.execute(select(col(Agency.id), col(Agency.code))).all())
        domains = {p.id: _domain(p) for p in session.scalars(select(Partnership))}
        cases = {
            c.id: c
            for c in session.scalars(
                select(ReviewCase).where(
                    col(ReviewCase.state).not_in(tuple(TERMINAL)), *access.case_filter(session, ReviewCase)
                )
            )
            if reviewer is None or _same_person(c.reviewer, reviewer)
        }
        if not cases:
            return []
        ids = list(cases)
        names = _Names(session)
        open_deadlines = session.scalars(
            select(Deadline)
            .where(
                col(Deadline.case_id).in_(ids),
                col(Deadline.met_on).is_(None),
                col(Deadline.not_applicable).is_(False),
            )
            .order_by(col(Deadline.due), col(Deadline.id))
        ).all()
        numbers: dict[int, int] = {}
        if any(d.action_id for d in open_deadlines):
            numbers = dict(
                session.execute(
                    select(col(Action.id), col(Action.number)).where(col(Action.case_id).in_(ids))
                ).all()
            )
        for d in open_deadlines:
            c = cases[d.case_id]
            what = WHAT.get(d.kind, d.kind.replace("_", " "))
            what_cy = WHAT_CY.get(d.kind, what)
            if d.kind == "action" and d.action_id in numbers:
                what = f"action {numbers[d.action_id]} due"
                what_cy = ACTION_DUE_CY.format(n=numbers[d.action_id])
            first = f"Deadline: {d.kind}" + (f" ({d.span})" if d.span else "")
            event: Event = {
                "uid": f"{c.reference}-{d.kind}-{d.id}@{domains[c.partnership_id]}.{DOMAIN}",
                "summary": f"{c.reference}: {what} ({d.kind})",
                "day": d.due,
                "kind": d.kind,
                "description": _about(c, agencies, first),
            }
            if names.welsh(c):
                event["summary"] = f"{c.reference}: {what_cy} / {what} ({d.kind})"
                first_cy = f"Dyddiad cau: {d.kind}" + (f" ({d.span})" if d.span else "")
                event["description"] = names.both(
                    c, _about(c, agencies, first_cy, ABOUT_CY, NONE_CY), event["description"]
                )
                event["welsh"] = True
            out.append(event)
        for m in session.scalars(
            select(Meeting).where(col(Meeting.case_id).in_(ids)).order_by(col(Meeting.at), col(Meeting.id))
        ):
            c = cases[m.case_id]
            event = {
                "uid": f"{c.reference}-meeting-{m.id}@{domains[c.partnership_id]}.{DOMAIN}",
                "summary": f"{c.reference}: case review meeting" + (" (held)" if m.held else ""),
                "start": m.at.replace(tzinfo=LONDON),
                "kind": "meeting",
                "description": _about(c, agencies, "Case review meeting; the end time is assumed"),
            }
            if names.welsh(c):
                held = f" ({HELD_CY})" if m.held else ""
                event["summary"] = (
                    f"{c.reference}: {MEETING_CY}{held} / " + event["summary"].partition(": ")[2]
                )
                about_cy = _about(
                    c, agencies, "Cyfarfod yr adolygiad; amcangyfrif yw'r amser gorffen", ABOUT_CY, NONE_CY
                )
                event["description"] = names.both(c, about_cy, event["description"])
                event["welsh"] = True
            out.append(event)
    out.sort(key=lambda e: e.get("day") or e["start"].date())
    return out


# the lines under an event's first, in English and in Welsh ({lead} and {reviewer} filled, else "none")
ABOUT = (
    "Case: {reference} ({state})",
    "Lead agency: {lead}",
    "Reviewer: {reviewer}",
    "See: trigger show {reference}",
)
ABOUT_CY = (
    "Achos: {reference} ({state})",
    "Asiantaeth arweiniol: {lead}",
    "Adolygydd: {reviewer}",
    "Gweler: trigger show {reference}",
)
NONE = ("not yet assigned", "not yet assigned")  # no lead agency, no reviewer
NONE_CY = ("heb ei phennu eto", "heb ei bennu eto")  # asiantaeth is feminine, adolygydd masculine


def _about(c: ReviewCase, agencies: dict[int, str], first: str, lines=ABOUT, none=NONE) -> str:
    """The event's description: what it is, then the case, its lead agency (by code) and reviewer."""
    lead = agencies.get(c.lead_agency_id) if c.lead_agency_id else None
    filled = {
        "reference": c.reference,
        "state": c.state,
        "lead": lead or none[0],
        "reviewer": c.reviewer or none[1],
    }
    return "\n".join([first, *(line.format(**filled) for line in lines)])


class _Names:
    """Under which policy each case runs (its stored snapshot, read once a version), whether that is
    Welsh, and its partnership's names in English and Welsh (the letters' heading)."""

    def __init__(self, session):
        self.session = session
        self.policies: dict[tuple[str, str], Policy] = {}
        self.heads: dict[int, tuple[str, str]] = {}

    def policy(self, c: ReviewCase) -> Policy:
        key = (c.policy_name, c.policy_version)
        if key not in self.policies:
            self.policies[key] = case_policy(self.session, c)
        return self.policies[key]

    def welsh(self, c: ReviewCase) -> bool:
        return self.policy(c).welsh

    def both(self, c: ReviewCase, welsh: str, english: str) -> str:
        """The Welsh half headed by the partnership's Welsh name, then the English by its name."""
        if c.partnership_id not in self.heads:
            pol = self.policy(c)
            head = heading(self.session, pol, c.partnership_id)
            self.heads[c.partnership_id] = (head.name_cy or welsh_name(head.name, pol.glossary), head.name)
        name_cy, name = self.heads[c.partnership_id]
        return f"{name_cy}\n{welsh}\n\n{name}\n{english}"


@needs(READ)
def welsh_feed(app: App) -> bool:
    """The feed's own name is Welsh first when the policy of the partnership it is for is Welsh (for a
    county's feed, any partnership's)."""
    with app.read() as session:
        return welsh_in_scope(app, session)


def ics(app: App, reviewer: str | None = None, now: datetime | None = None) -> bytes:
    """The iCalendar file."""
    from icalendar import Calendar, Event

    stamp = (now or datetime.now(UTC)).astimezone(UTC)
    cal = Calendar()
    cal.add("prodid", "-//Community Trigger//calendar ics//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    found = events(app, reviewer)
    welsh = welsh_feed(app) or any(e.get("welsh") for e in found)
    name = (f"{CALENDAR_CY} / " if welsh else "") + CALENDAR
    name += f": {' '.join(reviewer.split())}" if reviewer else ""
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", "Europe/London")
    for e in found:
        ev = Event()
        ev.add("uid", e["uid"])
        ev.add("dtstamp", stamp)
        if "day" in e:
            day: date = e["day"]
            ev.add("dtstart", day)
            ev.add("dtend", day + timedelta(days=1))
            ev.add("transp", "TRANSPARENT")  # a deadline does not make anyone busy all day
        else:
            ev.add("dtstart", e["start"])
            ev.add("dtend", e["start"] + MEETING_LENGTH)
        ev.add("summary", e["summary"])
        ev.add("description", e["description"])
        welsh_category = ["Adolygiad Achos Ymddygiad Gwrthgymdeithasol"] if e.get("welsh") else []
        ev.add("categories", [*welsh_category, "ASB case review", e["kind"]])
        cal.add_component(ev)
    if any("start" in e for e in found):
        cal.subcomponents.insert(0, _london())  # before the events that name it
    return cal.to_ical()


def _london():
    """Europe/London as two yearly rules (Summer Time Order 2002, SI 2002/262): summer time from the last
    Sunday of March at 01:00 GMT, Greenwich Mean Time from the last Sunday of October at 01:00 GMT."""
    from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

    summer = TimezoneDaylight()
    summer.add("tzname", "BST")
    summer.add("tzoffsetfrom", timedelta(0))
    summer.add("tzoffsetto", timedelta(hours=1))
    summer.add("dtstart", datetime(1996, 3, 31, 1, 0))
    summer.add("rrule", {"freq": "yearly", "bymonth": 3, "byday": "-1SU"})
    winter = TimezoneStandard()
    winter.add("tzname", "GMT")
    winter.add("tzoffsetfrom", timedelta(hours=1))
    winter.add("tzoffsetto", timedelta(0))
    winter.add("dtstart", datetime(1996, 10, 27, 2, 0))
    winter.add("rrule", {"freq": "yearly", "bymonth": 10, "byday": "-1SU"})
    zone = Timezone()
    zone.add("tzid", "Europe/London")
    zone.add_component(summer)
    zone.add_component(winter)
    return zone
