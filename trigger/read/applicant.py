"""The applicant's own case page at the online door, as plain data (`case_page`): what a letter would
tell them and nothing more (docs/operations.md#the-applicants-link).

The page is reached by the applicant's private link (`trigger.cases.links`): everything here is read
for the case that link opens, never for a reference typed at the door. It holds the stage the case is
at and the day each stage was reached; the next step, who has it and by when (and, when it is late,
that it is late and what the partnership said of the delay); the point of contact as the letters name
them; the letters sent to the applicant, each downloadable exactly as issued; and the action plan
once it is theirs to see. Nothing about other people: no officer's details beyond what letters carry,
no internal notes (an action's progress notes included), no other complaint-maker.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from letters.glossary import welsh_name
from trigger.cases import duties, links, moves
from trigger.checks import same_name
from trigger.codes import ACTION_OPEN, LETTER_KINDS
from trigger.read.views import deadline_fact
from trigger.rules import deadlines
from trigger.rules.policy import Policy
from trigger.store import notify, seal
from trigger.store.access import FOLLOW, needs
from trigger.store.app import App, today
from trigger.store.models import (
    Action,
    Agency,
    AuditEvent,
    Deadline,
    Letter,
    LetterCopy,
    Meeting,
    Partnership,
    ReviewCase,
    row_id,
)
from trigger.store.partnerships import heading, name_of, partnership_of, point_of_contact
from trigger.store.unit import case_policy
from workflows.machine import APPEALABLE_STATES, APPLICANT_STAGE_OF, APPLICANT_STAGES

# the stages as the applicant is told them, and the stage of each state
STAGES, STAGE_OF = APPLICANT_STAGES, APPLICANT_STAGE_OF
# the letters the applicant receives (not an agency's information request); an appeal bundle is not a
# letter kind, so never among them
TO_APPLICANT = tuple(kind for kind in LETTER_KINDS if kind != "information_request")
# the step a case waits for in each open state: the deadline it is held to, and who has it
STEP_OF = {
    "received": ("threshold_decision", "partnership"),
    "threshold_met": ("review", "partnership"),
    "in_review": ("review", "lead"),
    "appealed": ("appeal_decision", "appeal_body"),
}


@dataclass(frozen=True)
class Move:
    """A day the case changed: the state it went into (`received` for the day it arrived), or how an
    appeal was decided (`appeal_upheld`, `appeal_dismissed`)."""

    on: date
    state: str


@dataclass(frozen=True)
class Delay:
    """What the partnership wrote about a late step: the day, the new date and why (as the delay
    letter said it; a letter issued before these were kept gives the day only)."""

    written_on: date
    until: date | None
    reason: str | None


@dataclass(frozen=True)
class NextStep:
    """What happens next: `what` (threshold_decision, review, appeal_decision, appeal_window,
    actions, closing), who has it (`who`: partnership, lead, appeal_body, applicant) and their name,
    and by when; `late` when that day has passed, with what was said of the delay."""

    what: str
    who: str
    name: str
    name_cy: str
    due: date | None
    late: bool = False
    delay: Delay | None = None


@dataclass(frozen=True)
class Contact:
    """The applicant's point of contact, as the letters name them (a named person, or the team)."""

    name: str
    person: bool
    role: str | None
    role_cy: str | None
    email: str | None
    partnership: str
    telephone: str
    address: tuple[str, ...]


@dataclass(frozen=True)
class LetterEntry:
    number: int  # its entry in the case's register (as `trigger letter REF --issued N` numbers it)
    kind: str
    issued_on: date
    format: str


@dataclass(frozen=True)
class PlanAction:
    number: int
    action: str
    owner: str
    owner_cy: str
    due: date
    status: str  # open, in_progress, done, dropped
    completed_on: date | None
    late: bool


@dataclass(frozen=True)
class TakingPart:
    """The applicant's part in the review while it runs (2025 guidance): how they chose to take part in
    the meeting, the meeting's time once set, the days they gave a written statement; the draft action
    plan once the reviewer shared it, and the days they commented on it."""

    involvement: str | None
    meeting_at: datetime | None
    meeting_held: bool
    statements: tuple[date, ...]
    plan_shared: date | None
    draft_plan: tuple[PlanAction, ...]
    comments: tuple[date, ...]


@dataclass(frozen=True)
class Ground:
    code: str
    text: str  # completes "You can appeal if you believe that ..."
    text_cy: str


@dataclass(frozen=True)
class AppealOpen:
    """The appeal the applicant may make now: against the threshold decision or the outcome, on the
    policy's grounds, by the last day of the window (`late` once it has passed: then with a reason)."""

    against: str  # threshold, outcome
    grounds: tuple[Ground, ...]
    last_day: date | None
    late: bool


@dataclass(frozen=True)
class CasePage:
    reference: str
    partnership: str  # the partnership's code: its door's name, letterhead and contact
    language: str  # the applicant's language: the page's, unless they switch
    state: str
    stage: str  # one of STAGES
    history: tuple[Move, ...]
    next_step: NextStep | None
    contact: Contact
    letters: tuple[LetterEntry, ...]
    plan: tuple[PlanAction, ...]  # the action plan, once issued (empty before)
    taking_part: TakingPart | None = None  # while the review runs
    appeal: AppealOpen | None = None  # while an appeal may be made
    # messages when the case changes (docs/operations.md#telling-the-applicant): on or off; None when
    # they can reach the applicant no way, so there is nothing to turn on or off
    notices: bool | None = None
    notices_by: str = "email"  # how: email, sms (texts go only through GOV.UK Notify), or both


def _history(session: Session, case: ReviewCase) -> tuple[Move, ...]:
    moves_ = [Move(case.received, "received")]
    events = session.exec(
        select(AuditEvent)
        .where(AuditEvent.case_id == row_id(case), col(AuditEvent.to_state).is_not(None))
        .order_by(col(AuditEvent.seq))
    ).all()
    for e in events:
        if e.from_state is None or e.to_state is None:
            continue
        if e.event == "decide_appeal":  # the appeal decided, whatever state it left the case in
            upheld = e.to_state in ("in_review", "threshold_met")
            moves_.append(Move(e.on, "appeal_upheld" if upheld else "appeal_dismissed"))
            if e.to_state == "closed":
                moves_.append(Move(e.on, "closed"))
        elif e.to_state != moves_[-1].state:
            moves_.append(Move(e.on, e.to_state))
    return tuple(moves_)


def _open_deadline(session: Session, case: ReviewCase, kind: str) -> Deadline | None:
    """The case's deadline of that kind still to be met (the latest, after an appeal sent it back)."""
    return session.exec(
        select(Deadline)
        .where(
            Deadline.case_id == row_id(case),
            Deadline.kind == kind,
            col(Deadline.met_on).is_(None),
            col(Deadline.not_applicable).is_(False),
        )
        .order_by(col(Deadline.id).desc())
    ).first()


def _delay(session: Session, case: ReviewCase) -> Delay | None:
    """The latest delay letter sent since the case reached its present stage."""
    letters_ = session.exec(
        select(AuditEvent)
        .where(
            AuditEvent.case_id == row_id(case),
            AuditEvent.event == "letter",
            AuditEvent.on >= case.state_changed,
        )
        .order_by(col(AuditEvent.seq).desc())
    ).all()
    sealed = seal.Opener(session, [row_id(case)])
    for e in letters_:
        detail = sealed.details(e) or {}
        if detail.get("kind") == "delay":
            until = detail.get("until")
            return Delay(e.on, date.fromisoformat(until) if until else None, detail.get("reason"))
    return None


def _who(session: Session, case: ReviewCase, pol: Policy, who: str, partnership: str) -> tuple[str, str]:
    """The name of who has the next step, in English and in Welsh."""
    if who == "lead" and case.lead_agency_id is not None:
        lead = session.get(Agency, case.lead_agency_id)
        if lead is not None:
            return lead.name, welsh_name(lead.name, pol.glossary)
    if who == "appeal_body":
        return pol.appeal_body, welsh_name(pol.appeal_body, pol.glossary)
    return partnership, welsh_name(partnership, pol.glossary)


def _next_step(
    session: Session,
    case: ReviewCase,
    pol: Policy,
    partnership: str,
    plan: tuple[PlanAction, ...],
    window_end: date | None,
) -> NextStep | None:
    as_of = today()
    if case.state in STEP_OF:
        kind, who = STEP_OF[case.state]
        row = _open_deadline(session, case, kind)
        name, name_cy = _who(session, case, pol, who, partnership)
        if row is None:
            return NextStep(kind, who, name, name_cy, None)
        late = deadlines.status(deadline_fact(row), as_of) == "overdue"
        return NextStep(kind, who, name, name_cy, row.due, late, _delay(session, case) if late else None)
    if case.state in ("threshold_not_met", "outcome_issued"):
        if window_end is not None and as_of <= window_end:
            return NextStep("appeal_window", "applicant", "", "", window_end)
        name, name_cy = partnership, welsh_name(partnership, pol.glossary)
        if any(a.status in ACTION_OPEN for a in plan):
            return NextStep("actions", "partnership", name, name_cy, None)
        return NextStep("closing", "partnership", name, name_cy, None)
    return None


def _contact(session: Session, case: ReviewCase, pol: Policy, partnership: str) -> Contact:
    own = heading(session, pol, case.partnership_id)  # the partnership's letterhead, else its policy's
    spoc = point_of_contact(session, case, pol, own)
    head = own.letterhead
    return Contact(
        name=spoc["name"],
        person=spoc["person"],
        role=spoc["role"],
        role_cy=welsh_name(spoc["role"], pol.glossary) if spoc["role"] else None,
        email=spoc["email"],
        partnership=partnership,
        telephone=head.telephone,
        address=tuple(head.address),
    )


def _to_applicant(case: ReviewCase, row: Letter) -> bool:
    """A letter the applicant was sent: a kind that goes to them, addressed to them (not a copy to
    someone else, whose address it may carry)."""
    return row.kind in TO_APPLICANT and same_name(row.recipient, case.applicant_name)


def _register(session: Session, case: ReviewCase) -> list[Letter]:
    """The case's register, in the order issued (entry N is the Nth)."""
    return list(session.exec(select(Letter).where(Letter.case_id == row_id(case)).order_by(col(Letter.id))))


def _letters(session: Session, case: ReviewCase) -> tuple[LetterEntry, ...]:
    rows = _register(session, case)
    return tuple(
        LetterEntry(n, row.kind, row.issued_on, row.format)
        for n, row in enumerate(rows, start=1)
        if _to_applicant(case, row)
    )


def _plan(session: Session, case: ReviewCase, pol: Policy) -> tuple[PlanAction, ...]:
    """The action plan, once the outcome that carries it was issued: each action, who owns it, by when
    and how far it has got (its status; the officers' progress notes stay theirs)."""
    issued = session.exec(
        select(AuditEvent.id).where(AuditEvent.case_id == row_id(case), AuditEvent.event == "issue_outcome")
    ).first()
    if issued is None:
        return ()
    return _actions(session, case, pol)


def _actions(session: Session, case: ReviewCase, pol: Policy) -> tuple[PlanAction, ...]:
    rows = session.exec(
        select(Action, Agency.name)
        .join(Agency, col(Agency.id) == Action.owner_agency_id)
        .where(Action.case_id == row_id(case))
        .order_by(col(Action.number))
    ).all()
    as_of = today()
    return tuple(
        PlanAction(
            number=a.number,
            action=a.action,
            owner=owner,
            owner_cy=welsh_name(owner, pol.glossary),
            due=a.due,
            status=a.status,
            completed_on=a.completed_on,
            late=a.status in ACTION_OPEN and a.due < as_of,
        )
        for a, owner in rows
    )


def _taking_part(session: Session, case: ReviewCase, pol: Policy) -> TakingPart | None:
    if case.state not in duties.BEFORE_OUTCOME:
        return None
    meeting = session.exec(
        select(Meeting).where(Meeting.case_id == row_id(case)).order_by(col(Meeting.id).desc())
    ).first()
    said = session.exec(
        select(col(AuditEvent.on))
        .where(AuditEvent.case_id == row_id(case), AuditEvent.event == duties.STATEMENT)
        .order_by(col(AuditEvent.seq))
    ).all()
    shared = duties.plan_shared(session, case)
    comments = (
        tuple(c.consulted_on for c in duties.consultations(session, case) if c.consulted_on >= shared)
        if shared
        else ()
    )
    return TakingPart(
        involvement=case.victim_involvement,
        meeting_at=meeting.at if meeting is not None else None,
        meeting_held=meeting is not None and meeting.held,
        statements=tuple(said),
        plan_shared=shared,
        draft_plan=_actions(session, case, pol) if shared else (),
        comments=comments,
    )


def _appeal(case: ReviewCase, pol: Policy, last_day: date | None, final: bool) -> AppealOpen | None:
    """What `trigger appeal` would take now (docs/procedure.md#appeals): nothing once the decision has
    been confirmed on appeal (`final`)."""
    if case.state not in APPEALABLE_STATES or final:
        return None
    against = "outcome" if case.state == "outcome_issued" else "threshold"
    grounds = tuple(
        Ground(code, text, welsh_name(text, pol.glossary))
        for code, text in pol.grounds_against(against).items()
    )
    return AppealOpen(against, grounds, last_day, last_day is not None and today() > last_day)


def _partnership(home: Partnership | None, pol: Policy) -> tuple[str, str]:
    """The partnership's code and name, as its door and its letters give them."""
    if home is None:
        return "", pol.partnership
    return home.code, name_of(home, pol)


def _told_by(case: ReviewCase) -> str | None:
    """How the notices reach the applicant (as `trigger.store.telling` makes them): by e-mail, by text
    (only through GOV.UK Notify), both, or None."""
    email = bool((case.email or "").strip())
    text = bool((case.phone or "").strip()) and notify.configured()
    return "both" if email and text else "email" if email else "sms" if text else None


@needs(FOLLOW)
def case_page(app: App, link_id: int) -> CasePage | None:
    """The page of the case the link opens, or None when the link no longer works (revoked, or the case
    ended longer ago than the policy keeps links open)."""
    with app.read() as session:
        case = links.usable(session, link_id)
        if case is None:
            return None
        pol = case_policy(session, case)
        # held for the page's whole reading: the session keeps rows weakly, and the contact, the
        # letterhead and the manager's address each ask for this one again
        home = partnership_of(session, case.partnership_id)
        code, name = _partnership(home, pol)
        plan = _plan(session, case, pol)
        window_end = moves.appeal_window_end(session, case, pol)  # the next step's and the appeal's
        told_by = _told_by(case)
        return CasePage(
            reference=case.reference,
            partnership=code,
            language=case.language,
            state=case.state,
            stage=STAGE_OF[case.state],
            history=_history(session, case),
            next_step=_next_step(session, case, pol, name, plan, window_end),
            contact=_contact(session, case, pol, name),
            letters=_letters(session, case),
            plan=plan,
            taking_part=_taking_part(session, case, pol),
            appeal=_appeal(case, pol, window_end, moves.dismissed_appeal(session, case) is not None),
            notices=case.notices if told_by else None,
            notices_by=told_by or "email",
        )


@dataclass(frozen=True)
class Copy:
    """A letter exactly as it was issued: the register's bytes, checked against its sha256."""

    reference: str
    number: int
    kind: str
    issued_on: date
    format: str
    content: bytes


@needs(FOLLOW)
def letter_copy(app: App, link_id: int, number: int) -> Copy | None:
    """Entry `number` of the register of the case the link opens, when it is a letter the applicant
    was sent and its stored bytes still match the sha256 recorded when it was issued; else None."""
    with app.read() as session:
        case = links.usable(session, link_id)
        if case is None:
            return None
        rows = _register(session, case)
        if not 1 <= number <= len(rows) or not _to_applicant(case, rows[number - 1]):
            return None
        row = rows[number - 1]
        stored = session.get(LetterCopy, row_id(row))
        if stored is None or hashlib.sha256(bytes(stored.content)).hexdigest() != row.content_hash:
            return None
        return Copy(case.reference, number, row.kind, row.issued_on, row.format, bytes(stored.content))
