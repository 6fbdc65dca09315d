"""The unit of work: one change to one case is one transaction holding the change, its audit event and
the case's refreshed deadlines (`changing`). Also what every use-case needs to find its way: a case
or an agency by its code, the checks on an `--on` date, the database's settings and the policy a case
runs under.

This is the public core the use-case modules (`cases`, `complaints`, `review`, `correspondence`,
...) share; they import it, never each other's private helpers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from trigger import access, audit, schedule
from trigger.app import App, today
from trigger.errors import InvalidInput, NotFound
from trigger.models import Agency, AuditEvent, PolicySnapshot, ReviewCase, utcnow
from trigger.partnership import partnership_of
from trigger.rules import policy as policies
from trigger.rules.policy import Policy
from workflows import machine

# -- policies ---------------------------------------------------------------------------------------


def default_policy(app: App, session: Session, partnership_id: int | None = None) -> Policy:
    """The policy a new case starts under: `--policy`, else its partnership's (the one chosen at
    `trigger init` or `trigger partnership add`)."""
    if app.policy_override:
        return policies.load(app.policy_override)
    row = partnership_of(session, partnership_id)
    return policies.load(row.policy if row is not None else "llr")


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


# -- finding things ---------------------------------------------------------------------------------


def find_case(session: Session, reference: str) -> ReviewCase:
    """A case by its reference, among the cases the acting user sees (another partnership's cases are
    not there for them); then what the user may do with it (`trigger.access.case_check`)."""
    ref = reference.strip().upper()
    seen = access.case_filter(session, ReviewCase, one=True)
    case = session.exec(select(ReviewCase).where(ReviewCase.reference == ref, *seen)).first()
    if case is None:
        raise NotFound(f"no case {reference!r}; `trigger list` shows the cases")
    access.case_check(session, case)
    return case


def find_agency(session: Session, code: str) -> Agency:
    """An agency of the partnership in hand (the case's, or the acting one's) by its code."""
    mine = Agency.partnership_id == access.acting_partnership(session)
    agency = session.exec(select(Agency).where(Agency.code == code, mine)).first()
    if agency is None:
        known = (
            ", ".join(a.code for a in session.exec(select(Agency).where(mine).order_by(Agency.code)))
            or "none yet"
        )
        raise NotFound(
            f"no agency with code {code!r}; known agencies: {known} (add one with `trigger agency add`)"
        )
    return agency


# -- dates ------------------------------------------------------------------------------------------


def not_future(day: date, what: str) -> date:
    if day > today():
        raise InvalidInput(f"{what} {day.isoformat()} is in the future; give the day it happened")
    return day


def on_for_change(case: ReviewCase, on: date | None) -> date:
    """The `--on` of a change to a case: not in the future, not before the case was received."""
    on = not_future(on or today(), "--on")
    if on < case.received:
        raise InvalidInput(
            f"--on {on.isoformat()} is before the case was received ({case.received.isoformat()})"
        )
    return on


def on_for_move(case: ReviewCase, on: date | None) -> date:
    """The `--on` of a move between states: also never before the case's previous move."""
    on = on_for_change(case, on)
    if on < case.state_changed:
        raise InvalidInput(
            f"--on {on.isoformat()} is before the case's previous move ({case.state_changed.isoformat()})"
        )
    return on


# -- the unit of work around one case --------------------------------------------------------------


@dataclass
class Work:
    session: Session
    case: ReviewCase
    policy: Policy
    actor: str

    def record(self, event: str, on: date, **kw) -> AuditEvent:
        return audit.record(self.session, self.case, event, actor=self.actor, on=on, **kw)

    def move(
        self,
        trigger: str,
        on: date,
        facts: machine.Facts,
        reason: str | None = None,
        detail: dict | None = None,
    ) -> str:
        """Apply a workflow move judged on `facts`, and record it."""
        before = self.case.state
        after = machine.fire(before, trigger, facts)
        self.case.state = after
        self.case.state_changed = on
        self.record(trigger, on, from_state=before, to_state=after, reason=reason, detail=detail)
        return after


@contextmanager
def changing(app: App, reference: str) -> Iterator[Work]:
    """Load a case for change; on success bump its version (optimistic lock), refresh its deadlines
    and commit, all in one transaction."""
    with app.write() as session:
        case = find_case(session, reference)
        work = Work(session, case, case_policy(session, case), app.actor)
        yield work
        case.updated_at = utcnow()
        session.add(case)
        session.flush()  # the version check happens here: a stale writer gets ConcurrentChange
        schedule.refresh(session, case, work.policy)
