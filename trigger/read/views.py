"""One case as plain data: the one place a case is turned into data for output (`case_view`), which
`show`, the appeal bundle and `export` print. The list of many cases is `trigger.read.listing`.

Everything here reads with the Core tables of `trigger.store.tables` (rows read like the models' objects), so
that `show` and `list` never build the SQLModel classes and stay near the import floor
(docs/architecture.md#speed). `case_view` takes a review_case row or a ReviewCase alike.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Row, Table, select
from sqlmodel import Session

from trigger.cases import decisions, sharing
from trigger.codes import ACTION_OPEN
from trigger.errors import NotFound
from trigger.read import corrected_facts
from trigger.read.undelivered import undelivered
from trigger.rules import deadlines
from trigger.rules.dates import iso
from trigger.store import access, seal
from trigger.store import tables as t
from trigger.store.access import READ_CASE, needs
from trigger.store.app import App, today

if TYPE_CHECKING:  # the policy model and the threshold rule are loaded only when a view needs them
    from trigger.rules.calendar import WorkingCalendar
    from trigger.rules.policy import Policy
    from trigger.rules.threshold import Explanation
    from trigger.store.models import Deadline  # a row of the models reads the same (the applicant's page)


def initials(name: str | None) -> str:
    """A person's initials ("P.D."): beside the reference, the only personal detail reminders carry."""
    parts = [p for p in (name or "").replace("-", " ").split() if p[:1].isalpha()]
    return ".".join(p[0].upper() for p in parts) + ("." if parts else "")


def _action_view(a: Row, reference: str, owner: str | None) -> dict:
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


@needs(READ_CASE)
def show(app: App, reference: str) -> dict:
    """Everything about a case, as plain data (the one place a case is formatted for output)."""
    with app.read() as session:
        case = case_row(session, reference)
        view = case_view(session, case)
        # reminders failed, retrying or being sent (docs/architecture.md#deadlines-and-reminders)
        view["reminders_undelivered"] = undelivered(session, case.id)
        return view


def case_row(session: Session, reference: str) -> Row:
    """The review_case row of a reference (as `trigger.store.unit.find_case`, without the models)."""
    ref = reference.strip().upper()
    seen = access.case_filter(session, one=True)  # another partnership's case is not there
    row = session.execute(select(t.review_case).where(t.review_case.c.reference == ref, *seen)).first()
    if row is None:
        raise NotFound(f"no case {reference!r}; `trigger list` shows the cases")
    access.case_check(session, row)
    return row


def _deliveries(session: Session, letter_ids: list[int]) -> dict[int, Row]:
    """Letters sent by e-mail from the engine (`letter --send`): the delivery of each, by letter id."""
    if not letter_ids:
        return {}
    rows = session.execute(
        select(t.letter_delivery)
        .where(t.letter_delivery.c.letter_id.in_(letter_ids))
        .order_by(t.letter_delivery.c.id)
    ).all()
    return {row.letter_id: row for row in rows}


def _of_case(session: Session, table: Table, case: Any, *order: ColumnElement[Any]) -> list[Row]:
    """The rows of a table that belong to the case, in the order given."""
    return list(session.execute(select(table).where(table.c.case_id == case.id).order_by(*order)).all())


def _policy(session: Session, case: Any) -> Policy:
    # the policy model and the unit of work are loaded only when a view needs them (a late working-day
    # deadline, a decision whose complaints were corrected): `show` stays near the import floor
    from trigger.store.unit import case_policy

    return case_policy(session, case)


def _explain(session: Session, case: Any, policy: Policy) -> Explanation:
    from trigger.cases import complaints  # only for a decided case whose complaints were corrected since

    return complaints.explain(session, case, policy)


def _contact(case: Any, prefix: str) -> dict:
    """One person's contact on the case: the applicant's columns, or the victim's (`victim_`)."""
    return {name: getattr(case, prefix + name) for name in ("address", "postcode", "email", "phone")}


def case_view(session: Session, case: Any) -> dict:
    """A case as plain data: what `show --json` prints and what the bundle and export carry."""
    codes = dict(session.execute(select(t.agency.c.id, t.agency.c.code)).all())
    code = codes.get
    as_of = today()
    policy = lru_cache(maxsize=1)(lambda: _policy(session, case))  # read only when needed
    deadline_rows = _of_case(session, t.deadline, case, t.deadline.c.due)
    incidents = _of_case(session, t.incident, case, t.incident.c.id)
    actions = _of_case(session, t.action, case, t.action.c.number)
    hours_rows = _of_case(session, t.hours_entry, case, t.hours_entry.c.id)
    letters = _of_case(session, t.letter, case, t.letter.c.id)
    sent = _deliveries(session, [lt.id for lt in letters])
    events = _of_case(session, t.audit_event, case, t.audit_event.c.on, t.audit_event.c.seq)
    seal.require_key(session, case)
    sealed = seal.Opener(session, [case.id])  # reasons and details, or what purge left of them
    meetings = _of_case(session, t.meeting, case, t.meeting.c.id.desc())
    meeting_row = meetings[0] if meetings else None
    findings = _of_case(session, t.finding, case, t.finding.c.id)
    recs = _of_case(session, t.recommendation, case, t.recommendation.c.id)
    appeals = _of_case(session, t.appeal, case, t.appeal.c.id)
    evidence_rows = _of_case(session, t.evidence_request, case, t.evidence_request.c.id)
    consultations = _of_case(session, t.consultation, case, t.consultation.c.id)
    fixes = corrected_facts.of_case(session, case)
    marks = corrected_facts.letter_marks(session, case, letters, fixes) if fixes else {}
    codes = corrected_facts.agency_codes(session, fixes)
    note = decisions.since_corrected(session, case, lambda: _explain(session, case, policy()))
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
        # each person's own contact: letters go to the applicant's, a copy to the victim's (a third party)
        "applicant_contact": _contact(case, ""),
        "victim_contact": _contact(case, "victim_") if case.applicant_name != case.victim_name else None,
        "shared": sharing.told(session, case),
        "beat": case.beat,
        "statement": case.statement,
        "policy": f"{case.policy_name} {case.policy_version}",
        "lead_agency": code(case.lead_agency_id),
        "reviewer": case.reviewer,
        "spoc": {"name": case.spoc_name, "email": case.spoc_email},
        "victim_involvement": {
            "choice": case.victim_involvement,
            "recorded": iso(case.involvement_on),
            "by": _involvement_by(events, sealed),
        },
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
            "place": meeting_row.place,
            "link": meeting_row.link,
            "phone": meeting_row.phone,
            "reply_by": iso(meeting_row.reply_by),
        },
        "consultations": [
            {"on": iso(c.consulted_on), "response": c.response, "by": c.actor} for c in consultations
        ],
        # the draft plan shared with the applicant at their case page (`consult --share-plan`)
        "plan_shared": [e.on.isoformat() for e in events if e.event == "share_plan"],
        # the victim's written statements for the review meeting (`victim-statement`, or their page)
        "victim_statements": [
            {"on": e.on.isoformat(), "text": sealed.reason(e), "by": e.actor}
            for e in events
            if e.event == "victim_statement"
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
                    {
                        "field": f"{c.subject}.{c.field}",
                        "fact": corrected_facts.in_words(c, codes),
                        "on": iso(c.corrected_on),
                    }
                    for c in marks.get(lt.id, [])
                ],
                "edited": lt.edited,  # registered from the edited file actually sent
                "sent": (
                    {
                        "to": sent[lt.id].sent_to,
                        "at": sent[lt.id].sent_at.isoformat(timespec="seconds"),
                        "message_id": sent[lt.id].message_id,
                    }
                    if lt.id in sent
                    else None
                ),
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
                "reason": sealed.reason(e),
                "detail": sealed.details(e),
            }
            for e in events
        ],
    }


def _involvement_by(events: list[Row], sealed: seal.Opener) -> str | None:
    """Who recorded the victim's chosen involvement as it stands: an officer (`case update`, `meeting`)
    or the applicant at their case page."""
    by, choice = None, None
    for e in events:
        if e.event == "case_update" and "involvement" in (sealed.details(e) or {}).get("fields", ()):
            by = e.actor
        elif e.event in ("meeting_scheduled", "meeting_held"):
            said = (sealed.details(e) or {}).get("victim_involvement")
            if said and said != choice:
                by, choice = e.actor, said
    return by


def deadline_fact(d: Row | Deadline) -> deadlines.DeadlineFact:
    return deadlines.DeadlineFact(d.kind, d.due, d.span, d.met_on, d.not_applicable, d.missed)


def _deadline_view(d: Row, as_of: date, calendar: Callable[[], WorkingCalendar]) -> dict:
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
