"""Making letters: the shipped templates are rendered here, in this process; a partnership's own
templates in a child process with a time, memory and output limit (`letters.sandbox`)."""

from __future__ import annotations

from pathlib import Path

from letters import sandbox
from letters.render import LetterError, render_here
from trigger.codes import LETTER_FORMATS, LETTER_KINDS


def render(
    kind: str,
    context: dict,
    fmt: str = "html",
    templates_dir: str | Path | None = None,
    terms: dict[str, str] | None = None,
) -> bytes:
    """The letter as bytes in the format asked for (UTF-8 text for html and txt).

    The kind's HTML template is the one source of the wording: the PDF prints it, and the text and
    Word versions are built from it (a partnership's own `KIND.txt` template, when it has one, is
    used for text instead). `terms` is the policy's own glossary, read before the shipped one. A
    partnership's own templates are rendered in a child process with a time, memory and output limit
    (`letters.sandbox`); the shipped templates here."""
    return render_many([(kind, context, fmt)], templates_dir, terms)[0]


def render_many(
    jobs: list[tuple[str, dict, str]],
    templates_dir: str | Path | None = None,
    terms: dict[str, str] | None = None,
) -> list[bytes]:
    """Several letters (kind, context, format) at once: with a partnership's templates, in one child."""
    for kind, _context, fmt in jobs:
        if kind not in LETTER_KINDS:
            raise LetterError(f"{kind!r} is not a letter kind; use one of {', '.join(LETTER_KINDS)}")
        if fmt not in LETTER_FORMATS:
            raise LetterError(f"{fmt!r} is not a letter format; use one of {', '.join(LETTER_FORMATS)}")
    jobs = [(kind, {**context, "_terms": dict(terms or {})}, fmt) for kind, context, fmt in jobs]
    if templates_dir and jobs:
        return sandbox.render_isolated(jobs, templates_dir)
    return [render_here(kind, values, fmt) for kind, values, fmt in jobs]
