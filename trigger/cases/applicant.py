"""What the applicant does at their own case page (docs/operations.md#the-applicants-link): choose how
to take part in the review meeting, give a written statement before it, comment on the draft action
plan the reviewer shared, and appeal. Each is recorded by the use-case the officer's command calls,
with the actor "applicant (online)":

    choose how to take part     `trigger case update REF --involvement CHOICE --reason ...`
    a written statement         `trigger victim-statement REF --text ...`
    a comment on the draft plan `trigger consult REF --response ...`
    an appeal                   `trigger appeal REF --received TODAY --grounds G --detail ... [--late-reason]`

The case is the one the applicant's link opens (`trigger.cases.links.usable`), never a reference the
public types: a form that names another case, or comes through a link revoked or expired since, is
refused (`NotYours`) and records nothing.
"""

from __future__ import annotations

from sqlmodel import Session

from trigger import checks
from trigger.cases import corrections, duties, links, moves
from trigger.codes import INVOLVEMENT_LABELS, VICTIM_INVOLVEMENT
from trigger.errors import GuardRefused, InvalidInput, NotFound
from trigger.store.access import TAKE_PART, needs
from trigger.store.app import App, today
from trigger.store.models import Appeal, ReviewCase
from trigger.store.unit import case_policy
from workflows.machine import APPEALABLE_STATES

STATEMENT_MAX = checks.TEXT_MAX  # a statement, a comment, an appeal's words: about four pages
LATE_MAX = checks.SHORT_MAX  # why an appeal comes late


class NotYours(NotFound):
    """A form posted for a case the visit's link does not open (another case's reference, or a link
    that stopped working): nothing is recorded, and nothing is said about the other case."""


class Refused(InvalidInput):
    """Answers of the applicant's the form must ask again: each field refused, with why (`problem`:
    required, too_long, character) and a too-long text's limit; the first also as this error's own."""

    def __init__(self, *refusals: tuple[str, str, int | None]):
        _, problem, limit = refusals[0]
        super().__init__("; ".join(f"{f}: {p}" for f, p, _ in refusals), problem, limit)
        self.refusals = refusals


def _their_case(session: Session, link_id: int, reference: str | None) -> ReviewCase:
    case = links.usable(session, link_id)
    if case is None or (reference or "").strip().upper() != case.reference:
        raise NotYours("this form is not for the case the link opens")
    return case


def _reference(app: App, link_id: int, reference: str | None) -> tuple[str, ReviewCase]:
    with app.read() as session:
        case = _their_case(session, link_id, reference)
        return case.reference, case


def _words(value: str | None, field_name: str, limit: int = STATEMENT_MAX) -> str:
    try:
        return checks.required_words(value, field_name, limit=limit)
    except InvalidInput as exc:
        raise Refused((field_name, exc.problem or "required", exc.limit)) from None


def _checked(*answers: tuple[str, str | None, int]) -> list[str]:
    """Each (field, text, limit) checked as words; all the refusals at once."""
    out: list[str] = []
    refused: list[tuple[str, str, int | None]] = []
    for field_name, value, limit in answers:
        try:
            out.append(_words(value, field_name, limit))
        except Refused as exc:
            refused.extend(exc.refusals)
    if refused:
        raise Refused(*refused)
    return out


@needs(TAKE_PART)
def choose_involvement(app: App, link_id: int, reference: str | None, choice: str | None) -> None:
    """The applicant's choice of how to take part in the review meeting (2025 guidance), recorded as
    `case update --involvement` records it. The same choice again changes nothing."""
    if choice not in VICTIM_INVOLVEMENT:
        raise Refused(("involvement", "required", None))
    ref, case = _reference(app, link_id, reference)
    if case.state not in duties.BEFORE_OUTCOME:
        raise GuardRefused(f"{ref} is {case.state}: the review meeting is past")
    if case.victim_involvement == choice:
        return
    corrections.update_case(
        app,
        ref,
        reason=f"chosen by the applicant at their case page: {INVOLVEMENT_LABELS[choice]}",
        involvement=choice,
    )


@needs(TAKE_PART)
def give_statement(app: App, link_id: int, reference: str | None, text: str | None) -> None:
    """The applicant's written statement for the review meeting, as `trigger victim-statement` records it."""
    (words,) = _checked(("written_statement", text, STATEMENT_MAX))
    ref, _case = _reference(app, link_id, reference)
    duties.victim_statement(app, ref, on=None, text=words)


@needs(TAKE_PART)
def comment_on_plan(app: App, link_id: int, reference: str | None, text: str | None) -> None:
    """The applicant's comment on the draft action plan shared with them, recorded as the consultation
    `trigger consult --response` records (2025 guidance: consulted before the plan is final)."""
    (words,) = _checked(("comment", text, STATEMENT_MAX))
    ref, case = _reference(app, link_id, reference)
    with app.read() as session:
        if duties.plan_shared(session, case) is None:
            raise GuardRefused(f"the draft action plan of {ref} is not shared with the applicant")
    duties.consult(app, ref, on=None, response=words)


@needs(TAKE_PART)
def appeal(
    app: App,
    link_id: int,
    reference: str | None,
    grounds: str | None,
    text: str | None,
    late_reason: str | None,
) -> Appeal:
    """The applicant's appeal, lodged as `trigger appeal` lodges it, received today: within the window
    their ground and own words; after it, why it is late too (Sch 4 para 3; docs/procedure.md#appeals)."""
    with app.read() as session:
        case = _their_case(session, link_id, reference)
        if case.state not in APPEALABLE_STATES or moves.dismissed_appeal(session, case) is not None:
            raise GuardRefused(f"{case.reference} is {case.state}: there is nothing to appeal against now")
        pol = case_policy(session, case)
        allowed = pol.grounds_against("outcome" if case.state == "outcome_issued" else "threshold")
        last_day = moves.appeal_window_end(session, case, pol)
        ref = case.reference
    late = last_day is not None and today() > last_day
    answers = [("detail", text, STATEMENT_MAX)] + ([("late_reason", late_reason, LATE_MAX)] if late else [])
    refused: list[tuple[str, str, int | None]] = [] if grounds in allowed else [("grounds", "required", None)]
    try:
        checked = _checked(*answers)
    except Refused as exc:
        refused.extend(exc.refusals)
    if refused:
        raise Refused(*refused)
    return moves.lodge_appeal(
        app,
        ref,
        received=today(),
        grounds=grounds or "",
        detail=checked[0],
        late_reason=checked[1] if late else None,
        on=None,
    )
