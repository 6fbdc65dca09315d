"""Reminders given up on: reported to each partnership's manager once, and put back by `trigger
reminders retry` (docs/architecture.md#deadlines-and-reminders). The listing is
`trigger.read.undelivered`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update

from letters.words import plural
from trigger.deadlines import notices
from trigger.deadlines.dbclock import clock
from trigger.read.undelivered import ours, reminder_rows
from trigger.store import audit, mail, notify
from trigger.store.access import REMINDERS, needs
from trigger.store.app import App
from trigger.store.partnerships import manager_address
from trigger.store.tables import deadline as D
from trigger.store.tables import reminder as R
from trigger.store.tables import review_case as C
from trigger.store.unit import default_policy, find_case, rows_matched

LONDON = ZoneInfo("Europe/London")


REPORT_MARGIN = 60.0  # seconds a report's claim lasts beyond the longest its send may take


@dataclass
class Told:
    """How the manager was told of the reminders given up on: how many, by which channel, or why not
    (`owed`: the report could not be sent by mail this time; it will be when mail works again)."""

    count: int = 0
    via: str = ""
    error: str = ""
    owed: str = ""


@needs(REMINDERS)
def report(app: App, channel, now: datetime) -> Told:
    """Tell each partnership's manager, once, of each of its reminders given up on, by the sweep's
    channel (SMTP or GOV.UK Notify). When it fails for now (no connection, a 4xx) a copy goes to the
    outbox and the report stays owed, sent by the next run whose mail works (once, whichever runner
    takes it: a claim on the database's clock). When the manager's address is refused for good, when
    the manager has none, or when the outbox is the channel, the outbox copy is the report."""
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
        told.owed = one.owed or told.owed
    return told


def _unreported():
    return and_(R.c.status == "failed", R.c.reported_at.is_(None))


def _report(app: App, channel, now: datetime, partnership_id: int) -> Told:
    told = Told()
    lease = float(getattr(channel, "timeout", 0) or 0) + REPORT_MARGIN
    with app.write() as session:
        free = or_(R.c.report_claim_until.is_(None), R.c.report_claim_until < clock(session))
        rows = reminder_rows(session, and_(_unreported(), free, C.c.partnership_id == partnership_id))
        if not rows:
            return told
        taken = set(
            session.execute(  # compare-and-set: two runners never report one failure twice
                update(R)
                .where(R.c.id.in_([r.id for r in rows]), _unreported(), free)
                .values(report_claim_until=clock(session, lease))
                .returning(R.c.id)
            ).scalars()
        )
        manager = manager_address(session, default_policy(app, session, partnership_id), partnership_id)
    rows = [r for r in rows if r.id in taken]
    if not rows:
        return told
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
    ]
    mail_from = getattr(channel, "mail_from", None) or mail.sender(smtp=False)
    stamp = now.strftime("%Y%m%dT%H%M%S")
    msg = notices.failure_report(items, manager or None, mail_from, idstring=f"undelivered-{stamp}")
    # named after the failures it reports (each reminder and when its failing began): GOV.UK Notify finds
    # a report whose answer was lost by it and does not send it twice; two reports never share it
    failures = ",".join(f"{r.id}@{r.first_failed_at}" for r in sorted(rows, key=lambda r: r.id))
    name = f"undelivered-{hashlib.sha256(failures.encode()).hexdigest()[:16]}"
    why = ""
    if manager and isinstance(channel, mail.Smtp | notify.Notify):
        try:
            channel.send(msg, name)
        except Exception as exc:  # noqa: BLE001 - said below, and the report kept or copied to the outbox
            failure = mail.classify(exc)
            why = failure.text
            if not failure.permanent:  # mail is down for now: owed, sent when it works again
                return _owed(app, rows, msg, name, now, why, told)
        else:
            _settle(app, taken, reported_at=now)
            told.count, told.via = len(items), channel.describe()
            return told
    try:
        outbox = mail.Outbox(mail.outbox_dir())
        outbox.send(msg, name)
    except OSError as exc:
        told.error = f"could not write the failure report to the outbox: {exc}"
        _settle(app, taken)  # not told: try again next run
        return told
    _settle(app, taken, reported_at=now)
    told.count, told.via = (
        len(items),
        outbox.describe() + (f" (the mail server refused it: {why})" if why else ""),
    )
    return told


def _owed(app: App, rows, msg, name: str, now: datetime, why: str, told: Told) -> Told:
    """The report could not be mailed: a copy in the outbox (once per failure, not at every run while
    mail is down), and the claim given back so that the next run with working mail sends it."""
    fresh = [r.id for r in rows if r.report_copied_at is None]
    where = ""
    if fresh:
        try:
            outbox = mail.Outbox(mail.outbox_dir())
            where = f"; a copy is in the outbox ({outbox.folder / outbox.send(msg, name)})"
        except OSError as exc:
            where = f"; no copy could be written to the outbox either ({exc})"
            fresh = []
    _settle(app, {r.id for r in rows}, copied=fresh, copied_at=now)
    told.owed = (
        f"the report of {plural(len(rows), '{n} undelivered reminder', '{n} undelivered reminders')} "
        "could not be mailed to the manager "
        f"({why}){where}; it will be sent when mail works again"
    )
    return told


def _settle(app: App, taken: set[int], *, reported_at=None, copied=(), copied_at=None) -> None:
    """End this runner's claim on the reports: told (`reported_at`), or owed, with the rows just
    copied to the outbox marked so."""
    with app.write() as session:
        held = and_(R.c.id.in_(list(taken)), _unreported())  # not put back by `retry` meanwhile
        if reported_at is not None:
            session.execute(update(R).where(held).values(reported_at=reported_at, report_claim_until=None))
            return
        session.execute(update(R).where(held).values(report_claim_until=None))
        if copied:
            session.execute(
                update(R).where(held, R.c.id.in_(list(copied))).values(report_copied_at=copied_at)
            )


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
                    report_copied_at=None,
                    report_claim_until=None,
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
