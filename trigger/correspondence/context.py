"""The facts a letter template receives: one plain-data context per letter (its fields are documented
in `letters.fields.FIELDS`), one function per part of the letter.

Every date and fact in a letter comes from the case (its rows, its audit events and its policy);
nothing is typed into a letter but what the officer gives with it (a delay letter's new date and
reason). The context is plain dicts, lists and strings, so that a partnership's own templates run in
the sandbox with nothing to reach through.

The complaints, findings, recommendations and evidence requests are read on the read tables
(`trigger.store.tables`): a letter builds none of their models (docs/architecture.md#speed).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from letters.fields import FIELDS
from trigger.cases import complaints, decisions, sharing
from trigger.codes import (
    ACTION_STATUS_LABELS,
    APPLICATION_CLOSED_TITLES,
    FINDING_LABELS,
    INVOLVEMENT_LABELS,
    LETTER_TITLES,
)
from trigger.correspondence.eligibility import STAGES, appeals_of, event_on, reported_decision
from trigger.errors import GuardRefused, InvalidInput, PolicyError
from trigger.read import views
from trigger.rules import policy as policies
from trigger.rules.dates import iso
from trigger.rules.policy import Policy
from trigger.store import tables as t
from trigger.store.models import Action, Agency, Appeal, Meeting, ReviewCase
from trigger.store.partnerships import Heading, heading, partnership_of, point_of_contact
from trigger.store.schedule import due_date
from trigger.store.unit import find_agency
from workflows.machine import State

Part = dict[str, Any]  # one part of a letter's context: plain values only
NameOf = Callable[[int | None], str | None]  # an agency's id -> its name

ROUTES = {
    # s.104(4): the statutory threshold; s.104(5): the bodies' own local routes and discretion
    "statutory": "You made enough qualifying complaints to meet the legal threshold.",
    "hate": "One of your complaints was about a hate incident, which meets our local threshold.",
    "community": "Several people complained about the same incident, which meets our local threshold.",
    "discretionary": "We used our discretion to hold a review, although the threshold was not reached.",
    # Sch 4 para 3: the decision that stands after an upheld appeal against a not-met decision
    "appeal": "Your appeal was upheld, so the threshold for a review is treated as met.",
}


def context(
    session: Session,
    case: ReviewCase,
    pol: Policy,
    kind: str,
    on: date,
    recipient: str | None = None,
    fmt: str = "html",
    facts: dict[str, Any] | None = None,
) -> Part:
    """The plain-data context of one letter (documented in `letters.fields.FIELDS`). `facts` are what
    the officer gave with the letter itself (a delay letter's new date and reason), and the applicant's
    link an acknowledgement carries (`register.link_facts`)."""
    name_of = _names(session)
    head = heading(session, pol, case.partnership_id)
    decision = reported_decision(session, case, kind, on)
    to, info = _recipient(session, case, kind, recipient, on)
    threshold = _threshold(session, case, pol, decision, name_of)
    issued = event_on(session, case, "issue_outcome")
    appeals = appeals_of(session, case)
    closure = _closure(case, decision, issued)
    return {
        "letter": _letter(case, pol, kind, on, fmt, closure["after"]),
        "partnership": _partnership(pol, head),
        "letterhead": _letterhead(session, head, case.partnership_id),
        "reference": case.reference,
        "spoc": point_of_contact(session, case, pol, head),
        "recipient": to,
        "applicant": {"name": case.applicant_name, "initials": views.initials(case.applicant_name)},
        "victim": _victim(case),
        "case": _case(case, threshold["decided"]),
        "sharing": _sharing(session, case),
        "next_step": {
            "what": "threshold_decision",
            "due": iso(due_date(session, case, pol, "threshold_decision", case.received)),
        },
        "threshold": threshold,
        "review": _review(session, case, pol, decision, name_of),
        "meeting": _meeting(session, case, pol),
        "outcome": _outcome(session, case, issued, name_of),
        "appeal_route": _appeal_route(session, case, pol, kind, decision, issued),
        "appeal": _appeal(session, case, pol, kind, appeals),
        "delay": _delay(session, case, pol, decision, appeals, facts or {}),
        "information_request": info,
        # the applicant's private link to their case page (an acknowledgement, when the door has a
        # public address): made for this letter, kept as a hash (`trigger.cases.links`)
        "online": {"link": (facts or {}).get("link")},
        "closure": closure,
    }


def _names(session: Session) -> NameOf:
    """The agencies' names by id, as a lookup that gives None for no agency (or one not found)."""
    agencies = {a.id: a.name for a in session.exec(select(Agency))}
    return lambda agency_id: agencies.get(agency_id)


# -- who writes, and to whom ------------------------------------------------------------------------


def _letter(case: ReviewCase, pol: Policy, kind: str, on: date, fmt: str, after: str) -> Part:
    """The letter itself: its kind, date, format, language and title. A Welsh policy writes every
    letter in both languages; so does any case whose applicant asked for Welsh, under any policy
    (never a silent English letter)."""
    bilingual = bool(pol.welsh or case.language == "cy")
    title, title_cy = LETTER_TITLES[kind]
    if kind == "closure" and after != "review":
        title, title_cy = APPLICATION_CLOSED_TITLES
    return {
        "kind": kind,
        "date": on.isoformat(),
        "format": fmt,
        "bilingual": bilingual,
        "language": "cy" if bilingual else "en",
        "title": title,
        "title_cy": title_cy,
    }


def _partnership(pol: Policy, head: Heading) -> Part:
    """The partnership that handles the case: its own name (and Welsh name), else its policy's."""
    return {
        "name": head.name,
        "name_cy": head.name_cy,
        "area": pol.area,
        "nation": pol.nation,
        "policy": f"{pol.name} {pol.version}",
    }


def _letterhead(session: Session, head: Heading, partnership_id: int | None) -> Part:
    """The letterhead block: the logo as a data: URI (so HTML, PDF and Word carry it alike), the
    address lines, telephone and web address."""
    lines = head.letterhead
    return {
        "logo": lines.logo_uri(_policy_folder(session, partnership_id)),
        "address": list(lines.address),
        "telephone": lines.telephone or None,
        "web": lines.web or None,
    }


def _policy_folder(session: Session, partnership_id: int | None) -> str | None:
    """The folder of the policy file of the case's partnership (chosen at `trigger init` or `partnership
    add`): where a relative logo is read from when the case's policy comes from its stored snapshot."""
    row = partnership_of(session, partnership_id)
    try:
        return str(policies.resolve(row.policy if row is not None else "llr").resolve().parent)
    except PolicyError:
        return None


VICTIM = "victim"  # `letter REF KIND --to victim`: the victim's copy of a letter to a third party


def to_victim(recipient: str | None) -> bool:
    """The letter asked for is the victim's copy (`--to victim`)."""
    return (recipient or "").strip().lower() == VICTIM


def _lines(address: str | None, postcode: str | None) -> list[str]:
    lines = [line.strip() for line in (address or "").split(",") if line.strip()]
    return [*lines, postcode] if postcode else lines


def _recipient(
    session: Session, case: ReviewCase, kind: str, recipient: str | None, on: date
) -> tuple[Part, Part]:
    """Who the letter goes to (the applicant at the applicant's address; the victim's copy at the
    victim's; for an information request the agency asked), and the request's facts (all None for any
    other letter)."""
    no_request = {"agency": None, "agency_code": None, "requested": None, "due": None}
    if kind == "information_request":
        return _agency_asked(session, case, recipient)
    if to_victim(recipient):
        victim_copy_refusal(case, on)
        to = {
            "name": case.victim_name,
            "address": _lines(case.victim_address, case.victim_postcode),
            "is_agency": False,
            "copy_of": case.applicant_name,
        }
        return to, no_request
    address = _lines(case.address, case.postcode)
    to = {"name": recipient or case.applicant_name, "address": address, "is_agency": False, "copy_of": None}
    return to, no_request


def victim_copy_refusal(case: ReviewCase, on: date) -> None:
    """A copy goes to the victim only when someone else applied for them with their consent (gov.uk
    guidance: a third party applies with the victim's consent), given by the letter's date, and the
    case holds where to send it."""
    ref = case.reference
    if case.applicant_name == case.victim_name:
        raise GuardRefused(
            f"{ref}: the applicant is the victim, so the letter already goes to them; leave out --to victim"
        )
    if case.consent_date is None or case.consent_date > on:
        given = f" (given {case.consent_date.isoformat()})" if case.consent_date else ""
        raise GuardRefused(
            f"{ref}: no consent from the victim is recorded by {on.isoformat()}{given}, so no copy goes to "
            f"them; record it with `trigger case update {ref} --consent-date DATE --reason TEXT`"
        )
    if not (case.victim_address or case.victim_email):
        raise GuardRefused(
            f"{ref}: the case holds no address or e-mail for the victim; add it with "
            f"`trigger case update {ref} --victim-address TEXT --victim-postcode TEXT --reason TEXT`"
        )


def _agency_asked(session: Session, case: ReviewCase, recipient: str | None) -> tuple[Part, Part]:
    code = (recipient or "").strip()
    if not code:
        raise InvalidInput("an information request goes to an agency: give --to AGENCY (its code)")
    agency = find_agency(session, code)
    asked = t.evidence_request.c
    req = session.execute(
        t.evidence_request.select()
        .where(asked.case_id == case.id, asked.agency_id == agency.id, asked.requested.is_not(None))
        .order_by(asked.id.desc())
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
    to = {
        "name": agency.name,
        "address": [agency.email] if agency.email else [],
        "is_agency": True,
        "copy_of": None,
    }
    return to, info


def _victim(case: ReviewCase) -> Part:
    return {
        "name": case.victim_name,
        "third_party": case.applicant_name != case.victim_name,
        "consent_date": iso(case.consent_date),
    }


def _sharing(session: Session, case: ReviewCase) -> Part:
    """s.104(3): the relevant bodies the application was passed to, and those not yet, by name."""
    passed = sharing.told(session, case)
    return {
        "all": passed["all"],
        "told": [a["name"] for a in passed["told"]],
        "not_recorded": [a["name"] for a in passed["not_recorded"]],
        "not_told": [a["name"] for a in passed["not_told"]],
    }


def _case(case: ReviewCase, decided: str | None) -> Part:
    return {
        "received": iso(case.received),
        "channel": case.channel,
        "state": case.state,
        "statement": case.statement,
        "decided": decided,
    }


# -- the threshold decision, with the explanation it was based on -------------------------------------


def _threshold(
    session: Session, case: ReviewCase, pol: Policy, decision: decisions.Standing | None, name_of: NameOf
) -> Part:
    if decision is None:
        return {
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
    explained = complaints.as_decided(session, case, pol, decision)
    incidents = {i.id: i for i in session.execute(t.incident.select().where(t.incident.c.case_id == case.id))}
    routes = explained.get("routes", {})
    local = [r for r in ("hate", "community") if r in routes]
    return {
        "decided": iso(decision.decided),
        "by_appeal": decision.by_appeal,
        "local_routes": [routes[r] for r in local],
        "local_route_facts": [_route_facts(r, routes[r], explained.get(r)) for r in local],
        "met": decision.met,
        "route": decision.route,
        "route_text": ROUTES.get(decision.route or "", ""),
        "reason": decision.reason,
        "rejection_category": decision.rejection_category,
        "required": explained.get("statutory_required", pol.qualifying_complaints),
        "counted": [_complaint(v, incidents, name_of) for v in explained.get("counted", [])],
        "excluded": [_complaint(v, incidents, name_of) for v in explained.get("excluded", [])],
    }


def _complaint(v: Part, incidents: dict[int, Any], name_of: NameOf) -> Part:
    """One complaint of the explanation, counted or not, with why and the facts of its incident."""
    inc = incidents.get(v["id"])
    return {
        "id": v["id"],
        "reason": v["reason"],
        **_why(v["reason"]),
        "occurred": iso(inc.occurred) if inc else None,
        "reported": iso(inc.reported) if inc else None,
        "agency": name_of(inc.agency_id) if inc else None,
    }


_LATE = re.compile(r"reported (\d+) days after the behaviour")
_SAME = re.compile(r"the same incident as complaint (\d+)")


def _why(reason: str) -> Part:
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


def _route_facts(route: str, line: str, counted: Part | None = None) -> Part:
    """A local route's line of the explanation (English, as trigger.rules.threshold words it) as facts
    a Welsh sentence can be written from: which route, met or why not, and the numbers it names. The
    community route's count comes as data (`counted`) in explanations made since it counts per incident."""
    facts: Part = {"route": route, "met": "not met" not in line and "route needs" not in line}
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


# -- the review, the meeting and the outcome ----------------------------------------------------------


def _review(
    session: Session, case: ReviewCase, pol: Policy, decision: decisions.Standing | None, name_of: NameOf
) -> Part:
    due = None
    if decision is not None and decision.met and decision.decided is not None:
        due = iso(due_date(session, case, pol, "review", decision.decided))
    return {"lead_agency": name_of(case.lead_agency_id), "reviewer": case.reviewer, "due": due}


def _meeting(session: Session, case: ReviewCase, pol: Policy) -> Part:
    """The case's latest review meeting (every field None before one is scheduled)."""
    row = session.exec(
        select(Meeting).where(Meeting.case_id == case.id).order_by(col(Meeting.id).desc())
    ).first()
    if row is None:
        return dict.fromkeys(FIELDS["meeting"])
    return {
        "date": iso(row.at.date()),
        "at": row.at.strftime("%H:%M"),
        "held": row.held,
        "place": row.place,
        "link": row.link,
        "phone": row.phone,
        "reply_by": iso(row.reply_by),
        "victim_involvement": INVOLVEMENT_LABELS.get(row.victim_involvement or case.victim_involvement or ""),
        "outcome_letter_due": iso(due_date(session, case, pol, "outcome_letter", row.at.date())),
    }


def _outcome(session: Session, case: ReviewCase, issued: date | None, name_of: NameOf) -> Part:
    """The review's outcome: findings, recommendations and the actions still standing."""
    finding, recommendation = t.finding, t.recommendation
    findings = session.execute(
        finding.select().where(finding.c.case_id == case.id).order_by(finding.c.id)
    ).all()
    recs = session.execute(
        recommendation.select().where(recommendation.c.case_id == case.id).order_by(recommendation.c.id)
    ).all()
    actions = session.exec(select(Action).where(Action.case_id == case.id).order_by(col(Action.number))).all()
    return {
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
        "actions": [_action(a, name_of) for a in actions if a.status != "dropped"],
    }


def _action(a: Action, name_of: NameOf) -> Part:
    return {
        "number": a.number,
        "action": a.action,
        "owner": name_of(a.owner_agency_id),
        "due": iso(a.due),
        "status": a.status,
        "status_label": ACTION_STATUS_LABELS.get(a.status, a.status),
    }


# -- appeals ------------------------------------------------------------------------------------------


def _appeal_route(
    session: Session,
    case: ReviewCase,
    pol: Policy,
    kind: str,
    decision: decisions.Standing | None,
    issued: date | None,
) -> Part:
    """How to appeal against what this letter reports: a threshold decision or the outcome."""
    opened = None  # the day the appeal window opens, from the decision this letter reports
    if kind in ("threshold_not_met", "rejection") and decision is not None:
        opened = decision.decided
    elif kind == "outcome":
        opened = issued
    window = pol.timescales["appeal_window"]
    return {
        "body": pol.appeal_body,
        "decider": pol.appeal_decider,
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


def _appeal(session: Session, case: ReviewCase, pol: Policy, kind: str, appeals: list[Appeal]) -> Part:
    """The appeal the letter is about: the latest, or for an appeal outcome the latest decided (every
    field None before an appeal is lodged)."""
    if not appeals:
        return dict.fromkeys(FIELDS["appeal"])
    chosen = appeals[-1]
    decided = [a for a in appeals if a.decided_on]
    if kind == "appeal_outcome" and decided:
        chosen = decided[-1]
    against_outcome = chosen.against == "outcome"
    return {
        "received": iso(chosen.received),
        "against": "outcome of the review" if against_outcome else "threshold decision",
        "against_code": "outcome" if against_outcome else "threshold",
        "grounds": chosen.grounds,
        "grounds_text": pol.appeal_grounds.get(chosen.grounds, chosen.grounds),
        "due": iso(due_date(session, case, pol, "appeal_decision", chosen.received)),
        "decided_on": iso(chosen.decided_on),
        "upheld": chosen.upheld,
        "decided_by": chosen.decided_by,
        "reason": chosen.reason,
    }


# -- a delay, and the closure -------------------------------------------------------------------------


def _delay(
    session: Session,
    case: ReviewCase,
    pol: Policy,
    decision: decisions.Standing | None,
    appeals: list[Appeal],
    facts: dict[str, Any],
) -> Part:
    """The step a delay letter apologises for, when it was due, and the new date and reason the
    officer gave (every field None while no step is pending)."""
    if case.state not in STAGES:
        return {"stage": None, "step": None, "due": None, "until": None, "reason": None}
    deadline_kind, step = STAGES[case.state]
    anchor = {
        "threshold_decision": case.received,
        "review": decision.decided if decision and decision.decided else case.received,
        "appeal_decision": appeals[-1].received if appeals else case.state_changed,
    }[deadline_kind]
    return {
        "stage": deadline_kind,
        "step": step,
        "due": iso(due_date(session, case, pol, deadline_kind, anchor)),
        "until": facts.get("until"),
        "reason": facts.get("reason"),
    }


def _closure(case: ReviewCase, decision: decisions.Standing | None, issued: date | None) -> Part:
    """When and why the case closed, and what the closure ends: a review, or an application that never
    became one."""
    after = "review"
    if issued is None and decision is not None and not decision.met:
        after = "rejected" if decision.rejection_category else "not_met"
    return {
        "closed_on": iso(case.state_changed) if case.state == State.CLOSED else None,
        "reason": case.closure_reason,
        "after": after,
    }
