"""Letters: Jinja2 templates rendered to HTML, text and PDF from plain data (docs/architecture.md#letters).

Nothing here opens the database: `trigger.correspondence` builds the context (dicts, lists, strings,
numbers) from the case and hands it over. `StrictUndefined` makes a missing field an error, never a
blank in a legal letter. A partnership's own templates are rendered in Jinja's
`ImmutableSandboxedEnvironment`, with the shipped templates behind them for anything not overridden.

The documented context is `letters.check.FIELDS`; `letters.check.check_folder` lists the fields a template
uses that are not in it, the fields a kind must show that it leaves out, and templates that do not parse.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateSyntaxError,
    UndefinedError,
    select_autoescape,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from trigger.codes import LETTER_FORMATS, LETTER_KINDS
from trigger.errors import MissingDependency

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
FONTS_DIR = HERE / "fonts"


class LetterError(Exception):
    """A template that does not parse or render: one line naming the template and the problem."""


# -- dates -------------------------------------------------------------------------------------------

MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# Welsh month names as used in Welsh Government correspondence (Ionawr ... Rhagfyr); source: the
# Welsh Government's term bank, https://termau.cymru (BydTermCymru), and the University of Wales
# Geiriadur Prifysgol Cymru headwords for each month.
MONTHS_CY = (
    "Ionawr",
    "Chwefror",
    "Mawrth",
    "Ebrill",
    "Mai",
    "Mehefin",
    "Gorffennaf",
    "Awst",
    "Medi",
    "Hydref",
    "Tachwedd",
    "Rhagfyr",
)


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def longdate(value) -> str:
    """`2026-03-05` -> `5 March 2026` (GOV.UK style: no ordinal, no comma)."""
    d = _as_date(value)
    return f"{d.day} {MONTHS_EN[d.month - 1]} {d.year}"


def dyddiad(value) -> str:
    """`2026-03-05` -> `5 Mawrth 2026`."""
    d = _as_date(value)
    return f"{d.day} {MONTHS_CY[d.month - 1]} {d.year}"


def clock(value) -> str:
    """`2026-03-20T10:00` -> `10:00`."""
    return str(value)[11:16]


FILTERS = {"longdate": longdate, "dyddiad": dyddiad, "clock": clock}


# -- environments -----------------------------------------------------------------------------------


def _configure(env: Environment) -> Environment:
    env.filters.update(FILTERS)
    env.globals["KINDS"] = LETTER_KINDS
    return env


def _env(templates_dir: str | Path | None = None) -> Environment:
    """The shipped templates; with a partnership folder, that folder first, all in the sandbox."""
    options: dict[str, Any] = {
        "undefined": StrictUndefined,
        "autoescape": select_autoescape(
            enabled_extensions=("html",), default_for_string=False, default=False
        ),
        "trim_blocks": True,
        "lstrip_blocks": True,
        "keep_trailing_newline": True,
    }
    if templates_dir is None:
        return _configure(Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)), **options))
    folder = Path(templates_dir)
    if not folder.is_dir():
        raise LetterError(f"{templates_dir}: no such template folder")
    loader = FileSystemLoader([str(folder), str(TEMPLATES_DIR)])
    return _configure(ImmutableSandboxedEnvironment(loader=loader, **options))


_default_env: Environment | None = None


def environment(templates_dir: str | Path | None = None) -> Environment:
    global _default_env
    if templates_dir:
        return _env(templates_dir)
    if _default_env is None:
        _default_env = _env()
    return _default_env


# -- rendering ----------------------------------------------------------------------------------------


def render(kind: str, context: dict, fmt: str = "html", templates_dir: str | Path | None = None) -> bytes:
    """The letter as bytes in the format asked for (UTF-8 text for html and txt)."""
    if kind not in LETTER_KINDS:
        raise LetterError(f"{kind!r} is not a letter kind; use one of {', '.join(LETTER_KINDS)}")
    if fmt not in LETTER_FORMATS:
        raise LetterError(f"{fmt!r} is not a letter format; use html, txt or pdf")
    source_fmt = "txt" if fmt == "txt" else "html"
    text = render_source(kind, context, source_fmt, templates_dir)
    if fmt == "pdf":
        return pdf(text)
    return text.encode("utf-8")


def render_source(kind: str, context: dict, fmt: str, templates_dir: str | Path | None = None) -> str:
    name = f"{kind}.{fmt}"
    env = environment(templates_dir)
    try:
        return env.get_template(name).render(**context)
    except TemplateSyntaxError as exc:
        raise LetterError(f"{exc.filename or exc.name or name}:{exc.lineno}: {exc.message}") from None
    except UndefinedError as exc:
        raise LetterError(
            f"{name}: {_undefined_field(env, name) or exc.message}; "
            "every field must be in the letter context (see `trigger letters check`)"
        ) from None
    except SecurityError as exc:
        raise LetterError(f"{name}: refused by the template sandbox: {exc}") from None
    except TemplateError as exc:
        raise LetterError(f"{name}: {exc}") from None


def _undefined_field(env: Environment, name: str) -> str | None:
    """Name the first unknown field a template uses, for a clearer error than Jinja's own."""
    from letters.check import template_paths, unknown_field  # the error path only; check imports this module

    try:
        unknown = sorted({u for u in (unknown_field(p) for p in template_paths(env, name, set())) if u})
    except TemplateError:
        return None
    return f"unknown field {unknown[0]!r}" if unknown else None


def _font_css() -> str:
    regular = (FONTS_DIR / "DejaVuSans.ttf").as_uri()
    bold = (FONTS_DIR / "DejaVuSans-Bold.ttf").as_uri()
    return (
        f'@font-face {{ font-family: "Letter Sans"; src: url("{regular}"); font-weight: normal; }}\n'
        f'@font-face {{ font-family: "Letter Sans"; src: url("{bold}"); font-weight: bold; }}\n'
        'html, body, table, th, td { font-family: "Letter Sans"; }\n'
    )


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def pdf(html: str) -> bytes:
    """HTML to PDF with the bundled DejaVu font, so Welsh ŵ and ŷ print whatever fonts the host has."""
    try:
        import weasyprint  # imported here: slow to import, and only the PDF path needs it
        from weasyprint.text.fonts import FontConfiguration
    except OSError as exc:  # WeasyPrint loads Pango, GObject and HarfBuzz from the system when imported
        raise MissingDependency(
            f"PDF letters need the Pango library, which is not installed ({_first_line(exc)}); on Debian or "
            "Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0; on Windows: "
            "install MSYS2 and run pacman -S mingw-w64-x86_64-pango, then set "
            "WEASYPRINT_DLL_DIRECTORIES=C:\\msys64\\mingw64\\bin; or use --format html or txt"
        ) from None

    fonts = FontConfiguration()
    css = weasyprint.CSS(string=_font_css(), font_config=fonts)
    return weasyprint.HTML(string=html, base_url=str(TEMPLATES_DIR)).write_pdf(
        stylesheets=[css], font_config=fonts
    )
