"""The duties of the 2025 statutory guidance, recorded as facts (docs/procedure.md#2025-revision):

- the victim consulted on the draft action plan before the outcome (`trigger consult`); `outcome`
  warns and the annual report counts the outcomes whose plan was not put to the victim. The draft
  plan may be shared with the applicant first (`trigger consult --share-plan`): their case page then
  shows it, and they may comment on it there (recorded as a consultation, by "applicant (online)");
- the victim's written statement for the review meeting (`trigger victim-statement`), one of the
  ways the guidance lets a victim take part; kept as the event's reason, sealed under the case's key
  and purged with it;
- a victim who made a second report within six months told about the Case Review (`trigger
  signpost`), by their id in the partners' case system; `scan` marks the victims already told.

The named single point of contact of each case and the victim's chosen involvement are columns of the
case, set by `assign` and `case update` (`trigger.cases.corrections`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Row, func
from sqlmodel import Session, col, select

from trigger import checks
from trigger.errors import GuardRefused, InvalidInput, NotFound
from trigger.store import access, audit, models, sealed
from trigger.store import tables as t
from trigger.store.access import COMPLAINTS, REVIEW, needs
from trigger.store.app import App, today
from trigger.store.models import (
    Action,
    AuditEvent,
    Meeting,
    ReviewCase,
    row_id,
)
from trigger.store.unit import changing, not_future, on_for_change, retried
from workflows.machine import REVIEW_WORK_STATES, State

# while the review runs: the plan is still a draft, the meeting still to come (2025 guidance)
BEFORE_OUTCOME = (State.THRESHOLD_MET, State.IN_REVIEW)
SHARE_PLAN, STATEMENT = "share_plan", "victim_statement"  # the events that record them


def _words(text: str | None, option: str) -> str:
    if not (text or "").strip():
        raise InvalidInput(f"{option} needs words: say what the victim said, or how they were told")
    return checks.words(text, option) or ""


@retried
@needs(REVIEW)
def consult(app: App, reference: str, *, on: date | None, response: str) -> models.Consultation:
    """Record that the draft action plan was put to the victim, and what they said (2025 guidance)."""
    words = _words(response, "--response")
    with changing(app, reference) as w:
        if w.case.state not in REVIEW_WORK_STATES:
            raise GuardRefused(
                f"cannot record a consultation: {w.case.reference} is {w.case.state}; the action plan is "
                "drafted once the threshold is met"
            )
        on = on_for_change(w.case, on)
        row = models.Consultation(case_id=row_id(w.case), consulted_on=on, response=words, actor=w.actor)
        w.session.add(row)
        w.session.flush()
        # the victim's words stay in the consultation row, purged with the case; the event names the row
        w.record("consult", on, detail={"consultation": row.id})
    return row


def _while_review_runs(case: ReviewCase, what: str) -> None:
    if case.state not in BEFORE_OUTCOME:
        raise GuardRefused(
            f"cannot {what}: {case.reference} is {case.state}; it is done while the review runs, before "
            "the outcome"
        )


@retried
@needs(REVIEW)
def share_plan(app: App, reference: str, *, on: date | None) -> int:
    """Share the draft action plan with the applicant (2025 guidance: consulted before it is final): their
    case page shows the plan as it stands and takes their comments. The number of actions shared."""
    with changing(app, reference) as w:
        _while_review_runs(w.case, "share the draft action plan")
        on = on_for_change(w.case, on)
        actions = w.session.exec(
            select(func.count(col(Action.id))).where(Action.case_id == row_id(w.case))
        ).one()
        if not actions:
            raise GuardRefused(
                f"{w.case.reference}'s action plan has no actions yet; add them with `trigger action add` "
                "first, then share the draft"
            )
        w.record(SHARE_PLAN, on, detail={"actions": actions})
    return actions


def plan_shared(session: Session, case: ReviewCase) -> date | None:
    """The day the draft plan was last shared with the applicant, while it is still a draft."""
    if case.state not in BEFORE_OUTCOME:
        return None
    return session.exec(
        select(func.max(AuditEvent.on)).where(AuditEvent.case_id == case.id, AuditEvent.event == SHARE_PLAN)
    ).one()


@retried
@needs(REVIEW)
def victim_statement(app: App, reference: str, *, on: date | None, text: str) -> date:
    """Record the victim's written statement for the review meeting (2025 guidance: the victim chooses
    how to take part, a written statement among the ways). Taken until the meeting is held."""
    words = checks.required_words(text, "--text")
    with changing(app, reference) as w:
        _while_review_runs(w.case, "record a statement for the review meeting")
        held = w.session.exec(
            select(func.max(Meeting.held_on)).where(Meeting.case_id == row_id(w.case), col(Meeting.held))
        ).one()
        if held is not None:
            raise GuardRefused(
                f"the review meeting of {w.case.reference} was held on {held.isoformat()}; a statement is "
                "given before it (record later words as a consultation on the plan, `trigger consult`)"
            )
        on = on_for_change(w.case, on)
        # the victim's words are the event's reason: sealed under the case's key, purged with the case
        w.record(STATEMENT, on, reason=words)
    return on


def consulted(session: Session, case: ReviewCase, until: date) -> Row[Any] | None:
    """The latest consultation on the plan of the outcome issued on `until`: on or before it, and after
    any earlier outcome (whose plan it was). Read on the read tables: `outcome` builds no table for it
    (docs/architecture.md#speed)."""
    earlier = session.exec(
        select(func.max(AuditEvent.on)).where(
            AuditEvent.case_id == case.id, AuditEvent.event == "issue_outcome", AuditEvent.on < until
        )
    ).one()
    consultation = t.consultation.c
    query = t.consultation.select().where(consultation.case_id == case.id, consultation.consulted_on <= until)
    if earlier is not None:
        query = query.where(consultation.consulted_on > earlier)
    return session.execute(query.order_by(consultation.consulted_on.desc(), consultation.id.desc())).first()


def consultations(session: Session, case: ReviewCase) -> list[models.Consultation]:
    return list(
        session.exec(
            select(models.Consultation)
            .where(models.Consultation.case_id == case.id)
            .order_by(col(models.Consultation.id))
        )
    )


@retried
@needs(COMPLAINTS)
def signpost(app: App, victim_ref: str, *, on: date | None, how: str) -> models.Signposting:
    """Record that a victim (by their id in the partners' case system) was told about the Case Review."""
    ref = checks.reference(victim_ref, "the victim's id")
    if not ref:
        raise InvalidInput("give the victim's id in the partners' case system, as `trigger scan` lists it")
    words = _words(how, "--how")
    on = not_future(on or today(), "--on")
    with app.write() as session:
        pid = access.acting_partnership(session)
        ours = models.Incident.partnership_id == pid
        # the id is stored sealed: the complaints are found by its keyed hash (docs/operations.md#erasure)
        digest = sealed.match(session, pid, ref)
        known = None
        if digest is not None:
            known = session.exec(
                select(models.Incident.id).where(models.Incident.victim_hash == digest, ours).limit(1)
            ).first()
        if known is None:
            raise NotFound(
                f"no complaints are recorded for victim {ref!r}; give the id `trigger scan` lists "
                "(import the incident log first with `trigger incidents import`)"
            )
        row = models.Signposting(victim_ref=ref, told_on=on, how=words, actor=app.actor, partnership_id=pid)
        session.add(row)
        session.flush()
        audit.record(
            session,
            None,
            "signpost",
            actor=app.actor,
            on=on,
            detail={"signposting": row.id},
            partnership_id=pid,
        )
    return row


def told(
    session_or_conn, victim_hashes: Iterable[bytes], as_of: date, partnership_id: int | None = None
) -> dict[bytes, date]:
    """The latest day each victim, by the keyed hash of their id (`victim_hash`), was told about the
    Case Review, on or before `as_of` (by the partnership given, or any). One grouped query over the
    signposting record (far smaller than the incident log the scan reads)."""
    wanted = set(victim_hashes)
    out: dict[bytes, date] = {}
    if not wanted:
        return out
    rows = session_or_conn.execute(
        select(col(models.Signposting.victim_hash), func.max(models.Signposting.told_on))
        .where(
            models.Signposting.told_on <= as_of,
            *([models.Signposting.partnership_id == partnership_id] if partnership_id is not None else []),
        )
        .group_by(col(models.Signposting.victim_hash))
    ).all()
    for digest, day in rows:
        if digest is not None and bytes(digest) in wanted:
            out[bytes(digest)] = day if isinstance(day, date) else date.fromisoformat(str(day))
    return out
