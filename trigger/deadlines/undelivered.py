"""Reminders given up on: reported to each partnership's manager once, and put back by `trigger
reminders retry` (docs/architecture.md#deadlines-and-reminders). The listing is
`trigger.read.undelivered`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update

from trigger.deadlines import notices
from trigger.read.undelivered import ours, reminder_rows
from trigger.store import audit, mail
from trigger.store.access import REMINDERS, needs
from trigger.store.app import App
from trigger.store.partnerships import manager_address
from trigger.store.tables import deadline as D
from trigger.store.tables import reminder as R
from trigger.store.tables import review_case as C
from trigger.store.unit import default_policy, find_case, rows_matched

LONDON = ZoneInfo("Europe/London")


@dataclass
class Told:
    """How the manager was told of the reminders given up on: how many, by which channel, or why not."""

    count: int = 0
    via: str = ""
    error: str = ""


@needs(REMINDERS)
def report(app: App, channel, now: datetime) -> Told:
    """Tell each partnership's manager, once, of each of its reminders given up on: by the sweep's own
    channel, or by the outbox when that fails (SMTP itself down, or the manager's address refused
    too)."""
    told = Told()
    with app.read() as session:
        pids = sorted(
            {
                r.partnership_id
                for r in reminder_rows(session, and_(R.c.status == "failed", R.c.reported_at.is_(None)))
            }
        )
    for pid in pids:
        one = _report(app, channel, now, pid)
        told.count += one.count
        told.via = one.via or told.via
        told.error = one.error or told.error
    return told


def _report(app: App, channel, now: datetime, partnership_id: int) -> Told:
    told = Told()
    with app.write() as session:
        rows = reminder_rows(
            session,
            and_(R.c.status == "failed", R.c.reported_at.is_(None), C.c.partnership_id == partnership_id),
        )
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
        manager = manager_address(session, default_policy(app, session, partnership_id), partnership_id)
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


@needs(REMINDERS)
def retry(app: App, reference: str | None = None, on: date | None = None) -> int:
    """Put failed reminders back (and let those backing off go now): pending, a fresh run of attempts."""
    with app.write() as session:
        case = find_case(session, reference) if reference else None
        where = or_(R.c.status == "failed", and_(R.c.status == "pending", R.c.next_attempt_at.is_not(None)))
        if case is not None:
            where = and_(where, R.c.deadline_id.in_(select(D.c.id).where(D.c.case_id == case.id)))
        else:
            where = ours(session, where)
        count = rows_matched(
            session.execute(
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
            )
        )
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
