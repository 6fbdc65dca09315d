"""`trigger reminders serve`: the sweep every few minutes and the morning digest, under APScheduler, and a
clean stop (docs/architecture.md#deadlines-and-reminders).

APScheduler holds two jobs in memory and nothing else; the deadlines and reminders stay in our tables.

- **Stopping.** On SIGTERM or SIGINT the service stops taking messages, finishes the one in hand (cut off
  after `STOP_GRACE` seconds if the server is that slow: it is then kept for a later retry;
  `TRIGGER_STOP_GRACE` may shorten it), releases the
  claims it will not use and exits, all within ten seconds. A second signal cuts the message in hand at
  once, releases every claim the service holds and exits.
- **The digest** goes to each recipient once a working day. The day's row in `setting` (`digest:DATE`)
  records who has had it; it is claimed (on the database's clock) while being sent, marked done only when
  every recipient has had theirs, and a failed send is retried by the following sweeps that day.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from letters.words import plural
from trigger import settings
from trigger.deadlines import notices, reminders
from trigger.deadlines.dbclock import db_now
from trigger.errors import InvalidInput
from trigger.rules.deadlines import is_duty
from trigger.store import access, anchors, channels
from trigger.store.access import REMINDERS, needs
from trigger.store.app import App
from trigger.store.channels import Channel
from trigger.store.models import Deadline, Partnership, ReviewCase, Setting
from trigger.store.partnerships import manager_address
from trigger.store.schedule import recipients
from trigger.store.unit import default_policy
from workflows.machine import TERMINAL

if TYPE_CHECKING:  # the policy model is only read here
    from trigger.rules.policy import Policy

LONDON = reminders.LONDON
STOP_GRACE = 8.0  # seconds the message in hand may still take once asked to stop
STOP_AFTER_GRACE = 1.5  # seconds after the grace by which the process is gone (9.5 s by default)


def stop_grace() -> float:
    """TRIGGER_STOP_GRACE: the seconds the message in hand may still take once a stop is asked; it can
    only shorten the default (8), so a service still stops within ten seconds."""
    return settings.seconds(
        "TRIGGER_STOP_GRACE", STOP_GRACE, lambda v: 0.5 <= v <= STOP_GRACE, "from 0.5 to 8"
    )


# -- the morning digest ---------------------------------------------------------------------------------


def _digest_state(session: Session, key: str) -> dict | None:
    row = session.get(Setting, key)
    if row is None:
        return None
    try:
        state = json.loads(row.value)
    except ValueError:
        state = None
    return state if isinstance(state, dict) else {"state": "done"}  # an older plain timestamp: sent


def _save_digest_state(session: Session, key: str, state: dict) -> None:
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=json.dumps(state)))
    else:
        row.value = json.dumps(state)
        session.add(row)


def _working(app: App, session: Session, today: date) -> tuple[dict[int, Policy], str]:
    """The partnerships the digest covers (the user's, or every one) for which `today` is a working
    day under their own policy (England and Wales differ), and the day's record key."""
    scope = access.scope_of(session)
    pids = [scope] if scope is not None else list(session.execute(select(col(Partnership.id))).scalars())
    working: dict[int, Policy] = {}
    for pid in pids:
        pol = default_policy(app, session, pid)
        if pol.calendar().is_working_day(today):
            working[pid] = pol
    return working, f"digest:{today.isoformat()}" + (f":{scope}" if scope is not None else "")


@needs(REMINDERS)
def digest(
    app: App,
    now: datetime | None = None,
    channel: Channel | None = None,
    runner: str | None = None,
    stop: threading.Event | None = None,
    progress: reminders.Progress | None = None,
) -> dict:
    """One message per recipient, on working days: their open deadlines overdue or due within
    `warn_before`. Each recipient gets it once a day; a failed send is retried by the next call."""

    now = now or datetime.now(UTC)
    today = now.astimezone(LONDON).date()
    runner = runner or reminders.runner_id()
    window = reminders.claim_seconds() + STOP_GRACE + 60  # the longest grace a stop may give
    per: dict[str, list[tuple[str, str, date]]] = {}
    try:
        with app.write() as session:
            working, key = _working(app, session, today)
            if not working:
                return {"date": today.isoformat(), "skipped": "not a working day", "sent": 0}
            state = _digest_state(session, key) or {"state": "new", "sent_to": []}
            if state.get("state") == "done":
                return {"date": today.isoformat(), "skipped": "already sent", "sent": 0}
            clock_now = db_now(session)
            if state.get("state") == "claimed" and datetime.fromisoformat(state["until"]) > clock_now:
                return {"date": today.isoformat(), "skipped": "being sent by another runner", "sent": 0}
            state.update(
                state="claimed", by=runner, until=(clock_now + timedelta(seconds=window)).isoformat()
            )
            _save_digest_state(session, key, state)
            for pid, pol in working.items():
                horizon = pol.calendar().due(today, pol.warn_before)
                rows = session.execute(
                    select(Deadline, ReviewCase)
                    .join(ReviewCase, col(ReviewCase.id) == col(Deadline.case_id))
                    .where(
                        col(Deadline.met_on).is_(None),
                        col(Deadline.not_applicable).is_(False),
                        col(Deadline.missed).is_(False),
                        col(Deadline.due) <= horizon,
                        col(ReviewCase.state).not_in(TERMINAL),
                        col(ReviewCase.partnership_id) == pid,
                    )
                ).all()
                manager = manager_address(session, pol, pid)
                for deadline, case in rows:
                    if not is_duty(deadline.kind):
                        continue
                    people = set(recipients(session, case, deadline, manager)["warning"])
                    if deadline.due < today and manager:
                        people.add(manager)
                    for person in people:
                        per.setdefault(person, []).append((case.reference, deadline.kind, deadline.due))
    except IntegrityError:  # PostgreSQL: another runner created the day's row first
        return {"date": today.isoformat(), "skipped": "being sent by another runner", "sent": 0}
    done_before = set(state.get("sent_to", []))
    sent, errors = 0, []
    if channel is None:
        channel = channels.transport(app)
    mail_from = getattr(channel, "mail_from", None) or "community-trigger@localhost"
    if progress is not None:
        progress.channel = channel
    try:
        for n, (person, items) in enumerate(sorted(per.items())):
            if person in done_before:
                continue
            if stop is not None and stop.is_set():
                errors.append("stopped before every recipient had it")
                break
            msg = notices.digest(items, today, person, mail_from, idstring=f"digest-{today.isoformat()}-{n}")
            try:
                channel.send(msg, f"digest-{today.isoformat()}-{n}")
            except Exception as exc:  # noqa: BLE001 - kept for the next attempt, said in the log
                from trigger.store.mail import classify

                errors.append(f"{person}: {classify(exc).text}")
                continue
            sent += 1
            done_before.add(person)
            with app.write() as session:  # each recipient's digest recorded as it goes
                state = _digest_state(session, key) or {}
                if state.get("by") == runner:
                    state["sent_to"] = sorted(done_before)
                    _save_digest_state(session, key, state)
    finally:
        channel.close()
    with app.write() as session:
        state = _digest_state(session, key) or {}
        if state.get("by") == runner:
            if errors:  # not sent to everyone: released for the next attempt, never marked sent
                state.update(state="retry", until=None, error=errors[0][:300], sent_to=sorted(done_before))
            else:
                state.update(state="done", until=None, sent_to=sorted(done_before), at=now.isoformat())
            _save_digest_state(session, key, state)
    out: dict = {"date": today.isoformat(), "sent": sent}
    if errors:
        out["failed"] = errors
    return out


@needs(REMINDERS)
def digest_pending(app: App, now: datetime, at: tuple[int, int]) -> bool:
    """Is today's digest due (a working day, past its time) and not yet sent to everyone? True too
    when it was never tried (the service was down at its time), so a late start still sends it."""
    local = now.astimezone(LONDON)
    if (local.hour, local.minute) < at:
        return False
    with app.read() as session:
        working, key = _working(app, session, local.date())
        if not working:
            return False
        state = _digest_state(session, key)
    return state is None or state.get("state") != "done"


# -- the service ---------------------------------------------------------------------------------------


@needs(REMINDERS)
def serve(
    app: App, *, every: int = 300, digest_at: str = "07:30", log: Callable[[str], object] = print
) -> int:
    """APScheduler 3.11 BackgroundScheduler (Europe/London): a sweep every `every` seconds (one at
    start-up) and the morning digest at `digest_at` Monday to Friday (the digest skips bank holidays
    itself). Returns the exit status: 0 after a clean stop, 1 after a second signal.

    The signal handler only notes the signal (a second one raises): the main thread, which does nothing
    but wait for it, does the stopping. A handler that stopped the scheduler itself could deadlock on a
    lock the interrupted main thread held (the thread pool's, while it started a job's thread)."""
    from apscheduler.schedulers.background import BackgroundScheduler  # only this command pays for it

    try:
        hour, minute = (int(p) for p in digest_at.split(":"))
        if not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError
    except ValueError:
        raise InvalidInput(f"--digest-at {digest_at!r} is not a time such as 07:30") from None
    with app.read():  # who is acting, before anything starts (the sweeps check again as they run)
        pass

    channels.transport(app)  # settings checked before the service starts (one clear line if wrong)
    grace = stop_grace()
    runner = reminders.runner_id()
    stop = threading.Event()
    busy = threading.Lock()  # held while a job runs, so the stop knows when the work is over
    progress = reminders.Progress()

    def sweep() -> None:
        if stop.is_set():
            return
        with busy:
            if stop.is_set():  # asked to stop while it waited for the job in hand: nothing new starts
                return
            try:
                progress.channel = progress.in_hand = None
                r = reminders.run(app, runner=runner, stop=stop, progress=progress)
                log(
                    f"sweep {r.now.astimezone(LONDON).isoformat(timespec='seconds')}: due {len(r.due)}, "
                    f"sent {len(r.sent)}, failed {len(r.failed)} (kept), given up {len(r.gave_up)}, "
                    f"cancelled {len(r.cancelled)}, lost {r.lost}, released {r.released}"
                )
                for rid, error, retry_at in r.failed:
                    log(f"reminder {rid} not sent: {error}; retried from {retry_at.astimezone(LONDON):%H:%M}")
                for line in r.warnings:
                    log(f"warning: {line}")
                if r.reported:
                    log(
                        f"{plural(r.reported, '{n} undelivered reminder', '{n} undelivered reminders')} "
                        f"reported to the manager via {r.reported_via}"
                    )
                if r.report_error:
                    log(f"warning: {r.report_error}")
            except Exception as exc:  # noqa: BLE001 - one bad sweep must not stop the service
                log(f"sweep failed: {type(exc).__name__}: {exc}")
            if not stop.is_set() and digest_pending(app, datetime.now(UTC), (hour, minute)):
                morning(locked=True)

    def morning(locked: bool = False) -> None:
        if stop.is_set():
            return
        if not locked:
            with busy:
                morning(locked=True)
            return
        if stop.is_set():
            return
        try:
            d = digest(app, runner=runner, stop=stop, progress=progress)
            note = f" ({d['skipped']})" if d.get("skipped") else ""
            note += f"; not sent, retried at the next sweep: {d['failed'][0]}" if d.get("failed") else ""
            log(f"digest {d['date']}: sent {d['sent']}{note}")
        except Exception as exc:  # noqa: BLE001
            log(f"digest failed: {type(exc).__name__}: {exc}")

    sched = BackgroundScheduler(
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

    def anchor() -> None:
        if stop.is_set():
            return
        with busy:
            if stop.is_set():
                return
            kept, why_not = anchors.keep_quietly(app, "reminders serve", daily=True)
            if kept is not None:
                log(f"anchor: the audit chain at event {kept.anchor['seq']} kept in {kept.path}")
            elif why_not:
                log(f"warning: {why_not}")

    sched.add_job(
        anchor,
        "interval",
        hours=1,
        id="anchor",
        replace_existing=True,
        next_run_time=datetime.now(LONDON),
        misfire_grace_time=3600,
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
    signals: list[str] = []
    leaving = threading.Event()  # set once the service is on its way out at once: later signals ignored

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        signals.append(signal.Signals(signum).name)  # no lock taken here: the main thread acts on it
        if len(signals) > 1 and not leaving.is_set():
            leaving.set()
            raise _StopNow(f"second signal, {signals[-1]}")

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    log(f"serving: sweep every {every}s, digest {digest_at} on working days (Europe/London)")
    try:
        sched.start()
        while not signals:
            time.sleep(0.1)
        log(f"stopping on {signals[0]}: finishing the message in hand")
        stop.set()
        if progress.channel is not None:
            progress.channel.limit(grace)
        sched.shutdown(wait=False)
        started = time.monotonic()
        # wait for the job in hand to finish its message and release its claims
        while not busy.acquire(timeout=0.1):
            if time.monotonic() - started > grace + STOP_AFTER_GRACE:
                raise _StopNow("time")
        busy.release()
    except _StopNow as why:
        leaving.set()
        stop.set()
        channel = progress.channel
        if channel is not None:
            channel.abort()
        # give the sweep a moment to record the cut message as not sent, then release the claims left;
        # a message cut off mid-send keeps its claim until it runs out (the server may have taken it)
        busy.acquire(timeout=1.0)
        keep = progress.in_hand if getattr(channel, "phase", "") == "sending" else None
        released = reminders.release_claims(app, runner, keep=keep)
        log(f"stopped at once ({why}); {plural(released, '{n} claim', '{n} claims')} released")
        _exit_now(1)  # the sweep's thread may still be waiting on the network: do not wait for it
    for s, handler in previous.items():
        signal.signal(s, handler)
    log("stopped")
    return 0


class _StopNow(Exception):
    """A second signal (or the stop taking too long): leave now."""


def _exit_now(code: int) -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
