"""Which deadlines a case has and when they are due, from its policy and its history (SPEC §3).

`refresh` is called inside the transaction of every change to a case, after the change, so the
deadlines and their reminders commit together with the change and its audit event.

Semantics (documented here because the policy texts leave them open):

- Each kind of deadline may occur more than once in a case's life (a second review after an appeal is
  upheld, a second appeal window after a second outcome). Rows of one kind are matched to the computed
  occurrences in order, so a row keeps its id (reminders point at it) when its anchor date is corrected.
  Action deadlines are matched by their action.
- A row is never deleted. One the case can no longer meet (it closed or was withdrawn first, the appeal
  was decided before its bundle was recorded, an occurrence disappeared) is marked `not_applicable`.
- `appeal_window` is the applicant's time limit, not a duty of the partnership: it is met when an appeal
  is lodged, it is never "overdue" (once passed it has simply expired, see `is_duty`) and it gets no
  reminders; closing or withdrawing the case without an appeal makes it not applicable.
- Reminders (warning before, overdue notice the day after, escalation to the manager once overdue for
  `escalate_after`) are rows written here too, so a sweep only reads the reminders falling due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, select

from trigger.models import (
    Action, Agency, Appeal, AuditEvent, Deadline, Letter, Meeting, Reminder, ReviewCase, Setting,
    ThresholdDecision,
)
from trigger.policy import Policy

TERMINAL = ("closed", "withdrawn")
# the applicant's window, not a duty of the partnership: never overdue, no reminders
NOT_DUTIES = ("appeal_window",)


def is_duty(kind: str) -> bool:
    return kind not in NOT_DUTIES


@dataclass
class Due:
    """One computed deadline occurrence."""

    kind: str
    anchor: str
    start: date | None
    due: date
    span: str | None = None
    met_on: date | None = None
    not_applicable: bool = False
    action_id: int | None = None


def _first_on_or_after(days: list[date], start: date) -> date | None:
    later = [d for d in days if d >= start]
    return min(later) if later else None


def compute(
    *,
    policy: Policy,
    state: str,
    received: date,
    decisions: list[tuple[date, bool]],
    outcomes: list[date],
    meetings_held: list[date],
    appeals: list[tuple[date, str, date | None, bool | None]],
    actions: list[tuple[int, int, date, str, date | None]],
    letters: list[tuple[str, date]],
    bundles: list[date] = (),
) -> list[Due]:
    """The deadlines of a case from plain facts (pure: no session). `appeals` are
    (received, against, decided_on, upheld); `actions` (id, number, due, status, completed_on);
    `letters` (kind, issued_on)."""
    cal = policy.calendar()
    ts = policy.timescales
    terminal = state in TERMINAL
    sent = lambda kind: sorted(d for k, d in letters if k == kind)  # noqa: E731
    out: list[Due] = []

    def add(kind: str, anchor: str, start: date, met_on: date | None, na: bool = False) -> None:
        span = ts[kind]
        out.append(Due(kind, f"{anchor} {start.isoformat()}", start,
                       cal.due(start, span, policy.roll_forward), str(span), met_on,
                       na or (met_on is None and terminal)))

    # Leicester City: acknowledged within one working day of receipt (DOMAIN §3.1); met by the letter
    add("acknowledge", "received", received, (sent("acknowledgement") or [None])[0])
    # Leicester City: the threshold decision within 14 days of receipt (DOMAIN §3.1)
    first_decision = min((d for d, _ in decisions), default=None)
    add("threshold_decision", "received", received, first_decision)

    # Harborough/Rutland: the review up to 28 days from the threshold decision (DOMAIN §3.1); a review
    # also (re)starts when an appeal is upheld (SPEC §1 decide_appeal)
    review_starts = [(d, "threshold met") for d, met in decisions if met]
    review_starts += [(dec, "appeal upheld") for _, _, dec, up in appeals if dec and up]
    for start, label in sorted(review_starts):
        add("review", label, start, _first_on_or_after(outcomes, start))

    # national pattern: the outcome letter 5 working days after the meeting (DOMAIN §3.2)
    for held in sorted(meetings_held):
        add("outcome_letter", "meeting held", held, _first_on_or_after(sent("outcome"), held))

    # Hinckley & Bosworth: appeal within twenty working days of the decision or outcome (DOMAIN §3.1)
    window_starts = [(d, "threshold not met") for d, met in decisions if not met]
    window_starts += [(d, "outcome issued") for d in outcomes]
    appeal_days = sorted(r for r, _, _, _ in appeals)
    for start, label in sorted(window_starts):
        add("appeal_window", label, start, _first_on_or_after(appeal_days, start))

    bundle_days = sorted(list(bundles) + sent("appeal_bundle"))
    for received_on, _against, decided_on, _upheld in sorted(appeals, key=lambda a: a[0]):
        # Hinckley & Bosworth: the bundle to the independent chair within one working day (DOMAIN §3.1)
        met = _first_on_or_after(bundle_days, received_on)
        add("appeal_bundle", "appeal received", received_on, met,
            na=met is None and decided_on is not None)
        add("appeal_decision", "appeal received", received_on, decided_on)

    for action_id, number, due, status, completed in actions:
        # the action plan's own timescale (SPEC §5)
        met = (completed or due) if status in ("done", "dropped") else None
        out.append(Due("action", f"action {number}", None, due, None, met, met is None and terminal, action_id))
    return out


def _facts(session: Session, case: ReviewCase) -> dict:
    cid = case.id
    decisions = [(d.decided_on, d.met) for d in session.exec(
        select(ThresholdDecision).where(ThresholdDecision.case_id == cid).order_by(ThresholdDecision.id))]
    events = session.exec(select(AuditEvent.event, AuditEvent.on).where(
        AuditEvent.case_id == cid, AuditEvent.event.in_(("issue_outcome", "bundle", "appeal_bundle")))).all()
    meetings = [m.held_on for m in session.exec(
        select(Meeting).where(Meeting.case_id == cid, Meeting.held.is_(True))) if m.held_on]
    appeals = [(a.received, a.against, a.decided_on, a.upheld) for a in session.exec(
        select(Appeal).where(Appeal.case_id == cid).order_by(Appeal.id))]
    actions = [(a.id, a.number, a.due, a.status, a.completed_on) for a in session.exec(
        select(Action).where(Action.case_id == cid).order_by(Action.number))]
    letters = [(k, d) for k, d in session.exec(select(Letter.kind, Letter.issued_on).where(Letter.case_id == cid))]
    return dict(
        state=case.state, received=case.received, decisions=decisions,
        outcomes=sorted(on for ev, on in events if ev == "issue_outcome"),
        meetings_held=meetings, appeals=appeals, actions=actions, letters=letters,
        bundles=[on for ev, on in events if ev != "issue_outcome"],
    )


def refresh(session: Session, case: ReviewCase, policy: Policy) -> None:
    """Bring the case's deadline rows (and their reminders) up to date with its state and history."""
    session.flush()
    computed = compute(policy=policy, **_facts(session, case))
    rows = session.exec(select(Deadline).where(Deadline.case_id == case.id).order_by(Deadline.id)).all()
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
            row = Deadline(case_id=case.id, kind=item.kind, action_id=item.action_id, due=item.due)
        row.anchor, row.span, row.due = item.anchor, item.span, item.due
        row.met_on, row.not_applicable = item.met_on, item.not_applicable
        session.add(row)
        touched.append(row)
    kept = {id(r) for r in touched}  # identity: SQLModel rows compare equal field by field
    for row in rows:
        if id(row) not in kept and not row.not_applicable and row.met_on is None:
            row.not_applicable = True  # the occurrence disappeared: kept, never dropped
            session.add(row)
            touched.append(row)
    session.flush()
    _schedule_reminders(session, case, policy, touched)


# -- reminders -------------------------------------------------------------------------------------------


def manager_address(session: Session, policy: Policy) -> str:
    row = session.get(Setting, "manager_email")
    return (row.value if row is not None and row.value else policy.manager_email or "").strip()


def recipients(session: Session, case: ReviewCase, policy: Policy, deadline: Deadline) -> dict[str, list[str]]:
    """Who is told about a deadline: the reviewer and the lead agency's contact (and an action's owner)
    for warnings and overdue notices, the manager for escalations; anyone without an address is skipped.
    Before a reviewer is assigned the manager (the SPoC) is the one answerable, so gets the notices."""
    manager = manager_address(session, policy)
    people = []
    if case.reviewer_email:
        people.append(case.reviewer_email.strip())
    if case.lead_agency_id:
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


def reminder_dates(policy: Policy, deadline: Deadline) -> dict[str, date]:
    """warning: `warn_before` before the due date (not before the deadline began); overdue: the day after
    the due date; escalation: once overdue for `escalate_after` (SPEC §3)."""
    cal = policy.calendar()
    warn = cal.before(deadline.due, policy.warn_before)
    return {
        "warning": warn,
        "overdue": deadline.due + timedelta(days=1),
        "escalation": cal.due(deadline.due, policy.escalate_after, policy.roll_forward),
    }


def _schedule_reminders(session: Session, case: ReviewCase, policy: Policy, deadlines: list[Deadline]) -> None:
    ids = [d.id for d in deadlines]
    existing = {}
    if ids:
        for r in session.exec(select(Reminder).where(Reminder.deadline_id.in_(ids))):
            existing[(r.deadline_id, r.kind, r.recipient)] = r
    wanted = set()
    for d in deadlines:
        if d.not_applicable or d.met_on is not None or not is_duty(d.kind):
            continue
        dates = reminder_dates(policy, d)
        for kind, people in recipients(session, case, policy, d).items():
            for person in people:
                key = (d.id, kind, person)
                wanted.add(key)
                row = existing.get(key)
                if row is None:
                    session.add(Reminder(deadline_id=d.id, kind=kind, recipient=person, send_on=dates[kind]))
                elif row.status in ("pending", "cancelled", "failed"):
                    row.send_on, row.status = dates[kind], "pending"
                    session.add(row)
    for key, row in existing.items():
        if key not in wanted and row.status in ("pending", "failed"):
            row.status = "cancelled"  # met, not applicable, or the recipient changed: nothing to send
            session.add(row)
