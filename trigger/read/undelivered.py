"""Reminders not delivered, as `show` and `trigger reminders status` list them: failed, retrying after
a failure, or being sent now (docs/architecture.md#deadlines-and-reminders).

A reminder is `failed` when the mail server refused it for good (5xx) or when it was still failing a day
after its first failure; one still being retried is `pending` with `first_failed_at` and
`next_attempt_at` set. Reporting them and putting them back is `trigger.deadlines.undelivered`.

Reads the Core tables (`trigger/store/tables.py`), so that `show` uses it without building the models
(docs/architecture.md#speed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import and_, func, or_, select

from trigger.rules.dates import iso_moment
from trigger.store import access
from trigger.store.access import READ, needs
from trigger.store.tables import applicant_notice as N
from trigger.store.tables import deadline as D
from trigger.store.tables import reminder as R
from trigger.store.tables import review_case as C

if TYPE_CHECKING:
    from trigger.store.app import App


_COLUMNS = (
    R.c.id,
    R.c.kind,
    R.c.recipient,
    R.c.status,
    R.c.attempts,
    R.c.last_error,
    R.c.failure,
    R.c.first_failed_at,
    R.c.next_attempt_at,
    R.c.reported_at,
    R.c.report_copied_at,
    D.c.kind.label("deadline_kind"),
    D.c.due,
    C.c.reference,
    C.c.partnership_id,
)


def reminder_rows(session, where):
    """The reminders matching `where`, of the cases the session sees (its partnership's)."""
    return session.execute(
        select(*_COLUMNS)
        .join(D, D.c.id == R.c.deadline_id)
        .join(C, C.c.id == D.c.case_id)
        .where(where, *access.case_filter(session))
        .order_by(C.c.reference, R.c.id)
    ).all()


def ours(session, where):
    """`where`, limited to the reminders of the cases the session sees (all of them when unscoped)."""
    visible = access.visible_cases(session)
    if visible is None:
        return where
    return and_(where, R.c.deadline_id.in_(select(D.c.id).where(D.c.case_id.in_(visible))))


def problem():
    return or_(
        R.c.status.in_(("failed", "claimed")),
        and_(R.c.status == "pending", R.c.first_failed_at.is_not(None)),
    )


def undelivered(session, case_id: int | None = None) -> list[dict]:
    """Reminders not (yet) delivered: failed, retrying after a failure, or being sent now."""
    where = problem()
    if case_id is not None:
        where = and_(where, D.c.case_id == case_id)
    out = []
    for r in reminder_rows(session, where):
        out.append(
            {
                "id": r.id,
                "reference": r.reference,
                "kind": r.kind,
                "deadline": r.deadline_kind,
                "due": r.due.isoformat(),
                "recipient": r.recipient,
                "status": {"failed": "failed", "claimed": "sending"}.get(r.status, "retrying"),
                "because": r.failure,
                "attempts": r.attempts,
                "last_error": r.last_error,
                "failing_since": iso_moment(r.first_failed_at),
                "next_attempt": iso_moment(r.next_attempt_at) if r.status == "pending" else None,
                "reported": r.reported_at is not None,
            }
        )
    return out


def undelivered_notices(session) -> list[dict]:
    """The applicant's notices not (yet) delivered, by case reference and channel (never the address):
    failed, or retrying after a failure (docs/operations.md#telling-the-applicant)."""
    failing = or_(N.c.status == "failed", and_(N.c.status == "pending", N.c.first_failed_at.is_not(None)))
    rows = session.execute(
        select(
            N.c.id, N.c.channel, N.c.status, N.c.attempts, N.c.last_error, N.c.next_attempt_at, C.c.reference
        )
        .join(C, C.c.id == N.c.case_id)
        .where(failing, *access.case_filter(session))
        .order_by(C.c.reference, N.c.id)
    ).all()
    return [
        {
            "id": r.id,
            "reference": r.reference,
            "channel": r.channel,
            "status": "failed" if r.status == "failed" else "retrying",
            "attempts": r.attempts,
            "last_error": r.last_error,
            "next_attempt": iso_moment(r.next_attempt_at) if r.status == "pending" else None,
        }
        for r in rows
    ]


@needs(READ)
def status(app: App) -> dict:
    """`trigger reminders status`: how many reminders stand in each state, and those not delivered."""
    with app.read() as session:
        counts = dict(
            session.execute(
                select(R.c.status, func.count())
                .where(ours(session, R.c.id.is_not(None)))
                .group_by(R.c.status)
            ).all()
        )
        visible = access.visible_cases(session)
        told = dict(
            session.execute(
                select(N.c.status, func.count())
                .where(*([] if visible is None else [N.c.case_id.in_(visible)]))
                .group_by(N.c.status)
            ).all()
        )
        states = ("pending", "claimed", "sent", "failed", "cancelled")
        return {
            "counts": {s: counts.get(s, 0) for s in states},
            "undelivered": undelivered(session),
            "notices": {
                "counts": {s: told.get(s, 0) for s in states},
                "undelivered": undelivered_notices(session),
            },
        }
