"""Commands run as `python` would run them, each in a process of its own, forked from a launcher that
has already imported what they would all import first.

`forked(commands, warmth)` runs each command (`["cli.py", *args]` as `python cli.py ...`, `["-c",
code, *args]` as `python -c code ...`, `["-m", module, *args]` as `python -m module ...`) in a child
of the launcher for `warmth` and returns what each printed (its standard output and error, each a file)
and its exit code; `together=True` starts them all at one moment (the children wait on one pipe, and
closing it starts them), else each runs after the one before has ended. A fresh interpreter spends
about half a second of CPU importing its libraries: the launcher pays it once. A child ends as the
interpreter ends (exit handlers, every object let go).

`spawn(command, ...)` starts one command now, its standard streams whatever the test gives it (pipes, a
terminal, a file), and hands back the process as a Popen: the test process is its parent, waits for
it, signals or kills it.

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
and whether they start together), and each round's results go out as one line of JSON. (A test
process speaks to it over a socket instead, which carries a spawned command's streams.)
"""

from __future__ import annotations

import atexit
import ctypes
import gc
import io
import json
import os
import runpy
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import types
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


def spawn(
    command: list[str],
    warmth: str = "engine",
    env: dict[str, str] | None = None,
    stdin=None,
    stdout=None,
    stderr=None,
    text: bool = False,
) -> Spawned:
    """`command` (see the module's docstring) started now in a child of the launcher for `warmth`, as
    `subprocess.Popen(command, stdin=..., stdout=..., stderr=..., text=...)` starts it: each stream
    None (this process's), `subprocess.PIPE`, `subprocess.DEVNULL`, a file descriptor or a file. It
    is this process's child (the launcher hands it over), to wait for, signal and read as a Popen."""
    mine, theirs = [], []
    for n, how in enumerate((stdin, stdout, stderr)):
        if how is None:
            theirs.append(n)
        elif how == subprocess.PIPE:
            read, write = os.pipe()
            mine.append((n, read if n else write))
            theirs.append(write if n else read)
        elif how == subprocess.DEVNULL:
            theirs.append(os.open(os.devnull, os.O_RDWR))
        else:
            theirs.append(how if isinstance(how, int) else how.fileno())
    try:
        pid = _Launcher.kept(warmth).spawn(command, dict(os.environ) if env is None else env, theirs)
    finally:
        for how, fd in zip((stdin, stdout, stderr), theirs, strict=True):
            if how in (subprocess.PIPE, subprocess.DEVNULL):
                os.close(fd)
    streams = {n: os.fdopen(fd, ("w" if n == 0 else "r") + ("" if text else "b")) for n, fd in mine}
    return Spawned(command, pid, streams.get(0), streams.get(1), streams.get(2))


class Spawned:
    """A spawned child, as much of `subprocess.Popen` as the tests use."""

    def __init__(self, args, pid: int, stdin, stdout, stderr):
        self.args, self.pid, self.stdin, self.stdout, self.stderr = args, pid, stdin, stdout, stderr
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            time.sleep(0.005)
        assert self.returncode is not None
        return self.returncode

    def communicate(self, timeout: float | None = None):
        if self.stdin is not None:
            self.stdin.close()
        read: dict[int, object] = {}
        readers = [
            threading.Thread(target=lambda n, f: read.__setitem__(n, f.read()), args=(n, f), daemon=True)
            for n, f in ((1, self.stdout), (2, self.stderr))
            if f is not None
        ]
        for reader in readers:
            reader.start()
        for reader in readers:
            reader.join(timeout)
        self.wait(timeout)
        for f in (self.stdout, self.stderr):
            if f is not None:
                f.close()
        return read.get(1), read.get(2)

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


_KEPT: dict[str, _Launcher] = {}  # by warmth
_FRAME = struct.Struct(">Q")
_PR_SET_CHILD_SUBREAPER = 36  # prctl(2)


class _Launcher:
    """A launcher process this test process keeps (started when first asked for, ended at exit), spoken
    to over a socket: a request and its answer each a length and JSON, file descriptors passed along."""

    def __init__(self, warmth: str):
        self.warmth = warmth
        self.log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # its own stderr, read if it fails
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.proc = subprocess.Popen(
            [sys.executable, __file__, warmth, str(theirs.fileno())],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=self.log,
            pass_fds=(theirs.fileno(),),
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            cwd=ROOT,
            start_new_session=True,  # a hung round is ended with every child it forked
        )
        theirs.close()

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
        return self._ask({"commands": commands, "env": env, "together": together}, [], timeout)

    def spawn(self, command: list[str], env: dict[str, str], stdio: list[int]) -> int:
        """The child's pid, this process's child: the launcher forks a child that forks it and ends,
        and an orphan goes to its nearest ancestor that asked for them (PR_SET_CHILD_SUBREAPER), this
        process, only while it asks."""
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        try:
            return self._ask({"spawn": command, "env": env}, stdio, HANG)["pid"]
        finally:
            libc.prctl(_PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)

    def _ask(self, request: dict, fds: list[int], timeout: float):
        try:
            _send(self.sock, request, fds)
            if not select.select([self.sock], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(self.proc.args, timeout)
            answer, _ = _receive(self.sock)
        except BaseException:
            self.stop(kill=True)  # a round cut short leaves nothing behind for the next
            raise
        if answer is None:
            self.stop()
            self.log.seek(0)
            raise AssertionError(
                f"the {self.warmth} launcher failed ({self.proc.returncode}):\n{self.log.read()}"
            )
        return answer

    def stop(self, kill: bool = False) -> None:
        if self.proc.poll() is None and kill:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.sock.close()  # the launcher reads the end and exits
        self.proc.wait()
        if _KEPT.get(self.warmth) is self:
            del _KEPT[self.warmth]


def _send(sock: socket.socket, message, fds: list[int] | tuple = ()) -> None:
    data = json.dumps(message).encode("utf-8")
    data = _FRAME.pack(len(data)) + data
    sent = socket.send_fds(sock, [data[:65536]], list(fds)) if fds else sock.send(data[:65536])
    sock.sendall(data[sent:])


def _receive(sock: socket.socket):
    """A message and the file descriptors sent with it; (None, []) at the end."""
    data, fds, _, _ = socket.recv_fds(sock, 65536, 3)
    if not data:
        return None, []
    while len(data) < _FRAME.size or len(data) < _FRAME.size + _FRAME.unpack_from(data)[0]:
        more = sock.recv(1 << 20)
        if not more:
            return None, []
        data += more
    return json.loads(data[_FRAME.size :]), fds


# -- the launcher ----------------------------------------------------------------------------------------


_CHANNEL: list[socket.socket] = []  # in the launcher: the socket the test process speaks on
# in the launcher: cli.py compiled once, for every child that runs it (each compiled its 2,500 lines again)
_SCRIPTS: dict[str, types.CodeType] = {}


def _warm(warmth: str) -> None:
    """Import what every child would otherwise import first (see the module's docstring), the cycle
    collector resting meanwhile as it does while a command starts (`cli.main`). The "floor" launcher
    leaves the collector as a fresh interpreter has it; the "engine" launcher sets what it made aside
    (`gc.freeze`), as a command does once started."""
    gc.disable()
    # compiling imports nothing: the floor launcher's check of what is loaded still holds
    _SCRIPTS["cli.py"] = compile((ROOT / "cli.py").read_bytes(), str(ROOT / "cli.py"), "exec")
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
    for sock in _CHANNEL:  # the launcher's, not the child's
        sock.close()
    os.environ.clear()
    os.environ.update(env)
    time.tzset()
    tempfile.tempdir = None  # as in a fresh interpreter: TMPDIR is read when first needed
    try:
        if command[0] == "-c":
            sys.argv = ["-c", *command[2:]]
            exec(compile(command[1], "<string>", "exec"), {"__name__": "__main__"})
        elif command[0] == "-m":
            sys.argv = ["-m", *command[2:]]
            runpy.run_module(command[1], run_name="__main__", alter_sys=True)
        else:  # as `python script`: the script's code run as the module __main__
            sys.argv = [command[0], *command[1:]]
            path = ROOT / command[0]
            code = _SCRIPTS.get(command[0]) or compile(path.read_bytes(), str(path), "exec")
            main = sys.modules["__main__"] = types.ModuleType("__main__")
            main.__file__ = str(path)
            exec(code, main.__dict__)
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


def _serve(warmth: str, channel: int | None) -> None:
    """The launcher: warm up once, then fork each request's children from this state, which no request
    changes. Spoken to over the socket `channel`; without one (a script's use), each line of standard
    input is a round and its results go out as a line."""
    _warm(warmth)
    if channel is None:
        for line in sys.stdin:
            round_ = json.loads(line)
            env = round_.get("env", dict(os.environ))
            results = _launch(round_["commands"], env, round_.get("together", True))
            sys.stdout.write(json.dumps(results) + "\n")
            sys.stdout.flush()
        return
    sock = socket.socket(fileno=channel)
    _CHANNEL.append(sock)
    while True:
        request, fds = _receive(sock)
        if request is None:
            return
        if "spawn" in request:
            _send(sock, {"pid": _spawn(request["spawn"], request["env"], fds, sock)})
        else:
            _send(sock, _launch(request["commands"], request["env"], request["together"]))


def _spawn(command: list[str], env: dict[str, str], stdio: list[int], sock: socket.socket) -> int:
    """Fork a child that forks `command`'s process (its standard streams `stdio`) and ends at once,
    leaving it to the test process; its pid."""
    report_read, report_write = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    middle = os.fork()
    if middle == 0:
        pid = os.fork()
        if pid == 0:
            os.close(report_read)
            os.close(report_write)
            for target, fd in enumerate(stdio):
                os.dup2(fd, target)
            for fd in set(stdio) - {0, 1, 2}:
                os.close(fd)
            _fresh_streams(env)
            raise SystemExit(_run(command, env))  # as the interpreter ends (see `_fork`)
        os.write(report_write, str(pid).encode())
        os._exit(0)
    os.close(report_write)
    pid = int(os.read(report_read, 32))
    os.close(report_read)
    os.waitpid(middle, 0)  # ended: the child is the test process's now
    for fd in stdio:
        os.close(fd)
    return pid


def _fresh_streams(env: dict[str, str]) -> None:
    """sys.stdin, stdout and stderr made anew over file descriptors 0, 1 and 2, as an interpreter makes
    them when it starts (line-buffered on a terminal, stderr always; unbuffered with PYTHONUNBUFFERED),
    in the encoding the launcher's have."""
    unbuffered = bool(env.get("PYTHONUNBUFFERED"))
    for fd, name in enumerate(("stdin", "stdout", "stderr")):
        old = getattr(sys, name)
        writing = fd > 0
        raw = io.FileIO(fd, "wb" if writing else "rb", closefd=False)
        if writing and unbuffered:
            buffer = raw
        elif writing:
            buffer = io.BufferedWriter(raw)
        else:
            buffer = io.BufferedReader(raw)
        stream = io.TextIOWrapper(
            buffer,  # type: ignore[arg-type]
            encoding=old.encoding,
            errors=old.errors,
            newline="\n",
            line_buffering=writing and not unbuffered and (fd == 2 or os.isatty(fd)),
            write_through=writing and unbuffered,
        )
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    _serve(sys.argv[1] if len(sys.argv) > 1 else "engine", int(sys.argv[2]) if len(sys.argv) > 2 else None)
