"""Real processes racing each other, started at one moment.

`at_once(commands)` runs each command (`["cli.py", *args]` as `python cli.py ...`, or `["-c", code,
*args]` as `python -c code ...`) in a process of its own and returns what each printed and its exit
code. One launcher process imports the engine once and forks a child per command; every child waits
on one pipe, and closing it starts them all together. Each child is a real process with its own
database connections, so the races are real; what is shared is only the time it took to import the
libraries (two thirds of a second a process), which is neither part of the race nor worth paying
forty times, and no start moment has to be guessed far enough ahead for a busy machine. (A race
whose runners must join one after another waits for what the first has done, not for a time: see
`started` and `tests.support.waiting`.)

Run as a script it is the launcher: the commands come as JSON on standard input, the results go out
as JSON on standard output.
"""

from __future__ import annotations

import fcntl
import json
import os
import runpy
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.waiting import HANG
from trigger.store import queue

ROOT = Path(__file__).resolve().parents[2]
PRELOAD = ("cli", "trigger.store.app", "trigger.cases.moves", "trigger.cases.review", "trigger.read.views")


def at_once(commands: list[list[str]], timeout: float = HANG) -> list[subprocess.CompletedProcess]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    launched = subprocess.run(
        [sys.executable, __file__],
        input=json.dumps({"commands": commands}),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=timeout,
    )
    if launched.returncode != 0:
        raise AssertionError(f"the launcher failed ({launched.returncode}):\n{launched.stderr}")
    return [
        subprocess.CompletedProcess(cmd, r["returncode"], r["stdout"], r["stderr"])
        for cmd, r in zip(commands, json.loads(launched.stdout), strict=True)
    ]


def started(command: list[str], **env: str) -> subprocess.Popen:
    """One command (`["cli.py", *args]`) started now in a process of its own, its output piped (text), so
    a test can read a line it prints while it is still running; `env` is added to the environment."""
    return subprocess.Popen(
        [sys.executable, *command],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT), **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


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


def _run(command: list[str]) -> int:
    """In the child: what `python <command>` would do; its exit status."""
    try:
        if command[0] == "-c":
            sys.argv = ["-c", *command[2:]]
            exec(compile(command[1], "<string>", "exec"), {"__name__": "__main__"})
        else:
            sys.argv = [command[0], *command[1:]]
            runpy.run_path(str(ROOT / command[0]), run_name="__main__")
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    except Exception:  # noqa: BLE001 (as Python would: the traceback on stderr, status 1)
        traceback.print_exc()
        return 1
    return 0


def _launch(commands: list[list[str]]) -> list[dict]:
    for module in PRELOAD:
        __import__(module)
    folder = Path(tempfile.mkdtemp(prefix="racers-"))
    go_read, go_write = os.pipe()
    children = []
    for n, command in enumerate(commands):
        out, err = folder / f"{n}.out", folder / f"{n}.err"
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: its own output files, then wait for the start
            os.close(go_write)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(os.open(out, os.O_WRONLY | os.O_CREAT, 0o600), 1)
            os.dup2(os.open(err, os.O_WRONLY | os.O_CREAT, 0o600), 2)
            os.read(go_read, 1)  # returns when the launcher closes its end: every child at once
            code = _run(command)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        children.append((pid, out, err))
    os.close(go_read)
    os.close(go_write)  # go
    results = []
    for pid, out, err in children:
        _, status = os.waitpid(pid, 0)
        results.append(
            {
                "returncode": os.waitstatus_to_exitcode(status),
                "stdout": out.read_text(encoding="utf-8"),
                "stderr": err.read_text(encoding="utf-8"),
            }
        )
        out.unlink()
        err.unlink()
    folder.rmdir()
    return results


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    spec = json.loads(sys.stdin.read())
    json.dump(_launch(spec["commands"]), sys.stdout)
