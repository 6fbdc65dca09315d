"""`trigger reminders serve` in a process of its own (`tests.support.racers.started`), its log read line
by line as it comes, for the tests that watch it sweep and send it signals."""

from __future__ import annotations

import threading

from tests.support.racers import started
from tests.support.waiting import HANG, until

# its log: "2026-11-28 08:00:00,123 INFO trigger.deadlines.reminders: sweep ..."
REMINDERS = " trigger.deadlines.reminders: "


class Serve:
    """`trigger reminders serve ARGS` (an hourly sweep and a digest at 23:59 unless ARGS say otherwise,
    so that nothing but the test's signal ends it): its log (stderr) in `log`, its stdout in `out`."""

    def __init__(self, *args: str, env: dict | None = None):
        args = args or ("--every", "3600", "--digest-at", "23:59")
        self.proc = started(["cli.py", "reminders", "serve", *args], PYTHONUNBUFFERED="1", **(env or {}))
        self.log: list[str] = []
        self.out: list[str] = []
        self.readers = [
            threading.Thread(target=self._read, args=(stream, kept), daemon=True)
            for stream, kept in ((self.proc.stderr, self.log), (self.proc.stdout, self.out))
        ]
        for reader in self.readers:
            reader.start()

    @staticmethod
    def _read(stream, kept: list[str]) -> None:
        for line in stream:
            kept.append(line.rstrip("\n"))

    @property
    def lines(self) -> list[str]:
        """What the reminder service logged, each line without its time and level."""
        return [line.partition(REMINDERS)[2] or line for line in self.log]

    def wait_until(self, check, what: str) -> None:
        until(lambda: check() or self.proc.poll() is not None, what)
        if not check():
            raise AssertionError(f"serve ended before {what}: {self.log}")

    def swept(self) -> bool:
        return any(line.startswith("sweep ") for line in self.lines)

    def signal(self, signum) -> None:
        self.proc.send_signal(signum)

    def finish(self) -> int:
        """Its exit status, once it has exited (a hang, never a slow machine, fails the test)."""
        code = self.proc.wait(timeout=HANG)
        for reader in self.readers:
            reader.join(timeout=HANG)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
