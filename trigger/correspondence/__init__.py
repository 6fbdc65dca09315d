"""Letters about a case: which kinds its state supports, the plain-data context they are rendered
from, the register of letters issued, and the appeal bundle (docs/architecture.md#letters).

Every date and fact in a letter comes from the case (its rows, its audit events and its policy);
nothing is typed into a letter. The context is plain dicts and lists, so that a partnership's own
templates run in the sandbox with nothing to reach through.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func
from sqlmodel import Session, select

from letters.check import check_folder
from letters.fields import FIELDS
from letters.make import render
from letters.render import LetterError
from trigger import checks
from trigger.cases import complaints, decisions
from trigger.codes import (
    ACTION_STATUS_LABELS,
    APPLICATION_CLOSED_TITLES,
    FINDING_LABELS,
    INVOLVEMENT_LABELS,
    LETTER_FORMATS,
    LETTER_KINDS,
    LETTER_TITLES,
)
from trigger.errors import GuardRefused, InvalidInput, NotFound, PolicyError, Retry
from trigger.read import views
from trigger.read.chronology import chronology_text
from trigger.read.views import iso
from trigger.rules import policy as policies
from trigger.rules.policy import Policy
from trigger.store.access import BUNDLE, LETTERS, READ_CASE, needs
from trigger.store.app import App
from trigger.store.models import (
    Action,
    Agency,
    Appeal,
    AuditEvent,
    EvidenceRequest,
    Finding,
    Incident,
    Letter,
    LetterCopy,
    Meeting,
    Recommendation,
    ReviewCase,
)
from trigger.store.outputs import OutputError, Target, zip_files
from trigger.store.partnerships import manager_address, partnership_of
from trigger.store.schedule import due_date
from trigger.store.unit import (
    case_policy,
    changing,
    find_agency,
    find_case,
    last_event,
    on_for_change,
    retried,
)
from workflows.machine import LETTER_STATES, TERMINAL

ROUTES = {
    # s.104(4): the statutory threshold; s.104(5): the bodies' own local routes and discretion
    "statutory": "You made enough qualifying complaints to meet the legal threshold.",
    "hate": "One of your complaints was about a hate incident, which meets our local threshold.",
    "community": "Several people complained about the same incident, which meets our local threshold.",
    "discretionary": "We used our discretion to hold a review, although the threshold was not reached.",
    # Sch 4 para 3: the decision that stands after an upheld appeal against a not-met decision
    "appeal": "Your appeal was upheld, so the threshold for a review is treated as met.",
}
STAGES = {
    # the step a delay letter apologises for, and its deadline (docs/architecture.md#letters-and-states)
    "received": ("threshold_decision", "decide whether the threshold for a review is met"),
    "threshold_met": ("review", "finish your review"),
    "in_review": ("review", "finish your review"),
    "appealed": ("appeal_decision", "decide your appeal"),
}


@dataclass
class Issued:
    content: bytes
    kind: str
    format: str
    recipient: str
    issued_on: date
    content_hash: str
    letter_id: int | None  # None for a preview
    number: int | None = None  # the case's register entry (as `show` numbers them)


# -- helpers over the database ---------------------------------------------------------------------


def _agencies(session: Session) -> dict[int, Agency]:
    return {a.id: a for a in session.exec(select(Agency))}


def _decision(
    session: Session, case: ReviewCase, kind: str | None = None, on: date | None = None
) -> decisions.Standing | None:
    """The threshold decision a letter reports: the one that stands (after an appeal, the one the appeal
    left standing), except that a not-met or rejection letter reports the decision as `decide` made it,
    unless it is dated once an upheld appeal had replaced it."""
    standing = decisions.standing(session, case)
    if standing.decided is None:
        return None
    if kind in ("threshold_not_met", "rejection") and standing.original is not None:
        replaced = standing.by_appeal and standing.met and on is not None and on >= standing.decided
        if not replaced:
            return decisions.as_decided(standing.original)
    return standing


def _event_on(session: Session, case: ReviewCase, event: str) -> date | None:
    row = session.exec(
        select(AuditEvent)
        .where(AuditEvent.case_id == case.id, AuditEvent.event == event)
        .order_by(AuditEvent.seq.desc())
    ).first()
    return row.on if row else None


def _spoc(session: Session, case: ReviewCase, pol: Policy) -> dict:
    """Who the applicant deals with, and who signs: the case's named single point of contact when one
    is recorded, else the policy's letterhead signatory, else the manager
    (docs/procedure.md#point-of-contact). The one place a per-case SPoC drops in."""
    if case.spoc_name:  # the case's named SPoC (2025 guidance), set at assign or by case update
        return {
            "name": case.spoc_name,
            "person": True,
            "role": "Single point of contact",
            "email": case.spoc_email or manager_address(session, pol) or None,
        }
    head = pol.letterhead
    if head.signatory_name:
        return {
            "name": head.signatory_name,
            "person": True,
            "role": head.signatory_role or None,
            "email": manager_address(session, pol) or None,
        }
    # the manager's name in the policy is usually a role ("Community Safety Manager"): letters say
    # "contact us" rather than naming a role as if it were a person
    return {
        "name": pol.manager_name,
        "person": False,
        "role": None,
        "email": manager_address(session, pol) or None,
    }


def _letterhead(session: Session, pol: Policy) -> dict:
    """The letterhead block: the logo as a data: URI (so HTML, PDF and Word carry it alike), the
    address lines, telephone and web address."""
    return {
        "logo": pol.letterhead.logo_uri(_policy_folder(session)),
        "address": list(pol.letterhead.address),
        "telephone": pol.letterhead.telephone or None,
        "web": pol.letterhead.web or None,
    }


def _policy_folder(session: Session) -> str | None:
    """The folder of the policy file of the case's partnership (chosen at `trigger init` or `partnership
    add`): where a relative logo is read from when the case's policy comes from its stored snapshot."""
    row = partnership_of(session)
    try:
        return str(policies.resolve(row.policy if row is not None else "llr").resolve().parent)
    except PolicyError:
        return None


# -- what a case's state supports ------------------------------------------------------------------


def _appeals(session: Session, case: ReviewCase) -> list[Appeal]:
    return list(session.exec(select(Appeal).where(Appeal.case_id == case.id).order_by(Appeal.id)))


def refusal(session: Session, case: ReviewCase, kind: str, on: date) -> str | None:
    """None when the case's state and facts support the letter on that day, else the reason they do not."""
    reason = _unsupported(session, case, kind, on)
    if reason is None and case.state not in LETTER_STATES[kind]:
        reason = f"{case.reference} is {case.state}; a {kind} letter is not sent from that state"
    return reason


def _unsupported(session: Session, case: ReviewCase, kind: str, on: date) -> str | None:
    ref = case.reference
    decision = _decision(session, case, kind, on)
    if kind == "acknowledgement":
        return None
    if kind == "information_request":
        if case.state in TERMINAL:
            return f"{ref} is {case.state}; no information is requested for it"
        return None
    if kind in ("threshold_met", "threshold_not_met", "rejection"):
        if decision is None:
            return f"{ref} has no threshold decision yet; record it with `trigger decide` first"
        if kind == "threshold_met" and not decision.met:
            return (
                f"the threshold for {ref} was decided not met on {decision.decided}; send threshold_not_met"
            )
        if kind in ("threshold_not_met", "rejection") and decision.by_appeal and decision.met:
            return (
                f"the appeal upheld on {decision.decided} replaced the decision on {ref}; the threshold is "
                "met: send threshold_met or appeal_outcome"
            )
        if kind == "threshold_not_met" and (decision.met or decision.rejection_category):
            other = "threshold_met" if decision.met else "rejection"
            return f"the threshold decision on {ref} was not 'not met' on its merits; send {other}"
        if kind == "rejection" and not decision.rejection_category:
            return (
                f"{ref} was not rejected; its threshold decision was {'met' if decision.met else 'not met'}"
            )
        if on < decision.decided:
            return f"the threshold was decided on {decision.decided}; the letter cannot be dated before it"
        return None
    if kind == "meeting_invitation":
        row = session.exec(select(Meeting).where(Meeting.case_id == case.id)).first()
        if row is None:
            return f"{ref} has no review meeting; schedule it with `trigger meeting {ref} --at ...` first"
        return None
    if kind == "delay":
        if case.state not in STAGES:
            return f"{ref} is {case.state}; nothing is pending that could be delayed"
        return None
    if kind == "outcome":
        issued = _event_on(session, case, "issue_outcome")
        if issued is None:
            return (
                f"{ref} has no outcome yet (it is {case.state}); issue it with `trigger outcome {ref}` first"
            )
        if on < issued:
            return f"the outcome was issued on {issued}; the letter cannot be dated before it"
        return None
    if kind == "appeal_acknowledgement":
        appeals = _appeals(session, case)
        if not appeals:
            return f"{ref} has no appeal; lodge it with `trigger appeal {ref}` first"
        if on < appeals[-1].received:
            return f"the appeal was received on {appeals[-1].received}; the letter cannot be dated before it"
        return None
    if kind == "appeal_outcome":
        decided = [a for a in _appeals(session, case) if a.decided_on]
        if not decided:
            return f"{ref} has no decided appeal; record it with `trigger appeal-decision {ref}` first"
        if on < decided[-1].decided_on:
            return f"the appeal was decided on {decided[-1].decided_on}; the letter cannot be dated before it"
        return None
    if kind == "closure":
        if case.state != "closed":
            return f"{ref} is {case.state}, not closed; close it with `trigger close {ref}` first"
        if on < case.state_changed:
            return f"the case was closed on {case.state_changed}; the letter cannot be dated before it"
        return None
    return f"{kind!r} is not a letter kind; use one of {', '.join(LETTER_KINDS)}"


# -- the context ------------------------------------------------------------------------------------


def context(
    session: Session,
    case: ReviewCase,
    pol: Policy,
    kind: str,
    on: date,
    recipient: str | None = None,
    fmt: str = "html",
    facts: dict | None = None,
) -> dict:
    """The plain-data context of one letter (documented in `letters.fields.FIELDS`). `facts` are what
    the officer gave with the letter itself (a delay letter's new date and reason)."""
    facts = facts or {}
    agencies = _agencies(session)
    name_of = lambda agency_id: agencies[agency_id].name if agency_id in agencies else None  # noqa: E731
    decision = _decision(session, case, kind, on)
    # a Welsh policy writes every letter in both languages; so does any case whose applicant asked for
    # Welsh, under any policy (never a silent English letter)
    bilingual = bool(pol.welsh or case.language == "cy")

    # who it goes to: the applicant, or an agency for an information request
    info = None
    if kind == "information_request":
        code = (recipient or "").strip()
        if not code:
            raise InvalidInput("an information request goes to an agency: give --to AGENCY (its code)")
        agency = find_agency(session, code)
        req = session.exec(
            select(EvidenceRequest)
            .where(
                EvidenceRequest.case_id == case.id,
                EvidenceRequest.agency_id == agency.id,
                EvidenceRequest.requested.is_not(None),
            )
            .order_by(EvidenceRequest.id.desc())
        ).first()
        if req is None:
            raise GuardRefused(
                f"no evidence request to {code} on {case.reference}; record it first with "
                f"`trigger evidence {case.reference} --agency {code} --requested DATE --due DATE`"
            )
        info = {
            "agency": agency.name,
            "agency_code": agency.code,
            "requested": iso(req.requested),
            "due": iso(req.due),
        }
        to = {"name": agency.name, "address": [agency.email] if agency.email else [], "is_agency": True}
    else:
        address = [line.strip() for line in (case.address or "").split(",") if line.strip()]
        if case.postcode:
            address.append(case.postcode)
        to = {"name": recipient or case.applicant_name, "address": address, "is_agency": False}

    # threshold, with the explanation the decision was based on
    threshold = {
        "decided": None,
        "by_appeal": False,
        "local_routes": [],
        "local_route_facts": [],
        "met": None,
        "route": None,
        "route_text": None,
        "reason": None,
        "rejection_category": None,
        "required": pol.qualifying_complaints,
        "counted": [],
        "excluded": [],
    }
    if decision is not None:
        first = decision.original
        explained = json.loads(first.explanation) if first is not None and first.explanation else None
        if explained is None:
            explained = complaints.explain(session, case, pol).as_dict()
        incidents = {i.id: i for i in session.exec(select(Incident).where(Incident.case_id == case.id))}

        def item(v: dict) -> dict:
            inc = incidents.get(v["id"])
            return {
                "id": v["id"],
                "reason": v["reason"],
                **_why(v["reason"]),
                "occurred": iso(inc.occurred) if inc else None,
                "reported": iso(inc.reported) if inc else None,
                "agency": name_of(inc.agency_id) if inc else None,
            }

        routes = explained.get("routes", {})
        threshold.update(
            {
                "decided": iso(decision.decided),
                "by_appeal": decision.by_appeal,
                "local_routes": [routes[r] for r in ("hate", "community") if r in routes],
                "local_route_facts": [
                    _route_facts(r, routes[r], explained.get(r)) for r in ("hate", "community") if r in routes
                ],
                "met": decision.met,
                "route": decision.route,
                "route_text": ROUTES.get(decision.route or "", ""),
                "reason": decision.reason,
                "rejection_category": decision.rejection_category,
                "required": explained.get("statutory_required", pol.qualifying_complaints),
                "counted": [item(v) for v in explained.get("counted", [])],
                "excluded": [item(v) for v in explained.get("excluded", [])],
            }
        )

    # the review, the meeting and the outcome
    review_due = None
    if decision is not None and decision.met:
        review_due = iso(due_date(session, case, pol, "review", decision.decided))
    meeting_row = session.exec(
        select(Meeting).where(Meeting.case_id == case.id).order_by(Meeting.id.desc())
    ).first()
    meeting = {"date": None, "at": None, "held": None, "victim_involvement": None, "outcome_letter_due": None}
    if meeting_row is not None:
        meeting = {
            "date": iso(meeting_row.at.date()),
            "at": meeting_row.at.strftime("%H:%M"),
            "held": meeting_row.held,
            "victim_involvement": INVOLVEMENT_LABELS.get(
                meeting_row.victim_involvement or case.victim_involvement or ""
            ),
            "outcome_letter_due": iso(due_date(session, case, pol, "outcome_letter", meeting_row.at.date())),
        }
    issued = _event_on(session, case, "issue_outcome")
    findings = session.exec(select(Finding).where(Finding.case_id == case.id).order_by(Finding.id)).all()
    recs = session.exec(
        select(Recommendation).where(Recommendation.case_id == case.id).order_by(Recommendation.id)
    ).all()
    actions = session.exec(select(Action).where(Action.case_id == case.id).order_by(Action.number)).all()
    outcome = {
        "issued": iso(issued),
        "findings": [
            {"code": f.category, "category": FINDING_LABELS.get(f.category, f.category), "text": f.text}
            for f in findings
        ],
        "recommendations": [
            {"to": name_of(r.agency_id), "text": r.text, "response": r.response} for r in recs
        ],
        "no_recommendations_reason": case.no_recommendations_reason,
        "victim_consulted": case.victim_consulted,
        "actions": [
            {
                "number": a.number,
                "action": a.action,
                "owner": name_of(a.owner_agency_id),
                "due": iso(a.due),
                "status": a.status,
                "status_label": ACTION_STATUS_LABELS.get(a.status, a.status),
            }
            for a in actions
            if a.status != "dropped"
        ],
    }

    # the appeal route: from the decision this letter reports
    opened = None
    if kind in ("threshold_not_met", "rejection") and decision is not None:
        opened = decision.decided
    elif kind == "outcome":
        opened = issued
    window = pol.timescales["appeal_window"]
    appeal_route = {
        "body": pol.appeal_body,
        # what an appeal from this letter would be against: the grounds are framed by it
        "against": "outcome" if kind == "outcome" else "threshold" if opened else None,
        "grounds": [
            {"code": k, "text": v}
            for k, v in pol.grounds_against("outcome" if kind == "outcome" else "threshold").items()
        ],
        "last_day": iso(due_date(session, case, pol, "appeal_window", opened)) if opened else None,
        "window": window.describe(),
        "window_count": window.count,
        "window_unit": window.unit,
        "final": pol.appeal_final,
    }
    appeal = dict.fromkeys(FIELDS["appeal"])  # no appeal yet: every field of the context, empty
    appeals = _appeals(session, case)
    if appeals:
        chosen = appeals[-1]
        if kind == "appeal_outcome":
            chosen = (
                [a for a in appeals if a.decided_on][-1] if any(a.decided_on for a in appeals) else chosen
            )
        appeal = {
            "received": iso(chosen.received),
            "against": "outcome of the review" if chosen.against == "outcome" else "threshold decision",
            "against_code": "outcome" if chosen.against == "outcome" else "threshold",
            "grounds": chosen.grounds,
            "grounds_text": pol.appeal_grounds.get(chosen.grounds, chosen.grounds),
            "due": iso(due_date(session, case, pol, "appeal_decision", chosen.received)),
            "decided_on": iso(chosen.decided_on),
            "upheld": chosen.upheld,
            "decided_by": chosen.decided_by,
            "reason": chosen.reason,
        }

    delay = {"stage": None, "step": None, "due": None, "until": None, "reason": None}
    if case.state in STAGES:
        deadline_kind, step = STAGES[case.state]
        anchor = {
            "threshold_decision": case.received,
            "review": decision.decided if decision else case.received,
            "appeal_decision": appeals[-1].received if appeals else case.state_changed,
        }[deadline_kind]
        delay = {
            "stage": deadline_kind,
            "step": step,
            "due": iso(due_date(session, case, pol, deadline_kind, anchor)),
            "until": facts.get("until"),
            "reason": facts.get("reason"),
        }

    # what the closure ends: a review, or an application that never became one
    after = "review"
    if issued is None and decision is not None and not decision.met:
        after = "rejected" if decision.rejection_category else "not_met"
    title, title_cy = LETTER_TITLES[kind]
    if kind == "closure" and after != "review":
        title, title_cy = APPLICATION_CLOSED_TITLES
    return {
        "letter": {
            "kind": kind,
            "date": on.isoformat(),
            "format": fmt,
            "bilingual": bilingual,
            "language": "cy" if bilingual else "en",
            "title": title,
            "title_cy": title_cy,
        },
        "partnership": {
            "name": pol.partnership,
            "area": pol.area,
            "nation": pol.nation,
            "policy": f"{pol.name} {pol.version}",
        },
        "letterhead": _letterhead(session, pol),
        "reference": case.reference,
        "spoc": _spoc(session, case, pol),
        "recipient": to,
        "applicant": {"name": case.applicant_name, "initials": views.initials(case.applicant_name)},
        "victim": {
            "name": case.victim_name,
            "third_party": case.applicant_name != case.victim_name,
            "consent_date": iso(case.consent_date),
        },
        "case": {
            "received": iso(case.received),
            "channel": case.channel,
            "state": case.state,
            "statement": case.statement,
            "decided": threshold["decided"],
        },
        "next_step": {
            "what": "threshold_decision",
            "due": iso(due_date(session, case, pol, "threshold_decision", case.received)),
        },
        "threshold": threshold,
        "review": {"lead_agency": name_of(case.lead_agency_id), "reviewer": case.reviewer, "due": review_due},
        "meeting": meeting,
        "outcome": outcome,
        "appeal_route": appeal_route,
        "appeal": appeal,
        "delay": delay,
        "information_request": info or {"agency": None, "agency_code": None, "requested": None, "due": None},
        "closure": {
            "closed_on": iso(case.state_changed) if case.state == "closed" else None,
            "reason": case.closure_reason,
            "after": after,
        },
    }


_LATE = re.compile(r"reported (\d+) days after the behaviour")
_SAME = re.compile(r"the same incident as complaint (\d+)")


def _why(reason: str) -> dict:
    """Why a complaint was not counted, as a code a Welsh sentence can be written for (the stored
    explanation holds the English sentence of trigger.rules.threshold.why_not_qualifying)."""
    if reason.startswith("reported after the application"):
        return {"why": "after_application", "days": None, "same_as": None}
    if late := _LATE.match(reason):
        return {"why": "late", "days": int(late.group(1)), "same_as": None}
    if reason.startswith("reported more than six months before"):
        return {"why": "stale", "days": None, "same_as": None}
    if same := _SAME.match(reason):
        return {"why": "same", "days": None, "same_as": int(same.group(1))}
    return {"why": None, "days": None, "same_as": None}


_HATE = re.compile(r"Complaint (\d+) is a qualifying report of a hate incident \(([^)]*)\)")
_ASIDE = re.compile(r"but the local rule that (.*) \(stricter than the Act\) sets it aside")
_PEOPLE = re.compile(r"(\d+) different (?:person|people) complained")
_NEEDED = re.compile(r"(?:at least (\d+) needed|the local community route needs (\d+))")


def _route_facts(route: str, line: str, counted: dict | None = None) -> dict:
    """A local route's line of the explanation (English, as trigger.rules.threshold words it) as facts
    a Welsh sentence can be written from: which route, met or why not, and the numbers it names. The
    community route's count comes as data (`counted`) in explanations made since it counts per incident."""
    facts: dict = {"route": route, "met": "not met" not in line and "route needs" not in line}
    facts.update({"complaint": None, "strand": None, "caveat": None, "people": None, "needed": None})
    facts.update({"occurred": None, "complaints": []})
    if counted:
        return {**facts, **{k: counted[k] for k in ("met", "people", "needed", "occurred", "complaints")}}
    if hate := _HATE.search(line):
        facts.update(complaint=int(hate.group(1)), strand=hate.group(2) or None)
    if aside := _ASIDE.search(line):
        facts["caveat"] = aside.group(1)
    if people := _PEOPLE.search(line):
        facts["people"] = int(people.group(1))
    if needed := _NEEDED.search(line):
        facts["needed"] = int(needed.group(1) or needed.group(2))
    return facts


# -- issuing and previewing -------------------------------------------------------------------------


def templates_for(pol: Policy, templates: str | None) -> str | None:
    """The template folder a letter is rendered from: `--templates`, else the policy's, else the shipped."""
    return templates or pol.templates or None


def _render(kind: str, ctx: dict, fmt: str, templates: str | None, terms: dict | None = None) -> bytes:
    try:
        return render(kind, ctx, fmt, templates, terms)
    except LetterError as exc:
        raise InvalidInput(str(exc)) from None


def _check_kind_and_format(kind: str, fmt: str) -> None:
    if kind not in LETTER_KINDS:
        raise InvalidInput(f"{kind!r} is not a letter kind; use one of {', '.join(LETTER_KINDS)}")
    if fmt not in LETTER_FORMATS:
        raise InvalidInput(f"{fmt!r} is not a letter format; use one of {', '.join(LETTER_FORMATS)}")


@retried
@needs(LETTERS)
def letter(
    app: App,
    reference: str,
    kind: str,
    *,
    fmt: str = "html",
    on: date | None = None,
    recipient: str | None = None,
    preview: bool = False,
    templates: str | None = None,
    until: date | None = None,
    reason: str | None = None,
    output: Target | None = None,
) -> Issued:
    """Render a letter and write it to `output`; unless previewing, record it in the register with its
    audit event (the deadlines it meets refreshed with it). `until` and `reason` are a delay letter's
    new date and why. Recorded only when it happened (docs/architecture.md#files-the-engine-writes):

    1. the letter's facts are read from a snapshot, and it is rendered outside any transaction, so a
       slow PDF or a partner's template never keeps other users waiting;
    2. the bytes go to a temporary file beside the target (a full disk, a missing folder or a refused
       permission stops here, with nothing recorded);
    3. a short write transaction re-reads the facts: if the case changed while the letter was
       rendered, it is rendered again from the case as it now is; else the register row and the audit
       event are written, the file is renamed into place, and the transaction commits. If the commit
       fails, the file is taken away again."""
    _check_kind_and_format(kind, fmt)
    facts = letter_facts(kind, until, reason)
    recipient = checks.name(recipient, "--to")
    with app.read() as session:
        case = find_case(session, reference)
        on = on_for_change(case, on)
        pol = case_policy(session, case)
        ctx = _letter_context(session, case, pol, kind, fmt, on, recipient, facts)
    issued = _rendered(ctx, kind, fmt, on, pol, templates)
    staged = _stage(
        output, issued.content, "the letter was not written" if preview else "the letter was not recorded"
    )
    if preview:
        _place(staged, "the letter was not written")
        return issued
    try:
        with changing(app, reference) as w:
            w.lock()
            if _letter_context(w.session, w.case, w.policy, kind, fmt, on, recipient, facts) != ctx:
                raise Retry(
                    f"{w.case.reference} changed while the letter was being rendered; run the command again"
                )
            register(w, issued)
            if staged is not None:
                w.before_commit.append(lambda: _place(staged, "the letter was not recorded"))
    except BaseException:
        if staged is not None:
            staged.discard()
        raise
    return issued


def letter_facts(kind: str, until: date | None, reason: str | None) -> dict:
    """What the officer gives with a letter: a delay letter must give the new date
    (docs/procedure.md#informing-the-applicant)."""
    if kind != "delay":
        if until is not None or reason:
            raise InvalidInput("--until and --reason belong to a delay letter; leave them out for a " + kind)
        return {}
    if until is None:
        raise InvalidInput(
            "a delay letter gives the applicant the new date: add --until DATE (when you now expect "
            "to finish the step), and --reason TEXT to say why"
        )
    return {"until": until.isoformat(), "reason": (reason or "").strip() or None}


def register(w, issued: Issued, *, edited: bool = False) -> Letter:
    """Add the letter to the register, with its bytes, and its audit event (no personal data)."""
    row = Letter(
        case_id=w.case.id,
        kind=issued.kind,
        issued_on=issued.issued_on,
        recipient=issued.recipient,
        format=issued.format,
        content_hash=issued.content_hash,
        edited=edited,
    )
    w.session.add(row)
    w.session.flush()
    w.session.add(LetterCopy(letter_id=row.id, content=issued.content))  # exactly what was sent
    detail = {"letter": row.id, "kind": issued.kind, "format": issued.format, "hash": issued.content_hash}
    if edited:
        detail["edited"] = True
    # the recipient stays in the register row; the audit log carries no personal data
    w.record("letter", issued.issued_on, detail=detail)
    issued.letter_id = row.id
    issued.number = register_number(w.session, w.case, row.id)
    return row


def register_number(session: Session, case: ReviewCase, letter_id: int) -> int:
    """A letter's entry number in its case's register (1, 2, 3 in the order issued)."""
    return session.exec(
        select(func.count()).select_from(Letter).where(Letter.case_id == case.id, Letter.id <= letter_id)
    ).one()


@needs(READ_CASE)
def issued_copy(app: App, reference: str, number: int) -> Issued:
    """`trigger letter REF --issued N`: register entry N of the case (as `show` numbers them), exactly
    as it was sent; refused when the stored bytes no longer match the hash recorded at issue."""
    with app.read() as session:
        case = find_case(session, reference)
        rows = session.exec(select(Letter).where(Letter.case_id == case.id).order_by(Letter.id)).all()
        if not 1 <= number <= len(rows):
            listed = f"1 to {len(rows)}" if rows else "none yet"
            raise NotFound(
                f"{case.reference} has no register entry {number} (entries: {listed}; `trigger show "
                f"{case.reference}` lists them)"
            )
        row = rows[number - 1]
        copy = session.get(LetterCopy, row.id)
        if copy is None:
            raise NotFound(
                f"entry {number} of {case.reference} ({row.kind}, {row.issued_on}) has no stored copy "
                f"(purged, or issued before copies were kept); its sha256 was {row.content_hash}"
            )
        content = bytes(copy.content)
        if hashlib.sha256(content).hexdigest() != row.content_hash:
            raise GuardRefused(
                f"the stored copy of entry {number} of {case.reference} does not match the sha256 recorded "
                "when it was issued; it has been altered"
            )
        return Issued(
            content, row.kind, row.format, row.recipient, row.issued_on, row.content_hash, row.id, number
        )


def prepare(session, case, pol, kind, fmt, on, recipient, templates, facts=None) -> Issued:
    """Check the case supports the letter on that day, gather its facts and render it (nothing written)."""
    ctx = _letter_context(session, case, pol, kind, fmt, on, recipient, facts)
    return _rendered(ctx, kind, fmt, on, pol, templates)


def _rendered(ctx: dict, kind: str, fmt: str, on: date, pol: Policy, templates: str | None) -> Issued:
    content = _render(kind, ctx, fmt, templates_for(pol, templates), pol.glossary)
    return Issued(content, kind, fmt, ctx["recipient"]["name"], on, hashlib.sha256(content).hexdigest(), None)


def _letter_context(session, case, pol, kind, fmt, on, recipient, facts=None) -> dict:
    reason = refusal(session, case, kind, on)
    if reason:
        raise GuardRefused(f"cannot issue the {kind} letter: {reason}")
    ctx = context(session, case, pol, kind, on, recipient, fmt, facts)
    if kind == "delay":
        _check_delay(ctx, on)
    return ctx


def _stage(output: Target | None, content: bytes, consequence: str):
    if output is None:
        return None
    try:
        return output.stage(content)
    except OutputError as exc:
        raise OutputError(f"{exc}; {consequence}") from None


def _place(staged, consequence: str) -> None:
    if staged is None:
        return
    try:
        staged.place()
    except OutputError as exc:
        raise OutputError(f"{exc}; {consequence}") from None


def _check_delay(ctx: dict, on: date) -> None:
    delay = ctx["delay"]
    until = date.fromisoformat(delay["until"])
    due = date.fromisoformat(delay["due"])
    if until <= due:
        raise InvalidInput(
            f"--until {until} is not after {due}, the day the step was due; give the new, later date"
        )
    if until < on:
        raise InvalidInput(f"--until {until} is before the letter's date {on}; give a date still to come")


# -- the appeal bundle --------------------------------------------------------------------------------


def issued_documents(session: Session, case: ReviewCase, *, exclude_bundles: bool = True) -> list[dict]:
    """Every document in the case's register with the bytes that were sent (None when no copy is kept)
    and whether they still match the sha256 recorded at issue; for the bundle and the export."""
    query = select(Letter).where(Letter.case_id == case.id).order_by(Letter.id)
    out = []
    for n, lt in enumerate(session.exec(query).all(), start=1):
        if exclude_bundles and lt.kind == "appeal_bundle":
            continue
        copy = session.get(LetterCopy, lt.id)
        content = bytes(copy.content) if copy is not None else None
        out.append(
            {
                "number": n,
                "row": lt,
                "content": content,
                "intact": content is not None and hashlib.sha256(content).hexdigest() == lt.content_hash,
                "name": f"{n:02d}-{lt.issued_on.isoformat()}-{lt.kind}.{lt.format}",
            }
        )
    return out


def _report_form(view: dict) -> str:
    t = view["threshold"]
    lines = [
        f"ASB Case Review report form: {view['reference']}",
        "",
        f"Received: {view['received']} ({view['channel']})",
        f"Applicant: {view['applicant']}"
        + (f" for {view['victim']} (consent {view['consent_date']})" if view["third_party"] else ""),
        f"State: {view['state']}",
        f"Policy: {view['policy']}",
        f"Statement of dissatisfaction: {view['statement']}",
        f"Threshold: {'met' if t['met'] else 'not met'} on {t['decided']}"
        if t["decided"]
        else "Threshold: not decided",
        f"Lead agency: {view['lead_agency'] or '-'}; reviewer: {view['reviewer'] or '-'}",
        f"Review hours: {view['hours_total']:g}",
        "",
        "Complaints:",
    ]
    for i in view["incidents"]:
        lines.append(
            f"  #{i['id']} occurred {i['occurred']}, reported {i['reported']} to {i['agency']}"
            + (f" (hate: {i['hate']})" if i["hate"] else "")
            + (f" (same as #{i['same_as']})" if i["same_as"] else "")
        )
    lines += ["", "Appeals:"]
    for a in view["appeals"]:
        lines.append(
            f"  against the {a['against']}: received {a['received']}, grounds {a['grounds']}"
            + (f" (late, accepted: {a['late_reason']})" if a["late_reason"] else "")
            + (
                f", decided {a['decided_on']} ({'upheld' if a['upheld'] else 'dismissed'})"
                if a["decided_on"]
                else ", not yet decided"
            )
        )
        lines.append(f"    In the appellant's own words: {a['detail'] or '(no words recorded)'}")
    if view["corrections"]:
        lines += ["", "Corrections (old value -> new value, reason):"]
        for c in view["corrections"]:
            lines.append(
                f"  {c['on']} {c['subject']} {c['field']}: {c['old']!r} -> {c['new']!r} by {c['by']}"
                + (f" ({c['reason']})" if c["reason"] else "")
            )
    return "\n".join(lines) + "\n"


def _appeal_papers(view: dict, pol: Policy) -> str:
    """The appeal as the appellant made it: the ground and their own words (`appeal --detail`)."""
    lines = [f"The appeal: {view['reference']}", ""]
    for n, a in enumerate(view["appeals"], start=1):
        lines += [
            f"Appeal {n}, against the {a['against']}, received {a['received']}",
            f"Ground: {a['grounds']}: {pol.appeal_grounds.get(a['grounds'], a['grounds'])}",
            "In the appellant's own words:",
            f"  {a['detail']}" if a["detail"] else "  (no words of the appellant were recorded)",
        ]
        if a["late_reason"]:
            lines.append(f"Lodged after the window; accepted because: {a['late_reason']}")
        if a["decided_on"]:
            lines.append(
                f"Decided {a['decided_on']} by {a['decided_by']}: {'upheld' if a['upheld'] else 'dismissed'}"
                f" ({a['reason']})"
            )
        lines.append("")
    return "\n".join(lines)


def _minutes(session: Session, case: ReviewCase, view: dict) -> str:
    rows = session.exec(select(Meeting).where(Meeting.case_id == case.id).order_by(Meeting.id)).all()
    lines = [f"Review meeting minutes summary: {view['reference']}", ""]
    if not rows:
        lines.append("No review meeting was recorded.")
    for m in rows:
        lines.append(
            f"Meeting {m.at.isoformat(timespec='minutes')}: {'held' if m.held else 'scheduled, not held'}"
        )
        lines.append(f"  Attendees: {m.attendees or 'not recorded'}")
        lines.append(
            f"  Victim's involvement: {INVOLVEMENT_LABELS.get(m.victim_involvement or '', 'not recorded')}"
        )
    lines += ["", "Findings:"]
    lines += [
        f"  - {FINDING_LABELS.get(f['category'], f['category'])}" + (f": {f['text']}" if f["text"] else "")
        for f in view["findings"]
    ] or ["  none"]
    lines += ["", "Recommendations:"]
    lines += [
        f"  - to {r['to']}: {r['text']}" + (f" [{r['response']}]" if r["response"] else "")
        for r in view["recommendations"]
    ] or ["  none"]
    return "\n".join(lines) + "\n"


def _outcome_and_plan(view: dict) -> str:
    issued = [e["at"] for e in view["events"] if e["event"] == "issue_outcome"]
    lines = [
        f"Outcome and action plan: {view['reference']}",
        "",
        f"Outcome issued: {issued[-1] if issued else 'no outcome was issued'}",
        "",
        "No. | Key action | Lead agency | Due | Status | RAG | Progress",
    ]
    for a in view["actions"]:
        progress = (a["progress"] or "").replace("\n", " / ")
        lines.append(
            f"{a['number']} | {a['action']} | {a['owner']} | {a['due']} | {a['status']} | "
            f"{a['rag'] or '-'} | {progress}"
        )
    if not view["actions"]:
        lines.append("(no actions)")
    return "\n".join(lines) + "\n"


@retried
@needs(BUNDLE)
def bundle(
    app: App,
    reference: str,
    *,
    on: date | None = None,
    recipient: str | None = None,
    output: Target | None = None,
) -> Issued:
    """The appeal bundle (LLR: report form, minutes, chronology, result letters, outcome report and
    action plan, to the independent chair within one working day; docs/procedure.md#appeals), recorded in the
    register as an `appeal_bundle` letter, its bytes kept like every letter's. The letters in it are
    the documents as issued (a PDF is the PDF), and it carries the appellant's own words.

    Written to `output` in the same steps as `letter`: built from a snapshot outside any transaction,
    staged in a temporary file, then recorded and put in place in one short transaction (built again
    if the case changed meanwhile)."""
    recipient = checks.name(recipient, "--to")
    with app.read() as s:
        case = find_case(s, reference)
        on = on_for_change(case, on)
        pol = case_policy(s, case)
        if not _appeals(s, case):
            raise GuardRefused(
                f"{case.reference} has no appeal; an appeal bundle is made once an appeal is lodged"
            )
        seen = (case.version, last_event(s, case.id))
        content = _bundle_content(s, case, pol)
    digest = hashlib.sha256(content).hexdigest()
    to = recipient or pol.appeal_body
    staged = _stage(output, content, "the bundle was not recorded")
    try:
        with changing(app, reference) as w:
            w.lock()
            if (w.case.version, last_event(w.session, w.case.id)) != seen:
                raise Retry(
                    f"{w.case.reference} was changed while the bundle was being made; run the command again"
                )
            row = Letter(
                case_id=w.case.id,
                kind="appeal_bundle",
                issued_on=on,
                recipient=to,
                format="zip",
                content_hash=digest,
            )
            w.session.add(row)
            w.session.flush()
            w.session.add(LetterCopy(letter_id=row.id, content=content))
            w.record(
                "appeal_bundle", on, detail={"letter": row.id, "files": _files_in(content), "hash": digest}
            )
            number = register_number(w.session, w.case, row.id)
            if staged is not None:
                w.before_commit.append(lambda: _place(staged, "the bundle was not recorded"))
    except BaseException:
        if staged is not None:
            staged.discard()
        raise
    return Issued(content, "appeal_bundle", "zip", to, on, digest, row.id, number)


def _files_in(content: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        return len(zf.namelist())


def _bundle_content(s: Session, case: ReviewCase, pol: Policy) -> bytes:
    now = datetime.now(UTC)
    view = views.case_view(s, case)
    files = [
        ("01-report-form.txt", _report_form(view).encode(), now),
        ("02-chronology.txt", chronology_text(s, case).encode(), now),
        ("03-meeting-minutes-summary.txt", _minutes(s, case, view).encode(), now),
    ]
    index = ["Letters issued, as issued (the bytes the register keeps; sha256 checked):"]
    for doc in issued_documents(s, case):
        lt = doc["row"]
        name = f"04-letters/{doc['name']}"
        if doc["content"] is not None:
            files.append((name, doc["content"], lt.created_at))
            state = "as issued" if doc["intact"] else "STORED COPY DOES NOT MATCH ITS SHA256"
            if lt.edited:
                state += " (the edited version recorded as sent)"
        else:
            state = "no copy kept; only its sha256 is held"
        index.append(
            f"  {name}: entry {doc['number']}, issued {lt.issued_on} as {lt.format} to {lt.recipient}, "
            f"sha256 {lt.content_hash}; {state}"
        )
    files.append(("04-letters/index.txt", ("\n".join(index) + "\n").encode(), now))
    files.append(("05-outcome-and-action-plan.txt", _outcome_and_plan(view).encode(), now))
    files.append(("06-the-appeal.txt", _appeal_papers(view, pol).encode(), now))
    return zip_files(files)


def check_templates(folder: str) -> list[str]:
    """`trigger letters check DIR`: one line per problem; empty when the folder is fine."""
    try:
        return [str(p) for p in check_folder(folder)]
    except LetterError as exc:
        raise NotFound(str(exc)) from None
