"""Complaints on a case and the threshold they meet (s.104(4)-(5)): recording a complaint, and the
check that explains, complaint by complaint, what counts and why (`trigger check`).

A complaint is an `incident` row (the table, and `trigger incident add|update|void`, keep the word the
case systems use). The partners' incident logs, imported in bulk for the proactive scan rather than
recorded on a case, are `trigger.intake`'s.
"""

from __future__ import annotations

import json
from datetime import date

from sqlmodel import Session, select

from trigger import checks
from trigger.cases import decisions
from trigger.codes import HATE_STRANDS, not_one_of
from trigger.errors import GuardRefused, InvalidInput, NotFound
from trigger.rules import threshold
from trigger.rules.policy import Policy
from trigger.store import models
from trigger.store import tables as t
from trigger.store.access import COMPLAINTS, READ_CASE, needs
from trigger.store.app import App
from trigger.store.models import Agency, ReviewCase, row_id
from trigger.store.unit import (
    Work,
    case_policy,
    changing,
    find_agency,
    find_case,
    not_future,
    on_for_change,
    retried,
)
from workflows import machine


def checked_complaint(
    *,
    occurred: date,
    reported: date,
    agency_ref: str | None = None,
    hate: str | None = None,
    same_as: int | None = None,
    description: str | None = None,
    complainant: str | None = None,
    category: str | None = None,
) -> dict:
    """A complaint's fields checked and cleaned as `add_incident` takes them, or `InvalidInput` for the
    first that is wrong (the online form checks each incident with this)."""
    not_future(occurred, "--occurred")
    not_future(reported, "--reported")
    if complainant is not None and not complainant.strip():
        raise InvalidInput("--complainant is blank; give who complained, or leave it out", "blank")
    cleaned = {
        "occurred": occurred,
        "reported": reported,
        "agency_ref": checks.reference(agency_ref, "--agency-ref"),
        "same_as": checks.whole(same_as, "--same-as"),
        "description": checks.text(description, "--description"),
        "complainant": checks.name(complainant, "--complainant"),
        "category": checks.text(category, "--category", limit=64, multiline=False),
        "hate": hate or None,
    }
    if reported < occurred:
        raise InvalidInput(
            f"--reported {reported.isoformat()} is before --occurred {occurred.isoformat()}; "
            "a complaint cannot be made before the behaviour",
            "order",
        )
    if hate and hate not in HATE_STRANDS:
        raise InvalidInput(not_one_of(hate, "a hate strand", HATE_STRANDS), "format")
    return cleaned


@retried
@needs(COMPLAINTS)
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
) -> models.Incident:
    fields = checked_complaint(
        occurred=occurred,
        reported=reported,
        agency_ref=agency_ref,
        hate=hate,
        same_as=same_as,
        description=description,
        complainant=complainant,
        category=category,
    )
    with changing(app, reference) as w:
        on = on_for_change(w.case, on)
        if w.case.state in machine.TERMINAL:
            raise GuardRefused(f"{w.case.reference} is {w.case.state}; it takes no new complaints")
        ag = find_agency(w.session, agency)
        if fields["agency_ref"] and reference_taken(w.session, ag, fields["agency_ref"]):
            raise InvalidInput(f"{ag.code} already has a complaint with reference {fields['agency_ref']!r}")
        incident = record_complaint(w, ag, on, **fields)
    return incident


def reference_taken(session: Session, agency: Agency, agency_ref: str) -> bool:
    """The agency already has a complaint (recorded or imported) under this reference of its own."""
    incident = t.incident.c
    found = session.execute(
        select(incident.id).where(incident.agency_id == agency.id, incident.agency_ref == agency_ref)
    ).first()
    return found is not None


def record_complaint(
    w: Work, agency: Agency, on: date, *, same_as: int | None = None, **fields
) -> models.Incident:
    """A checked complaint (`checked_complaint`) recorded on the case in hand, with its audit event."""
    if same_as is not None:
        original = w.session.get(models.Incident, same_as)
        if original is None or original.case_id != w.case.id:
            raise NotFound(f"--same-as {same_as}: no complaint {same_as} on {w.case.reference}")
    incident = models.Incident(
        partnership_id=w.case.partnership_id,
        case_id=w.case.id,
        victim_ref=w.case.victim_ref,
        agency_id=row_id(agency),
        same_as_id=same_as,
        **fields,
    )
    w.session.add(incident)
    w.session.flush()
    w.record("incident_add", on, detail={"incident": incident.id, "agency": agency.code, "same_as": same_as})
    return incident


def rules(pol: Policy) -> threshold.Rules:
    """The threshold rules of a policy."""
    return threshold.Rules(
        qualifying_complaints=pol.qualifying_complaints,
        hate_route=pol.hate_route,
        community_route=pol.community_route,
        community_individuals=pol.community_individuals,
        stricter_caveats=pol.stricter_caveats,
    )


def as_decided(session: Session, case: ReviewCase, pol: Policy, decision: decisions.Standing) -> dict:
    """The explanation the threshold decision recorded when it was made (what its letter and the
    chair's bundle give); for a decision recorded without one, the check over the complaints as they
    are now."""
    first = decision.original
    if first is not None and first.explanation:
        return json.loads(first.explanation)
    return explain(session, case, pol).as_dict()


def explain(session: Session, case: ReviewCase, pol: Policy) -> threshold.Explanation:
    """The threshold check over the complaints recorded on the case (read on the read tables, so a
    command that only checks or decides builds no complaint table: docs/architecture.md#speed)."""
    incident, agency = t.incident, t.agency
    rows = session.execute(
        incident.select()
        .add_columns(agency.c.code.label("agency_code"))
        .join(agency, agency.c.id == incident.c.agency_id)
        .where(incident.c.case_id == case.id)
        .order_by(incident.c.id)
    ).all()
    void = [
        threshold.Verdict(i.id, False, f"voided on {i.voided_on.isoformat()}: {i.void_reason}")
        for i in rows
        if i.voided_on is not None
    ]
    rows = [i for i in rows if i.voided_on is None]  # left out of every count
    found = [
        threshold.Complaint(
            id=i.id,
            occurred=i.occurred,
            reported=i.reported,
            agency=i.agency_code,
            hate=i.hate,
            same_as=i.same_as_id,
            complainant=i.complainant,
            category=i.category,
        )
        for i in rows
    ]
    explanation = threshold.evaluate(found, case.received, rules(pol))
    explanation.void = void
    return explanation


@needs(READ_CASE)
def check(app: App, reference: str) -> tuple[ReviewCase, threshold.Explanation, str | None]:
    """The threshold check over the case's complaints as they stand, and, for a decided case whose
    complaints were corrected since in a way that changes the check, the note saying so."""
    with app.read() as session:
        case = find_case(session, reference)
        explanation = explain(session, case, case_policy(session, case))
        return case, explanation, decisions.since_corrected(session, case, lambda: explanation)
