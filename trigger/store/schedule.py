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

from sqlmodel import Session, col, select

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
from trigger.store.models import (
    Action,
    Agency,
    Appeal,
    AuditEvent,
    Deadline,
    Letter,
    Meeting,
    Reminder,
    ReviewCase,
    ThresholdDecision,
    row_id,
)
from trigger.store.partnerships import manager_address
from workflows.machine import TERMINAL


def facts(session: Session, case: ReviewCase) -> CaseFacts:
    """What the case's deadlines depend on, read from its rows and its audit events."""
    cid = case.id
    decisions = [
        Decision(d.decided_on, d.met)
        for d in session.exec(
            select(ThresholdDecision)
            .where(ThresholdDecision.case_id == cid)
            .order_by(col(ThresholdDecision.id))
        )
    ]
    kinds = ("issue_outcome", "bundle", "appeal_bundle")
    logged = session.exec(
        select(col(AuditEvent.event), col(AuditEvent.on)).where(
            AuditEvent.case_id == cid, col(AuditEvent.event).in_(kinds)
        )
    ).all()
    # and the change in hand's own event, written as its transaction commits
    events = [*logged, *((e.event, e.on) for e in audit.pending(session, row_id(case)) if e.event in kinds)]
    meetings = [
        m.held_on
        for m in session.exec(select(Meeting).where(Meeting.case_id == cid, col(Meeting.held).is_(True)))
        if m.held_on
    ]
    appeals = [
        AppealFact(a.received, a.against, a.decided_on, a.upheld)
        for a in session.exec(select(Appeal).where(Appeal.case_id == cid).order_by(col(Appeal.id)))
    ]
    actions = [
        ActionFact(row_id(a), a.number, a.due, a.status, a.completed_on)
        for a in session.exec(select(Action).where(Action.case_id == cid).order_by(col(Action.number)))
    ]
    letters = [
        (k, d)
        for k, d in session.exec(select(col(Letter.kind), col(Letter.issued_on)).where(Letter.case_id == cid))
    ]
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
    rows = session.exec(select(Deadline).where(Deadline.case_id == case.id).order_by(col(Deadline.id))).all()
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
        for r in session.exec(select(Reminder).where(col(Reminder.deadline_id).in_(ids))):
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
