"""A case's chronology: every dated thing that happened to it, for the Ombudsman, the export and the
appeal bundle."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlmodel import Session, col

from trigger.rules.dates import iso
from trigger.store import seal
from trigger.store.models import (
    Action,
    Agency,
    Appeal,
    AuditEvent,
    Consultation,
    EvidenceRequest,
    Finding,
    Incident,
    Letter,
    Meeting,
    Recommendation,
    ReviewCase,
    ThresholdDecision,
    row_id,
)

# -- a case's chronology -------------------------------------------------------------------------------------


def chronology(session: Session, case: ReviewCase) -> list[dict[str, object]]:
    """The whole history of a case in date order, for the Ombudsman or an appeal bundle: every audited
    event, complaint, decision with its reasons, evidence, meeting, finding, recommendation and its
    response, action, appeal and letter. Each entry: date, kind, summary, and the facts it rests on."""
    codes = {a.id: a.code for a in session.scalars(select(Agency)).all()}
    items: list[tuple[date, int, int, dict[str, object]]] = []

    def add(day: date | None, order: int, kind: str, summary: str, **facts: object) -> None:
        if day is None:
            return
        items.append((day, order, len(items), {"date": iso(day), "kind": kind, "summary": summary, **facts}))

    events = session.scalars(
        select(AuditEvent).where(col(AuditEvent.case_id) == case.id).order_by(col(AuditEvent.seq))
    ).all()
    seal.require_key(session, case)
    sealed = seal.Opener(session, [case.id])  # reasons and details, or what purge left of them
    # who recorded each thing that has its own entry below, so the event itself is not listed again
    by = _recorded_by(events, sealed)
    for e in events:
        if e.event in SHOWN_BY_ROWS:
            continue
        detail = sealed.details(e) or None
        reason = sealed.reason(e)
        move = f" ({e.from_state or ''} -> {e.to_state})" if e.to_state and e.from_state != e.to_state else ""
        facts = ", ".join(
            f"{k} {', '.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in (detail or {}).items()
            if k in _SUMMARY_KEYS and v not in (None, "", [], False)
        )
        add(
            e.on,
            0,
            "event",
            f"{e.event}{move} by {e.actor}"
            + (f" ({facts})" if facts else "")
            + (f": {reason}" if reason else f": {detail['erased']}" if detail and "erased" in detail else ""),
            event=e.event,
            actor=e.actor,
            seq=e.seq,
            recorded=e.at.isoformat(timespec="seconds"),
            from_state=e.from_state,
            to_state=e.to_state,
            reason=reason,
            detail=detail,
        )
    for i in session.scalars(
        select(Incident).where(col(Incident.case_id) == case.id).order_by(col(Incident.id))
    ).all():
        add(
            i.reported,
            1,
            "complaint",
            f"complaint #{i.id} to {codes.get(i.agency_id)} about behaviour on {iso(i.occurred)}"
            + (f" (hate: {i.hate})" if i.hate else "")
            + (f", same as #{i.same_as_id}" if i.same_as_id else "")
            + _recorded(by.get(("incident_add", row_id(i))))
            + (f"; VOID since {iso(i.voided_on)}: {i.void_reason}" if i.voided_on else ""),
            id=i.id,
            void=i.voided_on is not None,
            occurred=iso(i.occurred),
            agency=codes.get(i.agency_id),
            agency_ref=i.agency_ref,
            hate=i.hate,
            same_as=i.same_as_id,
            description=i.description,
        )
    for t in session.scalars(
        select(ThresholdDecision)
        .where(col(ThresholdDecision.case_id) == case.id)
        .order_by(col(ThresholdDecision.id))
    ).all():
        verdict = (
            "met" if t.met else ("rejected as " + t.rejection_category if t.rejection_category else "not met")
        )
        add(
            t.decided_on,
            2,
            "threshold_decision",
            f"threshold {verdict}"
            + (f" ({t.route} route)" if t.route else "")
            + f" by {t.actor}"
            + (f": {t.reason}" if t.reason else ""),
            met=t.met,
            route=t.route,
            rejection_category=t.rejection_category,
            reason=t.reason,
            actor=t.actor,
            explanation=json.loads(t.explanation) if t.explanation else None,
        )
    for r in session.scalars(
        select(EvidenceRequest)
        .where(col(EvidenceRequest.case_id) == case.id)
        .order_by(col(EvidenceRequest.id))
    ).all():
        add(
            r.requested,
            3,
            "evidence_request",
            f"evidence requested from {codes.get(r.agency_id)}, due {iso(r.due)}",
            agency=codes.get(r.agency_id),
            due=iso(r.due),
        )
        add(
            r.answered,
            3,
            "evidence_answer",
            f"evidence from {codes.get(r.agency_id)}: " + ("no data held" if r.not_held else "answered"),
            agency=codes.get(r.agency_id),
            not_held=r.not_held,
            note=r.note,
        )
    for m in session.scalars(
        select(Meeting).where(col(Meeting.case_id) == case.id).order_by(col(Meeting.id))
    ).all():
        add(
            m.at.date(),
            4,
            "meeting",
            f"review meeting {'held' if m.held else 'scheduled'} "
            f"{m.at.isoformat(timespec='minutes')}"
            + (f", victim: {m.victim_involvement}" if m.victim_involvement else ""),
            at=m.at.isoformat(timespec="minutes"),
            held=m.held,
            victim_involvement=m.victim_involvement,
            attendees=m.attendees,
        )
    for f in session.scalars(
        select(Finding).where(col(Finding.case_id) == case.id).order_by(col(Finding.id))
    ).all():
        add(
            f.recorded_on,
            5,
            "finding",
            f"finding ({f.category})"
            + (f": {f.text}" if f.text else "")
            + _recorded(by.get(("finding", row_id(f)))),
            id=f.id,
            category=f.category,
            text=f.text,
        )
    for rec in session.scalars(
        select(Recommendation).where(col(Recommendation.case_id) == case.id).order_by(col(Recommendation.id))
    ).all():
        add(
            rec.recorded_on,
            6,
            "recommendation",
            f"recommendation {rec.id} to {codes.get(rec.agency_id)}: {rec.text}"
            + _recorded(by.get(("recommendation", row_id(rec)))),
            id=rec.id,
            to=codes.get(rec.agency_id),
            text=rec.text,
        )
        add(
            rec.responded_on,
            6,
            "recommendation_response",
            f"{codes.get(rec.agency_id)} had regard to recommendation {rec.id}: {rec.response}"
            + (f" ({rec.response_reason})" if rec.response_reason else ""),
            id=rec.id,
            response=rec.response,
            reason=rec.response_reason,
        )
    action_added: dict[int, date] = {}
    for added in session.execute(
        select(
            col(AuditEvent.case_id), col(AuditEvent.seq), col(AuditEvent.on), col(AuditEvent.detail)
        ).where(col(AuditEvent.case_id) == case.id, col(AuditEvent.event) == "action_add")
    ).all():
        number = sealed.details(added).get("number")
        if number is not None:
            action_added[number] = added.on
    for a in session.scalars(
        select(Action).where(col(Action.case_id) == case.id).order_by(col(Action.number))
    ).all():
        add(
            action_added.get(a.number, a.due),
            7,
            "action",
            f"action {a.number} for {codes.get(a.owner_agency_id)}, due {iso(a.due)}: {a.action}"
            + _recorded(by.get(("action_add", a.number))),
            number=a.number,
            owner=codes.get(a.owner_agency_id),
            due=iso(a.due),
            status=a.status,
            rag=a.rag,
            progress=a.progress,
            jag=a.jag,
        )
        # its completion is the `action_update` event above, listed once there
    lodged = [e.actor for e in events if e.event == "appeal"]
    for n, ap in enumerate(
        session.scalars(select(Appeal).where(col(Appeal.case_id) == case.id).order_by(col(Appeal.id))).all()
    ):
        add(
            ap.received,
            8,
            "appeal",
            f"appeal against the {ap.against} on the ground '{ap.grounds}'"
            + (f" (late: {ap.late_reason})" if ap.late_reason else "")
            + (f"; in the appellant's words: {ap.detail}" if ap.detail else "")
            + _recorded(lodged[n] if n < len(lodged) else None),
            against=ap.against,
            grounds=ap.grounds,
            detail=ap.detail,
            late_reason=ap.late_reason,
        )
        if ap.decided_on:
            add(
                ap.decided_on,
                8,
                "appeal_decision",
                f"appeal {'upheld' if ap.upheld else 'dismissed'} by {ap.decided_by}: {ap.reason}",
                upheld=ap.upheld,
                decided_by=ap.decided_by,
                reason=ap.reason,
            )
    for lt in session.scalars(
        select(Letter).where(col(Letter.case_id) == case.id).order_by(col(Letter.id))
    ).all():
        add(
            lt.issued_on,
            9,
            "letter",
            f"{lt.kind} letter issued to {lt.recipient} ({lt.format}, sha256 {lt.content_hash[:12]})"
            + (" (the edited version sent, recorded from its file)" if lt.edited else "")
            + _recorded(by.get(("letter", row_id(lt)))),
            letter_kind=lt.kind,
            recipient=lt.recipient,
            format=lt.format,
            content_hash=lt.content_hash,
        )
    for c in session.scalars(
        select(Consultation).where(col(Consultation.case_id) == case.id).order_by(col(Consultation.id))
    ).all():
        add(
            c.consulted_on,
            7,
            "consultation",
            f"draft action plan put to the victim by {c.actor}; response: {c.response}",
            response=c.response,
            actor=c.actor,
        )
    items.sort(key=lambda t: (t[0], t[1], t[2]))
    return [t[3] for t in items]


# audit events whose happening has its own, fuller entry in the chronology (listed once, there)
SHOWN_BY_ROWS = (
    "incident_add",
    "decide",
    "letter",
    "appeal_bundle",
    "appeal",
    "decide_appeal",
    "evidence_request",
    "evidence_answer",
    "meeting_scheduled",
    "meeting_held",
    "finding",
    "recommendation",
    "recommendation_response",
    "action_add",
    "consult",
)
# the details an event's line in the chronology names (no personal data is kept in them)
_SUMMARY_KEYS = (
    "number",
    "status",
    "rag",
    "agency",
    "person",
    "hours",
    "entry",
    "incident",
    "fields",
    "channel",
)
_KEYS = {
    "incident_add": "incident",
    "letter": "letter",
    "appeal_bundle": "letter",
    "finding": "id",
    "recommendation": "id",
    "action_add": "number",
}


def _recorded_by(events: Sequence[AuditEvent], sealed: seal.Opener) -> dict[tuple[str, int], str]:
    out: dict[tuple[str, int], str] = {}
    for e in events:
        key = _KEYS.get(e.event)
        if key and e.detail:
            value = sealed.details(e).get(key)
            if value is not None:
                out[("letter" if e.event == "appeal_bundle" else e.event, value)] = e.actor
    return out


def _recorded(actor: str | None) -> str:
    return f" (recorded by {actor})" if actor else ""


def chronology_text(session: Session, case: ReviewCase) -> str:
    """The chronology as plain text: one dated line per entry (the appeal bundle's 02-chronology.txt)."""
    lines = [f"Chronology of {case.reference} ({case.state}), received {case.received.isoformat()}", ""]
    lines += [f"{item['date']}  {item['kind']:24} {item['summary']}" for item in chronology(session, case)]
    return "\n".join(lines) + "\n"
