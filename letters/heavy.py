"""Importing a large library (WeasyPrint, python-docx) in the middle of a command, once per process.

The modules, classes and functions an import makes live as long as the process, as those of the
command's start-up do, which `cli.main` sets aside from the cycle collector (`gc.freeze`,
docs/architecture.md#speed). Left to the collector, the objects of WeasyPrint's import would be
scanned in batch after batch while the letter is laid out: about a hundredth of a PDF or Word letter's
CPU time.
"""

from __future__ import annotations

import gc
import importlib
import sys
from types import ModuleType


def import_for_good(name: str) -> ModuleType:
    """`importlib.import_module(name)`; on its first import in a process that collects cycles, with the
    collector paused and what the import made then set aside for good, with whatever else lives at that
    moment (once per process: a long-running server sets aside one request's objects at most)."""
    if name in sys.modules or not gc.isenabled():
        return importlib.import_module(name)
    gc.disable()
    try:
        return importlib.import_module(name)
    finally:
        gc.freeze()
        gc.enable()
