"""Real processes racing each other, started at one moment.

`at_once(commands)` runs each command (`["cli.py", *args]` as `python cli.py ...`, or `["-c", code,
*args]` as `python -c code ...`) in a process of its own and returns what each printed and its exit
code. A launcher process that has imported the engine forks a child per command
(`tests.support.forks`, warmth "engine"); every child waits on one pipe, and closing it starts them all
together. Each child is a real process with its own database connections, so the races are real; what
is shared is only the time it took to import the libraries and build the tables (two thirds of a second
a process), which is neither part of the race nor worth paying forty times, and no start moment has to
be guessed far enough ahead for a busy machine. (A race whose runners must join one after another waits
for what the first has done, not for a time: see `started` and `tests.support.waiting`.)

Run as a script it is the launcher (`tests.support.forks`), as tests/perf/bench_writers.py runs it.
"""

from __future__ import annotations

import fcntl
import os
import runpy
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.forks import Spawned, forked, spawn
from tests.support.waiting import HANG
from trigger.store import queue

ROOT = Path(__file__).resolve().parents[2]


def at_once(commands: list[list[str]], timeout: float = HANG) -> list[subprocess.CompletedProcess]:
    return forked(commands, "engine", together=True, timeout=timeout)


def started(command: list[str], stdout=subprocess.PIPE, stderr=subprocess.PIPE, **env: str) -> Spawned:
    """One command (`["cli.py", *args]` or `["-c", code, *args]`) started now in a process of its own,
    forked as the racers are (`tests.support.forks.spawn`), its output piped (text) unless `stdout` or
    `stderr` say otherwise, so a test can read a line it prints while it is still running, signal it
    and wait for it as for a Popen; `env` is added to the environment."""
    return spawn(command, env=dict(os.environ, **env), stdout=stdout, stderr=stderr, text=True)


@contextmanager
def holding_the_queue(db_url: str) -> Iterator[None]:
    """Somebody else's change in progress: this process holds the SQLite database's writers' queue
    (`trigger.store.queue`) until the block ends."""
    path = Path(f"{db_url.removeprefix('sqlite:///')}{queue.SUFFIX}")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    runpy.run_path(str(ROOT / "tests" / "support" / "forks.py"), run_name="__main__")
