"""Waiting in tests for a condition, never for a length of time: a test that sleeps "long enough" or
gives a process a few seconds passes on a quiet machine and fails on a busy one.

`until(check, what)` looks again every few hundredths of a second until `check()` is true. `HANG` is
how long anything a test starts (a command, a server, a child) may take before the test calls it hung:
far beyond what the work needs on any machine, however loaded, and there only so that a hang ends
the run instead of stopping it for good. No test asserts how fast something happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable

HANG = 900.0  # seconds: the work a test waits for takes a second or two of CPU


def until(check: Callable[[], object], what: str, hang: float = HANG) -> None:
    """Return once `check()` is true; fail, naming `what`, only if it never becomes true (a hang)."""
    end = time.monotonic() + hang
    while not check():
        if time.monotonic() > end:
            raise AssertionError(f"still waiting, after {hang:.0f} s, for {what}")
        time.sleep(0.02)
