"""The deadline and reminder rows of a case, kept in step with its history.

`refresh` is called inside the transaction of every change to a case (`trigger.store.unit.changing`), after
the change, so the deadlines and their reminders commit together with the change and its audit event.
Which deadlines a case has and when they fall due is the pure rule `trigger.rules.deadlines`; this
module reads its facts from the database and writes the rows:

- Rows of one kind are matched to the computed occurrences in order, so a row keeps its id (reminders
  point at it) when its anchor date is corrected. Action deadlines are matched by their action.
- A row is never deleted: one whose occurrence disappeared is marked `not_applicable`; one whose stage
  ended without it is `missed` (`trigger.rules.deadlines`).
- Reminders (a warning `warn_before` the due date, an overdue notice the day after, an escalation to the
  manager once overdue for `escalate_after`) are rows written here too, so a sweep reads only the
  reminders falling due.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Integer, Select, bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from trigger.rules.deadlines import (
    ActionFact,
    AppealFact,
    CaseFacts,
    Decision,
    anchor_date,
    compute,
    is_duty,
)
from trigger.rules.policy import Policy
from trigger.store import audit
from trigger.store import tables as t
from trigger.store.models import (
    Action,
    Agency,
    Deadline,
    Reminder,
    ReviewCase,
    row_id,
)
from trigger.store.partnerships import manager_address
from workflows.machine import TERMINAL


@cache
def _facts_statements() -> dict[str, Select[Any]]:
    """The Core statements `facts` reads with, the case's id a bound parameter (`cid`): built once per
    process, so a change spends nothing on building them or on their cache keys; and reading only the
    columns the deadlines use (no sealed text opened, no objects made)."""
    cid = bindparam("cid", type_=Integer())
    td, ev, m, ap, ac, lt = (t.threshold_decision, t.audit_event, t.meeting, t.appeal, t.action, t.letter)
    return {
        "decisions": sa_select(td.c.decided_on, td.c.met).where(td.c.case_id == cid).order_by(td.c.id),
        "events": sa_select(ev.c.event, ev.c.on).where(ev.c.case_id == cid, ev.c.event.in_(_LOGGED)),
        "meetings": sa_select(m.c.held_on).where(m.c.case_id == cid, m.c.held.is_(True)),
        "appeals": sa_select(ap.c.received, ap.c.against, ap.c.decided_on, ap.c.upheld)
        .where(ap.c.case_id == cid)
        .order_by(ap.c.id),
        "actions": sa_select(ac.c.id, ac.c.number, ac.c.due, ac.c.status, ac.c.completed_on)
        .where(ac.c.case_id == cid)
        .order_by(ac.c.number),
        "letters": sa_select(lt.c.kind, lt.c.issued_on).where(lt.c.case_id == cid),
    }


_LOGGED = ("issue_outcome", "bundle", "appeal_bundle")  # the audit events a deadline depends on


def facts(session: Session, case: ReviewCase) -> CaseFacts:
    """What the case's deadlines depend on, read from its rows and its audit events (as flushed: `refresh`
    flushes first)."""
    q = _facts_statements()
    at = {"cid": case.id}
    decisions = [Decision(on, met) for on, met in session.execute(q["decisions"], at)]
    logged = session.execute(q["events"], at).all()
    # and the change in hand's own event, written as its transaction commits
    events = [*logged, *((e.event, e.on) for e in audit.pending(session, row_id(case)) if e.event in _LOGGED)]
    meetings = [on for (on,) in session.execute(q["meetings"], at) if on]
    appeals = [AppealFact(*row) for row in session.execute(q["appeals"], at)]
    actions = [ActionFact(*row) for row in session.execute(q["actions"], at)]
    letters = [(k, d) for k, d in session.execute(q["letters"], at)]
    return CaseFacts(
        state=case.state,
        received=case.received,
        decisions=decisions,
        outcomes=sorted(on for ev, on in events if ev == "issue_outcome"),
        meetings_held=meetings,
        appeals=appeals,
        actions=actions,
        letters=letters,
        bundles=[on for ev, on in events if ev != "issue_outcome"],
        ended_on=case.state_changed if case.state in TERMINAL else None,
    )


@cache
def _deadline_rows() -> SelectOfScalar[Deadline]:
    """The case's deadline rows (case id `cid`), built once per process like `_facts_statements`."""
    cid = bindparam("cid", type_=Integer())
    return select(Deadline).where(Deadline.case_id == cid).order_by(col(Deadline.id))


@cache
def _reminder_rows() -> SelectOfScalar[Reminder]:
    """The reminders of some deadlines (their ids `ids`), built once per process."""
    return select(Reminder).where(col(Reminder.deadline_id).in_(bindparam("ids", expanding=True)))


def due_date(session: Session, case: ReviewCase, policy: Policy, kind: str, anchor: date) -> date:
    """When the case's latest applicable deadline of `kind` falls due; before `refresh` has written one,
    the policy's timescale counted from `anchor` with the policy's calendar."""
    row = session.exec(
        select(Deadline)
        .where(Deadline.case_id == case.id, Deadline.kind == kind, col(Deadline.not_applicable).is_(False))
        .order_by(col(Deadline.id).desc())
    ).first()
    if row is not None:
        return row.due
    return policy.due(anchor, policy.timescales[kind])


def refresh(session: Session, case: ReviewCase, policy: Policy) -> None:
    """Bring the case's deadline rows (and their reminders) up to date with its state and history."""
    session.flush()
    computed = compute(policy, facts(session, case))
    rows = session.exec(_deadline_rows(), params={"cid": case.id}).all()
    by_action = {r.action_id: r for r in rows if r.kind == "action"}
    by_kind: dict[str, list[Deadline]] = {}
    for r in rows:
        if r.kind != "action":
            by_kind.setdefault(r.kind, []).append(r)
    touched: list[Deadline] = []
    for item in computed:
        if item.kind == "action":
            row = by_action.get(item.action_id)
        else:
            pool = by_kind.get(item.kind, [])
            row = pool.pop(0) if pool else None
        if row is None:
            row = Deadline(case_id=row_id(case), kind=item.kind, action_id=item.action_id, due=item.due)
        row.anchor, row.span, row.due = item.anchor, item.span, item.due
        row.met_on, row.not_applicable, row.missed = item.met_on, item.not_applicable, item.missed
        session.add(row)
        touched.append(row)
    kept = {id(r) for r in touched}  # identity: SQLModel rows compare equal field by field
    for row in rows:
        if id(row) not in kept and not row.not_applicable and row.met_on is None:
            row.not_applicable, row.missed = True, False  # the occurrence disappeared: kept, never dropped
            session.add(row)
            touched.append(row)
    session.flush()
    _schedule_reminders(session, case, policy, touched)


# -- reminders -------------------------------------------------------------------------------------------


def recipients(
    session: Session,
    case: ReviewCase,
    deadline: Deadline,
    manager: str,
    lead: Agency | None = None,
) -> dict[str, list[str]]:
    """Who is told about a deadline: the reviewer and the lead agency's contact (and an action's owner)
    for warnings and overdue notices, the manager for escalations; anyone without an address is skipped.
    Before a reviewer is assigned the manager (the SPoC) is the one answerable, so gets the notices.
    `manager`: the case's own partnership's (`manager_address` with its id: a county database has
    several); `lead`, the case's lead agency when the caller has read it."""
    people = []
    if case.reviewer_email:
        people.append(case.reviewer_email.strip())
    if case.lead_agency_id:
        if lead is None:
            lead = session.get(Agency, case.lead_agency_id)
        if lead is not None and lead.email:
            people.append(lead.email.strip())
    if deadline.action_id:
        action = session.get(Action, deadline.action_id)
        owner = session.get(Agency, action.owner_agency_id) if action else None
        if owner is not None and owner.email:
            people.append(owner.email.strip())
    if not people and manager:
        people.append(manager)
    people = list(dict.fromkeys(p for p in people if p))
    return {"warning": people, "overdue": people, "escalation": [manager] if manager else []}


def reminder_dates(policy: Policy, deadline: Deadline, received: date | None = None) -> dict[str, date]:
    """warning: `warn_before` before the due date, but never before the deadline began nor before the
    case was received; overdue: the day after it; escalation: once overdue for `escalate_after`
    (docs/architecture.md#deadlines-and-reminders)."""
    cal = policy.calendar()
    warn = cal.before(deadline.due, policy.warn_before)
    began = max((d for d in (anchor_date(deadline.anchor), received) if d is not None), default=None)
    if began is not None and warn < began:
        warn = min(began, deadline.due)
    return {
        "warning": warn,
        "overdue": deadline.due + timedelta(days=1),
        "escalation": policy.due(deadline.due, policy.escalate_after),
    }


def _schedule_reminders(
    session: Session, case: ReviewCase, policy: Policy, deadlines: list[Deadline]
) -> None:
    ids = [row_id(d) for d in deadlines]
    existing: dict[tuple[int, str, str], Reminder] = {}
    if ids:
        for r in session.exec(_reminder_rows(), params={"ids": ids}):
            existing[(r.deadline_id, r.kind, r.recipient)] = r
    wanted: set[tuple[int, str, str]] = set()
    # read once for all the case's deadlines, not once for each: the case's own partnership's manager (the
    # partnership in hand whenever a case changes, named here so that it is not looked for)
    manager: str | None = None
    lead: Agency | None = None
    for d in deadlines:
        if d.not_applicable or d.missed or d.met_on is not None or not is_duty(d.kind):
            continue
        if manager is None:
            manager = manager_address(session, policy, case.partnership_id)
            lead = session.get(Agency, case.lead_agency_id) if case.lead_agency_id else None
        dates = reminder_dates(policy, d, case.received)
        for kind, people in recipients(session, case, d, manager, lead).items():
            for person in people:
                key = (row_id(d), kind, person)
                wanted.add(key)
                row = existing.get(key)
                if row is None:
                    session.add(
                        Reminder(deadline_id=row_id(d), kind=kind, recipient=person, send_on=dates[kind])
                    )
                elif row.status == "pending":
                    row.send_on = dates[kind]
                    session.add(row)
                elif row.status == "cancelled" or (row.status == "failed" and row.send_on != dates[kind]):
                    # wanted again, or its deadline moved: a fresh reminder, no failures behind it (a failed
                    # one whose deadline stands waits for `trigger reminders retry`)
                    row.send_on, row.status, row.attempts = dates[kind], "pending", 0
                    row.next_attempt_at = row.first_failed_at = row.failure = row.reported_at = None
                    row.report_copied_at = row.report_claim_until = None
                    session.add(row)
    for key, row in existing.items():
        if key not in wanted and row.status in ("pending", "failed"):
            row.status = "cancelled"  # met, not applicable, or the recipient changed: nothing to send
            session.add(row)
