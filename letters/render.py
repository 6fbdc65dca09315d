"""Letters: Jinja2 templates rendered to HTML, text and PDF from plain data (docs/architecture.md#letters).

Nothing here opens the database: `trigger.correspondence.context` builds the context (dicts, lists, strings,
numbers) from the case and hands it over. `StrictUndefined` makes a missing field an error, never a
blank in a legal letter. A partnership's own templates are rendered in Jinja's
`ImmutableSandboxedEnvironment`, with the shipped templates behind them for anything not overridden.

The documented context is `letters.fields.FIELDS`; `letters.check.check_folder` lists the fields a template
uses that are not in it, the fields a kind must show that it leaves out, and templates that do not parse.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import importlib
import io
import os
import re
import shutil
import sys
import threading
import types
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
    pass_context,
    select_autoescape,
)
from jinja2.bccache import Bucket, FileSystemBytecodeCache
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from letters.fields import template_paths, unknown_field
from letters.glossary import GlossaryError, welsh, welsh_name
from letters.heavy import import_for_good
from letters.words import OTHER_HELP, long_date, number, plural, quoted
from trigger.codes import LETTER_KINDS
from trigger.errors import MissingDependency

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
FONTS_DIR = HERE / "fonts"


class LetterError(Exception):
    """A template that does not parse or render: one line naming the template and the problem."""


OUTPUT_LIMIT = 2_000_000  # characters of HTML or text: hundreds of pages, far beyond any letter
TEMPLATE_LIMIT = 1_000_000  # bytes of one template file


def _unchanged(path: str, mtime: float) -> bool:
    try:
        return os.path.getmtime(path) == mtime
    except OSError:
        return False


class ConfinedLoader(FileSystemLoader):
    """A template folder whose files are read only from inside it: a symbolic link (to a file or a
    folder) that leads out of the folder is refused, so a template cannot print an arbitrary file;
    only regular files of a sensible size are read."""

    def get_source(self, environment: Environment, template: str):
        pieces = split_template_path(template)
        for searchpath in self.searchpath:
            filename = os.path.join(searchpath, *pieces)
            if not os.path.lexists(filename):
                continue
            root = os.path.realpath(searchpath)
            real = os.path.realpath(filename)
            if os.path.commonpath([root, real]) != root:
                raise LetterError(
                    f"{template}: a link out of the template folder {searchpath} is refused; "
                    "copy the template into the folder instead"
                )
            if not os.path.isfile(real):
                continue
            if os.path.getsize(real) > TEMPLATE_LIMIT:
                raise LetterError(
                    f"{template}: larger than {TEMPLATE_LIMIT:,} bytes; a letter template is small"
                )
            with open(real, encoding=self.encoding) as fh:
                contents = fh.read()
            mtime = os.path.getmtime(real)
            return contents, os.path.normpath(filename), functools.partial(_unchanged, real, mtime)
        raise TemplateNotFound(template)


# -- dates, numbers and terms -------------------------------------------------------------------------
# Dates, numbers and lists are CLDR's (en_GB and cy). A date is CLDR's long date with CLDR's month
# names (`letters.words.long_date`, which a test holds equal to Babel's), so a letter loads Babel's
# locale data only for what needs its rules: a Welsh count, a list, a number that is not whole.


def _as_date(value) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def longdate(value) -> str:
    """`2026-03-05` -> `5 March 2026` (GOV.UK style: no ordinal, no comma)."""
    return long_date(_as_date(value))


def dyddiad(value) -> str:
    """`2026-03-05` -> `5 Mawrth 2026`."""
    return long_date(_as_date(value), "cy")


def clock(value) -> str:
    """`2026-03-20T10:00` -> `10:00`."""
    return str(value)[11:16]


def andlist(items, lang: str = "en") -> str:
    """`["A", "B", "C"]` -> `A, B and C` (English: CLDR's en_GB list pattern, "{0}, {1}" and at the end
    "{0} and {1}", with no comma before "and"), `A, B a C` (Welsh: "ac" before a vowel; CLDR writes the
    choice as "a(c)"). Written here, as a date is, so that a letter loads no locale data for it."""
    items = [str(i) for i in items]
    if len(items) < 2:
        return "".join(items)
    last = items[-1]
    joiner = "and" if lang != "cy" else "ac" if last[:1].lower() in "aeiouwyâêîôûŵŷ" else "a"
    return f"{', '.join(items[:-1])} {joiner} {last}"


@pass_context
def _cy(ctx, term) -> str:
    try:
        return welsh(term, ctx.get("_terms"))
    except GlossaryError as exc:
        raise LetterError(str(exc)) from None


@pass_context
def _cyname(ctx, name) -> str:
    return welsh_name(name, ctx.get("_terms"))


def _no_welsh(kind: str) -> str:
    raise LetterError(
        f"the {kind} template has no Welsh text (a {{% block body_cy %}}), and this letter must be "
        "bilingual; add the Welsh, or send the letter in English only under a policy without Welsh"
    )


FILTERS = {
    "longdate": longdate,
    "dyddiad": dyddiad,
    "clock": clock,
    "number": number,
    "andlist": andlist,
    "quoted": quoted,
    "cy": _cy,
    "cyname": _cyname,
}


# -- environments -----------------------------------------------------------------------------------


def _configure(env: Environment) -> Environment:
    env.filters.update(FILTERS)
    env.globals["KINDS"] = LETTER_KINDS
    env.globals["plural"] = plural
    env.globals["no_welsh"] = _no_welsh
    env.globals["other_help"] = OTHER_HELP
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
        loader = ConfinedLoader(str(TEMPLATES_DIR))
        cache = _compiled_templates(options)
        return _configure(Environment(loader=loader, bytecode_cache=cache, **options))
    folder = Path(templates_dir)
    if not folder.is_dir():
        raise LetterError(f"{templates_dir}: no such template folder")
    loader = ConfinedLoader([str(folder), str(TEMPLATES_DIR)])
    return _configure(ImmutableSandboxedEnvironment(loader=loader, **options))


class _CompiledTemplates(FileSystemBytecodeCache):
    """Jinja's own cache of compiled templates, which a write that fails leaves as it was."""

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:  # a full or read-only disk: the template is compiled again next time
            pass


def _compiled_templates(options: dict[str, Any]) -> FileSystemBytecodeCache | None:
    """The shipped templates compiled once rather than by every letter (a fiftieth of a PDF letter's
    CPU time, docs/architecture.md#speed): Jinja's bytecode cache, in the private folder it makes for
    this user in the system's temporary folder (created 0700; refused unless this user owns it and no
    one else may open it). A template read from disk is compiled again whenever its text differs from
    the text it was compiled from; the compiled code also depends on Jinja's version and on the
    environment's options, which name the files. A partnership's own templates are not cached: they are
    compiled in the sandbox every time."""
    import hashlib

    import jinja2

    flags = {key: value for key, value in options.items() if isinstance(value, bool)}
    fingerprint = hashlib.sha256(f"{jinja2.__version__} {sorted(flags.items())}".encode()).hexdigest()
    try:
        return _CompiledTemplates(pattern=f"trigger-letters-{fingerprint[:16]}-%s.cache")
    except (OSError, RuntimeError):  # no private folder to be had: compile every time, as before
        return None


_default_env: Environment | None = None


def environment(templates_dir: str | Path | None = None) -> Environment:
    global _default_env
    if templates_dir:
        return _env(templates_dir)
    if _default_env is None:
        _default_env = _env()
    return _default_env


# -- rendering ----------------------------------------------------------------------------------------


def source_format(kind: str, fmt: str, templates_dir: str | Path | None) -> str:
    """The template a format is rendered from: the kind's HTML, or a partnership's own KIND.txt for text."""
    return "txt" if fmt == "txt" and _has_template(f"{kind}.txt", templates_dir) else "html"


def finish(source: str, source_fmt: str, fmt: str, context: dict) -> bytes:
    """A rendered template turned into the format asked for."""
    if fmt == "pdf":
        return pdf(source)
    if fmt == "docx":
        from letters.word import docx_of  # python-docx: only the Word path loads it

        return docx_of(source, _as_date(context["letter"]["date"]) if "letter" in context else None)
    if fmt == "txt" and source_fmt == "html":
        from letters.plain import text_of

        return text_of(source).encode("utf-8")
    if fmt == "html":
        return sealed(source).encode("utf-8")
    return source.encode("utf-8")


# A browser that opens the HTML letter fetches nothing either (docs/architecture.md#letters-fetch-nothing):
# the policy comes first, after the doctype and before any element, so no reference precedes it.
CONTENT_POLICY = (
    '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; img-src data:; '
    "font-src data:; style-src 'unsafe-inline'; form-action 'none'; base-uri 'none'\">"
)
_DOCTYPE = re.compile(r"\s*<!doctype[^>]*>", re.I)


def sealed(html: str) -> str:
    """The HTML letter with its Content-Security-Policy in front."""
    doctype = _DOCTYPE.match(html)
    at = doctype.end() if doctype else 0
    return f"{html[:at]}{CONTENT_POLICY}\n{html[at:]}"


def render_here(kind: str, values: dict, fmt: str, templates_dir: str | Path | None = None) -> bytes:
    """Render in this process (the shipped templates; or, inside the sandbox's child, a partner's)."""
    source_fmt = source_format(kind, fmt, templates_dir)
    return finish(render_source(kind, values, source_fmt, templates_dir), source_fmt, fmt, values)


def _has_template(name: str, templates_dir: str | Path | None) -> bool:
    env = environment(templates_dir)
    assert env.loader is not None
    try:
        env.loader.get_source(env, name)
    except TemplateNotFound:
        return False
    return True


def capped(chunks, name: str) -> str:
    """Join a template's output, stopping as soon as it grows past OUTPUT_LIMIT."""
    parts, size = [], 0
    for chunk in chunks:
        size += len(chunk)
        if size > OUTPUT_LIMIT:
            raise LetterError(
                f"{name}: the letter grew past {OUTPUT_LIMIT:,} characters; rendering was stopped "
                "(a loop that repeats too often?)"
            )
        parts.append(chunk)
    return "".join(parts)


def render_source(kind: str, context: dict, fmt: str, templates_dir: str | Path | None = None) -> str:
    name = f"{kind}.{fmt}"
    env = environment(templates_dir)
    try:
        return capped(env.get_template(name).generate(**context), name)
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
    try:
        unknown = sorted({u for u in (unknown_field(p) for p in template_paths(env, name, set())) if u})
    except TemplateError:
        return None
    return f"unknown field {unknown[0]!r}" if unknown else None


# -- PDF ----------------------------------------------------------------------------------------------
# Only the bundled fonts: every box, the page-margin boxes included, is set in "Letter Sans" with
# !important (a user stylesheet, so it wins over a partnership's own CSS), and the faces are the
# files in fonts/. The PDF is tagged (PDF/UA-1), so screen readers get headings, lists and tables.
# A letter fetches nothing else (docs/architecture.md#letters-fetch-nothing): the renderer is given
# those font files and `data:` URIs (the policy's logo is one), and every other address is refused.

FONT_FILES = {
    ("normal", "normal"): "DejaVuSans.ttf",
    ("bold", "normal"): "DejaVuSans-Bold.ttf",
    ("normal", "italic"): "DejaVuSans-Oblique.ttf",
    ("bold", "italic"): "DejaVuSans-BoldOblique.ttf",
}
FONT_FAMILY = "Letter Sans"
_MARGIN_BOXES = (
    "top-left",
    "top-center",
    "top-right",
    "bottom-left",
    "bottom-center",
    "bottom-right",
)


def _font_css() -> str:
    faces = "".join(
        f'@font-face {{ font-family: "{FONT_FAMILY}"; src: url("{(FONTS_DIR / name).as_uri()}"); '
        f"font-weight: {weight}; font-style: {style}; }}\n"
        for (weight, style), name in FONT_FILES.items()
    )
    family = f'font-family: "{FONT_FAMILY}" !important;'
    boxes = " ".join(f"@{box} {{ {family} }}" for box in _MARGIN_BOXES)
    return f"{faces}*, *::before, *::after, *::marker {{ {family} }}\n@page {{ {family} {boxes} }}\n"


def _font_uris() -> dict[str, Path]:
    """The bundled font files by the address the @font-face rules give them (unquoted, as WeasyPrint
    may re-quote it)."""
    return {unquote((FONTS_DIR / name).as_uri()): FONTS_DIR / name for name in FONT_FILES.values()}


class Refused(ValueError):
    """An address a letter may not fetch; WeasyPrint logs it and leaves the resource out."""


def _fetcher():
    """WeasyPrint's fetcher, allowed `data:` URIs only, with the bundled fonts served from fonts/."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    fonts = _font_uris()

    class LetterFetcher(URLFetcher):
        def fetch(self, url, headers=None):
            font = fonts.get(unquote(url))
            if font is not None:
                return URLFetcherResponse(url, font.read_bytes(), {"Content-Type": "font/ttf"})
            if not url.lower().startswith("data:"):
                raise Refused(f"a letter fetches nothing: {url[:200]} refused")
            return super().fetch(url, headers)

    return LetterFetcher(allowed_protocols={"data"}, allow_redirects=False)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


@contextlib.contextmanager
def _no_library_search():
    """Skip ctypes' search for a shared library by name, on Linux. WeasyPrint tries several names for
    each of Pango's libraries and reaches their sonames (libpango-1.0.so.0), which the loader finds
    itself, only after names that cffi hands to `ctypes.util.find_library`: each of those runs
    ldconfig, gcc and ld in turn, a fifth of the CPU time of a PDF letter."""
    if not sys.platform.startswith("linux"):
        yield
        return
    import ctypes.util

    search = ctypes.util.find_library
    ctypes.util.find_library = lambda name: None
    try:
        yield
    finally:
        ctypes.util.find_library = search


# Modules WeasyPrint imports for what a letter never has, with the names it imports from them by name:
# fontTools' variable-font instancer (the bundled DejaVu faces are static), its subsetter (WeasyPrint
# subsets with HarfBuzz-Subset when it is there) and its WOFF2 decoder (the faces are TrueType files),
# and Pillow's colour management, which only a stylesheet's @color-profile rule uses.
_UNUSED_BY_LETTERS = {
    "fontTools.subset": (),
    "fontTools.varLib.instancer": ("instantiateVariableFont",),
    "fontTools.ttLib.woff2": (),
    "PIL.ImageCms": ("ImageCmsProfile",),
}


class _OnFirstUse(types.ModuleType):
    """Stands in for a module while WeasyPrint is imported: the real module is imported the first time
    any of its names is used. `functions` are the names imported from it by name (`from M import f`),
    which must exist when WeasyPrint binds them."""

    def __init__(self, name: str, functions: tuple[str, ...]) -> None:
        super().__init__(name)
        for function in functions:
            setattr(self, function, self._deferred(function))

    def _deferred(self, function: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            return getattr(self._real(), function)(*args, **kwargs)

        return call

    def _real(self) -> types.ModuleType:
        if sys.modules.get(self.__name__) is self:  # used while WeasyPrint is still being imported
            del sys.modules[self.__name__]
        return importlib.import_module(self.__name__)

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):  # what the import system asks of a module (__path__...)
            raise AttributeError(attribute)
        return getattr(self._real(), attribute)


@contextlib.contextmanager
def _unused_on_first_use():
    """Defer the modules of `_UNUSED_BY_LETTERS` until WeasyPrint uses them: importing them is a third
    of WeasyPrint's own import, and a letter never needs them."""
    placed = []
    for name, functions in _UNUSED_BY_LETTERS.items():
        if name not in sys.modules:
            sys.modules[name] = _OnFirstUse(name, functions)
            placed.append(name)
    try:
        yield
    finally:
        for name in placed:  # from here on, importing the name imports the real module
            if isinstance(sys.modules.get(name), _OnFirstUse):
                del sys.modules[name]


def _import_weasyprint():
    """WeasyPrint, imported here: slow to import, and only the PDF path needs it."""
    try:  # WeasyPrint prints its advice on a missing library: only the second attempt's is shown
        with (
            _no_library_search(),
            _unused_on_first_use(),
            contextlib.redirect_stdout(io.StringIO()),
        ):
            return import_for_good("weasyprint")
    except OSError:  # a library only the search finds (outside the loader's own paths): search after all
        with _unused_on_first_use():
            return import_for_good("weasyprint")


def pdf(html: str) -> bytes:
    """HTML to a tagged PDF (PDF/UA-1) with the bundled DejaVu faces only, so Welsh ŵ and ŷ print the
    same whatever fonts the host has. Nothing else is fetched but `data:` URIs (`_fetcher`)."""
    document, options = _laid_out(html)
    return document.write_pdf(finisher=_pdf_ua, **options)


def layout(html: str) -> Any:
    """The pages of the PDF `pdf` makes of this HTML, laid out and not yet written (WeasyPrint's
    `Document`): where each line falls, without the cost of writing the file."""
    return _laid_out(html)[0]


def _laid_out(html: str) -> tuple[Any, dict[str, Any]]:
    """The HTML laid out in pages for `pdf`, and the options its writing takes."""
    try:
        weasyprint = _import_weasyprint()
        from weasyprint import DEFAULT_OPTIONS
        from weasyprint.text.fonts import FontConfiguration
    except ModuleNotFoundError as exc:
        if exc.name != "weasyprint":
            raise
        raise MissingDependency(
            "PDF letters need WeasyPrint; install the pdf extra: pip install 'community-trigger[pdf]' "
            "(or use --format html, txt or docx)"
        ) from None
    except OSError as exc:  # WeasyPrint loads Pango, GObject and HarfBuzz from the system when imported
        raise MissingDependency(
            f"PDF letters need the Pango library, which is not installed ({_first_line(exc)}); on Debian or "
            "Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0; on Windows: "
            "install MSYS2 and run pacman -S mingw-w64-x86_64-pango, then set "
            "WEASYPRINT_DLL_DIRECTORIES=C:\\msys64\\mingw64\\bin; or use --format html or txt"
        ) from None

    fetcher = _fetcher()
    fonts, css = _bundled_fonts(weasyprint, FontConfiguration)
    # as HTML.write_pdf does: the same options for the layout and for the writing
    options = {**DEFAULT_OPTIONS, "stylesheets": [css], "pdf_variant": "pdf/ua-1"}
    try:
        # no base URL: a relative address resolves to nothing, and the fetcher refuses it anyway
        document = weasyprint.HTML(string=html, url_fetcher=fetcher).render(font_config=fonts, **options)
    finally:
        if _fonts_added(fonts):
            _FONTS.pop(threading.get_ident(), None)
    return document, options


# this thread's font configuration holding the bundled faces, and the stylesheet that declares them
_FONTS: dict[int, tuple[Any, Any]] = {}


def _bundled_fonts(weasyprint: Any, configuration: Any) -> tuple[Any, Any]:
    """The font configuration with the bundled faces added, and the stylesheet naming them for every
    box: made once for each thread that renders (gathering the host's fonts and adding the faces was a
    tenth of a letter's time), not shared between threads, as Pango's font map is not made for that."""
    made = _FONTS.get(threading.get_ident())
    if made is None:
        fonts = configuration()
        css = weasyprint.CSS(string=_font_css(), font_config=fonts, url_fetcher=_fetcher())
        made = _FONTS[threading.get_ident()] = (fonts, css)
    return made


def _fonts_added(fonts: Any) -> bool:
    """Whether a letter's own @font-face rules added faces to the configuration beside the bundled ones
    (WeasyPrint keeps a file for each face it adds): then the configuration is not used again, so that
    no face one letter declared is there for another."""
    folder = getattr(fonts, "_folder", None)
    return folder is None or sum(1 for _ in Path(folder).iterdir()) != len(FONT_FILES)


@atexit.register
def _drop_fonts() -> None:
    """Remove the folders of font files the kept configurations made (a configuration removes its own
    when dropped, which the interpreter's exit does not wait for)."""
    for fonts, _css in _FONTS.values():
        folder = getattr(fonts, "_folder", None)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
    _FONTS.clear()


def _pdf_ua(document, pdf) -> None:
    """What WeasyPrint's PDF/UA tagging leaves to us: each table header cell's scope (Matterhorn
    15-003), and the running header and page numbers, drawn in the page margins, marked as pagination
    artifacts rather than as content with no place in the structure tree (Matterhorn 01-001)."""
    import pydyf

    for page in document.pages:
        for row in _boxes(page._page_box):
            if row.element_tag != "tr":
                continue
            # a header cell heads its row when its HTML says so, or when the row also holds data cells
            heads_row = any(c.element_tag == "td" for c in row.children)
            for box in row.children:
                cell = getattr(box, "mark", None)
                if box.element_tag == "th" and isinstance(cell, pydyf.Dictionary):
                    scope = box.element.attrib.get("scope") if box.element is not None else None
                    row_header = scope == "row" if scope in ("row", "col") else heads_row
                    cell.setdefault("A", pydyf.Dictionary({"O": "/Table"}))
                    cell["A"]["Scope"] = "/Row" if row_header else "/Column"
    objects = {o.reference: o for o in pdf.objects if isinstance(o, pydyf.Object)}
    _section_languages(document, pdf, objects)
    root = objects[pdf.catalog["StructTreeRoot"]]
    placed: set = set()
    stack = list(root["K"])
    while stack:
        ref = stack.pop()
        if ref in placed or ref not in objects:
            continue
        placed.add(ref)
        stack += [k for k in objects[ref].get("K", []) if not isinstance(k, int)]
    margins: dict = {}  # page -> the marked-content ids of elements outside the tree: the margin boxes
    for ref, element in objects.items():
        if (
            isinstance(element, pydyf.Dictionary)
            and element.get("Type") == "/StructElem"
            and ref not in placed
        ):
            if "Pg" in element:
                margins.setdefault(element["Pg"], set()).update(k for k in element["K"] if isinstance(k, int))
    for page_ref, ids in margins.items():
        contents = objects[page_ref]["Contents"]
        stream = objects[contents].stream
        for i, item in enumerate(stream):
            if (
                isinstance(item, pydyf.Dictionary)
                and item.get("MCID") in ids
                and i
                and stream[i + 1] == b"BDC"
            ):
                stream[i - 1] = "/Artifact"
                item.clear()
                item["Type"] = "/Pagination"


def _section_languages(document, pdf, objects: dict) -> None:
    """Each part of a bilingual letter tagged with its language (a `<section lang>`), not only the
    document's first: WeasyPrint gives a structure element no /Lang. The English part starts a new
    page, so a page holds one language's section, and each section's element on it takes that
    language."""
    import pydyf

    on_page: dict = {}  # page reference -> the languages of the sections drawn on it
    for index, page in enumerate(document.pages):
        for box in _boxes(page._page_box):
            if box.element_tag == "section" and box.element is not None and box.element.attrib.get("lang"):
                on_page.setdefault(pdf.page_references[index], set()).add(box.element.attrib["lang"])
    for element in objects.values():
        if isinstance(element, pydyf.Dictionary) and element.get("S") == "/Sect":
            languages = on_page.get(element.get("Pg"), set())
            if len(languages) == 1:
                element["Lang"] = pydyf.String(next(iter(languages)))


def _boxes(box):
    yield box
    for child in getattr(box, "children", ()):
        yield from _boxes(child)
