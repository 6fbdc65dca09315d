"""The use-cases: activate, decide, assign, ... Each is one transaction that writes the change, its
audit event and the case's refreshed deadlines together, or nothing at all.

Every function takes the `App` (where the data is, who acts) and plain values, validates them, and
raises a `TriggerError` subclass with a one-line message for anything a user got wrong.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from trigger import audit, deadlines
from trigger import policy as policies
from trigger import threshold
from trigger.app import App, today
from trigger.errors import GuardRefused, InvalidInput, NotFound, PolicyError
from trigger.models import (
    Action,
    Agency,
    Appeal,
    CaseSequence,
    Deadline,
    Finding,
    HoursEntry,
    Incident,
    Meeting,
    PartnerNotification,
    PolicySnapshot,
    Recommendation,
    ReviewCase,
    Setting,
    ThresholdDecision,
    utcnow,
)
from trigger.policy import AGENCY_KINDS, Policy
from workflows import machine

CHANNELS = ("online", "phone", "letter", "email", "in_person", "assisted")
VICTIM_KINDS = ("individual", "business", "community_group")
HATE_STRANDS = ("race", "religion", "sexual_orientation", "disability", "transgender")
REJECTION_CATEGORIES = ("prejudicial", "discriminatory", "malicious", "unreasonable", "vexatious", "frivolous")
FINDING_CATEGORIES = (
    "silo_working",
    "risk",
    "repeat_missed",
    "vulnerability_missed",
    "case_management",
    "partnership_working",
    "powers_underused",
    "aggravating_factor",
    "other",
)
ACTION_STATUSES = ("open", "in_progress", "done", "dropped")
RAG = ("red", "amber", "green")
VICTIM_INVOLVEMENT = ("attend", "virtual", "representative", "statement", "none")


# -- set-up ------------------------------------------------------------------------------------------


def init(app: App, policy_name: str = "llr", manager_email: str | None = None) -> Policy:
    """Create the schema, remember the default policy, register its relevant bodies."""
    pol = policies.load(policy_name)
    create_schema(app)
    with app.write() as session:
        audit.ensure_head(session)
        _set(session, "policy", policy_name)
        if manager_email is not None:
            _set(session, "manager_email", manager_email)
        added = []
        for spec in pol.agencies:
            if session.exec(select(Agency).where(Agency.code == spec.code)).first() is None:
                session.add(Agency(code=spec.code, name=spec.name, kind=spec.kind, email=spec.email))
                added.append(spec.code)
        audit.record(
            session, None, "init", actor=app.actor, on=today(),
            detail={"policy": pol.name, "version": pol.version, "agencies_added": added},
        )
    return pol


def create_schema(app: App) -> None:
    """Apply the shipped migrations up to the newest (`trigger db upgrade` does the same)."""
    from trigger import db

    db.upgrade(app.engine)
    app.schema_ready()


def _set(session: Session, key: str, value: str) -> None:
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value
        session.add(row)


def setting(session: Session, key: str, default: str = "") -> str:
    row = session.get(Setting, key)
    return row.value if row is not None else default


def default_policy(app: App, session: Session) -> Policy:
    return policies.load(app.policy_override or setting(session, "policy", "llr"))


def case_policy(session: Session, case: ReviewCase) -> Policy:
    """The policy version the case started under, from its stored snapshot."""
    snap = session.exec(
        select(PolicySnapshot).where(
            PolicySnapshot.name == case.policy_name, PolicySnapshot.version == case.policy_version
        )
    ).first()
    if snap is None:
        return policies.load(case.policy_name)
    return policies.parse(snap.text, f"{case.policy_name} {case.policy_version} (as stored)")


def _snapshot(session: Session, pol: Policy) -> None:
    snap = session.exec(
        select(PolicySnapshot).where(PolicySnapshot.name == pol.name, PolicySnapshot.version == pol.version)
    ).first()
    if snap is None:
        try:
            with session.begin_nested():  # two first activations at once (PostgreSQL): one row wins
                session.add(PolicySnapshot(name=pol.name, version=pol.version, text=pol.text))
        except IntegrityError:
            snap = session.exec(select(PolicySnapshot).where(
                PolicySnapshot.name == pol.name, PolicySnapshot.version == pol.version)).one()
    if snap is not None and snap.text != pol.text:
        raise PolicyError(
            f"{pol.path}: version: policy {pol.name} {pol.version} has changed since cases started under it; "
            "give the edited policy a new version"
        )


# -- agencies ----------------------------------------------------------------------------------------


def add_agency(app: App, code: str, name: str, kind: str, email: str | None = None) -> Agency:
    code = code.strip()
    if not code or not name.strip():
        raise InvalidInput("an agency needs a code and a name (--name)")
    if kind not in AGENCY_KINDS:
        raise InvalidInput(f"{kind!r} is not an agency kind; use one of {', '.join(AGENCY_KINDS)}")
    with app.write() as session:
        if session.exec(select(Agency).where(Agency.code == code)).first():
            raise InvalidInput(f"agency {code!r} already exists")
        agency = Agency(code=code, name=name.strip(), kind=kind, email=email)
        session.add(agency)
        session.flush()
        audit.record(session, None, "agency_add", actor=app.actor, on=today(), detail={"code": code, "kind": kind})
    return agency


def list_agencies(app: App) -> list[Agency]:
    with app.read() as session:
        return list(session.exec(select(Agency).order_by(Agency.code)))


def _agency(session: Session, code: str) -> Agency:
    agency = session.exec(select(Agency).where(Agency.code == code)).first()
    if agency is None:
        known = ", ".join(a.code for a in session.exec(select(Agency).order_by(Agency.code))) or "none yet"
        raise NotFound(f"no agency with code {code!r}; known agencies: {known} (add one with `trigger agency add`)")
    return agency


# -- dates --------------------------------------------------------------------------------------------


def _not_future(day: date, what: str) -> date:
    if day > today():
        raise InvalidInput(f"{what} {day.isoformat()} is in the future; give the day it happened")
    return day


def _on_for_change(case: ReviewCase, on: date | None) -> date:
    on = _not_future(on or today(), "--on")
    if on < case.received:
        raise InvalidInput(
            f"--on {on.isoformat()} is before the case was received ({case.received.isoformat()})"
        )
    return on


def _on_for_move(case: ReviewCase, on: date | None) -> date:
    on = _on_for_change(case, on)
    if on < case.state_changed:
        raise InvalidInput(
            f"--on {on.isoformat()} is before the case's previous move ({case.state_changed.isoformat()})"
        )
    return on


# -- the unit of work around one case ----------------------------------------------------------------


@dataclass
class Work:
    session: Session
    case: ReviewCase
    policy: Policy
    actor: str

    def record(self, event: str, on: date, **kw) -> None:
        audit.record(self.session, self.case, event, actor=self.actor, on=on, **kw)

    def move(self, trigger: str, on: date, reason: str | None = None, detail: dict | None = None, **facts) -> str:
        before = self.case.state
        after = machine.fire(before, trigger, reason=reason, **facts)
        self.case.state = after
        self.case.state_changed = on
        self.record(trigger, on, from_state=before, to_state=after, reason=reason, detail=detail)
        return after


@contextmanager
def changing(app: App, reference: str) -> Iterator[Work]:
    """Load a case for change; on success bump its version (optimistic lock), refresh its deadlines
    and commit, all in one transaction."""
    with app.write() as session:
        case = _case(session, reference)
        work = Work(session, case, case_policy(session, case), app.actor)
        yield work
        case.updated_at = utcnow()
        session.add(case)
        session.flush()  # the version check happens here: a stale writer gets ConcurrentChange
        deadlines.refresh(session, case, work.policy)


def _case(session: Session, reference: str) -> ReviewCase:
    ref = reference.strip().upper()
    case = session.exec(select(ReviewCase).where(ReviewCase.reference == ref)).first()
    if case is None:
        raise NotFound(f"no case {reference!r}; `trigger list` shows the cases")
    return case


def _next_reference(session: Session, year: int) -> str:
    """CT-YYYY-NNNN, never the same twice: the year's row is locked by the UPDATE that bumps it."""
    bumped = session.execute(
        update(CaseSequence).where(CaseSequence.year == year).values(last=CaseSequence.last + 1)
    )
    if bumped.rowcount == 0:
        try:
            with session.begin_nested():
                session.add(CaseSequence(year=year, last=1))
        except IntegrityError:  # another writer created the year's row first
            session.execute(
                update(CaseSequence).where(CaseSequence.year == year).values(last=CaseSequence.last + 1)
            )
    seq = session.exec(select(CaseSequence.last).where(CaseSequence.year == year)).one()
    return f"CT-{year}-{seq:04d}"


# -- activation ---------------------------------------------------------------------------------------


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
    preferred_contact: str | None = None,
    accessibility: str | None = None,
    vulnerability: str | None = None,
    on: date | None = None,
) -> ReviewCase:
    """Log an application (s.104(1)) and pass it on to every relevant body (s.104(3))."""
    if not applicant.strip():
        raise InvalidInput("the applicant's name is required (--applicant)")
    if not statement.strip():
        raise InvalidInput("the applicant's statement of dissatisfaction is required (--statement)")
    if channel not in CHANNELS:
        raise InvalidInput(f"{channel!r} is not a channel; use one of {', '.join(CHANNELS)}")
    if victim_kind not in VICTIM_KINDS:
        raise InvalidInput(f"{victim_kind!r} is not a victim kind; use one of {', '.join(VICTIM_KINDS)}")
    if language not in ("en", "cy"):
        raise InvalidInput(f"{language!r} is not a language; use en or cy")
    _not_future(received, "--received")
    on = _not_future(on or received, "--on")
    if on < received:
        raise InvalidInput(f"--on {on.isoformat()} is before --received {received.isoformat()}")
    third_party = victim is not None and victim.strip() and victim.strip() != applicant.strip()
    if third_party:
        # gov.uk guidance: a third party applies with the victim's consent
        if consent_date is None:
            raise InvalidInput("a third-party application needs the victim's consent date (--consent-date)")
        _not_future(consent_date, "--consent-date")
    with app.write() as session:
        app.require_schema()
        pol = default_policy(app, session)
        _snapshot(session, pol)
        case = ReviewCase(
            reference=_next_reference(session, received.year),
            state="received",
            state_changed=received,
            received=received,
            channel=channel,
            applicant_name=applicant.strip(),
            victim_name=(victim or applicant).strip(),
            victim_kind=victim_kind,
            victim_ref=victim_ref,
            consent_date=consent_date if third_party else None,
            consent_method=consent_method if third_party else None,
            email=email,
            phone=phone,
            preferred_contact=preferred_contact,
            language=language,
            accessibility=accessibility,
            address=address,
            postcode=postcode,
            beat=beat,
            statement=statement.strip(),
            vulnerability=vulnerability,
            policy_name=pol.name,
            policy_version=pol.version,
        )
        session.add(case)
        session.flush()
        notified = []
        for agency in session.exec(select(Agency).order_by(Agency.code)):
            session.add(PartnerNotification(case_id=case.id, agency_id=agency.id, notified_on=on))
            notified.append(agency.code)
        audit.record(
            session, case, "activate", actor=app.actor, on=on, to_state="received",
            detail={"channel": channel, "third_party": bool(third_party), "partners_notified": notified,
                    "policy": f"{pol.name} {pol.version}"},
        )
        deadlines.refresh(session, case, pol)
    return case


# -- complaints and the threshold ----------------------------------------------------------------------


def add_incident(
    app: App,
    reference: str,
    *,
    occurred: date,
    reported: date,
    agency: str,
    agency_ref: str | None = None,
    hate: str | None = None,
    same_as: int | None = None,
    description: str | None = None,
    complainant: str | None = None,
    category: str | None = None,
    on: date | None = None,
) -> Incident:
    _not_future(occurred, "--occurred")
    _not_future(reported, "--reported")
    if reported < occurred:
        raise InvalidInput(
            f"--reported {reported.isoformat()} is before --occurred {occurred.isoformat()}; "
            "a complaint cannot be made before the behaviour"
        )
    if hate and hate not in HATE_STRANDS:
        raise InvalidInput(f"{hate!r} is not a hate strand; use one of {', '.join(HATE_STRANDS)}")
    with changing(app, reference) as w:
        on = _on_for_change(w.case, on)
        if w.case.state in machine.TERMINAL:
            raise GuardRefused(f"{w.case.reference} is {w.case.state}; it takes no new complaints")
        ag = _agency(w.session, agency)
        if same_as is not None:
            original = w.session.get(Incident, same_as)
            if original is None or original.case_id != w.case.id:
                raise NotFound(f"--same-as {same_as}: no complaint {same_as} on {w.case.reference}")
        if agency_ref and w.session.exec(
            select(Incident).where(Incident.agency_id == ag.id, Incident.agency_ref == agency_ref)
        ).first():
            raise InvalidInput(f"{agency} already has a complaint with reference {agency_ref!r}")
        incident = Incident(
            case_id=w.case.id, victim_ref=w.case.victim_ref, occurred=occurred, reported=reported,
            agency_id=ag.id, agency_ref=agency_ref, hate=hate or None, same_as_id=same_as,
            description=description, complainant=complainant, category=category,
        )
        w.session.add(incident)
        w.session.flush()
        w.record("incident_add", on, detail={"incident": incident.id, "agency": agency, "same_as": same_as})
    return incident


def _rules(pol: Policy) -> threshold.Rules:
    return threshold.Rules(
        qualifying_complaints=pol.qualifying_complaints,
        hate_route=pol.hate_route,
        community_route=pol.community_route,
        community_individuals=pol.community_individuals,
        stricter_caveats=pol.stricter_caveats,
    )


def _explain(session: Session, case: ReviewCase, pol: Policy) -> threshold.Explanation:
    rows = session.exec(
        select(Incident, Agency.code).join(Agency).where(Incident.case_id == case.id).order_by(Incident.id)
    ).all()
    complaints = [
        threshold.Complaint(
            id=i.id, occurred=i.occurred, reported=i.reported, agency=code, hate=i.hate,
            same_as=i.same_as_id, complainant=i.complainant, category=i.category,
        )
        for i, code in rows
    ]
    return threshold.evaluate(complaints, case.received, _rules(pol))


def check(app: App, reference: str) -> tuple[ReviewCase, threshold.Explanation]:
    with app.read() as session:
        case = _case(session, reference)
        return case, _explain(session, case, case_policy(session, case))


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
    if rejection_category and rejection_category not in REJECTION_CATEGORIES:
        raise InvalidInput(
            f"{rejection_category!r} is not a rejection category; use one of {', '.join(REJECTION_CATEGORIES)}"
        )
    with changing(app, reference) as w:
        on = _on_for_move(w.case, on)
        explanation = _explain(w.session, w.case, w.policy)
        met = bool(met) and not rejection_category
        route = explanation.route if met and explanation.met else ("discretionary" if met else None)
        w.move(
            "decide", on, reason=reason,
            detail={"met": met, "route": route, "rejection_category": rejection_category},
            met=met, rejection_category=rejection_category,
            statutory_met=explanation.statutory_met, statutory_count=explanation.statutory_count,
            statutory_required=explanation.statutory_required, route_met=explanation.met,
        )
        w.session.add(ThresholdDecision(
            case_id=w.case.id, decided_on=on, met=met, route=route, rejection_category=rejection_category,
            reason=reason, explanation=json.dumps(explanation.as_dict()), actor=w.actor,
        ))
    return w.case


# -- the review ------------------------------------------------------------------------------------------


def assign(
    app: App, reference: str, *, lead: str, reviewer: str, reviewer_email: str | None = None,
    on: date | None = None,
) -> ReviewCase:
    with changing(app, reference) as w:
        on = _on_for_move(w.case, on)
        agency = _agency(w.session, lead) if lead else None
        w.move(
            "assign", on, detail={"lead": lead, "reviewer": reviewer},
            lead_agency=agency and agency.code, reviewer=(reviewer or "").strip(),
        )
        w.case.lead_agency_id = agency.id
        w.case.reviewer = reviewer.strip()
        w.case.reviewer_email = reviewer_email
    return w.case


# -- outcome, appeal, closure -----------------------------------------------------------------------------


def issue_outcome(
    app: App, reference: str, *, no_recommendations: str | None = None, victim_consulted: bool = False,
    on: date | None = None,
) -> tuple[ReviewCase, list[str]]:
    """Issue the outcome; returns the case and any warnings for the user."""
    warnings = []
    with changing(app, reference) as w:
        on = _on_for_move(w.case, on)
        s = w.session
        held = s.exec(select(Meeting).where(Meeting.case_id == w.case.id, Meeting.held.is_(True))).first()
        findings = s.exec(select(func.count()).select_from(Finding).where(Finding.case_id == w.case.id)).one()
        recs = s.exec(select(func.count()).select_from(Recommendation).where(
            Recommendation.case_id == w.case.id)).one()
        w.move(
            "issue_outcome", on, reason=no_recommendations,
            detail={"findings": findings, "recommendations": recs, "victim_consulted": victim_consulted},
            meeting_held=held is not None, findings=findings, recommendations=recs,
            no_recommendations_reason=no_recommendations,
        )
        w.case.no_recommendations_reason = no_recommendations if not recs else None
        w.case.victim_consulted = victim_consulted
        if not victim_consulted:
            # 2025 guidance: the victim must be consulted on any action plan before it is final
            warnings.append("the victim was not recorded as consulted on the action plan (2025 guidance)")
    return w.case, warnings


def _appeal_window_end(session: Session, case: ReviewCase, pol: Policy) -> date | None:
    """LLR: twenty working days from the not-met notice or the outcome (DOMAIN §3.1)."""
    row = session.exec(
        select(Deadline).where(Deadline.case_id == case.id, Deadline.kind == "appeal_window",
                               Deadline.not_applicable.is_(False)).order_by(Deadline.id.desc())
    ).first()
    if row is not None:
        return row.due
    # no deadline row yet: compute from the last decision that opened the window
    return pol.calendar().due(case.state_changed, pol.timescales["appeal_window"], pol.roll_forward)


def lodge_appeal(
    app: App, reference: str, *, received: date, grounds: str, detail: str | None = None,
    late_reason: str | None = None, on: date | None = None,
) -> Appeal:
    _not_future(received, "--received")
    with changing(app, reference) as w:
        on = _on_for_move(w.case, on or received)
        if received < w.case.state_changed:
            raise InvalidInput(
                f"--received {received.isoformat()} is before the decision appealed against "
                f"({w.case.state_changed.isoformat()})"
            )
        against = "outcome" if w.case.state == "outcome_issued" else "threshold"
        window_end = _appeal_window_end(w.session, w.case, w.policy) if w.case.state in (
            "outcome_issued", "threshold_not_met") else None
        w.move(
            "appeal", on, reason=late_reason,
            detail={"against": against, "grounds": grounds, "late": bool(window_end and received > window_end)},
            grounds=grounds, allowed_grounds=w.policy.appeal_grounds, window_end=window_end,
            received=received, late_reason=late_reason,
        )
        row = Appeal(case_id=w.case.id, against=against, received=received, grounds=grounds,
                     detail=detail, late_reason=late_reason)
        w.session.add(row)
    return row


def _involved(session: Session, case: ReviewCase) -> set[str]:
    """Everybody recorded as involved in the case: reviewer, lead agency, hours, actors."""
    names = {case.reviewer or "", case.applicant_name, case.victim_name}
    if case.lead_agency_id:
        lead = session.get(Agency, case.lead_agency_id)
        names |= {lead.code, lead.name}
    names |= set(session.exec(select(HoursEntry.person).where(HoursEntry.case_id == case.id)).all())
    from trigger.models import AuditEvent

    names |= set(session.exec(select(AuditEvent.actor).where(AuditEvent.case_id == case.id)).all())
    return {n for n in names if n}


def decide_appeal(
    app: App, reference: str, *, upheld: bool, by: str, reason: str, on: date | None = None,
) -> ReviewCase:
    with changing(app, reference) as w:
        on = _on_for_move(w.case, on)
        row = w.session.exec(
            select(Appeal).where(Appeal.case_id == w.case.id, Appeal.decided_on.is_(None)).order_by(Appeal.id.desc())
        ).first()
        against = row.against if row else "threshold"
        w.move(
            "decide_appeal", on, reason=reason, detail={"upheld": upheld, "by": by, "against": against},
            upheld=upheld, against=against, decided_by=by, involved=_involved(w.session, w.case),
        )
        if row is not None:
            row.decided_on, row.upheld, row.decided_by, row.reason = on, upheld, by.strip(), reason
            w.session.add(row)
        if w.case.state == "closed":
            w.case.closure_reason = f"appeal dismissed: {reason}"
    return w.case


def close(app: App, reference: str, *, reason: str | None = None, force: bool = False,
          on: date | None = None) -> ReviewCase:
    with changing(app, reference) as w:
        on = _on_for_move(w.case, on)
        s = w.session
        open_actions = s.exec(select(func.count()).select_from(Action).where(
            Action.case_id == w.case.id, Action.status.in_(("open", "in_progress")))).one()
        appeal_decided = s.exec(select(Appeal).where(
            Appeal.case_id == w.case.id, Appeal.decided_on.is_not(None))).first() is not None
        window_end = (_appeal_window_end(s, w.case, w.policy)
                      if w.case.state in ("outcome_issued", "threshold_not_met") else None)
        w.move(
            "close", on, reason=reason, detail={"forced": force, "open_actions": open_actions},
            force=force, open_actions=open_actions, appeal_decided=appeal_decided,
            window_end=window_end, closing_on=on,
        )
        w.case.closure_reason = reason or (
            "appeal window passed without an appeal" if w.case.state == "closed" else None)
    return w.case


def withdraw(app: App, reference: str, *, reason: str, on: date | None = None) -> ReviewCase:
    with changing(app, reference) as w:
        on = _on_for_move(w.case, on)
        w.move("withdraw", on, reason=reason)
        w.case.closure_reason = f"withdrawn: {reason}"
    return w.case
