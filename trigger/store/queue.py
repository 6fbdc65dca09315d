"""The writers' queue of a SQLite database: changes take their turn in the order they arrived, and a
change waits as long as the queue needs (docs/architecture.md#optimistic-locking).

SQLite lets one writer in at a time; those kept out poll the lock under the busy timeout, so under a
crowd a newcomer can slip in ahead of somebody who has waited for seconds, and whoever is unlucky
gives up. So before its `BEGIN IMMEDIATE` a change takes an exclusive `flock` on a file beside the
database (`trigger.db-queue`, 0600). The kernel queues those who wait for a `flock` one behind the
other and hands it on in that order, and releases it when its holder dies, however it dies: a
process killed while holding or waiting leaves nothing to clean up. The turn ends just after the
transaction's COMMIT or ROLLBACK (`QueuedConnection`).

A change waits up to `patience()` (TRIGGER_WAIT_SECONDS, default five minutes) in all; after a few
seconds it may say so, once ("waiting for 3 other changes…", counted from the kernel's own list of
locks, /proc/locks, where there is one). The queue is about order and patience only: SQLite's own
lock still keeps writers apart, so a file lock that cannot be taken (no `fcntl` on Windows, a folder
that cannot hold the file) leaves the busy timeout to do the waiting, as before.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from trigger import settings
from trigger.errors import ConcurrentChange

try:
    import fcntl
except ImportError:  # Windows: SQLite's busy timeout alone puts writers in order
    fcntl = None  # type: ignore[assignment]

SUFFIX = "-queue"  # beside SQLite's own -wal, -shm and -journal (SQLite's dot-file locking owns `.lock`)
PATIENCE = 300.0  # seconds a change waits for its turn, unless TRIGGER_WAIT_SECONDS says otherwise
PATIENCE_MAX = 86400.0
NOTICE_AFTER = 3.0  # seconds of waiting before a command says that it is waiting

Notice = Callable[[str], None]


def patience() -> float:
    """TRIGGER_WAIT_SECONDS: how long a change waits for its turn before giving up (default 300)."""
    return settings.seconds(
        "TRIGGER_WAIT_SECONDS",
        PATIENCE,
        lambda v: 0 < v <= PATIENCE_MAX,
        f"above 0 and up to {PATIENCE_MAX:.0f}",
    )


def gave_up(waited: float) -> ConcurrentChange:
    """The one line for a change that waited its whole patience."""
    return ConcurrentChange(
        f"the database is still busy with other changes after {_duration(waited)}; nothing was saved, "
        "try again later (TRIGGER_WAIT_SECONDS sets how long a change waits)"
    )


def _duration(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:.0f} second{'s' if round(seconds) != 1 else ''}" if seconds >= 1 else f"{seconds:.1f} s"


def waiting_line(ahead: int | None) -> str:
    """What a command says once it has waited a few seconds for its turn."""
    if not ahead:
        return "waiting for another change…"
    return f"waiting for {ahead} other change{'s' if ahead != 1 else ''}…"


class Turn:
    """One change's turn: the queue file held open and locked until `end`."""

    def __init__(self, fd: int | None, waited: float = 0.0):
        self.fd, self.waited = fd, waited

    def end(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)  # closing the file releases its lock


class Queue:
    """The writers' queue of one SQLite database file."""

    def __init__(self, database: Path):
        self.path = Path(f"{database}{SUFFIX}")
        self._here = threading.local()  # the turn this thread holds, if any

    def join(self, limit: float, notice: Notice | None = None) -> Turn:
        """Wait for this change's turn, up to `limit` seconds (then `gave_up`); `notice` is told, once,
        when the wait passes a few seconds."""
        if getattr(self._here, "turn", None) is not None and self._here.turn.fd is not None:
            # a second write transaction opened by a thread inside its first would wait for itself
            raise RuntimeError("a write transaction was begun inside another on the same database")
        fd = self._open()
        if fd is None:
            return Turn(None)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            turn = _Waiter(fd).wait(limit, notice)
        except OSError:  # a file system without locks: SQLite's busy timeout orders the writers
            os.close(fd)
            turn = Turn(None)
        else:
            turn = Turn(fd)
        self._here.turn = turn
        return turn

    def _open(self) -> int | None:
        if fcntl is None:
            return None
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            return os.open(self.path, flags, 0o600)
        except OSError:  # a read-only folder, a link planted in place of the file: no queue
            return None


class _Waiter:
    """Waits for the lock in a thread of its own (a `flock` cannot be given a time limit), so the
    caller can say that it is waiting, and give up, while its place in the kernel's queue is kept.
    A waiter given up on lets the lock go the moment it gets it."""

    def __init__(self, fd: int):
        self.fd = fd
        self.got = threading.Event()
        self.guard = threading.Lock()
        self.abandoned = False
        self.error: OSError | None = None

    def wait(self, limit: float, notice: Notice | None) -> Turn:
        start = time.monotonic()
        threading.Thread(target=self._take, name="trigger-queue", daemon=True).start()
        if notice is not None and limit > NOTICE_AFTER and not self.got.wait(NOTICE_AFTER):
            notice(waiting_line(ahead(self.fd)))
        self.got.wait(max(0.0, limit - (time.monotonic() - start)))
        waited = time.monotonic() - start
        with self.guard:
            if not self.got.is_set():
                self.abandoned = True  # the thread closes the file when it gets the lock
                raise gave_up(waited)
        if self.error is not None:  # the wait itself failed: SQLite's busy timeout orders the writers
            os.close(self.fd)
            return Turn(None, waited)
        return Turn(self.fd, waited)

    def _take(self) -> None:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except OSError as exc:
            self.error = exc
        with self.guard:
            if self.abandoned:
                os.close(self.fd)
                return
            self.got.set()


def ahead(fd: int) -> int | None:
    """How many changes hold or wait for the queue ahead of this process's waiter, read from the
    kernel's list of locks (Linux's /proc/locks: a holder, then each waiter behind the one before,
    marked `->`); None where that list is missing or does not show this process waiting."""
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    st = os.fstat(fd)
    ours = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    pid, count = str(os.getpid()), 0
    for line in lines:
        fields = line.split()
        waiting = len(fields) > 1 and fields[1] == "->"
        fields = [f for f in fields if f != "->"]
        if len(fields) < 6 or fields[1] != "FLOCK" or fields[5] != ours:
            continue
        if waiting and fields[4] == pid:
            return count
        count += 1
    return None


class QueuedConnection(sqlite3.Connection):
    """A SQLite connection that ends its change's turn in the queue once its transaction is over: just
    after COMMIT or ROLLBACK (or when it closes), never before, so the next change's BEGIN IMMEDIATE
    finds SQLite's lock free."""

    turn: Turn | None = None

    def end_turn(self) -> None:
        turn, self.turn = self.turn, None
        if turn is not None:
            turn.end()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            if not self.in_transaction:
                self.end_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            if not self.in_transaction:
                self.end_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.end_turn()
