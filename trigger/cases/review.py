"""The review's own work, recorded while a case is under review: evidence requests and answers
(Sch 4 para 7), hours, the meeting, findings, recommendations and the bodies' responses (s.104: they
must have regard to them), and the action plan. Each is one transaction through `unit.changing`.
"""

from __future__ import annotations

import math
from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import col, select

from trigger import checks
from trigger.codes import (
    ACTION_FINISHED,
    ACTION_STATUSES,
    FINDING_CATEGORIES,
    RAG,
    VICTIM_INVOLVEMENT,
    not_one_of,
)
from trigger.errors import GuardRefused, InvalidInput, NotFound
from trigger.rules.calendar import wall_clock
from trigger.store import models
from trigger.store.access import REVIEW, needs
from trigger.store.app import App
from trigger.store.models import Action, Meeting, row_id
from trigger.store.unit import (
    Work,
    changing,
    find_agency,
    not_before_receipt,
    not_far_ahead,
    not_future,
    on_for_change,
    retried,
)
from workflows.machine import REVIEW_WORK_STATES


def _require_open_review(w: Work, what: str) -> None:
    if w.case.state not in REVIEW_WORK_STATES:
        raise GuardRefused(
            f"cannot record {what}: {w.case.reference} is {w.case.state}; review work is recorded once the "
            "threshold is met"
        )


@retried
@needs(REVIEW)
def evidence(
    app: App,
    reference: str,
    *,
    agency: str,
    requested: date | None = None,
    due: date | None = None,
    answered: date | None = None,
    not_held: bool = False,
    note: str | None = None,
    on: date | None = None,
) -> models.EvidenceRequest:
    """Ask an agency for what it holds (Sch 4 para 7), or record its answer."""
    if (requested is None) == (answered is None):
        raise InvalidInput("give either --requested DATE --due DATE, or --answered DATE")
    if requested is not None and due is None:
        raise InvalidInput("an evidence request needs a --due date")
    if requested and due and due < requested:
        raise InvalidInput(f"--due {due.isoformat()} is before --requested {requested.isoformat()}")
    for d, name in ((requested, "--requested"), (answered, "--answered")):
        if d:
            not_future(d, name)
    if due is not None:
        not_far_ahead(due, "--due")
    note = checks.text(note, "--note")
    with changing(app, reference) as w:
        on = on_for_change(w.case, on or requested or answered)
        ag = find_agency(w.session, agency)
        agency = ag.code
        case_id, agency_id = row_id(w.case), row_id(ag)
        if requested is not None:
            row = models.EvidenceRequest(
                case_id=case_id, agency_id=agency_id, requested=requested, due=due, note=note
            )
            event = "evidence_request"
        else:
            asked = w.session.exec(
                select(models.EvidenceRequest)
                .where(
                    models.EvidenceRequest.case_id == case_id,
                    models.EvidenceRequest.agency_id == agency_id,
                    col(models.EvidenceRequest.answered).is_(None),
                )
                .order_by(col(models.EvidenceRequest.id))
            ).first()
            # an answer that came without a formal request
            row = asked if asked is not None else models.EvidenceRequest(case_id=case_id, agency_id=agency_id)
            row.answered, row.not_held = answered, not_held
            row.note = note or row.note
            event = "evidence_answer"
        w.session.add(row)
        w.session.flush()
        w.record(event, on, detail={"agency": agency, "not_held": not_held})
    return row


HOURS_MIN = 0.01  # hours are logged to the hundredth (36 seconds); less is a typing mistake


@retried
@needs(REVIEW)
def log_hours(
    app: App,
    reference: str,
    *,
    agency: str,
    person: str,
    hours: float,
    worked_on: date,
    note: str | None = None,
    on: date | None = None,
) -> models.HoursEntry:
    if not (math.isfinite(hours) and HOURS_MIN <= hours <= 24):
        raise InvalidInput(
            f"--hours {hours:g} is not a day's work; give a number of hours from {HOURS_MIN} to 24"
        )
    person = checks.name(person, "--person", required=True) or ""
    note = checks.text(note, "--note")
    not_future(worked_on, "--date")
    with changing(app, reference) as w:
        on = on_for_change(w.case, on or worked_on)
        ag = find_agency(w.session, agency)
        row = models.HoursEntry(
            case_id=row_id(w.case),
            agency_id=row_id(ag),
            person=person,
            hours=hours,
            worked_on=worked_on,
            note=note,
        )
        w.session.add(row)
        w.session.flush()
        w.record("hours", on, detail={"agency": ag.code, "person": person, "hours": hours})
    return row


def _link(value: str | None) -> str | None:
    """A joining link: a web address (https://...), on one line."""
    link = checks.text(value, "--link", limit=checks.SHORT_MAX, multiline=False)
    if link is not None and not link.strip().lower().startswith(("https://", "http://")):
        raise InvalidInput(f"--link {link!r} is not a web address; give the joining link, https://...")
    return link.strip() if link else None


@retried
@needs(REVIEW)
def meeting(
    app: App,
    reference: str,
    *,
    at: datetime,
    held: bool = False,
    victim_involvement: str | None = None,
    attendees: str | None = None,
    place: str | None = None,
    link: str | None = None,
    phone: str | None = None,
    reply_by: date | None = None,
    on: date | None = None,
) -> Meeting:
    """Schedule the review meeting (where it is, how to join, the day to reply by: what the invitation
    states), or record it held."""
    if victim_involvement and victim_involvement not in VICTIM_INVOLVEMENT:
        raise InvalidInput(not_one_of(victim_involvement, "a victim involvement", VICTIM_INVOLVEMENT))
    attendees = checks.text(attendees, "--attendees", limit=checks.SHORT_MAX)
    place = checks.text(place, "--place", limit=checks.SHORT_MAX)
    link = _link(link)
    phone = checks.text(phone, "--phone", limit=40, multiline=False)
    at = wall_clock(at)
    not_far_ahead(at.date(), "--at")
    if reply_by is not None and reply_by > at.date():
        raise InvalidInput(
            f"--reply-by {reply_by.isoformat()} is after the meeting ({at.date().isoformat()}); "
            "give a day on or before it"
        )
    if held:
        not_future(at.date(), "--at")
    with changing(app, reference) as w:
        _require_open_review(w, "a meeting")
        not_before_receipt(w.case, at.date(), "--at")
        on = on_for_change(w.case, on or (at.date() if held else None))
        row = w.session.exec(
            select(Meeting)
            .where(Meeting.case_id == w.case.id, col(Meeting.held).is_(False))
            .order_by(col(Meeting.id))
        ).first() or Meeting(case_id=row_id(w.case), at=at)
        row.at = at
        row.held = held
        row.held_on = at.date() if held else None
        row.victim_involvement = victim_involvement or row.victim_involvement
        row.attendees = attendees or row.attendees
        row.place, row.link, row.phone = place or row.place, link or row.link, phone or row.phone
        row.reply_by = reply_by or row.reply_by
        # only a reply-by day given now: the invitation's day has passed by the time the meeting is held
        if reply_by is not None and reply_by < on:
            raise InvalidInput(
                f"--reply-by {reply_by.isoformat()} is before the day the meeting is arranged "
                f"({on.isoformat()}); give a later day"
            )
        if victim_involvement and victim_involvement != w.case.victim_involvement:
            # the victim's chosen involvement is also the case's (2025 guidance), changeable later
            w.case.victim_involvement, w.case.involvement_on = victim_involvement, on
        w.session.add(row)
        w.session.flush()
        w.record(
            "meeting_held" if held else "meeting_scheduled",
            on,
            detail={"at": at.isoformat(timespec="minutes"), "victim_involvement": row.victim_involvement},
        )
    return row


@retried
@needs(REVIEW)
def add_finding(
    app: App, reference: str, *, category: str, text: str | None = None, on: date | None = None
) -> models.Finding:
    if category not in FINDING_CATEGORIES:
        raise InvalidInput(not_one_of(category, "a finding category", FINDING_CATEGORIES))
    text = checks.words(text, "--text")
    with changing(app, reference) as w:
        _require_open_review(w, "a finding")
        on = on_for_change(w.case, on)
        row = models.Finding(case_id=row_id(w.case), category=category, text=text, recorded_on=on)
        w.session.add(row)
        w.session.flush()
        w.record("finding", on, detail={"id": row.id, "category": category})
    return row


@retried
@needs(REVIEW)
def recommend(
    app: App, reference: str, *, to: str, text: str, on: date | None = None
) -> models.Recommendation:
    if not text.strip():
        raise InvalidInput("a recommendation needs its text (--text)")
    text = checks.words(text, "--text") or ""
    with changing(app, reference) as w:
        _require_open_review(w, "a recommendation")
        on = on_for_change(w.case, on)
        ag = find_agency(w.session, to)
        row = models.Recommendation(case_id=row_id(w.case), agency_id=row_id(ag), text=text, recorded_on=on)
        w.session.add(row)
        w.session.flush()
        w.record("recommendation", on, detail={"id": row.id, "to": ag.code})
    return row


@retried
@needs(REVIEW)
def respond_to_recommendation(
    app: App,
    reference: str,
    number: int,
    *,
    accepted: bool,
    reason: str | None = None,
    on: date | None = None,
) -> models.Recommendation:
    """Record that the body a recommendation was made to "had regard" to it (s.104, subsection
    unverified): accepted, or declined with its reason."""
    number = checks.whole(number, "the recommendation number") or 0
    reason = checks.words(reason, "--reason")
    if not accepted and not reason:
        raise InvalidInput("a declined recommendation needs the body's reason (--reason TEXT)")
    with changing(app, reference) as w:
        on = on_for_change(w.case, on)
        row = w.session.get(models.Recommendation, number)
        if row is None or row.case_id != w.case.id:
            raise NotFound(
                f"{w.case.reference} has no recommendation {number}; `trigger show "
                f"{w.case.reference}` lists them"
            )
        if on < row.recorded_on:
            raise InvalidInput(
                f"--on {on.isoformat()} is before the recommendation was made ({row.recorded_on.isoformat()})"
            )
        row.response = "accepted" if accepted else "declined"
        row.response_reason = reason
        row.responded_on = on
        w.session.add(row)
        w.record(
            "recommendation_response",
            on,
            reason=row.response_reason,
            detail={"id": row.id, "response": row.response},
        )
    return row


@retried
@needs(REVIEW)
def add_action(
    app: App,
    reference: str,
    *,
    action: str,
    owner: str,
    due: date,
    resources: str | None = None,
    outcome_measure: str | None = None,
    jag: bool = False,
    on: date | None = None,
) -> Action:
    if not action.strip():
        raise InvalidInput("an action needs its text (--action)")
    action = checks.words(action, "--action", limit=checks.SHORT_MAX) or ""
    resources = checks.text(resources, "--resources", limit=checks.SHORT_MAX)
    outcome_measure = checks.text(outcome_measure, "--outcome-measure", limit=checks.SHORT_MAX)
    not_far_ahead(due, "--due")
    with changing(app, reference) as w:
        _require_open_review(w, "an action")
        on = on_for_change(w.case, on)
        if due < on:
            raise InvalidInput(
                f"--due {due.isoformat()} is before the day the action was agreed ({on.isoformat()})"
            )
        ag = find_agency(w.session, owner)
        w.lock()  # the next number is read under the writers' lock: two actions never share one
        number = (
            w.session.exec(select(func.max(Action.number)).where(Action.case_id == w.case.id)).one() or 0
        ) + 1
        row = Action(
            case_id=row_id(w.case),
            number=number,
            action=action,
            owner_agency_id=row_id(ag),
            due=due,
            resources=resources,
            outcome_measure=outcome_measure,
            jag=jag,
        )
        w.session.add(row)
        w.session.flush()
        w.record("action_add", on, detail={"number": number, "owner": ag.code, "due": due.isoformat()})
    return row


@retried
@needs(REVIEW)
def update_action(
    app: App,
    reference: str,
    number: int,
    *,
    status: str | None = None,
    rag: str | None = None,
    note: str | None = None,
    jag: bool | None = None,
    on: date | None = None,
) -> Action:
    number = checks.whole(number, "the action number") or 0
    note = checks.words(note, "--note")
    if status is None and rag is None and note is None and jag is None:
        raise InvalidInput("say what changed: --status, --rag, --note or --jag")
    if status and status not in ACTION_STATUSES:
        raise InvalidInput(not_one_of(status, "an action status", ACTION_STATUSES))
    if rag and rag not in RAG:
        raise InvalidInput(f"{rag!r} is not a RAG status; use red, amber or green")
    with changing(app, reference) as w:
        on = on_for_change(w.case, on)
        row = w.session.exec(
            select(Action).where(Action.case_id == w.case.id, Action.number == number)
        ).first()
        if row is None:
            raise NotFound(
                f"{w.case.reference} has no action {number}; `trigger action list {w.case.reference}`"
            )
        changes: dict[str, str | bool] = {}
        if status:
            row.status, changes["status"] = status, status
            row.completed_on = on if status in ACTION_FINISHED else None
        if rag:
            row.rag, changes["rag"] = rag, rag
        if jag is not None:
            row.jag, changes["jag"] = jag, jag
        if note:
            row.progress = ((row.progress + "\n") if row.progress else "") + f"{on.isoformat()}: {note}"
            changes["note"] = True
        w.session.add(row)
        w.record("action_update", on, detail={"number": number, **changes})
    return row
