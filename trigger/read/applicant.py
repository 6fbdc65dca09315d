"""The applicant's own case page at the online door, as plain data (`case_page`): what a letter would
tell them and nothing more (docs/operations.md#the-applicants-link).

The page is reached by the applicant's private link (`trigger.cases.links`): everything here is read
for the case that link opens, never for a reference typed at the door. It holds the stage the case is
at and the day each stage was reached; nothing about other people (no officer's details beyond what
letters carry, no internal notes, no other complaint-maker).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from trigger.cases import links
from trigger.store.access import FOLLOW, needs
from trigger.store.app import App
from trigger.store.models import AuditEvent, ReviewCase, row_id
from trigger.store.partnerships import partnership_of

# the stages a case goes through, as the applicant is told them, and the stage of each state
STAGES = ("received", "threshold", "review", "outcome", "appeal", "closed")
STAGE_OF = {
    "received": "threshold",  # received, and the threshold is being decided
    "threshold_met": "review",
    "in_review": "review",
    "threshold_not_met": "outcome",  # the decision is the outcome of the application
    "outcome_issued": "outcome",
    "appealed": "appeal",
    "closed": "closed",
    "withdrawn": "closed",
}


@dataclass(frozen=True)
class Move:
    """A day the case changed: the state it went into (`received` for the day it arrived)."""

    on: date
    state: str


@dataclass(frozen=True)
class CasePage:
    reference: str
    partnership: str  # the partnership's code: its door's name, letterhead and contact
    language: str  # the applicant's language: the page's, unless they switch
    state: str
    stage: str  # one of STAGES
    history: tuple[Move, ...]


def _history(session: Session, case: ReviewCase) -> tuple[Move, ...]:
    moves = [Move(case.received, "received")]
    events = session.exec(
        select(AuditEvent)
        .where(AuditEvent.case_id == row_id(case), col(AuditEvent.to_state).is_not(None))
        .order_by(col(AuditEvent.seq))
    ).all()
    for e in events:
        if e.from_state is not None and e.to_state is not None and e.to_state != moves[-1].state:
            moves.append(Move(e.on, e.to_state))
    return tuple(moves)


@needs(FOLLOW)
def case_page(app: App, link_id: int) -> CasePage | None:
    """The page of the case the link opens, or None when the link no longer works (revoked, or the case
    ended longer ago than the policy keeps links open)."""
    with app.read() as session:
        case = links.usable(session, link_id)
        if case is None:
            return None
        home = partnership_of(session, case.partnership_id)
        return CasePage(
            reference=case.reference,
            partnership=home.code if home is not None else "",
            language=case.language,
            state=case.state,
            stage=STAGE_OF[case.state],
            history=_history(session, case),
        )
