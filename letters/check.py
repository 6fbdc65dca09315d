"""`trigger letters check DIR`: a partnership's template folder checked against the documented letter
context (`FIELDS`): fields a template uses that are not in it, fields a kind must show that it leaves
out, templates that do not parse, and references to anything outside the letter (which the renderer
refuses, docs/architecture.md#letters-fetch-nothing)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from jinja2 import TemplateError, TemplateSyntaxError

from letters.fields import FIELDS, REQUIRED, WELSH_PARTIALS, referenced, template_paths, unknown_field
from letters.render import LetterError, environment
from trigger.codes import LETTER_KINDS

# -- checking a partnership's folder -------------------------------------------------------------------


@dataclass
class Problem:
    template: str
    kind: str  # "syntax", "unknown", "missing", "name", "link", "reference"
    message: str

    def __str__(self) -> str:
        return f"{self.template}: {self.message}"


def check_folder(folder: str | Path) -> list[Problem]:
    """Every problem in a partnership's template folder: unparsable templates, unknown fields, missing
    required fields, and files that are not a letter kind."""
    folder = Path(folder)
    if not folder.is_dir():
        raise LetterError(f"{folder}: no such template folder")
    env = environment(folder)
    problems: list[Problem] = []
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in (".html", ".txt", ".j2"))
    if not files:
        problems.append(Problem(str(folder), "name", "no templates (.html, .txt or .j2) in this folder"))
    root = folder.resolve()
    for path in files:
        name = path.relative_to(folder).as_posix()
        stem = path.stem
        if not path.resolve().is_relative_to(root):
            problems.append(
                Problem(name, "link", "a link out of the template folder; letters refuse it (copy the file)")
            )
            continue
        try:
            source = path.read_text(encoding="utf-8")
            env.parse(source, name)
        except TemplateSyntaxError as exc:
            problems.append(Problem(name, "syntax", f"line {exc.lineno}: does not parse: {exc.message}"))
            continue
        except UnicodeDecodeError:
            problems.append(Problem(name, "syntax", "is not UTF-8 text"))
            continue
        partial = stem.startswith("_") or path.suffix == ".j2"
        if not partial and stem not in LETTER_KINDS:
            problems.append(
                Problem(name, "name", f"{stem!r} is not a letter kind; use one of {', '.join(LETTER_KINDS)}")
            )
            continue
        try:
            used = template_paths(env, name, set())
        except TemplateSyntaxError as exc:
            problems.append(
                Problem(name, "syntax", f"{exc.name}: line {exc.lineno}: does not parse: {exc.message}")
            )
            continue
        except (TemplateError, LetterError) as exc:
            problems.append(Problem(name, "syntax", f"cannot load a template it uses: {exc}"))
            continue
        unknown = sorted({u for u in (unknown_field(p) for p in used) if u})
        for field in unknown:
            problems.append(Problem(name, "unknown", f"unknown field {field!r} (not in the letter context)"))
        if not partial:
            english = template_paths(env, name, set(), WELSH_PARTIALS)
            dotted = {".".join(x for x in p if x != "[]") for p in english}
            for field in REQUIRED[stem]:
                if not any(d == field or d.startswith(field + ".") for d in dotted):
                    problems.append(Problem(name, "missing", f"missing required field {field!r}"))
    return problems + reference_problems(folder, files)


# -- references outside the letter ----------------------------------------------------------------------
# A letter fetches nothing (docs/architecture.md#letters-fetch-nothing): the PDF renderer refuses every
# address but the bundled fonts and data: URIs, so a template that points elsewhere would lose that part
# of the letter without a word. Each such reference is named here, with its line, before a letter goes out.

_URL_ATTRIBUTES = frozenset(
    {"href", "src", "srcset", "data", "poster", "background", "action", "formaction", "xlink:href", "ping"}
)
_LOGO = re.compile(r"\{\{-?\s*letterhead\.logo\s*-?\}\}")  # the policy's logo, given as a data: URI
_JINJA_STATEMENT = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.S)
_CSS_REFERENCES = (
    re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)]*?))\s*\)""", re.I),
    re.compile(r"""@import\s+(?:"([^"]*)"|'([^']*)')""", re.I),
)
_CSS_ATTR_URL = re.compile(r"attr\([^)]*\burl\b[^)]*\)", re.I)  # an address made from an attribute


def _allowed(value: str, link: bool = False) -> bool:
    """Nothing to fetch: empty, a data: URI, a place in the letter itself (#...), the policy's logo;
    on a link (<a href>), an e-mail address or telephone number."""
    low = value.strip().lower()
    return (
        not low
        or low.startswith(("data:", "#"))
        or bool(_LOGO.fullmatch(value.strip()))
        or (link and low.startswith(("mailto:", "tel:")))
    )


def _shown(value: str) -> str:
    value = " ".join(value.split())
    return value if len(value) <= 200 else value[:197] + "..."


class _Tags(HTMLParser):
    """The URL attributes of a template's tags, with their lines (<style> and <script> are CDATA)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line, raw = self.getpos()[0], self.get_starttag_text() or ""
        values = {name: value or "" for name, value in attrs}
        rel = values.get("rel", "").lower().split()
        link = tag in ("a", "area") and "attachment" not in rel  # an attachment link embeds the file
        for name, value in values.items():
            if name == "content" and values.get("http-equiv", "").lower() == "refresh":
                if "url" not in value.lower():
                    continue
            elif name not in _URL_ATTRIBUTES or _allowed(value, link and name == "href"):
                continue
            at = re.search(rf"(?<![\w:-]){re.escape(name)}\s*=", raw, re.I)
            self.found.append(
                (line + raw[: at.start() if at else 0].count("\n"), f'<{tag} {name}="{_shown(value)}">')
            )

    handle_startendtag = handle_starttag


def external_references(source: str) -> list[tuple[int, str]]:
    """(line, what) for each reference a template makes to anything outside the letter: a URL attribute
    (href, src, srcset, <object data>, an attachment link, a refresh) or CSS (url(), @import), in the
    markup or in CSS anywhere in the file. Jinja statements and comments are blanked first, so an `{% if %}`
    inside a tag hides nothing; the policy's logo (`{{ letterhead.logo }}`) is allowed."""
    text = _JINJA_STATEMENT.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), source)
    tags = _Tags()
    tags.feed(text)
    tags.close()
    found = tags.found
    for pattern in _CSS_REFERENCES:
        for match in pattern.finditer(text):
            if not _allowed(next((g for g in match.groups() if g is not None), "")):
                found.append((text.count("\n", 0, match.start()) + 1, _shown(match.group())))
    for match in _CSS_ATTR_URL.finditer(text):
        found.append((text.count("\n", 0, match.start()) + 1, _shown(match.group())))
    return sorted(found)


def reference_problems(folder: Path, templates: list[Path]) -> list[Problem]:
    """External references in the folder's HTML templates, its CSS files, and every file of the folder
    that a template includes, imports or extends (whatever its name)."""
    env = environment(folder)
    root = folder.resolve()
    queue = [p for p in templates if p.suffix != ".txt"] + sorted(folder.rglob("*.css"))
    seen: set[Path] = set()
    problems: list[Problem] = []
    while queue:
        path = queue.pop(0)
        real = path.resolve()
        if real in seen or not real.is_file() or not real.is_relative_to(root):
            continue
        seen.add(real)
        name = real.relative_to(root).as_posix()
        try:
            source = real.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # a template that cannot be read is reported above
        for line, what in external_references(source):
            problems.append(
                Problem(
                    name,
                    "reference",
                    f"line {line}: {what} points outside the letter; letters fetch nothing, so it "
                    "would be left out (a logo belongs in the policy's [letterhead])",
                )
            )
        try:
            queue += [folder / ref for ref in referenced(env.parse(source, name))]
        except TemplateSyntaxError:
            continue
    return problems


def field_list() -> list[str]:
    """Every documented field as a dotted path (for `trigger letters fields` and the docs)."""
    out = []

    def walk(spec, prefix):
        if isinstance(spec, list):
            walk(spec[0], prefix + "[]")
        elif isinstance(spec, dict):
            for key, sub in spec.items():
                walk(sub, f"{prefix}.{key}" if prefix else key)
        else:
            out.append(prefix)

    walk(FIELDS, "")
    return out
