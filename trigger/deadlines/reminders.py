"""Deadline reminders: each sent once, none dropped (docs/architecture.md#deadlines-and-reminders).

- A sweep reads only the pending reminders whose day has come (index on status, send_on), so its cost
  grows with the reminders due, not with the cases held.
- **Claims.** A batch of reminders is claimed with a compare-and-set UPDATE (on PostgreSQL the candidates
  are first locked with FOR UPDATE SKIP LOCKED), for a short window on the *database's* clock, so two
  runners whose own clocks differ agree on when a claim runs out. Just before each message the runner
  renews that one claim, and only if it still holds it (lease: the window plus the longest a send may
  take, which the transport enforces); the rest of the batch is renewed as the sweep goes. A runner
  that lost a claim neither sends nor counts the reminder. Claims it will not use are released.
- **Failures.** A temporary failure (no connection, a timeout, 4xx, TLS or login) backs off (minutes,
  then hours: `next_attempt_at`) and is retried for at least a day; a permanent refusal (5xx), or a day
  of failures, marks the reminder `failed` and reports it to the manager. A report SMTP cannot take for
  now is copied to the outbox and sent by the first run whose mail works, once. `status` and `show`
  list them; `retry` puts them back.
- Bodies carry the case reference, the deadline kind, the due date and the victim's initials only.
"""

from __future__ import annotations

import os
import re
import socket
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    Row,
    and_,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlmodel import Session, col

from trigger import settings
from trigger.cases.duties import STATEMENT
from trigger.deadlines import applicant_notices, notices, undelivered
from trigger.deadlines.dbclock import clock, dialect
from trigger.errors import InvalidInput
from trigger.read.views import initials
from trigger.rules.deadlines import is_duty
from trigger.store import access, audit, channels, mail, notify
from trigger.store.access import REMINDERS, needs
from trigger.store.app import App
from trigger.store.channels import Channel
from trigger.store.models import (
    Action,
    ApplicantNotice,
    AuditEvent,
    Consultation,
    Deadline,
    Reminder,
    ReviewCase,
)
from trigger.store.partnerships import managers
from workflows.machine import TERMINAL

if TYPE_CHECKING:
    import threading

_T = TypeVar("_T")
Outgoing = type[Reminder] | type[ApplicantNotice]  # the rows a sweep claims and sends, column for column
LONDON = ZoneInfo("Europe/London")
CLAIM_SECONDS = 60.0  # a claim's life; renewed as the sweep goes
BATCH = 100  # reminders claimed at a time
GIVE_UP_AFTER = timedelta(hours=24)  # temporary failures are retried at least this long
BACKOFF = tuple(timedelta(minutes=m) for m in (2, 5, 15, 30, 60, 120, 240))  # then every four hours


def parse_now(text: str | None) -> datetime:
    """`--now`: an ISO date or date-time (Europe/London when no offset is given); default now."""
    if not text:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"--now {text!r} is not an ISO date or date-time, e.g. 2026-12-24T08:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LONDON)
    return moment.astimezone(UTC)


def claim_seconds() -> float:
    """TRIGGER_CLAIM_SECONDS, the life of a claim (default 60)."""
    return settings.seconds(
        "TRIGGER_CLAIM_SECONDS", CLAIM_SECONDS, lambda v: 0.5 <= v <= 3600, "from 0.5 to 3600"
    )


def backoff(failures: int) -> timedelta:
    """The wait after the `failures`-th failure in a row (1-based): minutes at first, then hours."""
    return BACKOFF[min(failures, len(BACKOFF)) - 1]


# -- what is due ----------------------------------------------------------------------------------------


@dataclass
class Due:
    id: int
    kind: str
    recipient: str
    reference: str
    deadline_kind: str
    due: date
    initials: str
    attempts: int = 0
    first_failed: datetime | None = None
    action_number: int | None = None
    alone: bool = False  # the manager is the only one told: the reviewer has no address
    outbox_file: str | None = None  # the file it was written to, when the outbox is the channel
    voice: notices.VictimsVoice | None = None  # how the victim takes part (a review's reminder only)


@dataclass
class Result:
    now: datetime
    due: list[Any] = field(default_factory=list)  # Due (or, for the applicant's notices, NoticeDue)
    sent: list[int] = field(default_factory=list)
    failed: list[tuple[int, str, datetime]] = field(default_factory=list)  # kept: (id, error, next try)
    gave_up: list[tuple[int, str, str]] = field(default_factory=list)  # (id, error, refused|expired)
    cancelled: list[int] = field(default_factory=list)
    skipped: int = 0  # claimed by another runner first
    lost: int = 0  # claims that ran out before their turn: left to the runner that took them
    released: int = 0  # claims given back unused (a stop)
    reported: int = 0  # failures reported to the manager
    reported_via: str = ""
    report_error: str = ""
    warnings: list[str] = field(default_factory=list)
    channel: str = ""
    stopped: bool = False
    notices: Result | None = None  # the applicant's notices the sweep sent too

    def as_dict(self) -> dict:
        return {
            "now": self.now.isoformat(),
            "due": len(self.due),
            "sent": len(self.sent),
            "failed": [
                {"id": i, "error": e, "next_attempt": n.astimezone(UTC).isoformat()}
                for i, e, n in self.failed
            ],
            "gave_up": [{"id": i, "error": e, "because": b} for i, e, b in self.gave_up],
            "cancelled": len(self.cancelled),
            "skipped": self.skipped,
            "lost": self.lost,
            "released": self.released,
            "reported": self.reported,
            "reported_via": self.reported_via,
            "warnings": self.warnings,
            "channel": self.channel,
            "stopped": self.stopped,
            "notices": self.notices.told() if self.notices is not None else None,
            "reminders": [
                {
                    "id": d.id,
                    "kind": d.kind,
                    "recipient": d.recipient,
                    "reference": d.reference,
                    "deadline": d.deadline_kind,
                    "due": d.due.isoformat(),
                }
                for d in self.due
            ],
        }

    def told(self) -> dict:
        """The applicant's notices, as `reminders run --json` gives them (no addresses)."""
        return {
            "sent": len(self.sent),
            "failed": [
                {"id": i, "error": e, "next_attempt": n.astimezone(UTC).isoformat()}
                for i, e, n in self.failed
            ],
            "gave_up": [{"id": i, "error": e, "because": b} for i, e, b in self.gave_up],
            "cancelled": len(self.cancelled),
        }


def _chunks(items: Sequence[_T], size: int = 500) -> Iterator[Sequence[_T]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _ready(today: date, now: datetime, table: Outgoing = Reminder) -> ColumnElement[bool]:
    """A pending reminder (or applicant's notice) whose day has come and that is not backing off."""
    return and_(
        col(table.status) == "pending",
        col(table.send_on) <= today,
        or_(col(table.next_attempt_at).is_(None), col(table.next_attempt_at) <= now),
    )


def _abandoned(db: Session | Connection, table: Outgoing = Reminder) -> ColumnElement[bool]:
    """A claim that ran out (its runner crashed, or was too slow): anyone may take it."""
    return and_(
        col(table.status) == "claimed",
        or_(col(table.claim_until).is_(None), col(table.claim_until) < clock(db)),
    )


def _candidates(session: Session, today: date, now: datetime, limit: int | None) -> list[Row]:
    """The reminders due (and those abandoned), with what their message needs. Two steps so the planner
    cannot pick a scan of the cases: the ids from the reminder table alone through its (status,
    send_on) index, then their deadline and case by primary key."""
    pg = dialect(session) == "postgresql"
    ids: list[int] = []
    visible = access.visible_cases(session)  # a manager's sweep: their partnership's reminders only
    ours = (
        []
        if visible is None
        else [
            col(Reminder.deadline_id).in_(select(col(Deadline.id)).where(col(Deadline.case_id).in_(visible)))
        ]
    )
    for where in (_ready(today, now), _abandoned(session)):
        # no ORDER BY here: it would tempt SQLite into walking every pending row in id order
        query = select(col(Reminder.id)).where(where, *ours)
        if limit:
            query = query.limit(limit)
        if pg:  # several runners on one PostgreSQL: each takes rows the others have not locked
            query = query.with_for_update(skip_locked=True)
        ids.extend(sorted(session.execute(query).scalars()))
    cols = [
        col(c)
        for c in (
            Reminder.id,
            Reminder.kind,
            Reminder.recipient,
            Reminder.attempts,
            Reminder.first_failed_at,
            Deadline.kind,
            Deadline.due,
            Deadline.met_on,
            Deadline.not_applicable,
            Action.number,
            ReviewCase.reference,
            ReviewCase.state,
            ReviewCase.victim_name,
            ReviewCase.reviewer,
            ReviewCase.reviewer_email,
            ReviewCase.partnership_id,
            ReviewCase.id,
            ReviewCase.victim_involvement,
        )
    ]
    rows: list[Row] = []
    for chunk in _chunks(ids):
        rows.extend(
            session.execute(
                select(*cols)
                .join(Deadline, col(Deadline.id) == col(Reminder.deadline_id))
                .join(ReviewCase, col(ReviewCase.id) == col(Deadline.case_id))
                .outerjoin(Action, col(Action.id) == col(Deadline.action_id))
                .where(col(Reminder.id).in_(chunk))
                .order_by(col(Reminder.id))
            ).all()
        )
    return rows


def _voices(session: Session, rows: Sequence[Row]) -> dict[int, tuple[int, int]]:
    """For the cases whose review deadline a reminder is about: how many written statements the victim
    gave and how many times they commented on the draft plan (two grouped queries, counts only: what
    they said stays in the case)."""
    ids = sorted({row[16] for row in rows if row[5] == "review"})
    if not ids:
        return {}
    counts: dict[int, list[int]] = {i: [0, 0] for i in ids}
    for chunk in _chunks(ids):
        said = session.execute(
            select(col(AuditEvent.case_id), func.count())
            .where(col(AuditEvent.case_id).in_(chunk), col(AuditEvent.event) == STATEMENT)
            .group_by(col(AuditEvent.case_id))
        ).all()
        for case_id, n in said:
            counts[case_id][0] = n
        commented = session.execute(
            select(col(Consultation.case_id), func.count())
            .where(col(Consultation.case_id).in_(chunk))
            .group_by(col(Consultation.case_id))
        ).all()
        for case_id, n in commented:
            counts[case_id][1] = n
    return {i: (c[0], c[1]) for i, c in counts.items()}


def _sorted_out(
    rows: Sequence[Row], today: date, managers: dict[int, str], voices: dict[int, tuple[int, int]]
) -> tuple[dict[int, Due], list[int]]:
    wanted: dict[int, Due] = {}
    cancelled: list[int] = []
    for row in rows:
        rid, kind, recipient, attempts, first_failed, dkind, due, met_on, na, number = row[:10]
        ref, state, victim, reviewer, reviewer_email, partnership_id, case_id, involvement = row[10:]
        manager = managers.get(partnership_id, "")  # the case's partnership's manager
        obsolete = (
            met_on is not None
            or na
            or state in TERMINAL
            or not is_duty(dkind)
            or (kind == "warning" and due < today)  # the overdue notice supersedes it
        )
        if obsolete:
            cancelled.append(rid)
            continue
        alone = (
            kind in ("warning", "overdue")
            and bool(manager)
            and recipient == manager
            and bool(reviewer)
            and not (reviewer_email or "").strip()
        )
        wanted[rid] = Due(
            rid,
            kind,
            recipient,
            ref,
            dkind,
            due,
            initials(victim),
            attempts,
            first_failed and first_failed.replace(tzinfo=UTC),
            number,
            alone,
            voice=notices.VictimsVoice(involvement, *voices[case_id]) if case_id in voices else None,
        )
    return wanted, cancelled


Item = Due | applicant_notices.NoticeDue  # what a sweep claims and sends


@dataclass
class Progress:
    """What a sweep is doing, for a service that must stop it: its channel and the message in hand."""

    channel: Channel | None = None
    in_hand: int | None = None


# -- sending, claim by claim ------------------------------------------------------------------------------


class _Sweep:
    """One runner's pass over the reminders it claimed (a subclass: over the applicant's notices)."""

    table: Outgoing = Reminder

    def __init__(
        self,
        app: App,
        runner: str,
        now: datetime,
        channel: Channel,
        result: Result,
        stop: threading.Event | None,
        progress: Progress,
        window: float,
    ):
        self.app, self.runner, self.now, self.channel = app, runner, now, channel
        self.result, self.stop, self.progress = result, stop, progress
        self.window = window
        # the message in hand must stay ours for as long as the transport may take to send it
        margin = max(1.0, min(5.0, self.window))  # time to record the outcome after the send
        self.lease = self.window + float(getattr(channel, "timeout", 0) or 0) + margin
        self.held: list[Item] = []
        self.renewed = time.monotonic()
        self.in_hand: Item | None = None
        self.mail_from = channel.mail_from

    def _mine(self) -> ColumnElement[bool]:
        return and_(col(self.table.claimed_by) == self.runner, col(self.table.status) == "claimed")

    def claim(self, conn: Connection, items: Sequence[Item]) -> list[Item]:
        ids = [d.id for d in items]
        with conn.begin():
            won = set(
                conn.execute(
                    update(self.table)
                    .where(
                        col(self.table.id).in_(ids),
                        or_(
                            _ready(self.now.astimezone(LONDON).date(), self.now, self.table),
                            _abandoned(conn, self.table),
                        ),
                    )
                    .values(
                        status="claimed",
                        claimed_at=clock(conn),
                        claim_until=clock(conn, self.window),
                        claimed_by=self.runner,
                    )
                    .returning(col(self.table.id))
                ).scalars()
            )
        self.result.skipped += len(ids) - len(won)
        self.held = [d for d in items if d.id in won]
        self.renewed = time.monotonic()
        return list(self.held)

    def _renew_rest(self, conn: Connection, rest: list[Item]) -> list[Item]:
        """Renew the claims still queued. One that ran out and was taken by another runner (its
        `claimed_by` changed) is that runner's now; one nobody took is still ours."""
        if not rest:
            return rest
        with conn.begin():
            kept = set(
                conn.execute(
                    update(self.table)
                    .where(
                        col(self.table.id).in_([d.id for d in rest]),
                        self._mine(),
                    )
                    .values(claim_until=clock(conn, self.window))
                    .returning(col(self.table.id))
                ).scalars()
            )
        self.renewed = time.monotonic()
        self.result.lost += len(rest) - len(kept)
        return [d for d in rest if d.id in kept]

    def _statements(self, conn: Connection) -> None:
        """The per-message statements, built once a sweep (the database's clock differs by dialect)."""
        mine = and_(
            col(self.table.id) == bindparam("rid"),
            col(self.table.claimed_by) == self.runner,
            col(self.table.status) == "claimed",
        )
        self._keep = update(self.table).where(mine).values(claim_until=clock(conn, self.lease))
        self._done = (
            update(self.table)
            .where(mine)
            .values(
                status="sent",
                sent_at=self.now,
                attempts=self.table.attempts + 1,
                last_error=None,
                next_attempt_at=None,
                first_failed_at=None,
                claim_until=None,
                outbox_file=bindparam("file"),
            )
        )

    def send_all(self, conn: Connection, items: Sequence[Item]) -> None:
        """Claim, send and mark `items` a batch at a time, until done or asked to stop."""
        try:
            for batch in _chunks(items, BATCH):
                if self.stop is not None and self.stop.is_set():
                    self.result.stopped = True
                    break
                self.result.due.extend(self.claim(conn, batch))
                self.send_held(conn)
                self.release(conn)
                if self.result.stopped:
                    break
        finally:
            self.release(conn)

    def send_held(self, conn: Connection) -> None:

        if not hasattr(self, "_keep"):
            self._statements(conn)
        queue = list(self.held)
        sent: Item | None = None  # sent, to be marked in the very next transaction
        try:
            while queue:
                if self.stop is not None and self.stop.is_set():
                    self.result.stopped = True
                    return
                if time.monotonic() - self.renewed > self.window / 3:
                    self._mark_sent(conn, sent)
                    sent = None
                    queue = self._renew_rest(conn, queue)
                    if not queue:
                        return
                item = queue.pop(0)
                self.held = queue
                # still ours (nobody took it over after it ran out)? then keep it for as long as the send
                # may take: nobody else can take it before the send is over, sent or cut off
                with conn.begin():
                    if sent is not None:
                        conn.execute(self._done, {"rid": sent.id, "file": sent.outbox_file})
                    ours = conn.execute(self._keep, {"rid": item.id}).rowcount
                self._counted(sent)  # only once its mark is committed
                sent = None
                if not ours:
                    self.result.lost += 1
                    continue
                self.in_hand = item
                self.progress.in_hand = item.id
                try:
                    item.outbox_file = self.deliver(item)
                except Exception as exc:  # noqa: BLE001 - every failure is recorded, the reminder kept or reported
                    self._failed(conn, item, mail.classify(exc))
                else:
                    sent = item
                self.in_hand = self.progress.in_hand = None
        finally:
            self._mark_sent(conn, sent)

    def deliver(self, item) -> str | None:
        """Send one item; the outbox's file written, if that is the channel."""
        if not mail.valid_address(item.recipient):
            raise mail.BadAddress(f"{item.recipient!r} is not an e-mail address; nothing was sent")
        facts = notices.ReminderFacts(
            item.kind,
            item.reference,
            item.deadline_kind,
            item.due,
            item.initials,
            item.action_number,
            item.alone,
            item.voice,
        )
        msg = notices.reminder(
            facts, item.recipient, self.mail_from, idstring=f"reminder-{item.id}-{item.kind}"
        )
        written = self.channel.send(msg, f"{item.id}-{item.kind}")
        return written if isinstance(written, str) else None

    def _mark_sent(self, conn: Connection, item: Item | None) -> None:
        """Mark a sent reminder in its own transaction."""
        if item is not None:
            with conn.begin():
                conn.execute(self._done, {"rid": item.id, "file": item.outbox_file})
        self._counted(item)

    def _counted(self, item: Item | None) -> None:
        if item is not None:
            self.result.sent.append(item.id)
            if item.alone:
                self.result.warnings.append(
                    f"{item.reference}: only the manager was told of the {item.deadline_kind} deadline; "
                    "the reviewer has no e-mail address"
                )

    def said(self, item: Item, text: str) -> str:
        """A failure as it is kept and shown (`reminders status`, the sweep's log): as the server said it."""
        return text

    def _failed(self, conn: Connection, item: Item, failure: mail.Failure) -> None:
        first = item.first_failed or self.now
        error = self.said(item, failure.text)[:500]
        values: dict[str, object] = {
            "attempts": self.table.attempts + 1,
            "last_error": error,
            "first_failed_at": first,
            "claimed_by": None,
            "claim_until": None,
        }
        if failure.permanent or self.now - first >= GIVE_UP_AFTER:
            because = "refused" if failure.permanent else "expired"
            values.update(status="failed", failure=because, next_attempt_at=None)
            self.result.gave_up.append((item.id, error, because))
        else:
            retry_at = min(self.now + backoff(item.attempts + 1), first + GIVE_UP_AFTER)
            values.update(status="pending", next_attempt_at=retry_at)
            self.result.failed.append((item.id, error, retry_at))
        with conn.begin():
            conn.execute(
                update(self.table).where(col(self.table.id) == item.id, self._mine()).values(**values)
            )

    def release(self, conn: Connection) -> None:
        """Give back the claims this runner will not use (not the message in hand: it may be out)."""
        ids = [d.id for d in self.held if self.in_hand is None or d.id != self.in_hand.id]
        if not ids:
            return
        with conn.begin():
            self.result.released += conn.execute(
                update(self.table)
                .where(col(self.table.id).in_(ids), self._mine())
                .values(status="pending", claimed_by=None, claimed_at=None, claim_until=None)
            ).rowcount
        self.held = []


class _NoticeSweep(_Sweep):
    """A pass over the applicant's notices claimed (docs/operations.md#telling-the-applicant)."""

    table = ApplicantNotice

    def said(self, item: Item, text: str) -> str:
        """The applicant's address never kept or shown: a refusal often quotes it."""
        return re.sub(re.escape(item.recipient), "the applicant's address", text, flags=re.IGNORECASE)

    def deliver(self, item) -> str | None:
        if item.channel == "sms" and isinstance(self.channel, notify.Notify):
            self.channel.text(item.recipient, notices.news_sms(item.news), f"trigger-notice-{item.id}-sms")
            return None
        if not mail.valid_address(item.recipient):
            raise mail.BadAddress("the applicant's e-mail address is not valid; nothing was sent")
        msg = notices.applicant_notice(
            item.news, item.recipient, self.mail_from, idstring=f"notice-{item.id}"
        )
        written = self.channel.send(msg, f"notice-{item.id}")
        return written if isinstance(written, str) else None


def _tell_applicants(
    app: App,
    now: datetime,
    runner: str,
    channel: Channel,
    stop: threading.Event | None,
    progress: Progress,
    window: float,
) -> Result:
    """Send the applicant's notices due, once each, as the reminders are sent."""
    told = Result(now)
    today = now.astimezone(LONDON).date()
    with app.write() as session:
        wanted = [_ready(today, now, ApplicantNotice), _abandoned(session, ApplicantNotice)]
        texts = isinstance(channel, notify.Notify) and channel.texts()
        items, told.cancelled = applicant_notices.due(session, wanted, None, texts)
        applicant_notices.cancel(session, told.cancelled, wanted)
    if not items:
        return told
    sweep = _NoticeSweep(app, runner, now, channel, told, stop, progress, window)
    with _connection(app) as conn:
        sweep.send_all(conn, items)
    return told


def _connection(app: App) -> Connection:
    """A connection whose transactions wait for their turn and take SQLite's write lock at BEGIN
    (`App.write_engine`), for the small transactions of a sweep."""
    return app.write_engine.connect()


@needs(REMINDERS)
def release_claims(app: App, runner: str, keep: int | None = None) -> int:
    """Give back every claim `runner` holds (a service stopped at once), but `keep`: a message cut off
    mid-send may have reached the server, so its claim runs out rather than letting another send it now."""
    with _connection(app) as conn, conn.begin():
        return conn.execute(
            update(Reminder)
            .where(
                col(Reminder.claimed_by) == runner,
                col(Reminder.status) == "claimed",
                col(Reminder.id) != (keep or -1),
            )
            .values(status="pending", claimed_by=None, claimed_at=None, claim_until=None)
        ).rowcount


def _tell(result: Result, told: undelivered.Told) -> None:
    result.reported += told.count
    result.reported_via = told.via or result.reported_via
    result.report_error = told.error or result.report_error
    if told.owed:
        result.warnings.append(told.owed)


def runner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@needs(REMINDERS)
def run(
    app: App,
    now: datetime | None = None,
    *,
    dry_run: bool = False,
    runner: str | None = None,
    channel: Channel | None = None,
    limit: int | None = None,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
) -> Result:
    """Send, once each, every reminder due at `now`. Safe to run repeatedly and concurrently.
    `stop` (a threading.Event) ends the sweep after the message in hand; `progress` is kept up to date
    with the transport and the message in hand, for a service that must stop the sweep."""
    now = now or datetime.now(UTC)
    today = now.astimezone(LONDON).date()
    runner = runner or runner_id()
    result = Result(now)
    window = claim_seconds()
    if not dry_run and channel is None:
        channel = channels.transport(app)  # settings checked before anything is claimed
    with app.write() as session:
        rows = _candidates(session, today, now, limit)
        wanted, result.cancelled = _sorted_out(
            rows, today, managers(session, app.policy_override), _voices(session, rows)
        )
        if dry_run:
            result.due = list(wanted.values())
            result.warnings = [
                f"{d.reference}: only the manager would be told of the {d.deadline_kind} deadline; "
                "the reviewer has no e-mail address"
                for d in result.due
                if d.alone
            ]
            return result
        for chunk in _chunks(result.cancelled):
            session.execute(
                update(Reminder)
                .where(col(Reminder.id).in_(chunk), or_(_ready(today, now), _abandoned(session)))
                .values(status="cancelled", claimed_by=None, claim_until=None)
            )
    assert channel is not None  # taken above for everything but a dry run, which has returned
    result.channel = channel.describe()
    progress = progress if progress is not None else Progress()
    progress.channel = channel
    sweep = _Sweep(app, runner, now, channel, result, stop, progress, window)
    items = list(wanted.values())
    try:
        _tell(result, undelivered.report(app, channel, now))  # reports owed since mail last failed
        with _connection(app) as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None  # None only once the connection is closed
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:  # WAL: a crash loses nothing; only a power cut could lose the last marks
                raw.execute("PRAGMA synchronous=NORMAL")
            try:
                sweep.send_all(conn, items)
            finally:
                if sqlite:
                    conn.rollback()
                    raw.execute("PRAGMA synchronous=FULL")
        if not result.stopped:  # a stopping service leaves the report to the next sweep
            _tell(result, undelivered.report(app, channel, now))
        if not result.stopped:
            result.notices = _tell_applicants(app, now, runner, channel, stop, progress, window)
            result.stopped = result.notices.stopped
    finally:
        channel.close()
    applicant_notices.record_sent(app)  # also those a sweep cut off before it could record them
    if result.sent or result.failed or result.gave_up or result.reported:
        with app.write() as session:
            audit.record(
                session,
                None,
                "reminders_run",
                actor=app.actor,
                on=today,
                detail={
                    "sent": len(result.sent),
                    "failed": len(result.failed),
                    "gave_up": len(result.gave_up),
                    "reported": result.reported,
                    "runner": runner,
                },
            )
    return result
