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

from trigger import audit, schedule
from trigger.app import App, today
from trigger.errors import InvalidInput, NotFound
from trigger.models import Agency, AuditEvent, PolicySnapshot, ReviewCase, utcnow
from trigger.partnership import setting
from trigger.rules import policy as policies
from trigger.rules.policy import Policy
from workflows import machine

# -- policies ---------------------------------------------------------------------------------------


def default_policy(app: App, session: Session) -> Policy:
    """The policy a new case starts under: `--policy`, else the one chosen at `trigger init`."""
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


# -- finding things ---------------------------------------------------------------------------------


def find_case(session: Session, reference: str) -> ReviewCase:
    ref = reference.strip().upper()
    case = session.exec(select(ReviewCase).where(ReviewCase.reference == ref)).first()
    if case is None:
        raise NotFound(f"no case {reference!r}; `trigger list` shows the cases")
    return case


def find_agency(session: Session, code: str) -> Agency:
    agency = session.exec(select(Agency).where(Agency.code == code)).first()
    if agency is None:
        known = ", ".join(a.code for a in session.exec(select(Agency).order_by(Agency.code))) or "none yet"
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
