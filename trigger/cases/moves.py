"""The moves of a case through the workflow: activate, decide, assign, issue the outcome, appeal,
decide the appeal, close, withdraw. Each is one transaction (`trigger.store.unit.changing`) that writes the
move, its audit event and the case's refreshed deadlines together, or nothing at all.

Every function takes the `App` (where the data is, who acts) and plain values, validates them, gathers
the facts the workflow's guard judges (`workflows.machine`), and raises a `TriggerError` subclass with a
one-line message for anything a user got wrong.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from trigger import checks
from trigger.cases import complaints, duties, reassignment
from trigger.codes import ACTION_OPEN, CHANNELS, LANGUAGES, REJECTION_CATEGORIES, VICTIM_KINDS, not_one_of
from trigger.errors import GuardRefused, InvalidInput, NotInitialised, NotPermitted, PolicyError
from trigger.rules.calendar import add_months
from trigger.rules.dates import long_date
from trigger.rules.policy import Policy
from trigger.store import access, audit, schedule
from trigger.store import tables as t
from trigger.store.access import ACTIVATE, APPEAL_DECISION, DECIDE, REVIEW, needs
from trigger.store.app import App
from trigger.store.models import (
    Action,
    Agency,
    Appeal,
    AppUser,
    AuditEvent,
    CaseSequence,
    Meeting,
    Partnership,
    PolicySnapshot,
    ReviewCase,
    ThresholdDecision,
    row_id,
)
from trigger.store.partnerships import partnership_of
from trigger.store.unit import (
    changing,
    default_policy,
    find_agency,
    not_future,
    on_for_change,
    on_for_move,
    policy_of_new_case,
    retried,
    rows_matched,
)
from workflows import machine
from workflows.machine import (
    REVIEW_WORK_STATES,
    AppealDecisionFacts,
    AppealFacts,
    AssignFacts,
    CloseFacts,
    DecideFacts,
    OutcomeFacts,
    State,
    WithdrawFacts,
)


def _snapshot(session: Session, pol: Policy) -> None:
    snap = session.exec(
        select(PolicySnapshot).where(PolicySnapshot.name == pol.name, PolicySnapshot.version == pol.version)
    ).first()
    if snap is None:
        try:
            with session.begin_nested():  # two first activations at once (PostgreSQL): one row wins
                session.add(PolicySnapshot(name=pol.name, version=pol.version, text=pol.text))
        except IntegrityError:
            snap = session.exec(
                select(PolicySnapshot).where(
                    PolicySnapshot.name == pol.name, PolicySnapshot.version == pol.version
                )
            ).one()
    # what the policy says, not how it is written: a re-worded comment is not a new version
    if snap is not None and snap.text != pol.text and tomllib.loads(snap.text) != tomllib.loads(pol.text):
        raise PolicyError(
            f"{pol.path}: version: policy {pol.name} {pol.version} has changed since cases started under it; "
            "give the edited policy a new version"
        )


def _next_reference(session: Session, partnership: Partnership, year: int) -> str:
    """PREFIX-YYYY-NNNN (CT-2026-0007, or CT-CHA-2026-0007 in a county), never the same twice: the
    partnership's row for the year is locked by the UPDATE that bumps it."""
    mine = (col(CaseSequence.partnership_id) == partnership.id, col(CaseSequence.year) == year)
    bumped = session.execute(update(CaseSequence).where(*mine).values(last=CaseSequence.last + 1))
    if rows_matched(bumped) == 0:
        try:
            with session.begin_nested():
                session.add(CaseSequence(partnership_id=row_id(partnership), year=year, last=1))
        except IntegrityError:  # another writer created the year's row first
            session.execute(update(CaseSequence).where(*mine).values(last=CaseSequence.last + 1))
    seq = session.exec(select(CaseSequence.last).where(*mine)).one()
    return f"{partnership.reference_prefix}-{year}-{seq:04d}"


# -- activation ---------------------------------------------------------------------------------------


def _statement(value: str | None) -> str:
    if not (value or "").strip():
        raise InvalidInput(
            "the applicant's statement of dissatisfaction is required (--statement)", "required"
        )
    return checks.words(value, "--statement") or ""


def _one_of(codes: tuple[str, ...], what: str):
    def check(value: str) -> str:
        if value not in codes:
            raise InvalidInput(not_one_of(value, what, codes), "format")
        return value

    return check


def _language(value: str) -> str:
    if value not in LANGUAGES:
        raise InvalidInput(f"{value!r} is not a language; use en or cy", "format")
    return value


# What activate checks in each field of an application, in the order it checks them; the online form
# checks the same fields with the same functions, one page at a time (`check_field`).
APPLICATION_CHECKS = {
    "applicant": lambda v: checks.name(v, "the applicant's name (--applicant)", required=True) or "",
    "statement": _statement,
    "victim": lambda v: checks.name(v, "--victim"),
    "consent_method": lambda v: checks.text(v, "--consent-method", limit=checks.SHORT_MAX, multiline=False),
    "victim_ref": lambda v: checks.reference(v, "--victim-ref"),
    "address": lambda v: checks.text(v, "--address", limit=checks.SHORT_MAX, multiline=False),
    "postcode": lambda v: checks.text(v, "--postcode", limit=16, multiline=False),
    "beat": lambda v: checks.reference(v, "--beat", limit=checks.CODE_MAX),
    "email": lambda v: checks.email(v, "--email"),
    "phone": lambda v: checks.text(v, "--phone", limit=40, multiline=False),
    # the victim's own contact when someone else applies (the applicant's is above)
    "victim_address": lambda v: checks.text(v, "--victim-address", limit=checks.SHORT_MAX, multiline=False),
    "victim_postcode": lambda v: checks.text(v, "--victim-postcode", limit=16, multiline=False),
    "victim_email": lambda v: checks.email(v, "--victim-email"),
    "victim_phone": lambda v: checks.text(v, "--victim-phone", limit=40, multiline=False),
    "accessibility": lambda v: checks.text(v, "--accessibility", limit=checks.SHORT_MAX),
    "vulnerability": lambda v: checks.text(v, "--vulnerability", limit=checks.SHORT_MAX),
    "channel": _one_of(CHANNELS, "a channel"),
    "victim_kind": _one_of(VICTIM_KINDS, "a victim kind"),
    "language": _language,
}


VICTIM_CONTACT = ("victim_address", "victim_postcode", "victim_email", "victim_phone")


def check_field(name: str, value):
    """One field of an application, checked as `activate` checks it: the cleaned value, or
    `InvalidInput` saying what is wrong."""
    return APPLICATION_CHECKS[name](value)


def third_party(applicant: str, victim: str | None) -> bool:
    """Someone applies for another person (the victim named is not the applicant)."""
    return victim is not None and not checks.same_name(victim, applicant)


def check_consent(consent_date: date | None, received: date) -> date:
    """gov.uk guidance: a third party applies with the victim's consent, given for this application."""
    if consent_date is None:
        raise InvalidInput(
            "a third-party application needs the victim's consent date (--consent-date)", "required"
        )
    not_future(consent_date, "--consent-date")
    if consent_date < add_months(received, -12):
        raise InvalidInput(
            f"--consent-date {consent_date.isoformat()} is more than a year before the application was "
            f"received ({received.isoformat()}); consent is given for this application",
            "order",
        )
    return consent_date


@retried
@needs(ACTIVATE)
def activate(
    app: App,
    *,
    applicant: str,
    received: date,
    channel: str,
    statement: str,
    victim: str | None = None,
    consent_date: date | None = None,
    consent_method: str | None = None,
    victim_kind: str = "individual",
    victim_ref: str | None = None,
    address: str | None = None,
    postcode: str | None = None,
    beat: str | None = None,
    language: str = "en",
    email: str | None = None,
    phone: str | None = None,
    victim_address: str | None = None,
    victim_postcode: str | None = None,
    victim_email: str | None = None,
    victim_phone: str | None = None,
    preferred_contact: str | None = None,
    accessibility: str | None = None,
    vulnerability: str | None = None,
    on: date | None = None,
) -> ReviewCase:
    """Log an application (s.104(1)); passing it to the relevant bodies (s.104(3)) is recorded as it
    happens (`trigger.cases.sharing`)."""
    fields = checked_application(
        applicant=applicant,
        received=received,
        channel=channel,
        statement=statement,
        victim=victim,
        consent_date=consent_date,
        consent_method=consent_method,
        victim_kind=victim_kind,
        victim_ref=victim_ref,
        address=address,
        postcode=postcode,
        beat=beat,
        language=language,
        email=email,
        phone=phone,
        victim_address=victim_address,
        victim_postcode=victim_postcode,
        victim_email=victim_email,
        victim_phone=victim_phone,
        preferred_contact=preferred_contact,
        accessibility=accessibility,
        vulnerability=vulnerability,
        on=on,
    )
    policy = policy_of_new_case(app)
    with app.write() as session:
        case, pol = open_case(app, session, policy=policy, **fields)
        schedule.refresh(session, case, pol)
    return case


def checked_application(*, received: date, on: date | None = None, consent_date=None, **fields) -> dict:
    """An application's fields checked and cleaned as `activate` takes them (`open_case`), or
    `InvalidInput` for the first that is wrong."""
    cleaned = {name: APPLICATION_CHECKS[name](fields[name]) for name in APPLICATION_CHECKS if name in fields}
    cleaned["preferred_contact"] = fields.get("preferred_contact")
    not_future(received, "--received")
    on = not_future(on or received, "--on")
    if on < received:
        raise InvalidInput(f"--on {on.isoformat()} is before --received {received.isoformat()}", "order")
    for_another = third_party(cleaned["applicant"], cleaned.get("victim"))
    if not for_another and (consent_date is not None or cleaned.get("consent_method") is not None):
        # gov.uk guidance: consent is the victim's, to a third party applying for them
        raise InvalidInput(
            "--consent-date and --consent-method are the victim's consent to a third party applying; "
            "give the victim with --victim, or leave them out"
        )
    if for_another:
        check_consent(consent_date, received)
    given = [name for name in VICTIM_CONTACT if cleaned.get(name)]
    if given and not for_another:
        # the applicant is the victim: one person, one contact (--address, --postcode, --email, --phone)
        raise InvalidInput(
            f"--{given[0].replace('_', '-')} is the victim's own contact when someone else applies; "
            f"the applicant is the victim here, so give it with --{given[0].removeprefix('victim_')}"
        )
    return {**cleaned, "received": received, "on": on, "consent_date": consent_date}


def open_case(
    app: App,
    session: Session,
    *,
    applicant: str,
    received: date,
    on: date,
    channel: str,
    statement: str,
    victim: str | None = None,
    consent_date: date | None = None,
    consent_method: str | None = None,
    victim_kind: str = "individual",
    victim_ref: str | None = None,
    address: str | None = None,
    postcode: str | None = None,
    beat: str | None = None,
    language: str = "en",
    email: str | None = None,
    phone: str | None = None,
    victim_address: str | None = None,
    victim_postcode: str | None = None,
    victim_email: str | None = None,
    victim_phone: str | None = None,
    preferred_contact: str | None = None,
    accessibility: str | None = None,
    vulnerability: str | None = None,
    detail: dict | None = None,
    policy: Policy | None = None,
) -> tuple[ReviewCase, Policy]:
    """The case of a checked application (`checked_application`), its notices to the partners and its
    audit event, inside the caller's transaction; the caller refreshes its deadlines. `policy` is the
    one `policy_of_new_case` read before the transaction, used if it is still the partnership's."""
    home = partnership_of(session)  # the user's, the one chosen with --partnership, or the only one
    if home is None:
        raise NotInitialised("this database has no partnership yet; run `trigger init` first")
    pol = default_policy(app, session, home.id, known=policy)
    _snapshot(session, pol)
    for_another = third_party(applicant, victim)
    case = ReviewCase(
        partnership_id=row_id(home),
        reference=_next_reference(session, home, received.year),
        state=State.RECEIVED,
        state_changed=received,
        received=received,
        channel=channel,
        applicant_name=applicant,
        victim_name=victim or applicant,
        victim_kind=victim_kind,
        victim_ref=victim_ref,
        consent_date=consent_date if for_another else None,
        consent_method=consent_method if for_another else None,
        email=email,
        phone=phone,
        preferred_contact=preferred_contact,
        language=language,
        accessibility=accessibility,
        address=address,
        postcode=postcode,
        victim_address=victim_address,
        victim_postcode=victim_postcode,
        victim_email=victim_email,
        victim_phone=victim_phone,
        beat=beat,
        statement=statement,
        vulnerability=vulnerability,
        policy_name=pol.name,
        policy_version=pol.version,
    )
    session.add(case)
    session.flush()
    # s.104(3): who is told is recorded when it happens (`trigger share`), never presumed here
    audit.record(
        session,
        case,
        "activate",
        actor=app.actor,
        on=on,
        to_state=State.RECEIVED,
        detail={
            "channel": channel,
            "third_party": bool(for_another),
            "policy": f"{pol.name} {pol.version}",
            **(detail or {}),
        },
    )
    return case, pol


@retried
@needs(DECIDE)
def decide(
    app: App,
    reference: str,
    *,
    met: bool,
    rejection_category: str | None = None,
    reason: str | None = None,
    on: date | None = None,
) -> ReviewCase:
    """Record the threshold decision (s.104(4)-(6))."""
    reason = checks.words(reason, "--reason")
    if rejection_category and rejection_category not in REJECTION_CATEGORIES:
        raise InvalidInput(not_one_of(rejection_category, "a rejection category", REJECTION_CATEGORIES))
    with changing(app, reference) as w:
        on = on_for_move(w.case, on)
        explanation = complaints.explain(w.session, w.case, w.policy)
        met = bool(met) and not rejection_category
        route = explanation.route if met and explanation.met else ("discretionary" if met else None)
        facts = DecideFacts(
            met=met,
            statutory_met=explanation.statutory_met,
            statutory_count=explanation.statutory_count,
            statutory_required=explanation.statutory_required,
            route_met=explanation.met,
            rejection_category=rejection_category,
            reason=reason,
        )
        w.move(
            "decide",
            on,
            facts,
            reason=reason,
            detail={"met": met, "route": route, "rejection_category": rejection_category},
        )
        w.session.add(
            ThresholdDecision(
                case_id=row_id(w.case),
                decided_on=on,
                met=met,
                route=route,
                rejection_category=rejection_category,
                reason=reason,
                explanation=json.dumps(explanation.as_dict()),
                actor=w.actor,
            )
        )
    return w.case


# -- the review ------------------------------------------------------------------------------------------


@retried
@needs(DECIDE)
def assign(
    app: App,
    reference: str,
    *,
    lead: str,
    reviewer: str,
    reviewer_email: str | None = None,
    spoc: str | None = None,
    spoc_email: str | None = None,
    reason: str | None = None,
    on: date | None = None,
) -> ReviewCase:
    """Assign the lead agency and the reviewer (the review starts), naming the case's single point of
    contact (2025 guidance). Once the review has started, the same command with `--reason` reassigns
    it (`trigger.cases.corrections.reassign`)."""
    reviewer = checks.name(reviewer, "--reviewer") or ""
    reviewer_email = checks.email(reviewer_email, "--reviewer-email")
    if spoc and spoc.strip():
        spoc = checks.name(spoc, "--spoc")
    if spoc_email and spoc_email.strip():
        spoc_email = checks.email(spoc_email, "--spoc-email")
    reason = checks.words(reason, "--reason")
    with changing(app, reference) as w:
        if w.case.state in REVIEW_WORK_STATES and w.case.state != State.THRESHOLD_MET:
            on = on_for_change(w.case, on)
            reassignment.reassign(
                w,
                lead=lead or None,
                reviewer=reviewer,
                reviewer_email=reviewer_email,
                spoc=spoc,
                spoc_email=spoc_email,
                reason=reason,
                on=on,
            )
            return w.case
        on = on_for_move(w.case, on)
        agency = find_agency(w.session, lead) if lead else None
        facts = AssignFacts(lead_agency=agency.code if agency else None, reviewer=reviewer)
        w.move(
            "assign",
            on,
            facts,
            reason=reason,
            detail={"lead": facts.lead_agency, "reviewer": reviewer, "spoc": bool(spoc)},
        )
        assert agency is not None  # the guard refuses an assignment without a lead agency
        w.case.lead_agency_id = agency.id
        w.case.reviewer = reviewer
        w.case.reviewer_email = reviewer_email
        if spoc is not None:
            w.case.spoc_name = spoc.strip() or None
        if spoc_email is not None:
            w.case.spoc_email = spoc_email.strip() or None
    return w.case


# -- outcome, appeal, closure -----------------------------------------------------------------------------


@retried
@needs(REVIEW)
def issue_outcome(
    app: App,
    reference: str,
    *,
    no_recommendations: str | None = None,
    victim_consulted: bool = False,
    on: date | None = None,
) -> tuple[ReviewCase, list[str]]:
    """Issue the outcome; returns the case and any warnings for the user."""
    no_recommendations = checks.words(no_recommendations, "--no-recommendations")
    warnings = []
    with changing(app, reference) as w:
        on = on_for_move(w.case, on)
        s = w.session
        held = s.exec(
            select(Meeting).where(Meeting.case_id == w.case.id, col(Meeting.held).is_(True))
        ).first()
        # counted on the read tables: the move builds neither table (docs/architecture.md#speed)
        findings = s.execute(
            select(func.count()).select_from(t.finding).where(t.finding.c.case_id == w.case.id)
        ).scalar_one()
        recs = s.execute(
            select(func.count()).select_from(t.recommendation).where(t.recommendation.c.case_id == w.case.id)
        ).scalar_one()
        facts = OutcomeFacts(
            meeting_held=held is not None,
            findings=findings,
            recommendations=recs,
            no_recommendations_reason=no_recommendations,
        )
        consultation = duties.consulted(s, w.case, on)
        consulted = bool(victim_consulted or consultation)
        w.move(
            "issue_outcome",
            on,
            facts,
            reason=no_recommendations,
            detail={
                "findings": findings,
                "recommendations": recs,
                "victim_consulted": consulted,
                "consultation": consultation.id if consultation else None,
            },
        )
        w.case.no_recommendations_reason = no_recommendations if not recs else None
        w.case.victim_consulted = consulted
        if not consulted:
            # 2025 guidance: the victim must be consulted on any action plan before it is final
            warnings.append(
                "the draft action plan was not put to the victim (2025 guidance); record the consultation "
                f"with `trigger consult {w.case.reference} --on DATE --response TEXT` before the outcome"
            )
    return w.case, warnings


def dismissed_appeal(session: Session, case: ReviewCase) -> Appeal | None:
    """The appeal that already confirmed the decision the case stands on, if any: a dismissed appeal
    against an outcome returns the case to `outcome_issued`, and the next appeal of a case can only be
    against a decision made after an upheld one, so the case's latest appeal tells."""
    if case.state not in machine.APPEALABLE_STATES:
        return None
    latest = session.exec(
        select(Appeal).where(Appeal.case_id == case.id).order_by(col(Appeal.id).desc()).limit(1)
    ).first()
    return latest if latest is not None and latest.upheld is False else None


def appeal_window_end(session: Session, case: ReviewCase, pol: Policy) -> date | None:
    """The last day to appeal the decision the case stands on, or None when nothing is open to appeal
    (nor ever will be: a decision confirmed on appeal is final).
    LLR: twenty working days from the not-met notice or the outcome (docs/procedure.md#appeals)."""
    if case.state not in machine.APPEALABLE_STATES or dismissed_appeal(session, case) is not None:
        return None
    return schedule.due_date(session, case, pol, "appeal_window", case.state_changed)


@retried
@needs(DECIDE)
def lodge_appeal(
    app: App,
    reference: str,
    *,
    received: date,
    grounds: str,
    detail: str | None = None,
    late_reason: str | None = None,
    on: date | None = None,
) -> Appeal:
    not_future(received, "--received")
    grounds = checks.text(grounds, "--grounds", limit=checks.CODE_MAX, multiline=False) or ""
    detail = checks.words(detail, "--detail")
    late_reason = checks.words(late_reason, "--late-reason")
    with changing(app, reference) as w:
        on = on_for_move(w.case, on or received)
        if on < received:
            raise InvalidInput(
                f"--on {on.isoformat()} is before --received {received.isoformat()}; an appeal is recorded "
                "on or after the day it was received"
            )
        if received < w.case.state_changed:
            raise InvalidInput(
                f"--received {received.isoformat()} is before the decision appealed against "
                f"({w.case.state_changed.isoformat()})"
            )
        against = "outcome" if w.case.state == State.OUTCOME_ISSUED else "threshold"
        window_end = appeal_window_end(w.session, w.case, w.policy)
        dismissed = dismissed_appeal(w.session, w.case)
        facts = AppealFacts(
            grounds=grounds,
            allowed_grounds=w.policy.grounds_against(against),
            received=received,
            window_end=window_end,
            late_reason=late_reason,
            dismissed_on=dismissed.decided_on if dismissed is not None else None,
        )
        w.move(
            "appeal",
            on,
            facts,
            reason=late_reason,
            detail={
                "against": against,
                "grounds": grounds,
                "late": bool(window_end and received > window_end),
            },
        )
        row = Appeal(
            case_id=row_id(w.case),
            against=against,
            received=received,
            grounds=grounds,
            detail=detail,
            late_reason=late_reason,
        )
        w.session.add(row)
    return row


def involved(session: Session, case: ReviewCase) -> frozenset[str]:
    """Everybody recorded as involved in the case: reviewer, lead agency, SPoC, hours, actors, and
    everybody a reassignment replaced (they stay involved). Compared by `checks.name_key` in the
    guard: case, repeated spaces and look-alike forms ignored."""
    names = {case.reviewer or "", case.spoc_name or "", case.applicant_name, case.victim_name}
    if case.lead_agency_id:
        lead = session.get(Agency, case.lead_agency_id)
        if lead is not None:  # the foreign key keeps it
            names |= {lead.code, lead.name}
    names |= set(
        session.execute(select(t.hours_entry.c.person).where(t.hours_entry.c.case_id == case.id)).scalars()
    )
    # making the appeal bundle is preparing the appeal, not handling the case: a chair may make their own
    acted = select(AuditEvent.actor).where(AuditEvent.case_id == case.id, AuditEvent.event != "appeal_bundle")
    actors = set(session.exec(acted).all())
    names |= actors
    # a registered person who acted under their login is involved under their name too
    names |= (
        set(session.exec(select(AppUser.name).where(col(AppUser.login).in_(actors))).all())
        if actors
        else set()
    )
    names |= reassignment.replaced_people(session, case)
    return frozenset(n for n in names if n)


def _decider(session: Session, by: str) -> str:
    """Once people are registered the appeal is decided by the acting chair, never a typed name
    (docs/architecture.md#partnerships-people-and-roles): --by must name them."""
    acting = access.of(session)
    if acting is None or not acting.actor.registered:
        return by
    me = acting.actor
    if not any(access.same_person(by, n) for n in me.names()):
        raise NotPermitted(
            f"--by {by.strip()!r} is not you: an appeal is decided by the chair acting, "
            f"{me.name} ({me.login}); give --by {me.name!r}"
        )
    return me.name or me.login


@retried
@needs(APPEAL_DECISION)
def decide_appeal(
    app: App,
    reference: str,
    *,
    upheld: bool,
    by: str,
    reason: str,
    on: date | None = None,
) -> ReviewCase:
    by = checks.name(by, "--by") or ""
    reason = checks.words(reason, "--reason")
    with changing(app, reference) as w:
        by = _decider(w.session, by)
        on = on_for_move(w.case, on)
        row = w.session.exec(
            select(Appeal)
            .where(Appeal.case_id == w.case.id, col(Appeal.decided_on).is_(None))
            .order_by(col(Appeal.id).desc())
        ).first()
        against = row.against if row else "threshold"
        facts = AppealDecisionFacts(
            upheld=upheld,
            against=against,
            decided_by=by,
            involved=involved(w.session, w.case),
            reason=reason,
        )
        w.move(
            "decide_appeal",
            on,
            facts,
            reason=reason,
            detail={"upheld": upheld, "by": by, "against": against},
        )
        if row is not None:
            row.decided_on, row.upheld, row.decided_by, row.reason = on, upheld, by, reason
            w.session.add(row)
        if w.case.state == State.CLOSED:
            w.case.closure_reason = f"the appeal was dismissed on {long_date(on)}: {reason.strip()}"
    return w.case


@retried
@needs(DECIDE)
def close(
    app: App, reference: str, *, reason: str | None = None, force: bool = False, on: date | None = None
) -> ReviewCase:
    """Close a case with a reason that is true of it: the one given with --reason, or, without one, the
    reason its facts support ("no appeal was lodged within the window, which ended on ...", "the appeal
    was dismissed on ... and every action is complete"). When the facts support none, the close is
    refused and asks for --reason (2025 guidance: the case file says when and why it closed)."""
    reason = checks.words(reason, "--reason")
    with changing(app, reference) as w:
        on = on_for_move(w.case, on)
        s = w.session
        actions = s.exec(select(Action.status).where(Action.case_id == w.case.id)).all()
        open_actions = sum(1 for a in actions if a in ACTION_OPEN)
        came_by = _last_move(s, w.case)
        # an appeal against the outcome that stands, dismissed (an earlier appeal, against the threshold
        # decision, does not end the window of the outcome that followed)
        appeal_decided = w.case.state == State.OUTCOME_ISSUED and came_by == "decide_appeal"
        window_end = appeal_window_end(s, w.case, w.policy)
        before = w.case.state
        changed = w.case.state_changed
        facts = CloseFacts(
            closing_on=on,
            open_actions=open_actions,
            appeal_decided=appeal_decided,
            window_end=window_end,
            force=force,
            reason=reason,
        )
        w.move("close", on, facts, reason=reason, detail={"forced": force, "open_actions": open_actions})
        stated = reason or _closure_reason(before, came_by, changed, window_end, on, actions)
        if stated is None:
            raise GuardRefused(
                f"say why {w.case.reference} is closed: give --reason TEXT (its record supports no reason "
                "the engine could state)"
            )
        w.case.closure_reason = stated
    return w.case


def _last_move(session: Session, case: ReviewCase) -> str | None:
    """The move that brought the case into its current state."""
    return session.exec(
        select(AuditEvent.event)
        .where(AuditEvent.case_id == case.id, AuditEvent.to_state == case.state)
        .order_by(col(AuditEvent.seq).desc())
    ).first()


def _closure_reason(
    state: str, came_by: str | None, changed: date, window_end: date | None, on: date, actions: Sequence[str]
) -> str | None:
    """The closure reason the record supports, or None. Only what is true: a window that ended with no
    appeal, an appeal dismissed on its day, and the actions as they ended."""
    if state == State.OUTCOME_ISSUED and came_by == "decide_appeal":
        ground = f"the appeal was dismissed on {long_date(changed)}"
    elif window_end is not None and on > window_end and came_by in ("decide", "issue_outcome"):
        ground = f"no appeal was lodged within the window, which ended on {long_date(window_end)}"
    else:
        return None
    if state != State.OUTCOME_ISSUED:
        return ground
    done, dropped = actions.count("done"), actions.count("dropped")
    if any(a in ACTION_OPEN for a in actions):
        return None
    if not actions:
        return f"{ground}, and the action plan had no actions"
    joint = ground if came_by == "decide_appeal" else f"{ground},"
    if not dropped:
        return f"{joint} and every action is complete"
    if not done:
        return f"{joint} and every action was dropped ({dropped})"
    return f"{joint} and every action is complete or was dropped ({done} complete, {dropped} dropped)"


@retried
@needs(DECIDE)
def withdraw(app: App, reference: str, *, reason: str, on: date | None = None) -> ReviewCase:
    reason = checks.words(reason, "--reason")
    with changing(app, reference) as w:
        on = on_for_move(w.case, on)
        w.move("withdraw", on, WithdrawFacts(reason=reason), reason=reason)
        w.case.closure_reason = f"withdrawn: {reason}"
    return w.case
