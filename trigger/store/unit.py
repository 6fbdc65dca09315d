"""The unit of work: one change to one case is one transaction holding the change, its audit event and
the case's refreshed deadlines (`changing`). Also what every use-case needs to find its way: a case
or an agency by its code, the checks on an `--on` date, the database's settings and the policy a case
runs under.

This is the public core the use-case packages (`trigger.cases`, `trigger.correspondence`,
`trigger.intake`, `trigger.deadlines`...) share; they import it, never each other's private helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import CursorResult, Integer, Result, Select, bindparam, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from trigger import checks
from trigger.errors import ConcurrentChange, InvalidInput, NotFound, Retry
from trigger.store import access, audit, schedule, seal, telling
from trigger.store import tables as t
from trigger.store.app import App, retried, today, writers_lock
from trigger.store.models import Agency, AuditEvent, ReviewCase, row_id, utcnow

__all__ = ["retried", "writers_lock"]  # re-exported: the use-case modules take them from here
from trigger.rules import policy as policies
from trigger.rules.policy import Policy
from trigger.store.partnerships import partnership_of
from workflows import machine

# -- policies ---------------------------------------------------------------------------------------


def default_policy(
    app: App, session: Session, partnership_id: int | None = None, known: Policy | None = None
) -> Policy:
    """The policy a new case starts under: `--policy`, else its partnership's (the one chosen at
    `trigger init` or `trigger partnership add`); `known`, when it was loaded from that file (read
    before the change joined the writers' queue: `load_ahead`)."""
    if app.policy_override:
        name = app.policy_override
    else:
        row = partnership_of(session, partnership_id)
        name = row.policy if row is not None else "llr"
    if known is not None and known.path == str(policies.resolve(name)):
        return known
    return policies.load(name)


def case_policy(session: Session, case: ReviewCase, known: Policy | None = None) -> Policy:
    """The policy version the case started under, from its stored snapshot (`known`, when it is that
    snapshot's, already parsed: `load_ahead`)."""
    stored = session.execute(
        _statements()["snapshot"], {"name": case.policy_name, "version": case.policy_version}
    ).first()
    if stored is None:
        return policies.load(case.policy_name)
    where = f"{case.policy_name} {case.policy_version} (as stored)"
    if known is not None and known.text == stored.text and known.path == where:
        return known
    return policies.parse(stored.text, where)


@cache
def _statements() -> dict[str, Select[Any]]:
    """The reads every change of a case makes, built once per process (and so their cache keys): the
    stored policy text (`name`, `version`), the case's newest event and its row's version (`cid`)."""
    snap, ev, case = t.policy_snapshot, t.audit_event, t.review_case
    cid = bindparam("cid", type_=Integer())
    return {
        "snapshot": sa_select(snap.c.text)
        .where(snap.c.name == bindparam("name"), snap.c.version == bindparam("version"))
        .limit(1),
        "last_event": sa_select(func.max(ev.c.seq)).where(ev.c.case_id == cid),
        "version": sa_select(case.c.version).where(case.c.id == cid),
    }


def load_ahead(policy: Policy) -> Policy:
    """Load what a change under `policy` needs that is slow to load (its bank holidays, the cipher
    that seals the audit log's text) before the change joins the writers' queue, so that its turn is
    spent on the database alone (docs/architecture.md#optimistic-locking)."""
    policy.calendar()
    seal.ready()
    return policy


def _policy_of_case(app: App, reference: str) -> Policy:
    """The policy a case runs under, read outside any write transaction, with what it needs loaded
    (`load_ahead`)."""
    app.require_schema(writing=True)  # a database the code must not write is refused before it is read
    with app.read() as session:
        return load_ahead(case_policy(session, find_case(session, reference)))


def policy_of_new_case(app: App) -> Policy:
    """The policy a new case would start under, read outside any write transaction, with what it
    needs loaded (`load_ahead`)."""
    app.require_schema(writing=True)
    with app.read() as session:
        home = partnership_of(session)
        return load_ahead(default_policy(app, session, home.id if home is not None else None))


# -- finding things ---------------------------------------------------------------------------------


def find_case(session: Session, reference: str) -> ReviewCase:
    """A case by its reference, among the cases the acting user sees (another partnership's cases are
    not there for them); then what the user may do with it (`trigger.store.access.case_check`)."""
    checks.text(reference, "the case reference", limit=32, multiline=False)
    ref = reference.strip().upper()
    seen = access.case_filter(session, ReviewCase, one=True)
    case = session.exec(select(ReviewCase).where(ReviewCase.reference == ref, *seen)).first()
    if case is None:
        raise NotFound(f"no case {reference!r}; `trigger list` shows the cases")
    access.case_check(session, case)
    return case


def find_agency(session: Session, code: str) -> Agency:
    """An agency of the partnership in hand (the case's, or the acting one's) by its code, ignoring case
    (`CBC` is `cbc`)."""
    checks.text(code, "the agency code", limit=checks.CODE_MAX, multiline=False)
    mine = Agency.partnership_id == access.acting_partnership(session)
    agency = session.exec(
        select(Agency).where(func.lower(Agency.code) == checks.code_key(code), mine)
    ).first()
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
    checks.year_ok(day, what)
    if day > today():
        raise InvalidInput(f"{what} {day.isoformat()} is in the future; give the day it happened", "future")
    return day


def not_far_ahead(day: date, what: str) -> date:
    """A date that may lie ahead (a meeting, a due date), but not absurdly far."""
    return checks.not_far_ahead(day, what, today())


def not_before_receipt(case: ReviewCase, day: date, what: str) -> date:
    """Nothing about a case happens before the case was received."""
    if day < case.received:
        raise InvalidInput(
            f"{what} {day.isoformat()} is before the case was received ({case.received.isoformat()})"
        )
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
    before_commit: list[Callable[[], None]] = field(default_factory=list)

    def record(self, event: str, on: date, **kw) -> AuditEvent:
        return audit.record(self.session, self.case, event, actor=self.actor, on=on, **kw)

    def lock(self) -> None:
        """Take the writers' lock now (before allocating a number from what is stored); the case's
        version is checked at that moment (see `changing`)."""
        writers_lock(self.session)

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


def rows_matched(result: Result) -> int:
    """How many rows an UPDATE run through a Session matched. Session.execute is typed to return a plain
    Result; an UPDATE's is a CursorResult, which carries the count."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"not the result of an UPDATE or DELETE: {type(result).__name__}")
    return result.rowcount


def last_event(session: Session, case_id: int) -> int:
    """The newest audit event of a case: it moves whenever anything about the case changes."""
    return session.execute(_statements()["last_event"], {"cid": case_id}).scalar() or 0


def _version_check(case: ReviewCase, version: int | None, seen: int) -> Callable[[Session], None]:
    """docs/architecture.md#optimistic-locking: run when the writers' lock is taken. The case row (its
    version) and the case's newest event are read again, now that no other writer can move them:
    - the case row changed and this command changes it too (the same move, the same edit by two
      people at once): "changed by someone else", nothing saved;
    - the case row changed under an addition (hours, a finding, an action...): the command runs
      again on the fresh case (`Retry`), so its checks see the case as it now is;
    - only other things about the case changed (another person's addition) while this command moves
      the case: it runs again too, so the move is judged on every fact as it now stands."""

    def check(session: Session) -> None:
        now = session.connection().execute(_statements()["version"], {"cid": case.id}).scalar()
        moving = case in session.dirty and session.is_modified(case)
        if now != version:
            if moving:
                raise ConcurrentChange(
                    "this case was changed by someone else while you worked; reload it "
                    f"(`trigger show {case.reference}`) and try again"
                )
            raise Retry(f"{case.reference} was changed by someone else at the same moment; try again")
        if moving and last_event(session, row_id(case)) != seen:
            raise Retry(f"{case.reference} was changed by someone else at the same moment; try again")

    return check


@contextmanager
def changing(app: App, reference: str, policy: Policy | None = None) -> Iterator[Work]:
    """Load a case for change; then, in one transaction: the change, its audit event, the case's
    refreshed deadlines, the notice the applicant is owed (`trigger.store.telling`), and whatever must
    happen just before the commit (`Work.before_commit`: a letter's file put in place). The case's
    version (optimistic lock) moves only when the case row itself changes (a move, an edit of the
    case); an addition to the case leaves it alone, so two people adding to one case never clash
    (docs/architecture.md#optimistic-locking). The case's policy is read first, outside the
    transaction (`_policy_of_case`, or `policy` when the caller has it already).

    Use-case functions that use this are wrapped in `retried`."""
    known = load_ahead(policy) if policy is not None else _policy_of_case(app, reference)
    with app.write() as session:
        case = find_case(session, reference)
        work = Work(session, case, case_policy(session, case, known), app.actor)
        stage = telling.stage_of(case)
        session.info.setdefault("on_lock", []).append(
            _version_check(case, case.version, last_event(session, row_id(case)))
        )
        yield work
        work.lock()
        if session.is_modified(case):
            case.updated_at = utcnow()
            session.add(case)
        session.flush()  # the version check happens here: a stale writer gets ConcurrentChange
        telling.queue(session, case, stage, work.policy.welsh)
        schedule.refresh(session, case, work.policy)
        session.flush()
        for step in work.before_commit:
            step()
