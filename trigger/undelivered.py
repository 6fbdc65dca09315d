"""Reminders not delivered: reported to the manager once, listed by `trigger reminders status` and
`show`, put back by `trigger reminders retry` (docs/architecture.md#deadlines-and-reminders).

A reminder is `failed` when the mail server refused it for good (5xx) or when it was still failing a day
after its first failure; one still being retried is `pending` with `first_failed_at` and
`next_attempt_at` set.

The listing reads the Core tables (`trigger/tables.py`) so that `show` can use it without building the
models (docs/architecture.md#speed); reporting and retrying, which write, import what they need when called.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update

from trigger.tables import deadline as D
from trigger.tables import reminder as R
from trigger.tables import review_case as C

if TYPE_CHECKING:
    from trigger.app import App

LONDON = ZoneInfo("Europe/London")


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
    D.c.kind.label("deadline_kind"),
    D.c.due,
    C.c.reference,
)


def _rows(session, where):
    return session.execute(
        select(*_COLUMNS)
        .join(D, D.c.id == R.c.deadline_id)
        .join(C, C.c.id == D.c.case_id)
        .where(where)
        .order_by(C.c.reference, R.c.id)
    ).all()


@dataclass
class Told:
    """How the manager was told of the reminders given up on: how many, by which channel, or why not."""

    count: int = 0
    via: str = ""
    error: str = ""


def report(app: App, channel, now: datetime) -> Told:
    """Tell the manager, once, of each reminder given up on: by the sweep's own channel, or by the
    outbox when that fails (SMTP itself down, or the manager's address refused too)."""
    from trigger import mail, notices
    from trigger.partnership import manager_address
    from trigger.unit import default_policy

    told = Told()
    with app.write() as session:
        rows = _rows(session, and_(R.c.status == "failed", R.c.reported_at.is_(None)))
        if not rows:
            return told
        taken = set(
            session.execute(  # compare-and-set: two runners never report one failure twice
                update(R)
                .where(R.c.id.in_([r.id for r in rows]), R.c.reported_at.is_(None))
                .values(reported_at=now)
                .returning(R.c.id)
            ).scalars()
        )
        manager = manager_address(session, default_policy(app, session))
    items = [
        notices.Undelivered(
            r.reference,
            r.kind,
            r.deadline_kind,
            r.due,
            r.recipient,
            r.last_error or "",
            r.failure == "refused",
            r.first_failed_at and r.first_failed_at.replace(tzinfo=UTC),
        )
        for r in rows
        if r.id in taken
    ]
    if not items:
        return told
    mail_from = getattr(channel, "mail_from", None) or mail.sender(smtp=False)
    stamp = now.strftime("%Y%m%dT%H%M%S")
    msg = notices.failure_report(items, manager or None, mail_from, idstring=f"undelivered-{stamp}")
    name = f"undelivered-{stamp}-{uuid.uuid4().hex[:6]}"
    if manager and isinstance(channel, mail.Smtp) and channel.broken is None:
        try:
            channel.send(msg, name)
            told.count, told.via = len(items), channel.describe()
            return told
        except Exception:  # noqa: BLE001 - SMTP is failing too: the outbox below
            pass
    try:
        outbox = mail.Outbox(mail.outbox_dir())
        outbox.send(msg, name)
        told.count, told.via = len(items), outbox.describe()
    except OSError as exc:
        told.error = f"could not write the failure report to the outbox: {exc}"
        with app.write() as session:  # not told: try again next run
            session.execute(update(R).where(R.c.id.in_(list(taken))).values(reported_at=None))
    return told


def _problem():
    return or_(
        R.c.status.in_(("failed", "claimed")),
        and_(R.c.status == "pending", R.c.first_failed_at.is_not(None)),
    )


def undelivered(session, case_id: int | None = None) -> list[dict]:
    """Reminders not (yet) delivered: failed, retrying after a failure, or being sent now."""
    where = _problem()
    if case_id is not None:
        where = and_(where, D.c.case_id == case_id)
    out = []
    for r in _rows(session, where):
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
                "failing_since": _iso(r.first_failed_at),
                "next_attempt": _iso(r.next_attempt_at) if r.status == "pending" else None,
                "reported": r.reported_at is not None,
            }
        )
    return out


def _iso(moment: datetime | None) -> str | None:
    return moment.replace(tzinfo=UTC).isoformat(timespec="seconds") if moment else None


def status(app: App) -> dict:
    """`trigger reminders status`: how many reminders stand in each state, and those not delivered."""
    with app.read() as session:
        counts = dict(session.execute(select(R.c.status, func.count()).group_by(R.c.status)).all())
        return {
            "counts": {s: counts.get(s, 0) for s in ("pending", "claimed", "sent", "failed", "cancelled")},
            "undelivered": undelivered(session),
        }


def retry(app: App, reference: str | None = None, on: date | None = None) -> int:
    """Put failed reminders back (and let those backing off go now): pending, a fresh run of attempts."""
    from trigger import audit
    from trigger.unit import find_case

    with app.write() as session:
        case = find_case(session, reference) if reference else None
        where = or_(R.c.status == "failed", and_(R.c.status == "pending", R.c.next_attempt_at.is_not(None)))
        if case is not None:
            where = and_(where, R.c.deadline_id.in_(select(D.c.id).where(D.c.case_id == case.id)))
        count = session.execute(
            update(R)
            .where(where)
            .values(
                status="pending",
                attempts=0,
                next_attempt_at=None,
                first_failed_at=None,
                failure=None,
                reported_at=None,
            )
        ).rowcount
        if count:
            audit.record(
                session,
                case,
                "reminders_retry",
                actor=app.actor,
                on=on or datetime.now(LONDON).date(),
                detail={"count": count},
            )
    return count
