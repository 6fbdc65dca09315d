"""`trigger letters check DIR`: a partnership's template folder checked against the documented letter
context (`FIELDS`): fields a template uses that are not in it, fields a kind must show that it leaves
out, templates that do not parse, and references to anything outside the letter (which the renderer
refuses, docs/architecture.md#letters-fetch-nothing)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from jinja2 import Environment, TemplateError, TemplateSyntaxError, meta, nodes

from letters.render import LetterError, environment
from trigger.codes import LETTER_KINDS

# -- the documented context ---------------------------------------------------------------------------
# A dict is a record with these keys; [item] is a list of such items; None is a plain value.

_INCIDENT = {
    "id": None,
    "occurred": None,
    "reported": None,
    "agency": None,
    "reason": None,
    "why": None,  # after_application, late, stale, same (or None): why it was not counted
    "days": None,
    "same_as": None,
}
FIELDS: dict = {
    "letter": {
        "kind": None,
        "date": None,
        "format": None,
        "bilingual": None,
        "language": None,
        "title": None,
        "title_cy": None,
    },
    "partnership": {"name": None, "area": None, "nation": None, "policy": None},
    "letterhead": {"logo": None, "address": [None], "telephone": None, "web": None},
    "reference": None,
    "spoc": {"name": None, "person": None, "role": None, "email": None},
    "recipient": {"name": None, "address": [None], "is_agency": None},
    "applicant": {"name": None, "initials": None},
    "victim": {"name": None, "third_party": None, "consent_date": None},
    "case": {"received": None, "channel": None, "state": None, "statement": None, "decided": None},
    "next_step": {"what": None, "due": None},
    "threshold": {
        "decided": None,
        "by_appeal": None,
        "local_routes": [None],
        "local_route_facts": [
            {
                "route": None,
                "met": None,
                "complaint": None,
                "strand": None,
                "caveat": None,
                "people": None,
                "needed": None,
            }
        ],
        "met": None,
        "route": None,
        "route_text": None,
        "reason": None,
        "rejection_category": None,
        "required": None,
        "counted": [_INCIDENT],
        "excluded": [_INCIDENT],
    },
    "review": {"lead_agency": None, "reviewer": None, "due": None},
    "meeting": {
        "date": None,
        "at": None,
        "held": None,
        "victim_involvement": None,
        "outcome_letter_due": None,
    },
    "outcome": {
        "issued": None,
        "findings": [{"code": None, "category": None, "text": None}],
        "recommendations": [{"to": None, "text": None, "response": None}],
        "no_recommendations_reason": None,
        "victim_consulted": None,
        "actions": [
            {"number": None, "action": None, "owner": None, "due": None, "status": None, "status_label": None}
        ],
    },
    "appeal_route": {
        "body": None,
        "against": None,
        "grounds": [{"code": None, "text": None}],
        "last_day": None,
        "window": None,
        "window_count": None,
        "window_unit": None,
        "final": None,
    },
    "appeal": {
        "received": None,
        "against": None,
        "against_code": None,
        "grounds": None,
        "grounds_text": None,
        "due": None,
        "decided_on": None,
        "upheld": None,
        "decided_by": None,
        "reason": None,
    },
    "delay": {"stage": None, "step": None, "due": None, "until": None, "reason": None},
    "information_request": {"agency": None, "agency_code": None, "requested": None, "due": None},
    "closure": {"closed_on": None, "reason": None, "after": None},
}

# What each letter must show (docs/procedure.md#informing-the-applicant); one left out is refused.
_COMMON = ("reference", "spoc.name", "letter.date", "recipient.name")
REQUIRED: dict[str, tuple[str, ...]] = {
    "acknowledgement": (*_COMMON, "case.received", "next_step.due"),
    "information_request": (*_COMMON, "information_request.agency", "information_request.due"),
    "threshold_met": (*_COMMON, "threshold.decided", "review.due"),
    "threshold_not_met": (
        *_COMMON,
        "threshold.decided",
        "threshold.counted",
        "threshold.excluded",
        "appeal_route.body",
        "appeal_route.last_day",
    ),
    "rejection": (
        *_COMMON,
        "threshold.rejection_category",
        "threshold.reason",
        "appeal_route.body",
        "appeal_route.last_day",
    ),
    "meeting_invitation": (*_COMMON, "meeting.date", "meeting.at"),
    "delay": (*_COMMON, "delay.due", "delay.until"),
    "outcome": (
        *_COMMON,
        "outcome.findings",
        "outcome.recommendations",
        "outcome.actions",
        "appeal_route.body",
        "appeal_route.last_day",
    ),
    "appeal_acknowledgement": (*_COMMON, "appeal.received", "appeal.due"),
    "appeal_outcome": (*_COMMON, "appeal.decided_on", "appeal.upheld", "appeal.reason"),
    "closure": (*_COMMON, "closure.closed_on", "closure.reason"),
}


# -- checking a partnership's folder -------------------------------------------------------------------


@dataclass
class Problem:
    template: str
    kind: str  # "syntax", "unknown", "missing", "name", "link", "reference"
    message: str

    def __str__(self) -> str:
        return f"{self.template}: {self.message}"


def _walk_paths(node: nodes.Node, roots: set[str], scope: dict[str, tuple], out: set[tuple]) -> None:
    """Collect the dotted paths into the context that a template reads (`outcome.actions[].owner`)."""

    def path_of(n) -> tuple | None:
        if isinstance(n, nodes.Name):
            if n.name in scope:
                return scope[n.name]
            return (n.name,) if n.name in roots else None
        if isinstance(n, nodes.Getattr):
            base = path_of(n.node)
            return (*base, n.attr) if base is not None else None
        if isinstance(n, nodes.Getitem) and isinstance(n.arg, nodes.Const):
            base = path_of(n.node)
            if base is None:
                return None
            # a string key reads a field; a number indexes a list (`outcome.actions[0]`)
            return base + ((n.arg.value,) if isinstance(n.arg.value, str) else ("[]",))
        return None

    if isinstance(node, nodes.For):
        _walk_paths(node.iter, roots, scope, out)
        inner = dict(scope)
        src = path_of(node.iter)
        if isinstance(node.target, nodes.Name):
            if src is not None:
                inner[node.target.name] = (*src, "[]")
            else:
                inner.pop(node.target.name, None)
        for child in node.body + node.else_:
            _walk_paths(child, roots, inner, out)
        if node.test is not None:
            _walk_paths(node.test, roots, inner, out)
        return
    if isinstance(node, (nodes.Getattr, nodes.Getitem, nodes.Name)) and not (
        isinstance(node, nodes.Name) and node.ctx != "load"
    ):
        p = path_of(node)
        if p is not None:
            out.add(p)
            if isinstance(node, nodes.Getitem):
                _walk_paths(node.arg, roots, scope, out)
            return
    for child in node.iter_child_nodes():
        _walk_paths(child, roots, scope, out)


def unknown_field(path: tuple) -> str | None:
    """None when the path is in FIELDS, else the dotted path up to the unknown part."""
    spec = FIELDS
    shown: list[str] = []
    for part in path:
        if isinstance(spec, list):
            if part != "[]":
                return None  # an attribute of a list (e.g. a filter's result): not ours to judge
            spec = spec[0]
            shown[-1] += "[]"
            continue
        if not isinstance(spec, dict):
            return None  # a method or attribute of a plain value; the sandbox judges its safety
        if part not in spec:
            return ".".join([*shown, part])
        shown.append(part)
        spec = spec[part]
    return None


def _referenced(ast: nodes.Template) -> list[str]:
    names = []
    for node in ast.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        target = getattr(node, "template", None)
        if isinstance(target, nodes.Const) and isinstance(target.value, str):
            names.append(target.value)
    return names


# The Welsh partials appear only in bilingual letters: they do not make an English letter complete.
WELSH_PARTIALS = frozenset({"_appeal_cy.html", "_signpost_cy.html"})


def template_paths(env: Environment, name: str, seen: set[str], skip: frozenset = frozenset()) -> set[tuple]:
    """The paths a template reads, with those of the templates it extends, includes or imports."""
    if name in seen or name in skip:
        return set()
    seen.add(name)
    assert env.loader is not None  # every environment here is built with a loader
    source, _, _ = env.loader.get_source(env, name)
    ast = env.parse(source, name)
    macros = {m.name for m in ast.find_all(nodes.Macro)}  # a template's own macros are not context fields
    roots = set(meta.find_undeclared_variables(ast)) - set(env.globals) - macros
    out: set[tuple] = set()
    _walk_paths(ast, roots, {}, out)
    for ref in _referenced(ast):
        try:
            out |= template_paths(env, ref, seen, skip)
        except TemplateError:
            pass  # reported when that template is checked itself
    return out


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
            queue += [folder / ref for ref in _referenced(env.parse(source, name))]
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
