"""`trigger scan --as-of DATE`: the proactive scan of the incident log (docs/procedure.md#2025-revision).

(a) victims who made a second report within six months, who must be told about the Case Review
    (2025 guidance; docs/procedure.md#2025-revision);
(b) victims who meet the threshold as if they applied on the as-of date, with no open case, so that agencies
    can signpost them (Jan 2021 guidance; Ombudsman Oct 2021; docs/procedure.md#what-the-guidance-asks).

One GROUP BY over the incidents in the six-month window, in the database; no Python loop per row.
Victims appear by their id in the partners' case system, never by name. The id is stored sealed, so
the database groups and matches on its keyed hash (`victim_hash`, docs/operations.md#erasure); each victim
listed is kept apart by that hash, and named by the id of their newest report that still opens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    SQLColumnExpression,
    and_,
    case,
    extract,
    func,
    or_,
    select,
)
from sqlmodel import col

from trigger.cases import duties
from trigger.rules.threshold import window_start
from trigger.store import access, sealed
from trigger.store.access import READ, needs
from trigger.store.app import App
from trigger.store.models import Incident, ReviewCase
from trigger.store.unit import default_policy
from workflows.machine import TERMINAL

SECOND_REPORT = "second_report"
MEETS_THRESHOLD = "meets_threshold"


@dataclass(frozen=True)
class ScanRules:
    qualifying_complaints: int = 3
    hate_route: bool = False


def _months(day: SQLColumnExpression[date]) -> ColumnElement[int]:
    return extract("year", day) * 12 + extract("month", day)


def within_one_month(
    occurred: SQLColumnExpression[date], reported: SQLColumnExpression[date]
) -> ColumnElement[bool]:
    """SQL for s.104's "made within one month beginning with the behaviour": the report is in the same
    calendar month, or in the next with a smaller day number (equivalent to docs/procedure.md#counting-months,
    month ends included; see calendar.months_beginning_with and the property test that ties the two)."""
    gap = _months(reported) - _months(occurred)
    return or_(gap == 0, and_(gap == 1, extract("day", reported) < extract("day", occurred)))


def scan_query(as_of: date, rules: ScanRules, partnership_id: int | None = None) -> tuple[Select, date]:
    """The victims of one partnership's incident log (all of them when `partnership_id` is None: a
    database of one partnership)."""
    start = window_start(as_of)  # an application on as_of is within six months of reports from here
    # each report in the window, with its s.104 qualifying flag computed once
    reports = (
        select(
            col(Incident.victim_hash).label("victim_hash"),
            col(Incident.reported).label("reported"),
            col(Incident.hate).label("hate"),
            case((within_one_month(col(Incident.occurred), col(Incident.reported)), 1), else_=0).label("q"),
        )
        .where(
            col(Incident.victim_hash).is_not(None),
            col(Incident.reported) >= start,
            col(Incident.reported) <= as_of,
            col(Incident.voided_on).is_(None),  # a complaint recorded in error counts nowhere
            *([col(Incident.partnership_id) == partnership_id] if partnership_id is not None else []),
        )
        .subquery("report")
    )
    per_victim = (
        select(
            reports.c.victim_hash,
            func.count().label("reports"),
            func.sum(reports.c.q).label("qualifying"),
            func.sum(case((reports.c.hate.is_not(None), reports.c.q), else_=0)).label("hate"),
            func.min(reports.c.reported).label("first_report"),
            func.max(reports.c.reported).label("last_report"),
        )
        .group_by(reports.c.victim_hash)
        .subquery("victim")
    )
    wanted = or_(per_victim.c.reports >= 2, per_victim.c.qualifying >= rules.qualifying_complaints)
    if rules.hate_route:
        wanted = or_(wanted, per_victim.c.hate >= 1)
    return select(per_victim).where(wanted), start


def _names(conn: Connection, query: Select, partnership_id: int | None) -> dict[bytes, str]:
    """The id each listed victim is shown by: that of their newest report whose sealed id still opens (a
    report kept after its month's key went reads as erased, and names nobody)."""
    listed = query.subquery("listed")
    rows = conn.execute(
        select(col(Incident.victim_hash), col(Incident.victim_ref))
        .join(listed, listed.c.victim_hash == col(Incident.victim_hash))
        .where(*([col(Incident.partnership_id) == partnership_id] if partnership_id is not None else []))
        .order_by(col(Incident.reported).desc(), col(Incident.id).desc())
    )
    names: dict[bytes, str] = {}
    for digest, ref in rows:
        if (
            digest is not None
            and ref
            and ref not in (sealed.GONE, sealed.ALTERED)
            and not sealed.is_sealed_field(ref)
        ):
            names.setdefault(bytes(digest), ref)
    return names


@needs(READ)
def scan(app: App, as_of: date, rules: ScanRules | None = None) -> dict:
    """Both lists, as plain data: {'as_of', 'window_start', 'second_report': [...], 'meets_threshold': [...]};
    the rules are the default policy's unless given."""
    with app.read() as session:
        # one partnership's log at a time: its victims, its policy (in a county, --partnership)
        pid = access.acting_partnership(session)
        only = access.partnerships(session) == 1
        if rules is None:
            pol = default_policy(app, session, pid)
            rules = ScanRules(pol.qualifying_complaints, pol.hate_route)
    app.require_schema()
    ours = None if only else pid  # a database of one partnership reads its log as before
    query, start = scan_query(as_of, rules, ours)
    second, meeting = [], []
    with app.engine.connect() as conn:
        keys = sealed.use_connection(conn)  # the victims' ids listed are opened with their log keys
        # victims with a case still open (few): they need no signposting
        open_cases = set(
            conn.execute(
                select(col(ReviewCase.victim_hash)).where(
                    col(ReviewCase.victim_hash).is_not(None),
                    col(ReviewCase.state).not_in(TERMINAL),
                    col(ReviewCase.partnership_id) == pid,
                )
            ).scalars()
        )
        try:
            victims = list(conn.execute(query).all())
            names = _names(conn, query, ours)
        finally:
            sealed.done(keys)
        victims.sort(key=lambda r: (names.get(bytes(r.victim_hash), sealed.GONE), bytes(r.victim_hash)))
        for digest, reports, qualifying, hate, first, last in victims:
            digest = bytes(digest)
            open_case = digest in open_cases
            first = first if isinstance(first, date) else date.fromisoformat(first)
            last = last if isinstance(last, date) else date.fromisoformat(last)
            row = {
                "victim_hash": digest,  # what keeps two victims apart, whatever their ids read
                "victim_id": names.get(digest, sealed.GONE),
                "reports": reports,
                "qualifying": int(qualifying or 0),
                "first_report": first.isoformat(),
                "last_report": last.isoformat(),
            }
            if reports >= 2:
                second.append({**row, "list": SECOND_REPORT})
            statutory = row["qualifying"] >= rules.qualifying_complaints
            if not open_case and (statutory or (rules.hate_route and hate)):
                meeting.append(
                    {**row, "list": MEETS_THRESHOLD, "route": "statutory" if statutory else "hate"}
                )
        # victims already told about the Case Review (`trigger signpost`), and when
        told = duties.told(conn, {r["victim_hash"] for r in (*second, *meeting)}, as_of, ours)
    for row in (*second, *meeting):
        day = told.get(row.pop("victim_hash"))
        row["told_on"] = day.isoformat() if day else None
        row["told"] = day is not None and day.isoformat() >= row["first_report"]
    return {
        "as_of": as_of.isoformat(),
        "window_start": start.isoformat(),
        SECOND_REPORT: second,
        MEETS_THRESHOLD: meeting,
    }
