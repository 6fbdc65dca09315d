"""The annual return (s.104 publication duty; docs/procedure.md#reporting): the four statutory counts,
each counted by the date of its own event (applications received, times the threshold was not met,
reviews carried out, reviews that resulted in recommendations), with the extras partnerships publish,
consistency checks that make an impossible table fail loudly, and small-number suppression for
publication. The published forms (tidy CSV, XLSX, ODS, the HTML page) are `trigger.reports.publish`'s.

SQL aggregates grouped by day read a county's history in a handful of queries.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    ScalarSelect,
    Select,
    SQLColumnExpression,
    and_,
    case,
    cast,
    distinct,
    func,
    literal,
    select,
    union_all,
)
from sqlmodel import Session, col

from trigger.reports.common import Period, median
from trigger.store import access, audit
from trigger.store.access import READ, needs
from trigger.store.app import App
from trigger.store.models import (
    Agency,
    Appeal,
    AuditEvent,
    Recommendation,
    ReviewCase,
    ThresholdDecision,
)

STATUTORY = ("applications", "threshold_not_met", "reviews_carried_out", "reviews_with_recommendations")
SUPPRESSED = "<5"
# docs/procedure.md#reporting: small local numbers could identify individuals (LLR partnership papers)
SUPPRESS_BELOW = 5

# -- small SQL helpers -------------------------------------------------------------------------------------


def _days_between(
    conn: Connection, later: SQLColumnExpression[date | None], earlier: SQLColumnExpression[date | None]
) -> ColumnElement[int]:
    """Whole days from `earlier` to `later`, in the database's own date arithmetic."""
    if conn.dialect.name == "sqlite":
        return cast(func.julianday(later) - func.julianday(earlier), Integer)
    return cast(later - earlier, Integer)


def _by_day(conn: Connection, stmt: Select) -> dict[date, int]:
    """Rows of (day, count) into a dict; SQLite hands back ISO strings for an aggregated date."""
    out: dict[date, int] = {}
    for day, n in conn.execute(stmt):
        if isinstance(day, str):
            day = date.fromisoformat(day[:10])
        out[day] = out.get(day, 0) + int(n)
    return out


def _histogram(conn: Connection, stmt: Select) -> dict[int, int]:
    return {int(d): int(c) for d, c in conn.execute(stmt) if d is not None}


def _in(day: SQLColumnExpression[date | None], p: Period) -> ColumnElement[bool]:
    return day.between(p.start, p.end)


# -- the annual return ---------------------------------------------------------------------------------------


_EPOCH = date(1970, 1, 1)


def _day_number(conn: Connection, day: SQLColumnExpression[date | None]) -> ColumnElement[int]:
    """Days since 1970-01-01 as an integer, so that row-level results need no date parsing."""
    if conn.dialect.name == "sqlite":
        return cast(func.julianday(day) - 2440587.5, Integer)
    return cast(day - literal(_EPOCH), Integer)


# the clauses that keep a query to the cases the user sees, given the query's case-id column
Ours = Callable[[SQLColumnExpression[int | None]], list[ColumnElement[bool]]]


@dataclass
class _Outcomes:
    """The reviews carried out in a period, folded from the audit log (`_outcome_figures`)."""

    reviews: Counter[date] = field(default_factory=Counter)  # by the day of the case's first outcome
    with_recs: Counter[date] = field(default_factory=Counter)
    lead: Counter[int | None] = field(default_factory=Counter)  # by lead agency id
    from_receipt: Counter[int] = field(default_factory=Counter)  # by days from receipt to outcome
    from_met: Counter[int] = field(default_factory=Counter)  # by days from the met decision to outcome
    unmet: int = 0  # reviews on cases not decided met before their outcome
    early: int = 0  # outcomes dated before the case was received
    not_consulted: int = 0  # reviews whose draft action plan was not put to the victim


def _outcome_figures(conn: Connection, p: Period, ours: Ours) -> _Outcomes:
    """Everything about the reviews carried out in the period from one pass over the audit log: each case
    counted once, on the day of its first outcome there (`issue_outcome`). The per-case facts (lead
    agency, day received, met decisions and upheld threshold appeals before the outcome, a
    recommendation) are gathered in a CTE and folded by UNION ALL into small histograms."""

    def day(column: SQLColumnExpression[date | None]) -> ColumnElement[int]:
        return _day_number(conn, column)

    fo = (
        select(col(AuditEvent.case_id).label("case_id"), func.min(col(AuditEvent.on)).label("first"))
        .where(
            col(AuditEvent.event) == "issue_outcome",
            col(AuditEvent.case_id).is_not(None),
            _in(col(AuditEvent.on), p),
            *ours(col(AuditEvent.case_id)),
        )
        .group_by(col(AuditEvent.case_id))
        .subquery()
    )

    decided_on = col(ThresholdDecision.decided_on)

    def met_on(aggregate: ColumnElement[date | None]) -> ScalarSelect[date | None]:
        """`aggregate` (the first or last) of the case's met decisions up to its first outcome."""
        return (
            select(aggregate)
            .where(
                col(ThresholdDecision.case_id) == fo.c.case_id,
                col(ThresholdDecision.met).is_(True),
                col(ThresholdDecision.decided_on) <= fo.c.first,
            )
            .scalar_subquery()
        )

    upheld_on = (
        select(func.min(col(Appeal.decided_on)))
        .where(
            col(Appeal.case_id) == fo.c.case_id,
            col(Appeal.against) == "threshold",
            col(Appeal.upheld).is_(True),
            col(Appeal.decided_on) <= fo.c.first,
        )
        .scalar_subquery()
    )
    has_rec = select(col(Recommendation.id)).where(col(Recommendation.case_id) == fo.c.case_id).exists()
    o = (
        select(
            day(fo.c.first).label("first"),
            col(ReviewCase.lead_agency_id).label("lead"),
            (day(fo.c.first) - day(col(ReviewCase.received))).label("from_receipt"),
            (day(fo.c.first) - day(met_on(func.max(decided_on)))).label("from_met"),
            case((has_rec, 1), else_=0).label("has_rec"),
            case((and_(met_on(func.min(decided_on)).is_(None), upheld_on.is_(None)), 1), else_=0).label(
                "unmet"
            ),
            # 2025 guidance: the draft action plan put to the victim before the outcome (`trigger consult`)
            case((col(ReviewCase.victim_consulted).is_(True), 0), else_=1).label("not_consulted"),
        )
        .select_from(fo)
        .join(ReviewCase, col(ReviewCase.id) == fo.c.case_id)
        .cte("outcome")
    )
    n = func.count().label("n")
    parts = [
        select(literal("day").label("kind"), o.c.first.label("k"), o.c.has_rec.label("k2"), n).group_by(
            o.c.first, o.c.has_rec
        ),
        select(literal("lead"), o.c.lead, literal(0), n).group_by(o.c.lead),
        select(literal("from_receipt"), o.c.from_receipt, literal(0), n).group_by(o.c.from_receipt),
        select(literal("from_met"), o.c.from_met, literal(0), n)
        .where(o.c.from_met.is_not(None))
        .group_by(o.c.from_met),
        select(literal("unmet"), literal(0), literal(0), n).where(o.c.unmet == 1),
        select(literal("early"), literal(0), literal(0), n).where(o.c.from_receipt < 0),
        select(literal("not_consulted"), literal(0), literal(0), n).where(o.c.not_consulted == 1),
    ]
    out = _Outcomes()
    for kind, k, k2, count in conn.execute(union_all(*parts)):
        if kind == "day":
            d = _EPOCH + timedelta(days=int(k))
            out.reviews[d] += count
            if k2:
                out.with_recs[d] += count
        elif kind == "unmet":
            out.unmet += count
        elif kind == "early":
            out.early += count
        elif kind == "not_consulted":
            out.not_consulted += count
        elif kind == "lead":
            out.lead[k] += count
        elif kind == "from_receipt":
            out.from_receipt[k] += count
        else:
            out.from_met[k] += count
    return out


@needs(READ)
def annual(app: App, p: Period, *, publish: bool = False) -> dict:
    with app.read() as session:
        data = _annual(session, p)
        # a published return carries the audit chain's head as it stood (docs/operations.md#audit-anchors)
        anchor = audit.head_anchor(session) if publish else None
    if publish:
        data = suppress(data)
        data["audit_anchor"] = anchor
    return data


def _annual(session: Session, p: Period) -> dict:
    # Core, not the ORM: plain tuples, no identity map (the benchmark: 100,000 cases under 1 s)
    conn = session.connection()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA mmap_size=268435456")  # read a big file without copying pages
    ex = conn.execute
    # one partnership's return (a user's own, or --partnership); every partnership's for a county total
    scope = access.visible_cases(session)

    def ours(case_id: SQLColumnExpression[int | None]) -> list[ColumnElement[bool]]:
        return [] if scope is None else [case_id.in_(scope)]

    mine = access.case_filter(session, ReviewCase)
    # s.104 (publication duty) (a): applications, by the date received
    applications = _by_day(
        conn,
        select(col(ReviewCase.received), func.count())
        .where(_in(col(ReviewCase.received), p), *mine)
        .group_by(col(ReviewCase.received)),
    )
    # the channel mix: coalesce() keeps SQLite from a lookup per row through the index, a full scan is faster
    channels = dict(
        ex(
            select(col(ReviewCase.channel), func.count())
            .where(
                func.coalesce(col(ReviewCase.received), col(ReviewCase.received)).between(p.start, p.end),
                *mine,
            )
            .group_by(col(ReviewCase.channel))
            .order_by(col(ReviewCase.channel))
        ).all()
    )
    # s.104 (publication duty) (b): threshold not met, by decision date; rejections are reported as
    # not met (docs/procedure.md#rejection)
    not_met = _by_day(
        conn,
        select(col(ThresholdDecision.decided_on), func.count())
        .where(
            _in(col(ThresholdDecision.decided_on), p),
            col(ThresholdDecision.met).is_(False),
            *ours(col(ThresholdDecision.case_id)),
        )
        .group_by(col(ThresholdDecision.decided_on)),
    )
    # s.104 (publication duty) (c) and (d): reviews carried out by the day the outcome was issued, a case
    # once in a period (its first outcome there), and of those the reviews with recommendations
    outcomes = _outcome_figures(conn, p, ours)
    reviews, with_recs, leads = outcomes.reviews, outcomes.with_recs, outcomes.lead

    decisions = ex(
        select(
            col(ThresholdDecision.met),
            col(ThresholdDecision.route),
            col(ThresholdDecision.rejection_category).is_not(None),
            func.count(),
        )
        .where(_in(col(ThresholdDecision.decided_on), p), *ours(col(ThresholdDecision.case_id)))
        .group_by(
            col(ThresholdDecision.met),
            col(ThresholdDecision.route),
            col(ThresholdDecision.rejection_category).is_not(None),
        )
    ).all()
    met = sum(n for m, _r, _j, n in decisions if m)
    discretionary = sum(n for m, r, _j, n in decisions if m and r == "discretionary")
    rejections = sum(n for m, _r, j, n in decisions if not m and j)
    decided = sum(n for *_x, n in decisions)
    # withdrawn is terminal, so the day it last moved is the day it was withdrawn
    withdrawals = ex(
        select(func.count()).where(
            col(ReviewCase.state) == "withdrawn", _in(col(ReviewCase.state_changed), p), *mine
        )
    ).scalar()
    appeals_rows = ex(
        select(col(Appeal.against), func.count())
        .where(_in(col(Appeal.received), p), *ours(col(Appeal.case_id)))
        .group_by(col(Appeal.against))
    ).all()
    decided_rows = ex(
        select(col(Appeal.upheld), func.count())
        .where(_in(col(Appeal.decided_on), p), *ours(col(Appeal.case_id)))
        .group_by(col(Appeal.upheld))
    ).all()

    received_to_decision = _days_between(conn, col(ThresholdDecision.decided_on), col(ReviewCase.received))
    appeal_days = _days_between(conn, col(Appeal.decided_on), col(Appeal.received))
    stages = {
        "received_to_decision": _histogram(
            conn,
            select(received_to_decision, func.count())
            .join(ReviewCase, col(ReviewCase.id) == col(ThresholdDecision.case_id))
            .where(_in(col(ThresholdDecision.decided_on), p), *mine)
            .group_by(received_to_decision),
        ),
        "decision_to_outcome": dict(outcomes.from_met),
        "received_to_outcome": dict(outcomes.from_receipt),
        "appeal_to_decision": _histogram(
            conn,
            select(appeal_days, func.count())
            .where(_in(col(Appeal.decided_on), p), *ours(col(Appeal.case_id)))
            .group_by(appeal_days),
        ),
    }
    median_days = {}
    for stage, hist in stages.items():
        m, n = median(hist)
        median_days[stage] = {"median": m, "cases": n}

    # lead-agency shares of the reviews carried out: the denominator is the real number of reviews
    total_reviews = sum(reviews.values())
    agencies = {a.id: a for a in ex(select(col(Agency.id), col(Agency.code), col(Agency.name)))}
    lead_agencies = []
    for lead, n in sorted(
        leads.items(), key=lambda kv: (-kv[1], agencies[kv[0]].code if kv[0] in agencies else "")
    ):
        a = agencies.get(lead)
        lead_agencies.append(
            {
                "agency": a.code if a else "(none)",
                "name": a.name if a else "no lead agency recorded",
                "reviews": n,
                "of": total_reviews,
                "share": round(100 * n / total_reviews, 1) if total_reviews else None,
            }
        )
    # "had regard" (s.104): responses to the recommendations made in the period
    responses = Counter(
        {
            r or "awaiting": n
            for r, n in ex(
                select(col(Recommendation.response), func.count())
                .where(_in(col(Recommendation.recorded_on), p), *ours(col(Recommendation.case_id)))
                .group_by(col(Recommendation.response))
            )
        }
    )

    quarters = []
    for i, q in enumerate(p.quarters(), 1):
        quarters.append(
            {
                "quarter": f"Q{i}",
                "from": q.start.isoformat(),
                "to": q.end.isoformat(),
                "applications": _within(applications, q),
                "threshold_not_met": _within(not_met, q),
                "reviews_carried_out": _within(reviews, q),
                "reviews_with_recommendations": _within(with_recs, q),
            }
        )

    data = {
        "period": {"from": p.start.isoformat(), "to": p.end.isoformat(), "label": p.label},
        "applications": sum(applications.values()),
        "threshold_not_met": sum(not_met.values()),
        "reviews_carried_out": total_reviews,
        "reviews_with_recommendations": sum(with_recs.values()),
        "reviews_plan_not_put_to_victim": outcomes.not_consulted,
        "threshold_decisions": decided,
        "threshold_met": met,
        "rejections": rejections,
        "discretionary_below_threshold": discretionary,
        "withdrawals": int(withdrawals or 0),
        "appeals": sum(n for _a, n in appeals_rows),
        "appeals_against_threshold": sum(n for a, n in appeals_rows if a == "threshold"),
        "appeals_against_outcome": sum(n for a, n in appeals_rows if a == "outcome"),
        "appeals_decided": sum(n for _u, n in decided_rows),
        "appeals_upheld": sum(n for u, n in decided_rows if u),
        "median_days": median_days,
        "lead_agencies": lead_agencies,
        "channels": channels,
        "recommendation_responses": {k: responses.get(k, 0) for k in ("accepted", "declined", "awaiting")},
        "quarters": quarters,
        "suppressed": False,
    }
    data["checks"] = _checks(conn, p, data, outcomes, ours, mine)
    return data


def _within(series: dict[date, int], q: Period) -> int:
    return sum(n for d, n in series.items() if q.start <= d <= q.end)


def _as_date(day: date | str) -> date:
    return date.fromisoformat(day[:10]) if isinstance(day, str) else day


def _checks(
    conn: Connection, p: Period, d: dict, outcomes: _Outcomes, ours: Ours, mine: list[ColumnElement[bool]]
) -> list[dict]:
    """Rules any true table obeys; a failure means the records are wrong and the table must not be
    published as it stands (docs/procedure.md#reporting: Reigate's 4 received, 4 not met and 4 reviews)."""

    def ex(stmt: Select) -> int:
        return int(conn.execute(stmt).scalar() or 0)

    checks = []

    def check(name: str, ok: bool, detail: str) -> None:
        checks.append({"name": name, "ok": bool(ok), "detail": detail})

    check(
        "decisions add up",
        d["threshold_met"] + d["threshold_not_met"] == d["threshold_decisions"],
        f"met {d['threshold_met']} + not met {d['threshold_not_met']} = decided {d['threshold_decisions']}",
    )
    apps_to_end = ex(select(func.count()).where(col(ReviewCase.received) <= p.end, *mine))
    decided_to_end, met_to_end = conn.execute(
        select(
            func.count(distinct(col(ThresholdDecision.case_id))),
            func.count(
                distinct(case((col(ThresholdDecision.met).is_(True), col(ThresholdDecision.case_id))))
            ),
        ).where(col(ThresholdDecision.decided_on) <= p.end, *ours(col(ThresholdDecision.case_id)))
    ).one()
    check(
        "no decision without an application",
        decided_to_end <= apps_to_end,
        f"{decided_to_end} cases decided up to {p.end} from {apps_to_end} applications received by then",
    )
    early = ex(
        select(func.count())
        .select_from(ThresholdDecision)
        .join(ReviewCase, col(ReviewCase.id) == col(ThresholdDecision.case_id))
        .where(
            _in(col(ThresholdDecision.decided_on), p),
            col(ThresholdDecision.decided_on) < col(ReviewCase.received),
            *mine,
        )
    )
    check(
        "no decision before its application",
        early == 0,
        f"{early} decisions in the period dated before the case was received",
    )
    # s.104(4)/(5): a review needs the threshold met, by a decision or an appeal upheld, before its outcome
    unmet, early_outcomes = outcomes.unmet, outcomes.early
    reviewed_to_end = ex(
        select(func.count(distinct(col(AuditEvent.case_id)))).where(
            col(AuditEvent.event) == "issue_outcome",
            col(AuditEvent.on) <= p.end,
            *ours(col(AuditEvent.case_id)),
        )
    )
    upheld_to_end = ex(
        select(func.count(distinct(col(Appeal.case_id)))).where(
            col(Appeal.against) == "threshold",
            col(Appeal.upheld).is_(True),
            col(Appeal.decided_on) <= p.end,
            *ours(col(Appeal.case_id)),
        )
    )
    check(
        "no review without the threshold met",
        unmet == 0,
        f"{unmet} reviews in the period on cases not decided met before the outcome (s.104(4)/(5))",
    )
    check(
        "no outcome before its application",
        early_outcomes == 0,
        f"{early_outcomes} outcomes dated before the case was received",
    )
    check(
        "reviews within met decisions",
        reviewed_to_end <= met_to_end + upheld_to_end,
        f"{reviewed_to_end} reviews carried out up to {p.end} <= {met_to_end} met decisions "
        f"+ {upheld_to_end} threshold appeals upheld, this period and earlier",
    )
    check(
        "recommendations within reviews",
        d["reviews_with_recommendations"] <= d["reviews_carried_out"],
        f"{d['reviews_with_recommendations']} reviews with recommendations "
        f"<= {d['reviews_carried_out']} reviews",
    )
    appealed_to_end = ex(
        select(func.count()).where(col(Appeal.received) <= p.end, *ours(col(Appeal.case_id)))
    )
    appeals_decided_to_end = ex(
        select(func.count()).where(col(Appeal.decided_on) <= p.end, *ours(col(Appeal.case_id)))
    )
    check(
        "appeals decided within appeals lodged",
        appeals_decided_to_end <= appealed_to_end and d["appeals_upheld"] <= d["appeals_decided"],
        f"{appeals_decided_to_end} appeals decided <= {appealed_to_end} lodged up to {p.end}; "
        f"{d['appeals_upheld']} upheld <= {d['appeals_decided']} decided",
    )
    lead_total = sum(r["reviews"] for r in d["lead_agencies"] if r["agency"] != "(none)")
    check(
        "every review has a lead agency",
        lead_total == d["reviews_carried_out"],
        f"lead-agency shares cover {lead_total} of {d['reviews_carried_out']} reviews",
    )
    check(
        "channels add up",
        sum(d["channels"].values()) == d["applications"],
        f"channels {sum(d['channels'].values())} = applications {d['applications']}",
    )
    for q in STATUTORY:
        total = sum(row[q] for row in d["quarters"])
        if total != d[q]:
            check(f"quarters add up ({q})", False, f"quarters {total} != year {d[q]}")
    return checks


def failed_checks(data: dict) -> list[dict]:
    return [c for c in data.get("checks", []) if not c["ok"]]


# -- small-number suppression --------------------------------------------------------------------------------


def _small(n: object) -> bool:
    return isinstance(n, int) and 0 < n < SUPPRESS_BELOW


def _hide_group(cells: dict, total_published: bool) -> dict:
    """Primary suppression of 1-4, then secondary: when a group sums to a published total, a single
    hidden cell could be worked out by subtraction, so the next smallest cell is hidden too."""
    out = {k: (SUPPRESSED if _small(v) else v) for k, v in cells.items()}
    hidden = [k for k, v in out.items() if v == SUPPRESSED]
    if total_published and len(hidden) == 1:
        rest = sorted((v, k) for k, v in out.items() if isinstance(v, int) and v > 0)
        if rest:
            out[rest[0][1]] = SUPPRESSED
    return out


def suppress(data: dict) -> dict:
    """The figures as a partnership may publish them: counts of 1-4 shown as "<5", and every derived
    figure that would reveal one (shares, medians of fewer than five cases, complements) withheld."""
    d = json.loads(json.dumps(data))
    d["suppressed"] = True
    counts = [
        "applications",
        "threshold_not_met",
        "reviews_carried_out",
        "reviews_with_recommendations",
        "threshold_decisions",
        "threshold_met",
        "rejections",
        "discretionary_below_threshold",
        "withdrawals",
        "appeals",
        "appeals_against_threshold",
        "appeals_against_outcome",
        "appeals_decided",
        "appeals_upheld",
        "reviews_plan_not_put_to_victim",
    ]
    for k in counts:
        if _small(d[k]):
            d[k] = SUPPRESSED
    # complements: met + not met = decided; upheld + dismissed = decided; threshold + outcome appeals
    for a, b, total in (
        ("threshold_met", "threshold_not_met", "threshold_decisions"),
        ("appeals_against_threshold", "appeals_against_outcome", "appeals"),
        ("reviews_with_recommendations", None, "reviews_carried_out"),
    ):
        pair = [k for k in (a, b) if k]
        if d[total] != SUPPRESSED and any(d[k] == SUPPRESSED for k in pair):
            for k in pair:
                if isinstance(d[k], int) and d[k] > 0:
                    d[k] = SUPPRESSED
    for stage in d["median_days"].values():
        if stage["cases"] < SUPPRESS_BELOW:
            stage["median"] = None
            stage["cases"] = SUPPRESSED if stage["cases"] else 0
    d["channels"] = _hide_group(d["channels"], d["applications"] != SUPPRESSED)
    d["recommendation_responses"] = _hide_group(d["recommendation_responses"], True)
    leads = _hide_group(
        {r["agency"]: r["reviews"] for r in d["lead_agencies"]}, d["reviews_carried_out"] != SUPPRESSED
    )
    for r in d["lead_agencies"]:
        r["reviews"] = leads[r["agency"]]
        r["of"] = d["reviews_carried_out"]
        if r["reviews"] == SUPPRESSED or r["of"] == SUPPRESSED:
            r["share"] = None
    for q in d["quarters"]:
        for k in STATUTORY:
            if _small(q[k]):
                q[k] = SUPPRESSED
    return d


# -- rows for a table or CSV ---------------------------------------------------------------------------------


LABELS = {
    "applications": "Applications received",
    "threshold_not_met": "Times the threshold was not met (incl. rejections)",
    "reviews_carried_out": "ASB case reviews carried out",
    "reviews_with_recommendations": "Reviews resulting in recommendations",
    "threshold_met": "Threshold decided met",
    "discretionary_below_threshold": "  of which discretionary, below threshold (s.104(5))",
    "rejections": "Rejected (vexatious etc.; counted as not met)",
    "withdrawals": "Withdrawn by the applicant",
    "appeals": "Appeals lodged",
    "appeals_decided": "Appeals decided",
    "appeals_upheld": "Appeals upheld",
    "reviews_plan_not_put_to_victim": "Reviews whose draft action plan was not put to the victim",
}
STAGE_LABELS = {
    "received_to_decision": "Median days, received to threshold decision",
    "decision_to_outcome": "Median days, threshold met to outcome",
    "received_to_outcome": "Median days, received to outcome",
    "appeal_to_decision": "Median days, appeal lodged to decision",
}


def annual_rows(d: dict) -> list[dict]:
    """The return as (section, measure, value) rows: the one flat shape for the table, CSV and HTML."""
    rows = [
        {"section": "statutory (s.104 publication duty)", "key": k, "measure": LABELS[k], "value": d[k]}
        for k in STATUTORY
    ]
    for k in (
        "threshold_met",
        "discretionary_below_threshold",
        "rejections",
        "withdrawals",
        "appeals",
        "appeals_decided",
        "appeals_upheld",
        "reviews_plan_not_put_to_victim",
    ):
        rows.append({"section": "activity", "key": k, "measure": LABELS[k], "value": d[k]})
    for stage, v in d["median_days"].items():
        shown = "" if v["median"] is None else v["median"]
        rows.append(
            {
                "section": "timeliness",
                "key": stage,
                "measure": STAGE_LABELS[stage],
                "value": shown if shown == "" else f"{shown} (of {v['cases']})",
            }
        )
    for r in d["lead_agencies"]:
        share = "" if r["share"] is None else f" ({r['share']:g}%)"
        rows.append(
            {
                "section": "lead agency",
                "key": f"lead:{r['agency']}",
                "measure": r["name"],
                "value": f"{r['reviews']} of {r['of']}{share}",
            }
        )
    for ch, n in d["channels"].items():
        rows.append(
            {"section": "channel", "key": f"channel:{ch}", "measure": ch.replace("_", " "), "value": n}
        )
    for k, n in d["recommendation_responses"].items():
        rows.append(
            {"section": "recommendations had regard to", "key": f"response:{k}", "measure": k, "value": n}
        )
    return rows
