"""Commands run as `python` would run them, each in a process of its own, forked from a launcher that
has already imported what they would all import first.

`forked(commands, warmth)` runs each command (`["cli.py", *args]` as `python cli.py ...`, `["-c",
code, *args]` as `python -c code ...`, `["-m", module, *args]` as `python -m module ...`) in a child
of the launcher for `warmth` and returns what each printed (its standard output and error, each a file)
and its exit code; `together=True` starts them all at one moment (the children wait on one pipe, and
closing it starts them), else each runs after the one before has ended. A fresh interpreter spends
about half a second of CPU importing its libraries: the launcher pays it once. A child ends as the
interpreter ends (exit handlers, every object let go).

The warmths:

- `"engine"`: the command line, the engine, the cipher, the letter templates, the database's driver,
  every table built: for processes racing each other (`tests.support.racers`), whose race is about
  the database, not about what they import.
- `"floor"`: only the third-party libraries a command that opens the database imports anyway
  (SQLModel with SQLAlchemy and pydantic, transitions, Jinja2, the SQLite driver); none of ours, no
  heavy library (WeasyPrint, python-docx, rich, Alembic...) and not click: for tests of what a command
  or the engine itself loads (`tests/test_architecture.py`), or of what a command does in a process of
  its own. `FLOOR` names them.

Each launcher is started by the first test of a test process that asks for it and kept until the
process exits: it only imports and forks, so it holds no state of any test, and each child takes the
environment of the test that asked for it (the engine reads its settings from the environment when it
runs, never when it is imported). What an interpreter settles as it starts (the console's encoding from
PYTHONIOENCODING, sys.path from PYTHONPATH, unbuffered output) is the launcher's: a test of those starts
a fresh interpreter. A child's CPU time is counted against the test process when the launcher ends,
with the session, not against the test that started it.

Run as a script (`python tests/support/forks.py [WARMTH]`, "engine" by default) it is the launcher:
each line of standard input is one round (JSON: the commands; optionally the environment they run in
and whether they start together), and each round's results go out as one line of JSON.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import runpy
import select
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HANG = 900.0  # as tests.support.waiting.HANG (not imported: the "floor" launcher imports nothing of ours)

FLOOR = ("sqlmodel", "transitions", "jinja2", "sqlalchemy.dialects.sqlite.pysqlite")
ENGINE = ("cli", "trigger.store.app", "trigger.cases.moves", "trigger.cases.review", "trigger.read.views")


def forked(
    commands: list[list[str]],
    warmth: str,
    together: bool = False,
    env: dict[str, str] | None = None,
    timeout: float = HANG,
) -> list[subprocess.CompletedProcess]:
    """Run `commands` (see the module's docstring) with the environment `env`, this process's unless
    given."""
    results = _Launcher.kept(warmth).round(
        commands, together, dict(os.environ) if env is None else env, timeout
    )
    return [
        subprocess.CompletedProcess(cmd, r["returncode"], r["stdout"], r["stderr"])
        for cmd, r in zip(commands, results, strict=True)
    ]


_KEPT: dict[str, _Launcher] = {}  # by warmth


class _Launcher:
    """A launcher process this test process keeps (started when first asked for, ended at exit)."""

    def __init__(self, warmth: str):
        self.warmth = warmth
        self.log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # its own stderr, read if it fails
        self.proc = subprocess.Popen(
            [sys.executable, __file__, warmth],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            cwd=ROOT,
            start_new_session=True,  # a hung round is ended with every child it forked
        )

    @classmethod
    def kept(cls, warmth: str) -> _Launcher:
        launcher = _KEPT.get(warmth)
        if launcher is None or launcher.proc.poll() is not None:
            launcher = _KEPT[warmth] = cls(warmth)
            atexit.register(launcher.stop)
        return launcher

    def round(
        self, commands: list[list[str]], together: bool, env: dict[str, str], timeout: float
    ) -> list[dict]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        request = {"commands": commands, "env": env, "together": together}
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            if not select.select([self.proc.stdout], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(self.proc.args, timeout)
            line = self.proc.stdout.readline()
        except BaseException:
            self.stop(kill=True)  # a round cut short leaves nothing behind for the next
            raise
        if not line:
            self.stop()
            self.log.seek(0)
            raise AssertionError(
                f"the {self.warmth} launcher failed ({self.proc.returncode}):\n{self.log.read()}"
            )
        return json.loads(line)

    def stop(self, kill: bool = False) -> None:
        if self.proc.poll() is None:
            if kill:
                os.killpg(self.proc.pid, signal.SIGKILL)
            else:
                self.proc.stdin.close()  # type: ignore[union-attr]
        self.proc.wait()
        self.proc.stdout.close()  # type: ignore[union-attr]
        if _KEPT.get(self.warmth) is self:
            del _KEPT[self.warmth]


# -- the launcher ----------------------------------------------------------------------------------------


def _warm(warmth: str) -> None:
    """Import what every child would otherwise import first (see the module's docstring), the cycle
    collector resting meanwhile as it does while a command starts (`cli.main`). The "floor" launcher
    leaves the collector as a fresh interpreter has it; the "engine" launcher sets what it made aside
    (`gc.freeze`), as a command does once started."""
    gc.disable()
    if warmth == "floor":
        for module in FLOOR:
            __import__(module)
        ours = [m for m in sys.modules if m.split(".")[0] in ("cli", "trigger", "workflows", "letters")]
        assert not ours and "click" not in sys.modules, ours
        gc.enable()
        return
    for module in ENGINE:
        __import__(module)
    from sqlalchemy.engine import make_url
    from sqlalchemy.orm import configure_mappers

    from trigger.store import models, sealed

    sealed.ready()  # the cipher
    __import__("jinja2")
    make_url(os.environ.get("TRIGGER_DB") or "sqlite://").get_dialect()
    assert models.metadata.tables  # every table built
    configure_mappers()
    gc.freeze()
    gc.enable()


def _run(command: list[str], env: dict[str, str]) -> int:
    """In the child: what `python <command>` would do, run with the environment `env`; its exit status."""
    os.environ.clear()
    os.environ.update(env)
    time.tzset()
    try:
        if command[0] == "-c":
            sys.argv = ["-c", *command[2:]]
            exec(compile(command[1], "<string>", "exec"), {"__name__": "__main__"})
        elif command[0] == "-m":
            sys.argv = ["-m", *command[2:]]
            runpy.run_module(command[1], run_name="__main__", alter_sys=True)
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


def _launch(commands: list[list[str]], env: dict[str, str], together: bool) -> list[dict]:
    folder = Path(tempfile.mkdtemp(prefix="forks-"))
    go_read, go_write = os.pipe()
    if not together:
        os.close(go_write)  # each child starts at once, and ends before the next is forked
        go_write = -1
    children = [
        _fork(command, env, folder / str(n), (go_read, go_write)) for n, command in enumerate(commands)
    ]
    os.close(go_read)
    if together:
        os.close(go_write)  # go
    results = [_ended(*child) for child in children]
    folder.rmdir()
    return results


def _fork(command: list[str], env: dict[str, str], output: Path, go: tuple[int, int]) -> tuple:
    """A child running `command`, its output in files named after `output`, once the launcher has closed
    the pipe `go` (its ends, the write end -1 when already closed: the child starts at once, and is
    waited for before the next is forked)."""
    out, err = output.with_suffix(".out"), output.with_suffix(".err")
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: its own output files, then wait for the start
        if go[1] >= 0:
            os.close(go[1])
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(os.open(out, os.O_WRONLY | os.O_CREAT, 0o600), 1)
        os.dup2(os.open(err, os.O_WRONLY | os.O_CREAT, 0o600), 2)
        os.read(go[0], 1)  # returns when the launcher closes its end: every child at once
        # then end as the interpreter ends: exit handlers run and every object is let go (a database's
        # connections closed, SQLite's write-ahead log folded in), which os._exit would skip
        raise SystemExit(_run(command, env))
    if go[1] >= 0:
        return pid, None, out, err
    _, status = os.waitpid(pid, 0)
    return pid, status, out, err


def _ended(pid: int, status: int | None, out: Path, err: Path) -> dict:
    if status is None:
        _, status = os.waitpid(pid, 0)
    result = {
        "returncode": os.waitstatus_to_exitcode(status),
        "stdout": out.read_text(encoding="utf-8"),
        "stderr": err.read_text(encoding="utf-8"),
    }
    out.unlink()
    err.unlink()
    return result


def _serve(warmth: str) -> None:
    """The launcher: warm up once, then fork each round's children from this state, which no round
    changes."""
    _warm(warmth)
    for line in sys.stdin:
        round_ = json.loads(line)
        env = round_.get("env", dict(os.environ))
        results = _launch(round_["commands"], env, round_.get("together", True))
        sys.stdout.write(json.dumps(results) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    _serve(sys.argv[1] if len(sys.argv) > 1 else "engine")
