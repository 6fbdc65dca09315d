"""What a person sees on a terminal of a given width: commands run in one process on a real
pseudo-terminal (not a width setting), as the screen tests and the show tests read them (the process
forked, `tests.support.forks.spawn`, its standard streams made for the terminal as Python makes them)."""

from __future__ import annotations

import fcntl
import json
import os
import re
import struct
import termios

from tests.support.forks import spawn
from tests.support.waiting import HANG

MARK = "----8<----"


def on_terminal(width: int | list[int], commands: list[list[str]]) -> list[str]:
    """What each command shows on a pseudo-terminal `width` columns wide, or each on one as wide as
    its entry in a list of widths (one process runs them all, its standard output and error the
    terminal, resized between commands as a person resizes a window), ANSI styles taken out."""
    widths = width if isinstance(width, list) else [width] * len(commands)
    assert len(widths) == len(commands)
    code = (
        "import fcntl, json, struct, sys, termios\n"
        "import cli\n"
        "cli.utf8_output()\n"
        "for width, args in json.loads(sys.argv[1]):\n"
        "    fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack('HHHH', 50, width, 0, 0))\n"
        f"    print({MARK!r}, flush=True)\n"
        "    try:\n"
        "        cli.cli.main(args, prog_name='trigger')\n"
        "    except SystemExit:\n"
        "        pass\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, widths[0], 0, 0))
    proc = spawn(
        ["-c", code, json.dumps(list(zip(widths, commands, strict=True)))],
        env={**env, "TRIGGER_USER": "ada"},
        stdin=slave,
        stdout=slave,
        stderr=slave,
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the last process holding the terminal closed it
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=HANG) == 0
    text = re.sub(r"\x1b\[[0-9;]*m", "", b"".join(chunks).decode()).replace("\r\n", "\n")
    return text.split(MARK + "\n")[1:]
