"""`trigger reminders serve` as a real process: started, read until a line says what a test waits for,
then stopped with SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def serve_until(
    marker: str, *args: str, env: dict | None = None, timeout: float = 90
) -> tuple[int, str, str]:
    """Run `trigger reminders serve ARGS` until a line of its log (stderr) holds `marker` (or it ends),
    then stop it with SIGTERM: (its exit status, its standard output, its whole log)."""
    proc = subprocess.Popen(
        [sys.executable, "cli.py", "reminders", "serve", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = proc.stderr.readline()
        lines.append(line)
        if marker in line or not line:
            break
    proc.send_signal(signal.SIGTERM)
    out, rest = proc.communicate(timeout=30)
    return proc.returncode, out, "".join(lines) + rest
