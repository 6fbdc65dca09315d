"""Reading cases: the one place a case is turned into plain data for output (`case_view`), and the
case list with its next and overdue deadlines."""

from __future__ import annotations

import json
from datetime import date
from functools import lru_cache

from sqlalchemy import String, type_coerce
from sqlmodel import Session, select

from trigger import complaints, corrections, decisions, duties
from trigger.app import App, today
from trigger.codes import ACTION_OPEN
from trigger.errors import InvalidInput
from trigger.models import (
    Action,
    Agency,
    Appeal,
    AuditEvent,
    Deadline,
    EvidenceRequest,
    Finding,
    HoursEntry,
    Incident,
    Letter,
    Meeting,
    Recommendation,
    ReviewCase,
)
from trigger.rules import deadlines
from trigger.rules.deadlines import is_duty
from trigger.unit import case_policy, find_case
from workflows import machine


def iso(day: date | None) -> str | None:
    """A date as ISO text, or None: how dates leave the engine in JSON and letter contexts."""
    return day.isoformat() if day else None


def initials(name: str | None) -> str:
    """A person's initials ("P.D."): beside the reference, the only personal detail reminders carry."""
    parts = [p for p in (name or "").replace("-", " ").split() if p[:1].isalpha()]
    return ".".join(p[0].upper() for p in parts) + ("." if parts else "")


def _action_view(a: Action, reference: str, owner: str) -> dict:
    return {
        "reference": reference,
        "number": a.number,
        "action": a.action,
        "owner": owner,
        "due": a.due.isoformat(),
        "status": a.status,
        "rag": a.rag,
        "jag": a.jag,
        "progress": a.progress,
        "completed_on": a.completed_on and a.completed_on.isoformat(),
        "overdue": a.status in ACTION_OPEN and a.due < today(),
    }


def show(app: App, reference: str) -> dict:
    """Everything about a case, as plain data (the one place a case is formatted for output)."""
    with app.read() as session:
        return case_view(session, find_case(session, reference))


def case_view(session: Session, case: ReviewCase) -> dict:
    """A case as plain data: what `show --json` prints and what the bundle and export carry."""
    agencies = {a.id: a for a in session.exec(select(Agency))}
    code = lambda agency_id: agencies[agency_id].code if agency_id in agencies else None  # noqa: E731
    as_of = today()
    policy = lru_cache(maxsize=1)(lambda: case_policy(session, case))  # read only when needed
    deadline_rows = session.exec(
        select(Deadline).where(Deadline.case_id == case.id).order_by(Deadline.due)
    ).all()
    incidents = session.exec(select(Incident).where(Incident.case_id == case.id).order_by(Incident.id)).all()
    actions = session.exec(select(Action).where(Action.case_id == case.id).order_by(Action.number)).all()
    hours_rows = session.exec(
        select(HoursEntry).where(HoursEntry.case_id == case.id).order_by(HoursEntry.id)
    ).all()
    letters = session.exec(select(Letter).where(Letter.case_id == case.id).order_by(Letter.id)).all()
    events = session.exec(
        select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.on, AuditEvent.seq)
    ).all()
    meeting_row = session.exec(
        select(Meeting).where(Meeting.case_id == case.id).order_by(Meeting.id.desc())
    ).first()
    findings = session.exec(select(Finding).where(Finding.case_id == case.id).order_by(Finding.id)).all()
    recs = session.exec(
        select(Recommendation).where(Recommendation.case_id == case.id).order_by(Recommendation.id)
    ).all()
    appeals = session.exec(select(Appeal).where(Appeal.case_id == case.id).order_by(Appeal.id)).all()
    evidence_rows = session.exec(
        select(EvidenceRequest).where(EvidenceRequest.case_id == case.id).order_by(EvidenceRequest.id)
    ).all()
    fixes = corrections.of_case(session, case)
    marks = corrections.letter_marks(session, case, list(letters)) if fixes else {}
    note = decisions.since_corrected(session, case, lambda: complaints.explain(session, case, policy()))
    return {
        "reference": case.reference,
        "state": case.state,
        "received": iso(case.received),
        "channel": case.channel,
        "applicant": case.applicant_name,
        "victim": case.victim_name,
        "victim_kind": case.victim_kind,
        "third_party": case.applicant_name != case.victim_name,
        "consent_date": iso(case.consent_date),
        "language": case.language,
        "postcode": case.postcode,
        "beat": case.beat,
        "statement": case.statement,
        "policy": f"{case.policy_name} {case.policy_version}",
        "lead_agency": code(case.lead_agency_id),
        "reviewer": case.reviewer,
        "spoc": {"name": case.spoc_name, "email": case.spoc_email},
        "victim_involvement": {"choice": case.victim_involvement, "recorded": iso(case.involvement_on)},
        "threshold": decisions.view(session, case, note),
        "deadlines": [_deadline_view(d, as_of, lambda: policy().calendar()) for d in deadline_rows],
        "incidents": [
            {
                "id": i.id,
                "occurred": iso(i.occurred),
                "reported": iso(i.reported),
                "agency": code(i.agency_id),
                "agency_ref": i.agency_ref,
                "hate": i.hate,
                "same_as": i.same_as_id,
                "description": i.description,
                "void": i.voided_on is not None,
                "voided_on": iso(i.voided_on),
                "void_reason": i.void_reason,
            }
            for i in incidents
        ],
        "evidence": [
            {
                "agency": code(e.agency_id),
                "requested": iso(e.requested),
                "due": iso(e.due),
                "answered": iso(e.answered),
                "not_held": e.not_held,
            }
            for e in evidence_rows
        ],
        "meeting": None
        if meeting_row is None
        else {
            "at": meeting_row.at.isoformat(timespec="minutes"),
            "held": meeting_row.held,
            "victim_involvement": meeting_row.victim_involvement,
        },
        "consultations": [
            {"on": iso(c.consulted_on), "response": c.response, "by": c.actor}
            for c in duties.consultations(session, case)
        ],
        "findings": [{"id": f.id, "category": f.category, "text": f.text} for f in findings],
        "recommendations": [
            {
                "id": r.id,
                "to": code(r.agency_id),
                "text": r.text,
                "response": r.response,
                "response_reason": r.response_reason,
            }
            for r in recs
        ],
        "actions": [_action_view(a, case.reference, code(a.owner_agency_id)) for a in actions],
        "appeals": [
            {
                "against": a.against,
                "received": iso(a.received),
                "grounds": a.grounds,
                "detail": a.detail,
                "late_reason": a.late_reason,
                "decided_on": iso(a.decided_on),
                "upheld": a.upheld,
                "decided_by": a.decided_by,
                "reason": a.reason,
            }
            for a in appeals
        ],
        "hours_total": float(sum(h.hours for h in hours_rows if h.voided_on is None)),
        "hours": [
            {
                "entry": h.id,
                "agency": code(h.agency_id),
                "person": h.person,
                "hours": h.hours,
                "date": iso(h.worked_on),
                "void": h.voided_on is not None,
                "void_reason": h.void_reason,
            }
            for h in hours_rows
        ],
        "letters": [
            {
                "number": n,
                "kind": lt.kind,
                "issued_on": iso(lt.issued_on),
                "recipient": lt.recipient,
                "format": lt.format,
                "hash": lt.content_hash,
                "corrected_since": [
                    {"field": f"{c.subject}.{c.field}", "on": iso(c.corrected_on)}
                    for c in marks.get(lt.id, [])
                ],
            }
            for n, lt in enumerate(letters, start=1)
        ],
        "corrections": [
            {
                "subject": c.subject,
                "id": c.subject_id,
                "field": c.field,
                "old": c.old_value,
                "new": c.new_value,
                "reason": c.reason,
                "on": iso(c.corrected_on),
                "by": c.actor,
            }
            for c in fixes
        ],
        "closure_reason": case.closure_reason,
        "events": [
            {
                "at": e.on.isoformat(),
                "recorded": e.at.isoformat(timespec="seconds"),
                "actor": e.actor,
                "event": e.event,
                "from": e.from_state,
                "to": e.to_state,
                "reason": e.reason,
                "detail": json.loads(e.detail) if e.detail else {},
            }
            for e in events
        ],
    }


def deadline_fact(d: Deadline) -> deadlines.DeadlineFact:
    return deadlines.DeadlineFact(d.kind, d.due, d.span, d.met_on, d.not_applicable, d.missed)


def _deadline_view(d: Deadline, as_of: date, calendar) -> dict:
    fact = deadline_fact(d)
    status = deadlines.status(fact, as_of)
    return {
        "kind": d.kind,
        "due": d.due.isoformat(),
        "met_on": d.met_on and d.met_on.isoformat(),
        "status": status,
        # the working calendar (and its bank holidays) only for a working-day deadline done late
        "days_late": deadlines.days_late(fact, calendar() if (d.span or "").endswith("wd") else None)
        if status == "met_late"
        else None,
        "not_applicable": status == "not_applicable",
        "span": d.span,
        "anchor": d.anchor,
        "overdue": status == "overdue",
    }


def list_cases(
    app: App, *, state: str | None = None, overdue: bool = False, as_of: date | None = None
) -> list[dict]:
    if state and state not in machine.STATES:
        raise InvalidInput(f"{state!r} is not a state; use one of {', '.join(machine.STATES)}")
    as_of = as_of or today()
    with app.read() as session:
        # dates as the driver gives them (ISO text on SQLite, a date on PostgreSQL): SQLite's date
        # parsing was most of the cost of listing 10,000 cases
        query = select(
            ReviewCase.id,
            ReviewCase.reference,
            ReviewCase.state,
            type_coerce(ReviewCase.received, String),
            ReviewCase.reviewer,
            ReviewCase.lead_agency_id,
        )
        if state:
            query = query.where(ReviewCase.state == state)
        late = {}
        next_due = {}
        cutoff = as_of.isoformat()  # ISO dates compare as text
        for case_id, kind, due in session.exec(
            select(Deadline.case_id, Deadline.kind, type_coerce(Deadline.due, String))
            .where(Deadline.met_on.is_(None), Deadline.not_applicable.is_(False), Deadline.missed.is_(False))
            .order_by(Deadline.due)
        ):
            due = str(due)
            if due < cutoff and not is_duty(kind):
                continue  # an appeal window that has passed is neither late nor still to come
            next_due.setdefault(case_id, (kind, due))
            if due < cutoff:
                late.setdefault(case_id, []).append(kind)
        if overdue:
            query = query.where(ReviewCase.id.in_(list(late)))
        codes = {a.id: a.code for a in session.exec(select(Agency))}
        rows = []
        for case_id, ref, st, received, reviewer, lead in session.exec(query.order_by(ReviewCase.reference)):
            nxt = next_due.get(case_id)
            rows.append(
                {
                    "reference": ref,
                    "state": st,
                    "received": str(received),
                    "lead_agency": codes.get(lead),
                    "reviewer": reviewer,
                    "next_deadline": nxt[0] if nxt else None,
                    "next_due": nxt[1] if nxt else None,
                    "overdue": late.get(case_id, []),
                }
            )
        return rows
