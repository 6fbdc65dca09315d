"""Deadline reminders, claimed before sending and marked after (docs/architecture.md#deadlines-and-reminders).

- A sweep reads only the pending reminders whose day has come (index on status, send_on), so its cost
  grows with the reminders due, not with the cases held.
- Claim = compare-and-set UPDATE pending -> claimed (on PostgreSQL the candidates are first locked
  with FOR UPDATE SKIP LOCKED), so two runners at once never send one twice.
- A failed send goes back to pending with `attempts` and `last_error`, and is retried next run
  (after MAX_ATTEMPTS it is marked failed). A claim older than `stale_after` (a runner that crashed
  between claim and send) is reclaimable.
- Bodies carry the case reference, the deadline kind, the due date and the victim's initials only.
"""

from __future__ import annotations

import os
import smtplib
import socket
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from email.mime.text import MIMEText
from email.utils import make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy import case as sa_case

from trigger import audit
from trigger.app import App, data_dir
from trigger.errors import InvalidInput
from trigger.models import Deadline, Reminder, ReviewCase, Setting
from trigger.partnership import manager_address
from trigger.rules.deadlines import is_duty
from trigger.schedule import recipients
from trigger.unit import default_policy
from trigger.views import initials
from workflows.machine import TERMINAL

LONDON = ZoneInfo("Europe/London")
MAX_ATTEMPTS = 10
STALE_AFTER = timedelta(minutes=15)
LABELS = {
    "warning": "Deadline approaching",
    "overdue": "Deadline missed",
    "escalation": "Escalation: deadline overdue",
}


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


def _naive(moment: datetime) -> datetime:
    """UTC for the database (sqlmodel refuses naive datetimes; SQLite keeps them as UTC text)."""
    return moment.astimezone(UTC)


# -- delivery --------------------------------------------------------------------------------------------


class Outbox:
    """No SMTP server configured: each message becomes an .eml file in the outbox folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)

    def describe(self) -> str:
        return f"outbox {self.folder}"

    def send(self, msg: EmailMessage, name: str) -> None:
        tmp = self.folder / f".{name}.tmp"
        tmp.write_bytes(msg.as_bytes())
        tmp.replace(self.folder / f"{name}.eml")  # atomic: a reader never sees half a message

    def close(self) -> None:
        pass


class Smtp:
    """TRIGGER_SMTP_URL: smtp://[user:pass@]host[:port][?starttls=1], or smtps:// for TLS from the start."""

    def __init__(self, url: str, timeout: float = 20):
        u = urlparse(url)
        if u.scheme not in ("smtp", "smtps") or not u.hostname:
            raise InvalidInput(
                f"TRIGGER_SMTP_URL {u.scheme}://{u.hostname or ''}... is not smtp://host:port "
                "or smtps://host:port"
            )
        query = parse_qs(u.query)
        self.ssl = u.scheme == "smtps"
        self.starttls = query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
        self.host, self.port = u.hostname, u.port or (465 if self.ssl else 587 if self.starttls else 25)
        self.user, self.password = unquote(u.username or ""), unquote(u.password or "")
        self.timeout = timeout
        self._conn: smtplib.SMTP | None = None

    def describe(self) -> str:
        return f"smtp {self.host}:{self.port}"

    def _connect(self) -> smtplib.SMTP:
        if self._conn is None:
            cls = smtplib.SMTP_SSL if self.ssl else smtplib.SMTP
            conn = cls(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                conn.starttls()
            if self.user:
                conn.login(self.user, self.password)
            self._conn = conn
        return self._conn

    def send(self, msg: EmailMessage, name: str) -> None:
        try:
            self._connect().send_message(msg)
        except (smtplib.SMTPServerDisconnected, OSError):
            self.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._conn = None


def transport(app: App):
    url = os.environ.get("TRIGGER_SMTP_URL")
    if url:
        return Smtp(url)
    return Outbox(Path(os.environ.get("TRIGGER_OUTBOX") or data_dir() / "outbox"))


def sender() -> str:
    return os.environ.get("TRIGGER_MAIL_FROM") or "community-trigger@localhost"


def message(
    reminder_kind: str,
    recipient: str,
    reference: str,
    deadline_kind: str,
    due: date,
    victim_initials: str,
    mail_from: str,
) -> MIMEText:
    label = LABELS[reminder_kind]
    when = {"warning": "is due on", "overdue": "was due on", "escalation": "was due on"}[reminder_kind]
    # MIMEText: the same RFC 5322 message as EmailMessage, several times cheaper to build
    msg = MIMEText(
        f"{label}.\n\n"
        f"Case: {reference} (victim {victim_initials or 'n/a'})\n"
        f"Deadline: {deadline_kind}\n"
        f"The deadline {when} {due.isoformat()}.\n\n"
        f"See `trigger show {reference}` for the case.\n",
        "plain",
        "utf-8",
    )
    msg["Subject"] = f"{label}: {reference} {deadline_kind} due {due.isoformat()}"
    msg["From"] = mail_from
    msg["To"] = recipient
    msg["Message-ID"] = make_msgid(domain="community-trigger")
    return msg


# -- the sweep -----------------------------------------------------------------------------------------------


@dataclass
class Due:
    id: int
    kind: str
    recipient: str
    reference: str
    deadline_kind: str
    due: date
    initials: str


@dataclass
class Result:
    now: datetime
    due: list[Due] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    skipped: int = 0  # claimed by another runner first
    channel: str = ""

    def as_dict(self) -> dict:
        return {
            "now": self.now.isoformat(),
            "due": len(self.due),
            "sent": len(self.sent),
            "failed": [{"id": i, "error": e} for i, e in self.failed],
            "cancelled": len(self.cancelled),
            "skipped": self.skipped,
            "channel": self.channel,
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


def _chunks(items: list, size: int = 500):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _candidates(session, today: date, now: datetime, stale_after: timedelta, limit: int | None):
    """The reminders due (and those abandoned by a crashed runner), with what their message needs.

    Two steps so the planner cannot pick a scan of the cases: first the ids from the reminder table
    alone through its (status, send_on) index, then their deadline and case by primary key."""
    stale = _naive(now - stale_after)
    pg = session.bind.dialect.name == "postgresql"
    ids: list[int] = []
    for where in (
        (Reminder.status == "pending", Reminder.send_on <= today),
        (Reminder.status == "claimed", Reminder.claimed_at < stale),
    ):
        # no ORDER BY here: it would tempt SQLite into walking every pending row in id order
        query = select(Reminder.id).where(*where)
        if limit:
            query = query.limit(limit)
        if pg:  # several runners on one PostgreSQL: each takes rows the others have not locked
            query = query.with_for_update(skip_locked=True)
        ids.extend(sorted(session.execute(query).scalars()))
    cols = (
        Reminder.id,
        Reminder.kind,
        Reminder.recipient,
        Reminder.status,
        Deadline.kind,
        Deadline.due,
        Deadline.met_on,
        Deadline.not_applicable,
        ReviewCase.reference,
        ReviewCase.state,
        ReviewCase.victim_name,
    )
    rows = []
    for chunk in _chunks(ids):
        rows.extend(
            session.execute(
                select(*cols)
                .join(Deadline, Deadline.id == Reminder.deadline_id)
                .join(ReviewCase, ReviewCase.id == Deadline.case_id)
                .where(Reminder.id.in_(chunk))
                .order_by(Reminder.id)
            ).all()
        )
    return rows


@contextmanager
def _marking(app: App):
    """One connection for the small transactions that mark each reminder sent (or failed) right after
    its delivery, so that a crash can at most repeat the one message in flight. On SQLite (WAL) these
    commits skip the fsync (synchronous=NORMAL, what SQLite recommends with WAL): a process crash loses
    nothing, only a power cut could lose the last marks."""
    with app.engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        raw = conn.connection.dbapi_connection  # outside SQLAlchemy's transaction: PRAGMA refuses one
        if sqlite:
            raw.execute("PRAGMA synchronous=NORMAL")
        try:
            yield conn
        finally:
            conn.rollback()
            if sqlite:
                raw.execute("PRAGMA synchronous=FULL")


_MARK_SENT = (
    update(Reminder)
    .where(Reminder.id == bindparam("rid"), Reminder.claimed_by == bindparam("runner"))
    .values(status="sent", sent_at=bindparam("at"), last_error=None)
)
_MARK_FAILED = (
    update(Reminder)
    .where(
        Reminder.id == bindparam("rid"),
        Reminder.claimed_by == bindparam("runner"),
        Reminder.status == "claimed",
    )
    .values(
        status=sa_case((Reminder.attempts >= MAX_ATTEMPTS, "failed"), else_="pending"),
        last_error=bindparam("error"),
    )
)


def run(
    app: App,
    now: datetime | None = None,
    *,
    dry_run: bool = False,
    runner: str | None = None,
    channel=None,
    stale_after: timedelta = STALE_AFTER,
    limit: int | None = None,
) -> Result:
    """Send, once each, every reminder due at `now`. Safe to run repeatedly and concurrently."""
    now = now or datetime.now(UTC)
    today = now.astimezone(LONDON).date()
    runner = runner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    result = Result(now)
    stale = _naive(now - stale_after)
    claimable = or_(
        Reminder.status == "pending", and_(Reminder.status == "claimed", Reminder.claimed_at < stale)
    )
    with app.write() as session:
        rows = _candidates(session, today, now, stale_after, limit)
        wanted: dict[int, Due] = {}
        for rid, kind, recipient, _status, dkind, due, met_on, na, ref, state, victim in rows:
            obsolete = (
                met_on is not None
                or na
                or state in TERMINAL
                or not is_duty(dkind)
                or (kind == "warning" and due < today)
            )  # the overdue notice supersedes it
            if obsolete:
                result.cancelled.append(rid)
            else:
                wanted[rid] = Due(rid, kind, recipient, ref, dkind, due, initials(victim))
        if dry_run:
            result.due = list(wanted.values())
            return result
        for chunk in _chunks(result.cancelled):
            session.execute(
                update(Reminder).where(Reminder.id.in_(chunk), claimable).values(status="cancelled")
            )
        won: set[int] = set()
        for chunk in _chunks(list(wanted)):
            # compare-and-set: only a row still pending (or abandoned by a crashed runner) is ours
            won.update(
                session.execute(
                    update(Reminder)
                    .where(Reminder.id.in_(chunk), claimable)
                    .values(
                        status="claimed",
                        claimed_at=_naive(now),
                        claimed_by=runner,
                        attempts=Reminder.attempts + 1,
                    )
                    .returning(Reminder.id)
                ).scalars()
            )
        claimed = [item for rid, item in wanted.items() if rid in won]
        result.skipped = len(wanted) - len(claimed)
    # the claims are committed: whatever happens next, no other runner sends these
    result.due = claimed
    if not claimed:
        return result
    mail_from = sender()
    channel = channel or transport(app)
    result.channel = channel.describe()
    at = _naive(now)
    try:
        with _marking(app) as conn:
            for item in claimed:
                msg = message(
                    item.kind,
                    item.recipient,
                    item.reference,
                    item.deadline_kind,
                    item.due,
                    item.initials,
                    mail_from,
                )
                try:
                    channel.send(msg, f"{item.id}-{item.kind}")
                except Exception as exc:  # noqa: BLE001 - any delivery failure is retried next run
                    error = f"{type(exc).__name__}: {exc}"[:500]
                    conn.execute(_MARK_FAILED, {"rid": item.id, "runner": runner, "error": error})
                    conn.commit()
                    result.failed.append((item.id, error))
                    continue
                conn.execute(_MARK_SENT, {"rid": item.id, "runner": runner, "at": at})
                conn.commit()
                result.sent.append(item.id)
    finally:
        channel.close()
    with app.write() as session:
        audit.record(
            session,
            None,
            "reminders_run",
            actor=app.actor,
            on=today,
            detail={"sent": len(result.sent), "failed": len(result.failed), "runner": runner},
        )
    return result


# -- the morning digest --------------------------------------------------------------------------------------


def digest(app: App, now: datetime | None = None, channel=None) -> dict:
    """One message per recipient, on working days: their open deadlines overdue or due within
    `warn_before`. Sent at most once a day (a Setting row `digest:DATE` is the claim)."""
    now = now or datetime.now(UTC)
    today = now.astimezone(LONDON).date()
    key = f"digest:{today.isoformat()}"
    per: dict[str, list[tuple[str, str, date]]] = {}
    with app.write() as session:
        pol = default_policy(app, session)
        if not pol.calendar().is_working_day(today):
            return {"date": today.isoformat(), "skipped": "not a working day", "sent": 0}
        if session.get(Setting, key) is not None:
            return {"date": today.isoformat(), "skipped": "already sent", "sent": 0}
        session.add(Setting(key=key, value=now.isoformat()))
        horizon = pol.calendar().due(today, pol.warn_before)
        rows = session.execute(
            select(Deadline, ReviewCase)
            .join(ReviewCase, ReviewCase.id == Deadline.case_id)
            .where(
                Deadline.met_on.is_(None),
                Deadline.not_applicable.is_(False),
                Deadline.missed.is_(False),
                Deadline.due <= horizon,
                ReviewCase.state.not_in(TERMINAL),
            )
        ).all()
        manager = manager_address(session, pol)
        for deadline, case in rows:
            if not is_duty(deadline.kind):
                continue
            people = set(recipients(session, case, pol, deadline)["warning"])
            if deadline.due < today and manager:
                people.add(manager)
            for person in people:
                per.setdefault(person, []).append((case.reference, deadline.kind, deadline.due))
    channel = channel or transport(app)
    sent = 0
    try:
        for person, items in sorted(per.items()):
            msg = EmailMessage()
            msg["Subject"] = f"Community Trigger deadlines for {today.isoformat()}: {len(items)}"
            msg["From"] = sender()
            msg["To"] = person
            lines = [
                f"{ref}  {kind:20} due {due.isoformat()}{'  OVERDUE' if due < today else ''}"
                for ref, kind, due in sorted(items, key=lambda i: (i[2], i[0]))
            ]
            msg.set_content("Open deadlines overdue or due soon:\n\n" + "\n".join(lines) + "\n")
            channel.send(msg, f"digest-{today.isoformat()}-{abs(hash(person)) % 10**8}")
            sent += 1
    finally:
        channel.close()
    return {"date": today.isoformat(), "sent": sent}


# -- the scheduler -------------------------------------------------------------------------------------------


def serve(app: App, *, every: int = 300, digest_at: str = "07:30", log=print) -> None:
    """APScheduler 3.11 BlockingScheduler (Europe/London): a sweep every `every` seconds (one at
    start-up) and a morning digest at `digest_at` Monday to Friday, skipped on bank holidays. Jobs live
    in memory only; the deadlines and reminders are in our own tables
    (docs/architecture.md#deadlines-and-reminders). Stops cleanly on SIGINT/SIGTERM."""
    import signal

    from apscheduler.schedulers.blocking import BlockingScheduler  # only this command pays for it

    try:
        hour, minute = (int(p) for p in digest_at.split(":"))
    except ValueError:
        raise InvalidInput(f"--digest-at {digest_at!r} is not a time such as 07:30") from None

    def sweep() -> None:
        try:
            r = run(app)
            log(
                f"sweep {r.now.astimezone(LONDON).isoformat(timespec='seconds')}: due {len(r.due)}, "
                f"sent {len(r.sent)}, failed {len(r.failed)}, cancelled {len(r.cancelled)}"
            )
        except Exception as exc:  # noqa: BLE001 - one bad sweep must not stop the service
            log(f"sweep failed: {type(exc).__name__}: {exc}")

    def morning() -> None:
        try:
            d = digest(app)  # skips weekends' bank holidays itself (is_working_day)
            log(f"digest {d['date']}: sent {d['sent']}" + (f" ({d['skipped']})" if d.get("skipped") else ""))
        except Exception as exc:  # noqa: BLE001
            log(f"digest failed: {type(exc).__name__}: {exc}")

    sched = BlockingScheduler(
        timezone=LONDON, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600}
    )
    sched.add_job(
        sweep,
        "interval",
        seconds=every,
        id="sweep",
        replace_existing=True,
        next_run_time=datetime.now(LONDON),
        misfire_grace_time=max(every, 60),
    )
    sched.add_job(
        morning,
        "cron",
        day_of_week="mon-fri",
        hour=hour,
        minute=minute,
        id="digest",
        replace_existing=True,
        misfire_grace_time=3 * 3600,
    )

    def stop(signum, _frame):
        log(f"stopping on {signal.Signals(signum).name}")
        sched.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log(f"serving: sweep every {every}s, digest {digest_at} on working days (Europe/London)")
    try:
        sched.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    log("stopped")
