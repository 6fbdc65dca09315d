"""The documentation stays true to the code: the CLI reference matches --help, every command explains
itself, and the repository cites only the statute, the guidance or its own docs/."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import click
import pytest

import cli

pytestmark = pytest.mark.any_engine  # the docs and the help text: the same on any database

ROOT = Path(__file__).resolve().parents[1]


def _load_reference_script():
    spec = importlib.util.spec_from_file_location("cli_reference", ROOT / "scripts" / "cli_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


cli_reference = _load_reference_script()


def _commands(command: click.Command, path: str = "trigger"):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            if not sub.hidden:  # hidden commands are left out of the reference, as in --help
                yield from _commands(sub, f"{path} {name}")


COMMANDS = list(_commands(cli.cli))


def test_cli_reference_matches_the_help_of_every_command():
    expected = cli_reference.render()
    current = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == expected, cli_reference.STALE


def test_cli_reference_has_a_heading_for_every_command():
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    headings = {line[3:] for line in text.splitlines() if line.startswith("## ")}
    assert headings == {path for path, _ in COMMANDS}


@pytest.mark.parametrize("command", [c for _, c in COMMANDS], ids=[p for p, _ in COMMANDS])
def test_every_command_and_group_has_help_text(command):
    assert (command.help or "").strip(), f"{command.name} has no help text (a docstring or help=)"


# Written in two parts so that this file does not match itself.
FORBIDDEN = (
    "SP" + "EC §",
    "DOMAIN" + " §",
    "DOMAIN" + " appendix",
    "SP" + "EC.md",
    "DOMAIN" + ".md",
    "LIBRARIES" + ".md",
    "STYLE" + ".md",
    "LIBRARIES" + " §",
)
SCANNED = ("trigger", "workflows", "letters", "cli.py", "tests", "scripts", "docs", "README.md")
BINARY = {".ttf", ".otf", ".pyc", ".png", ".pdf", ".zip"}


def _scanned_files():
    for name in SCANNED:
        path = ROOT / name
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for f in files:
            if "__pycache__" not in f.parts and f.suffix not in BINARY:
                yield f


def test_nothing_cites_documents_outside_the_repository():
    # comments cite the statute, the guidance or docs/, which every reader of the repository can open
    found = []
    for f in _scanned_files():
        for number, line in enumerate(f.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if any(word in line for word in FORBIDDEN):
                found.append(f"{f.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, f"{len(found)} line(s) cite documents outside the repository:\n" + "\n".join(found)


# What a reader of the code cannot open: a work item of the project's tracker ("issue" and its number) and the
# project's private specification by its short name. Each pattern asks for the whole word, so that
# "issued 3 letters" or "SPECIAL" pass (neither pattern matches this file's own text).
UNCITABLE = (re.compile(r"\b[Ii]ssues? #?\d+\b"), re.compile(r"\bSPEC\b"))
CODE = ("trigger", "workflows", "letters", "cli.py", "tests")


def _uncitable_lines(files, root: Path = ROOT) -> list[str]:
    found = []
    for f in files:
        for number, line in enumerate(f.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if any(pattern.search(line) for pattern in UNCITABLE):
                found.append(f"{f.relative_to(root)}:{number}: {line.strip()}")
    return found


def _code_files():
    for name in CODE:
        path = ROOT / name
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for f in files:
            if "__pycache__" not in f.parts and f.suffix not in BINARY and "static" not in f.parts:
                yield f


def test_no_code_or_comment_cites_a_work_item_or_the_private_specification():
    # say what the code does and why, citing the statute, the guidance or docs/ (which are in the repository)
    found = _uncitable_lines(_code_files())
    assert not found, f"{len(found)} line(s) cite a work item or the specification:\n" + "\n".join(found)


def test_the_citation_check_catches_what_it_is_for(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text(
        "x = 1  # see iss" + "ue 21\n"
        "y = 2  # as the SP" + "EC says\n"
        "z = 3  # we issued 3 letters; SPECIAL handling; the spec; reissue 4\n",
        encoding="utf-8",
    )
    found = [line.split(": ", 1)[0] for line in _uncitable_lines([planted], tmp_path)]
    assert found == ["planted.py:1", "planted.py:2"]


# Where the code cites our own docs by anchor, as `docs/procedure.md#appeals`.
CITING = ("trigger", "workflows", "letters", "cli.py", "tests", "scripts", "README.md", "CONTRIBUTING.md")
DOC_ANCHOR = re.compile(r"\bdocs/([\w.-]+\.md)#([\w-]+)")


def _anchors(doc: Path) -> set[str]:
    """The anchors GitHub gives the headings of a Markdown file: lower case, punctuation dropped, spaces
    to hyphens, and -1, -2 ... after a repeated heading. Lines inside fenced code blocks are not headings."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in doc.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        heading = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if fenced or not heading:
            continue
        slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _doc_citations():
    for name in CITING:
        path = ROOT / name
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for f in files:
            if "__pycache__" in f.parts or f.suffix in BINARY:
                continue
            for number, line in enumerate(f.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                for doc, anchor in DOC_ANCHOR.findall(line):
                    yield f"{f.relative_to(ROOT)}:{number}", doc, anchor


def test_anchor_helper_follows_github():
    assert _anchors(ROOT / "docs" / "procedure.md") >= {"llr-timescales", "2025-revision", "other-areas"}
    assert "one-change-one-transaction" in _anchors(ROOT / "docs" / "architecture.md")


def test_every_cited_docs_anchor_exists():
    # a renamed heading breaks every comment that cites its anchor; this finds them
    citations = list(_doc_citations())
    assert citations, "no docs/<file>.md#<anchor> citations found: the pattern is wrong"
    cache: dict[str, set[str] | None] = {}
    broken = []
    for where, doc, anchor in citations:
        if doc not in cache:
            path = ROOT / "docs" / doc
            cache[doc] = _anchors(path) if path.is_file() else None
        if cache[doc] is None:
            broken.append(f"{where}: docs/{doc} does not exist")
        elif anchor not in cache[doc]:
            broken.append(f"{where}: docs/{doc} has no heading with the anchor #{anchor}")
    assert not broken, f"{len(broken)} citation(s) name a missing docs/ file or anchor:\n" + "\n".join(broken)


def _lint_commands(lines: list[str]) -> list[str]:
    """Commands as one would type them, whatever file holds them (a hook's file filtering left out)."""
    return [re.sub(r" --force-exclude| \.$", "", line.strip()) for line in lines if line.strip()]


def test_ci_just_and_pre_commit_run_the_same_lint_commands():
    after_lint = re.split(r'echo "== lint[^\n]*\n', (ROOT / ".ci" / "run").read_text(), maxsplit=1)[1]
    ci = after_lint.split("\n\n", 1)[0]
    just = (ROOT / "Justfile").read_text().split("\nlint:\n", 1)[1].split("\n\n", 1)[0]
    hooks = re.findall(r"^\s+entry: (.+)$", (ROOT / ".pre-commit-config.yaml").read_text(), re.M)[:-1]
    expected = _lint_commands(ci.splitlines())
    assert len(expected) == 5, expected
    assert _lint_commands(just.splitlines()) == expected
    assert _lint_commands(hooks) == expected
    contributing = (ROOT / "CONTRIBUTING.md").read_text()
    for recipe in re.findall(r"`just ([a-z-]+)`", contributing):
        assert f"\n{recipe}" in (ROOT / "Justfile").read_text(), f"CONTRIBUTING names `just {recipe}`"
