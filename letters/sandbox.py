"""A partnership's own templates are rendered in a child process, so that a template cannot hurt the
engine (docs/architecture.md#letters): Jinja's sandbox already keeps a template away from Python's
insides; the child adds what the sandbox cannot give:

- a time limit: a template that runs longer than `RENDER_SECONDS` (nested loops, say) is stopped
  with one clear error, and the child is killed if it does not stop;
- a memory limit (the child's address space) and an output limit (`render.OUTPUT_LIMIT` characters
  of HTML or text, `PDF_LIMIT` bytes of PDF);
- no database and no secrets: the child receives the letter's context as JSON and returns bytes.

Files are read only from inside the template folder (`render.ConfinedLoader`).

`python -m letters.sandbox` is the child: a JSON request on stdin, the letters on stdout (each an
8-byte length and the bytes), one line on stderr and exit status 2 when a template fails.
"""

from __future__ import annotations

import dataclasses
import json
import os
import struct
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

from letters.render import ConfinedLoader, LetterError, capped, finish, render_source, source_format

RENDER_SECONDS = 5.0  # for one letter's template; TRIGGER_RENDER_SECONDS overrides
PDF_SECONDS = 60.0  # laying out one PDF
START_SECONDS = 20.0  # starting the child and importing what it needs, on a busy machine
TEMPLATE_MEMORY = 512 * 2**20  # address space while a template runs
PDF_MEMORY = 3 * 2**30  # and while WeasyPrint lays out the PDF (fonts and Pango map a lot)
PDF_LIMIT = 20_000_000
_FRAME = struct.Struct(">Q")
_SECRETS = ("TRIGGER_DB", "TRIGGER_SMTP_URL", "TRIGGER_SMTP_TOKEN_CMD", "PGPASSWORD")


def seconds() -> float:
    """The time limit for a partnership's template: TRIGGER_RENDER_SECONDS, or 5 when unset or empty; a
    value that is not a number of seconds from over 0 to 600 is refused in one line (not ignored)."""
    text = os.environ.get("TRIGGER_RENDER_SECONDS", "").strip()
    if not text:
        return RENDER_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 600:
        raise LetterError(f"TRIGGER_RENDER_SECONDS {text!r} is not a number of seconds between 0 and 600")
    return value


def render_isolated(jobs: list[tuple[str, dict, str]], templates_dir: str | Path) -> list[bytes]:
    """Render each (kind, context, format) with the partnership's templates, in one child process."""
    limit = seconds()
    request = {
        "templates": str(Path(templates_dir).resolve()),
        "seconds": limit,
        "jobs": [{"kind": k, "context": c, "format": f} for k, c, f in jobs],
    }
    budget = START_SECONDS + limit * len(jobs) + PDF_SECONDS * sum(f in ("pdf", "docx") for _, _, f in jobs)
    return _run(request, len(jobs), budget, f"the templates in {templates_dir}")


def _plain(value):
    """Plain data for the child: a dataclass as its fields (a template reads `bar.x` either way)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not plain data for a template")


def _run(request: dict, count: int, budget: float, what: str) -> list[bytes]:
    """Run the child on `request`; its results, or one LetterError line."""
    package_root = str(Path(__file__).resolve().parent.parent)
    env = {k: v for k, v in os.environ.items() if k not in _SECRETS}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "letters.sandbox"],
            input=json.dumps(request, default=_plain).encode("utf-8"),
            capture_output=True,
            timeout=budget,
            env=env,
            cwd=package_root,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise LetterError(f"{what} did not finish within {budget:.0f} s; rendering was stopped") from None
    if proc.returncode != 0:
        lines = [line for line in proc.stderr.decode("utf-8", "replace").splitlines() if line.strip()]
        if proc.returncode == 2 and lines:
            raise LetterError(lines[-1])
        raise LetterError(
            f"rendering {what} failed (the renderer stopped with "
            f"status {proc.returncode}{': ' + lines[-1] if lines else ''})"
        )
    return _unframe(proc.stdout, count)


def render_page_isolated(
    template: str, context: dict, folders: list[tuple[str | None, str | Path]], what: str
) -> str:
    """A partnership's own page template (the published annual page), rendered in the child with the
    same limits as a letter: HTML-autoescaped, Jinja's sandbox, `folders` searched in order (with an
    optional prefix, `trigger/annual.html` for ours). `what` names the template in errors."""
    request = {
        "seconds": seconds(),
        "page": {
            "template": template,
            "context": context,
            "folders": [[prefix, str(Path(folder).resolve())] for prefix, folder in folders],
        },
    }
    (data,) = _run(request, 1, START_SECONDS + seconds(), what)
    return data.decode("utf-8")


def _unframe(data: bytes, count: int) -> list[bytes]:
    out, at = [], 0
    for _ in range(count):
        (size,) = _FRAME.unpack_from(data, at)
        at += _FRAME.size
        out.append(data[at : at + size])
        at += size
    return out


# -- the child ------------------------------------------------------------------------------------------


class _TimeUp(BaseException):
    """Raised by the alarm; a BaseException so that nothing inside Jinja catches it."""


def _limit_memory(size: int) -> None:
    try:
        import resource
    except ImportError:  # Windows: the parent's timeout still applies
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY and size > hard:
        size = hard
    resource.setrlimit(resource.RLIMIT_AS, (size, hard))


def _alarm(after: float) -> None:
    import signal

    if hasattr(signal, "setitimer"):
        signal.setitimer(signal.ITIMER_REAL, after)


def _on_alarm(signum, frame):
    raise _TimeUp()


def _child() -> int:
    import signal

    request = json.loads(sys.stdin.buffer.read())
    limit = float(request["seconds"])
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, _on_alarm)
    out = sys.stdout.buffer
    if "page" in request:
        return _page(request["page"], limit, out)
    folder = request["templates"]
    for job in request["jobs"]:
        kind, fmt = job["kind"], job["format"]
        source_fmt = source_format(kind, fmt, folder)
        name = f"{kind}.{source_fmt}"
        try:
            _limit_memory(TEMPLATE_MEMORY)
            _alarm(limit)
            text = render_source(kind, job["context"], source_fmt, folder)
            _alarm(0)
            if fmt in ("pdf", "docx"):  # laying out a document: more time and memory than a template
                _limit_memory(PDF_MEMORY)
                _alarm(PDF_SECONDS)
            data = finish(text, source_fmt, fmt, job["context"])
            _alarm(0)
            if len(data) > PDF_LIMIT:
                raise LetterError(f"{name}: the {fmt} grew past {PDF_LIMIT:,} bytes; rendering was stopped")
        except _TimeUp:
            print(
                f"{name}: the template ran for more than {limit:g} s and was stopped "
                "(a loop that repeats too often?); check it with `trigger letters check`",
                file=sys.stderr,
            )
            return 2
        except MemoryError:
            _alarm(0)
            print(f"{name}: the template needed too much memory and was stopped", file=sys.stderr)
            return 2
        except LetterError as exc:
            _alarm(0)
            print(str(exc), file=sys.stderr)
            return 2
        out.write(_FRAME.pack(len(data)))
        out.write(data)
    out.flush()
    return 0


def _page(job: dict, limit: float, out) -> int:
    from jinja2 import ChoiceLoader, PrefixLoader, StrictUndefined, TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    loaders = [
        PrefixLoader({prefix: ConfinedLoader(folder)}) if prefix else ConfinedLoader(folder)
        for prefix, folder in job["folders"]
    ]
    env = ImmutableSandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    name = job["template"]
    try:
        _limit_memory(TEMPLATE_MEMORY)
        _alarm(limit)
        text = capped(env.get_template(name).generate(job["context"]), name)
        _alarm(0)
    except _TimeUp:
        print(
            f"{name} ran for more than {limit:g} s and was stopped (a loop that repeats too often?)",
            file=sys.stderr,
        )
        return 2
    except MemoryError:
        _alarm(0)
        print(f"{name} needed too much memory and was stopped", file=sys.stderr)
        return 2
    except (TemplateError, LetterError) as exc:
        _alarm(0)
        print(f"{exc}", file=sys.stderr)
        return 2
    data = text.encode("utf-8")
    out.write(_FRAME.pack(len(data)))
    out.write(data)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(_child())
