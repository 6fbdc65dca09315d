"""Corrections, never erasure (docs/architecture.md#corrections): a typo in an address, a complaint
recorded with the wrong date, an hours entry logged twice, an agency's new e-mail, a reviewer who goes
on leave. Each correction is one transaction with one audit event, and keeps what the value was, what
it became, why (`--reason`), who and when, in the `correction` table.

Personal values (names, addresses, complaint details) stay in that table, with the case, and are
purged with it; the audit event names the fields and the correction rows only. A complaint or hours
entry recorded in error is voided, never deleted: it stays on the record, with its reason, and is
left out of every count.

Corrections never move a case between states. When one changes what the threshold check says about a
decided case, `check` and `show` say so (`trigger.cases.decisions.since_corrected`) and the manager decides.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from trigger import checks
from trigger.cases import links
from trigger.codes import (
    AGENCY_KINDS,
    CHANNELS,
    HATE_STRANDS,
    LANGUAGES,
    PREFERRED_CONTACT,
    SWITCH,
    VICTIM_INVOLVEMENT,
    VICTIM_KINDS,
    not_one_of,
)
from trigger.errors import GuardRefused, InvalidInput, NotFound
from trigger.store import access, audit, models, schedule
from trigger.store.access import AGENCIES, COMPLAINTS, DECIDE, FOLLOW, REVIEW, needs
from trigger.store.app import App, today
from trigger.store.models import Action, Agency, AuditEvent, ReviewCase, row_id
from trigger.store.unit import Work, case_policy, changing, find_agency, not_future, on_for_change, retried
from workflows.machine import TERMINAL

NONE = "none"  # `--hate none`, `--same-as none`: the value is cleared


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def required_reason(reason: str | None) -> str:
    if not (reason or "").strip():
        raise InvalidInput("a correction needs the reason it is made (--reason TEXT)")
    return checks.words(reason, "--reason") or ""


def record_changes(
    session: Session,
    case: ReviewCase | None,
    subject: str,
    subject_id: int | None,
    changes: Sequence[tuple[str, object, object]],
    reason: str | None,
    on: date,
    actor: str,
) -> list[models.Correction]:
    rows = [
        models.Correction(
            case_id=case.id if case is not None else None,
            subject=subject,
            subject_id=subject_id,
            field=name,
            old_value=_text(old),
            new_value=_text(new),
            reason=reason,
            corrected_on=on,
            actor=actor,
        )
        for name, old, new in changes
    ]
    session.add_all(rows)
    session.flush()
    return rows


def stamp(rows: list[models.Correction], event: AuditEvent) -> list[models.Correction]:
    """Each correction row remembers the audit event that recorded it: its place in the history."""
    for r in rows:
        r.audit_seq = event.seq
    return rows


def detail(rows: list[models.Correction], **ids: Any) -> dict:
    """What the audit event carries: field names and row ids, never the values."""
    return {**ids, "fields": [r.field for r in rows], "corrections": [r.id for r in rows]}


def _not_purged(case: ReviewCase) -> None:
    if case.purged:
        raise GuardRefused(f"{case.reference} was purged under the retention policy; it cannot be corrected")


# -- the case ---------------------------------------------------------------------------------------


def _choice(codes: tuple[str, ...], what: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in codes:
            raise InvalidInput(not_one_of(value, what, codes))
        return value

    return check


def _name(option: str) -> Callable[[str], str | None]:
    return lambda value: checks.name(value, option)


def _line(option: str, limit: int = checks.SHORT_MAX) -> Callable[[str], str | None]:
    return lambda value: (checks.text(value, option, limit=limit, multiline=False) or "").strip()


def _long(option: str, limit: int = checks.TEXT_MAX) -> Callable[[str], str | None]:
    return lambda value: checks.words(value, option, limit=limit)


def _email(option: str) -> Callable[[str], str | None]:
    return lambda value: checks.email(value, option)


def _switch(value: str) -> bool:
    if value not in SWITCH:
        raise InvalidInput(not_one_of(value, "--notices", SWITCH))
    return value == "on"


# option -> (column, required (cannot be cleared), check); the same checks as when the case was logged
CASE_FIELDS: dict[str, tuple[str, bool, Callable[[Any], Any]]] = {
    "applicant": ("applicant_name", True, _name("--applicant")),
    "victim": ("victim_name", True, _name("--victim")),
    "victim_kind": ("victim_kind", True, _choice(VICTIM_KINDS, "a victim kind")),
    "victim_ref": ("victim_ref", False, lambda v: checks.reference(v, "--victim-ref")),
    "consent_date": ("consent_date", False, lambda d: not_future(d, "--consent-date")),
    "consent_method": ("consent_method", False, _line("--consent-method")),
    "received": ("received", True, lambda d: not_future(d, "--received")),
    "channel": ("channel", True, _choice(CHANNELS, "a channel")),
    "statement": ("statement", True, _long("--statement")),
    "address": ("address", False, _line("--address")),
    "postcode": ("postcode", False, _line("--postcode", 16)),
    "beat": ("beat", False, lambda v: checks.reference(v, "--beat", limit=checks.CODE_MAX)),
    "email": ("email", False, _email("--email")),
    "phone": ("phone", False, _line("--phone", 40)),
    "victim_address": ("victim_address", False, _line("--victim-address")),
    "victim_postcode": ("victim_postcode", False, _line("--victim-postcode", 16)),
    "victim_email": ("victim_email", False, _email("--victim-email")),
    "victim_phone": ("victim_phone", False, _line("--victim-phone", 40)),
    "language": ("language", True, _choice(LANGUAGES, "a language")),
    "preferred_contact": ("preferred_contact", False, _choice(PREFERRED_CONTACT, "a contact method")),
    "accessibility": ("accessibility", False, _long("--accessibility", checks.SHORT_MAX)),
    "vulnerability": ("vulnerability", False, _long("--vulnerability", checks.SHORT_MAX)),
    "spoc": ("spoc_name", False, _name("--spoc")),
    "spoc_email": ("spoc_email", False, _email("--spoc-email")),
    "involvement": ("victim_involvement", False, _choice(VICTIM_INVOLVEMENT, "a victim involvement")),
    # the applicant's notices that the case changed (docs/operations.md#telling-the-applicant)
    "notices": ("notices", True, _switch),
}


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _changes(row: Any, fields: dict, given: dict[str, Any]) -> list[tuple[str, str, Any, Any]]:
    """(option, column, old, new) for each value that differs; refuses a required field cleared."""
    out = []
    for name, value in given.items():
        if value is None:
            continue
        column, required, check = fields[name]
        if isinstance(value, str) and not value.strip():
            if required:
                raise InvalidInput(f"{_option(name)} cannot be cleared; give the corrected value")
            new = None
        else:
            new = check(value)
        old = getattr(row, column)
        if old == new:
            continue
        out.append((name, column, old, new))
    return out


@retried
@needs(DECIDE)
def update_case(
    app: App, reference: str, *, reason: str | None, on: date | None = None, **given: Any
) -> list[models.Correction]:
    """`trigger case update`: correct the case's own facts, each with its old and new value."""
    unknown = set(given) - set(CASE_FIELDS)
    if unknown:
        raise InvalidInput(f"cannot correct {', '.join(sorted(unknown))} with `case update`")
    if all(v is None for v in given.values()):
        raise InvalidInput("say what to correct, e.g. --address TEXT (see `trigger case update --help`)")
    why = required_reason(reason)
    with changing(app, reference) as w:
        _not_purged(w.case)
        on = on_for_change(w.case, on)
        changes = _changes(w.case, CASE_FIELDS, given)
        if not changes:
            raise InvalidInput(f"nothing to correct: {w.case.reference} already holds those values")
        for name, column, _old, new in changes:
            if name == "received":
                _check_received(w, new)
            if name == "involvement":
                w.case.involvement_on = on
            setattr(w.case, column, new)
        if w.case.applicant_name != w.case.victim_name and w.case.consent_date is None:
            # gov.uk guidance: a third party applies with the victim's consent
            raise InvalidInput(
                "with the applicant and the victim different people, the case needs the victim's consent "
                "date: give --consent-date too"
            )
        rows = record_changes(
            w.session, w.case, "case", w.case.id, [(n, o, v) for n, _c, o, v in changes], why, on, w.actor
        )
        if any(name == "victim_ref" for name, *_ in changes):
            rows += _complaints_follow(w, why, on)
        stamp(rows, w.record("case_update", on, reason=why, detail=detail(rows)))
    return rows


def _complaints_follow(w: Work, why: str, on: date) -> list[models.Correction]:
    """A complaint recorded on a case holds the case's victim id as a copy (`record_complaint`; an
    imported row, with an id of its own, never joins a case): corrected on the case, each complaint's
    follows, with its own correction row, in the same change."""
    rows: list[models.Correction] = []
    new = w.case.victim_ref
    for complaint in w.session.exec(
        select(models.Incident).where(models.Incident.case_id == w.case.id).order_by(col(models.Incident.id))
    ):
        if complaint.victim_ref == new:
            continue
        old, complaint.victim_ref = complaint.victim_ref, new
        w.session.add(complaint)
        rows += record_changes(
            w.session, w.case, "incident", complaint.id, [("victim_ref", old, new)], why, on, w.actor
        )
    return rows


@retried
@needs(FOLLOW)
def notices_online(app: App, link_id: int, wanted: bool) -> bool | None:
    """The applicant turns their notices on or off at their case page: recorded as `case update
    --notices` records it, by "applicant (online)". None when the link no longer opens the case."""
    with app.read() as session:
        case = links.usable(session, link_id)
        if case is None:
            return None
        reference, case_id = case.reference, case.id
    with changing(app, reference) as w:
        if w.case.id != case_id or links.usable(w.session, link_id) is None:
            return None
        if w.case.notices == wanted:
            return wanted  # already so (the form sent twice): nothing to record
        on = today()
        why = "asked on their case page"
        rows = record_changes(
            w.session, w.case, "case", w.case.id, [("notices", w.case.notices, wanted)], why, on, w.actor
        )
        w.case.notices = wanted
        stamp(rows, w.record("case_update", on, reason=why, detail=detail(rows)))
    return wanted


def _check_received(w: Work, received: date) -> None:
    first = w.session.exec(
        select(col(AuditEvent.on)).where(AuditEvent.case_id == w.case.id).order_by(col(AuditEvent.on))
    ).first()
    if first is not None and received > first:
        raise InvalidInput(
            f"--received {received.isoformat()} is after the case's first recorded event "
            f"({first.isoformat()})"
        )


# -- complaints ---------------------------------------------------------------------------------------


def _visible_incident(session: Session, incident_id: int) -> models.Incident | None:
    """A complaint the acting user may see (their partnership's), or None; its partnership is then the
    one whose agencies a correction names."""
    row = session.get(models.Incident, incident_id)
    if row is None:
        return None
    scope = access.scope_of(session)
    if scope is not None and row.partnership_id != scope:
        return None
    session.info["case_partnership"] = row.partnership_id
    return row


def _incident(session: Session, incident_id: int) -> models.Incident:
    row = _visible_incident(session, incident_id)
    if row is None:
        raise NotFound(f"no complaint {incident_id}; `trigger show REF` lists a case's complaints")
    if row.voided_on is not None:
        raise GuardRefused(f"complaint {incident_id} is void ({row.void_reason}); it cannot be corrected")
    return row


def _case_of(app: App, incident_id: int) -> str | None:
    with app.read() as session:
        row = _visible_incident(session, incident_id)
        if row is None:
            raise NotFound(f"no complaint {incident_id}; `trigger show REF` lists a case's complaints")
        if row.case_id is None:
            return None
        case = session.get(ReviewCase, row.case_id)
        return case.reference if case else None


@retried
@needs(COMPLAINTS)
def update_incident(
    app: App,
    incident_id: int,
    *,
    reason: str | None,
    occurred: date | None = None,
    reported: date | None = None,
    agency: str | None = None,
    agency_ref: str | None = None,
    hate: str | None = None,
    same_as: str | int | None = None,
    complainant: str | None = None,
    category: str | None = None,
    description: str | None = None,
    on: date | None = None,
) -> list[models.Correction]:
    """`trigger incident update`: correct a complaint; the threshold check reads the corrected values."""
    given = {
        "occurred": occurred,
        "reported": reported,
        "agency": agency,
        "agency_ref": agency_ref,
        "hate": hate,
        "same_as": same_as,
        "complainant": complainant,
        "category": category,
        "description": description,
    }
    if all(v is None for v in given.values()):
        raise InvalidInput("say what to correct, e.g. --reported DATE (see `trigger incident update --help`)")
    why = required_reason(reason)
    for day, name in ((occurred, "--occurred"), (reported, "--reported")):
        if day is not None:
            not_future(day, name)
    if hate is not None and hate != NONE and hate not in HATE_STRANDS:
        raise InvalidInput(not_one_of(hate, "a hate strand (or none)", HATE_STRANDS))
    checks.whole(incident_id, "the complaint id")
    if agency_ref and agency_ref.strip():
        agency_ref = checks.reference(agency_ref, "--agency-ref")
    if complainant and complainant.strip():
        complainant = checks.name(complainant, "--complainant")
    category = checks.text(category, "--category", limit=64, multiline=False)
    description = checks.text(description, "--description")
    if isinstance(same_as, int):
        checks.whole(same_as, "--same-as")

    def change(session: Session, case: ReviewCase | None, on: date, actor: str) -> list[models.Correction]:
        row = _incident(session, incident_id)
        new: dict[str, Any] = {}
        if occurred is not None:
            new["occurred"] = occurred
        if reported is not None:
            new["reported"] = reported
        if agency is not None:
            new["agency_id"] = find_agency(session, agency).id
        if agency_ref is not None:
            new["agency_ref"] = agency_ref.strip() or None
        if hate is not None:
            new["hate"] = None if hate == NONE else hate
        if same_as is not None:
            new["same_as_id"] = _same_as(session, row, same_as)
        for name, value in (
            ("complainant", complainant),
            ("category", category),
            ("description", description),
        ):
            if value is not None:
                new[name] = value.strip() or None
        when_occurred = new.get("occurred", row.occurred)
        when_reported = new.get("reported", row.reported)
        if when_reported < when_occurred:
            raise InvalidInput(
                f"the complaint would be reported ({when_reported.isoformat()}) before the behaviour "
                f"({when_occurred.isoformat()}); a complaint cannot be made before the behaviour"
            )
        agency_id = new.get("agency_id", row.agency_id)
        ref = new.get("agency_ref", row.agency_ref)
        if ("agency_id" in new or "agency_ref" in new) and ref:
            clash = session.exec(
                select(models.Incident).where(
                    models.Incident.agency_id == agency_id,
                    models.Incident.agency_ref == ref,
                    models.Incident.id != row.id,
                )
            ).first()
            if clash is not None:
                raise InvalidInput(f"complaint {clash.id} already has that agency's reference {ref!r}")
        codes = {a.id: a.code for a in session.exec(select(Agency))}
        changes = []
        for column, value in new.items():
            old = getattr(row, column)
            if old == value:
                continue
            name = {"agency_id": "agency", "same_as_id": "same_as"}.get(column, column)
            shown = (codes.get(old), codes.get(value)) if column == "agency_id" else (old, value)
            changes.append((name, *shown))
            setattr(row, column, value)
        if not changes:
            raise InvalidInput(f"nothing to correct: complaint {incident_id} already holds those values")
        session.add(row)
        rows = record_changes(session, case, "incident", row.id, changes, why, on, actor)
        stamp(
            rows,
            audit.record(
                session,
                case,
                "incident_update",
                actor=actor,
                on=on,
                reason=_logged_reason(case, why),
                detail=detail(rows, incident=row.id),
            ),
        )
        return rows

    return _on_incident(app, incident_id, on, change)


def _logged_reason(case: ReviewCase | None, why: str) -> str | None:
    """The reason an event carries: a case's events are sealed under its key; an event of no case is
    stored as written and kept for ever, so the reason for an imported row stays only in its correction
    rows, sealed under the row's log key and purged with it (docs/operations.md#erasure)."""
    return why if case is not None else None


def _same_as(session: Session, row: models.Incident, value: str | int) -> int | None:
    if str(value).strip().lower() == NONE:
        return None
    try:
        target_id = int(value)
    except ValueError:
        raise InvalidInput(f"--same-as {value!r} is not a complaint id (or none)") from None
    checks.whole(target_id, "--same-as")
    target = session.get(models.Incident, target_id)
    if (
        target is None
        or target.case_id != row.case_id
        or target.partnership_id != row.partnership_id  # another partnership's log is not there
        or target.id == row.id
    ):
        raise NotFound(f"--same-as {target_id}: no other complaint {target_id} on the same case")
    seen = {row.id}
    probe: models.Incident | None = target
    while probe is not None and probe.same_as_id is not None:  # a loop of links would count nothing
        if probe.same_as_id in seen:
            raise InvalidInput(f"--same-as {target_id} would link complaint {row.id} to itself")
        seen.add(probe.id)
        probe = session.get(models.Incident, probe.same_as_id)
    return target_id


@retried
@needs(COMPLAINTS)
def void_incident(
    app: App, incident_id: int, *, reason: str | None, on: date | None = None
) -> models.Correction:
    """`trigger incident void`: a complaint recorded in error stays on the record, with the reason, and
    is left out of every count (the threshold check, the scan)."""
    checks.whole(incident_id, "the complaint id")
    why = required_reason(reason)

    def change(session: Session, case: ReviewCase | None, on: date, actor: str) -> list[models.Correction]:
        row = _incident(session, incident_id)
        row.voided_on, row.void_reason = on, why
        session.add(row)
        rows = record_changes(session, case, "incident", row.id, [("void", None, why)], why, on, actor)
        stamp(
            rows,
            audit.record(
                session,
                case,
                "incident_void",
                actor=actor,
                on=on,
                reason=_logged_reason(case, why),
                detail=detail(rows, incident=row.id),
            ),
        )
        return rows

    return _on_incident(app, incident_id, on, change)[0]


def _on_incident(app: App, incident_id: int, on: date | None, change) -> list[models.Correction]:
    reference = _case_of(app, incident_id)
    if reference is None:  # an imported log's row, with no case
        on = not_future(on or today(), "--on")
        with app.write() as session:
            return change(session, None, on, app.actor)
    with changing(app, reference) as w:
        _not_purged(w.case)
        return change(w.session, w.case, on_for_change(w.case, on), w.actor)


# -- hours ------------------------------------------------------------------------------------------


@retried
@needs(REVIEW)
def void_hours(
    app: App, reference: str, entry: int, *, reason: str | None, on: date | None = None
) -> models.Correction:
    """`trigger hours void`: an hours entry logged in error, kept and left out of every total."""
    checks.whole(entry, "the hours entry")
    why = required_reason(reason)
    with changing(app, reference) as w:
        on = on_for_change(w.case, on)
        row = w.session.get(models.HoursEntry, entry)
        if row is None or row.case_id != w.case.id:
            raise NotFound(
                f"{w.case.reference} has no hours entry {entry}; `trigger show {w.case.reference}` lists them"
            )
        if row.voided_on is not None:
            raise GuardRefused(f"hours entry {entry} is already void ({row.void_reason})")
        row.voided_on, row.void_reason = on, why
        w.session.add(row)
        rows = record_changes(w.session, w.case, "hours", row.id, [("void", None, why)], why, on, w.actor)
        stamp(
            rows, w.record("hours_void", on, reason=why, detail=detail(rows, entry=row.id, hours=row.hours))
        )
    return rows[0]


# -- agencies ---------------------------------------------------------------------------------------


@retried
@needs(AGENCIES)
def update_agency(
    app: App,
    code: str,
    *,
    name: str | None = None,
    kind: str | None = None,
    email: str | None = None,
    reason: str | None = None,
) -> list[models.Correction]:
    """`trigger agency update`: an agency's name, kind or address; the reminders of its open cases go
    to the new address from now on."""
    if name is None and kind is None and email is None:
        raise InvalidInput("say what to change: --name, --kind or --email")
    if kind is not None and kind not in AGENCY_KINDS:
        raise InvalidInput(not_one_of(kind, "an agency kind", AGENCY_KINDS))
    if name is not None and not name.strip():
        raise InvalidInput("an agency needs a name; --name cannot be cleared")
    if name is not None:
        name = checks.name(name, "--name")
    if email is not None and email.strip():
        email = checks.email(email, "--email")
    why = checks.words(reason, "--reason")
    on = today()
    with app.write() as session:
        row = find_agency(session, code)
        changes = []
        for column, value in (("name", name and name.strip()), ("kind", kind), ("email", email)):
            if value is None:
                continue
            value = value.strip() or None if column == "email" else value
            if getattr(row, column) != value:
                changes.append((column, getattr(row, column), value))
                setattr(row, column, value)
        if not changes:
            raise InvalidInput(f"nothing to change: agency {code} already holds those values")
        session.add(row)
        rows = record_changes(session, None, "agency", row.id, changes, why, on, app.actor)
        stamp(
            rows,
            audit.record(
                session,
                None,
                "agency_update",
                actor=app.actor,
                on=on,
                reason=why,
                detail=detail(rows, agency=row.code),
                partnership_id=row.partnership_id,
            ),
        )
        if any(c[0] == "email" for c in changes):
            for case in _open_cases_of(session, row_id(row)):
                schedule.refresh(session, case, case_policy(session, case))
    return rows


def _open_cases_of(session: Session, agency_id: int) -> list[ReviewCase]:
    """Open cases whose reminders may go to the agency: as lead agency or an action's owner."""
    owned = select(Action.case_id).where(Action.owner_agency_id == agency_id)
    return list(
        session.exec(
            select(ReviewCase).where(
                col(ReviewCase.state).not_in(TERMINAL),
                (col(ReviewCase.lead_agency_id) == agency_id) | col(ReviewCase.id).in_(owned),
            )
        )
    )


# -- reading corrections back -------------------------------------------------------------------------
