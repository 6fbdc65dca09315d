"""Reminders not delivered: reported to the manager once, listed by `trigger reminders status` and
`show`, put back by `trigger reminders retry` (docs/architecture.md#deadlines-and-reminders).

A reminder is `failed` when the mail server refused it for good (5xx) or when it was still failing a day
after its first failure; one still being retried is `pending` with `first_failed_at` and
`next_attempt_at` set.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlmodel import Session

from trigger import audit
from trigger.app import App
from trigger.models import Deadline, Reminder, ReviewCase
from trigger.partnership import manager_address
from trigger.unit import default_policy, find_case

LONDON = ZoneInfo("Europe/London")


def _failed_rows(session: Session, where):
    return session.execute(
        select(Reminder, Deadline.kind, Deadline.due, ReviewCase.reference)
        .join(Deadline, Deadline.id == Reminder.deadline_id)
        .join(ReviewCase, ReviewCase.id == Deadline.case_id)
        .where(where)
        .order_by(ReviewCase.reference, Reminder.id)
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

    told = Told()
    with app.write() as session:
        rows = _failed_rows(session, and_(Reminder.status == "failed", Reminder.reported_at.is_(None)))
        if not rows:
            return told
        ids = [r.id for r, *_ in rows]
        taken = set(
            session.execute(  # compare-and-set: two runners never report one failure twice
                update(Reminder)
                .where(Reminder.id.in_(ids), Reminder.reported_at.is_(None))
                .values(reported_at=now)
                .returning(Reminder.id)
            ).scalars()
        )
        manager = manager_address(session, default_policy(app, session))
    items = [
        notices.Undelivered(
            ref,
            r.kind,
            dkind,
            due,
            r.recipient,
            r.last_error or "",
            r.failure == "refused",
            r.first_failed_at and r.first_failed_at.replace(tzinfo=UTC),
        )
        for r, dkind, due, ref in rows
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
            session.execute(update(Reminder).where(Reminder.id.in_(list(taken))).values(reported_at=None))
    return told


def _problem():
    return or_(
        Reminder.status.in_(("failed", "claimed")),
        and_(Reminder.status == "pending", Reminder.first_failed_at.is_not(None)),
    )


def undelivered(session: Session, case_id: int | None = None) -> list[dict]:
    """Reminders not (yet) delivered: failed, retrying after a failure, or being sent now."""
    where = _problem()
    if case_id is not None:
        where = and_(where, Deadline.case_id == case_id)
    out = []
    for r, dkind, due, ref in _failed_rows(session, where):
        state = {"failed": "failed", "claimed": "sending"}.get(r.status, "retrying")
        out.append(
            {
                "id": r.id,
                "reference": ref,
                "kind": r.kind,
                "deadline": dkind,
                "due": due.isoformat(),
                "recipient": r.recipient,
                "status": state,
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
        counts = dict(session.execute(select(Reminder.status, func.count()).group_by(Reminder.status)).all())
        return {
            "counts": {s: counts.get(s, 0) for s in ("pending", "claimed", "sent", "failed", "cancelled")},
            "undelivered": undelivered(session),
        }


def retry(app: App, reference: str | None = None, on: date | None = None) -> int:
    """Put failed reminders back (and let those backing off go now): pending, a fresh run of attempts."""
    with app.write() as session:
        case = find_case(session, reference) if reference else None
        where = or_(
            Reminder.status == "failed",
            and_(Reminder.status == "pending", Reminder.next_attempt_at.is_not(None)),
        )
        if case is not None:
            where = and_(
                where, Reminder.deadline_id.in_(select(Deadline.id).where(Deadline.case_id == case.id))
            )
        count = session.execute(
            update(Reminder)
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
