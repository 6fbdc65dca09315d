"""The layout's rules, held by tests rather than hoped for (docs/architecture.md):

- every package sits in a layer and imports only from its own package or from layers below it:
  faces (`cli.py` over `trigger.console`, its printers; `trigger.web`) -> use-cases ->
  `trigger.access` -> `trigger.store` -> `trigger.rules` -> `workflows`, `letters` -> the base
  modules (`errors`, `codes`, `checks`, `settings`); nothing imports a face;
- there is no import cycle between modules, counting imports made inside functions (a lazy import
  is for start-up time, never to hide a cycle);
- the pure packages (`trigger.rules`, `workflows`, `letters`) and `trigger.codes` import neither
  SQLAlchemy nor click, so they never open the database and stay cheap to test;
- the engine (`trigger`, its faces aside) imports without click: `cli.py` is only a skin;
- no module imports another's private names.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.forks import forked
from tests.support.waiting import HANG

pytestmark = pytest.mark.any_engine  # the import graph and the sources: the same on any database

ROOT = Path(__file__).resolve().parents[1]
PURE = ["trigger.codes", "trigger.checks", "trigger.errors", "trigger.rules", "workflows", "letters"]

# Each package's layer: a package imports only from its own and from lower layers (docs/architecture.md).
LAYERS = {
    "trigger.errors": 0,
    "trigger.codes": 1,
    "trigger.checks": 1,
    "trigger.settings": 1,
    "workflows": 2,
    "letters": 2,
    "trigger.rules": 3,
    "trigger.store": 4,
    "trigger.access": 5,
    "trigger.cases": 6,
    "trigger.read": 7,
    "trigger.deadlines": 8,
    "trigger.intake": 8,
    "trigger.correspondence": 9,
    "trigger.reports": 9,
    "trigger.demo": 10,
    "trigger.console": 11,  # what the command line prints: a face's own module
    "trigger.web": 11,
    "cli": 12,  # the command line starts the web door (`trigger web serve`); the door never imports it
    "trigger.__main__": 13,  # `python -m trigger`: the command line itself
}
FACES = ("cli", "trigger.__main__", "trigger.console", "trigger.web")


def _modules(package: str) -> list[str]:
    """Every module of a first-party package (or the module itself), as dotted names."""
    path = ROOT / package.replace(".", "/")
    if path.with_suffix(".py").is_file():
        return [package]
    return sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in path.rglob("*.py")
        if "migrations" not in p.parts
    )


def _imported_after(modules: list[str], blocked: tuple[str, ...] = (), floor: bool = False) -> set[str]:
    """Import `modules` in a fresh interpreter (with `blocked` made unimportable) and return the
    top-level packages that ended up loaded; with `floor`, in a process forked from one that has imported
    only the third-party libraries of `tests.support.forks.FLOOR` (not click, none of ours)."""
    code = (
        "import sys\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        f"for name in {modules!r}: __import__(name)\n"
        "print(' '.join(sorted({m.split('.')[0] for m, mod in sys.modules.items() if mod is not None})))\n"
    )
    if floor:
        (proc,) = forked([["-c", code]], "floor")
    else:
        proc = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False, timeout=HANG
        )
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


def _first_party(name: str) -> bool:
    return name.split(".")[0] in ("trigger", "workflows", "letters", "cli")


def _sources() -> dict[str, Path]:
    """Every first-party module (Alembic's revisions aside) by dotted name."""
    paths = [*ROOT.glob("trigger/**/*.py"), *ROOT.glob("workflows/*.py"), *ROOT.glob("letters/*.py")]
    paths.append(ROOT / "cli.py")
    return {
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
        for p in sorted(paths)
        if "migrations" not in p.parts
    }


@functools.cache
def _parse(path: Path) -> ast.Module:
    """A source file's tree, parsed once for the tests that read it (none changes it)."""
    return ast.parse(path.read_text(encoding="utf-8"))


def _graph() -> dict[str, set[str]]:
    """Module -> the first-party modules it imports, anywhere in its body (inside functions too;
    `if TYPE_CHECKING:` imports left out, as they never run)."""
    return {module: set(imports) for module, imports in _imports().items()}


@functools.cache
def _imports() -> dict[str, frozenset[str]]:
    modules = _sources()
    graph: dict[str, frozenset[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = _parse(path)
        checking = {
            id(n)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
            for n in ast.walk(node)
        }
        out: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in checking:
                continue
            if isinstance(node, ast.Import):
                out |= {a.name for a in node.names if _first_party(a.name)}
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join([*package.split(".")[: len(package.split(".")) - node.level + 1], base])
                    base = base.strip(".")
                if not _first_party(base):
                    continue
                for alias in node.names:
                    out.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
        graph[name] = frozenset(m for m in out if m in modules and m != name)
    return graph


def _layer_of(module: str) -> str:
    for key in sorted(LAYERS, key=len, reverse=True):
        if module == key or module.startswith(key + "."):
            return key
    raise AssertionError(f"{module} is in no layer: add its package to LAYERS (and docs/architecture.md)")


def test_every_module_is_in_a_layer_and_imports_only_downwards():
    offences = []
    for module, imports in _graph().items():
        if module in ("trigger", "workflows", "letters"):
            continue  # the packages' own __init__: docstrings only
        mine = _layer_of(module)
        for target in imports:
            if target in ("trigger",):
                continue
            theirs = _layer_of(target)
            if theirs != mine and LAYERS[theirs] >= LAYERS[mine]:
                offences.append(f"{module} imports {target} ({mine} may not import {theirs})")
    assert offences == []


def test_nothing_imports_a_face():
    offences = [
        f"{module} imports {target}"
        for module, imports in _graph().items()
        for target in imports
        if _layer_of(target) in FACES and _layer_of(module) not in FACES
    ]
    assert offences == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles_not_even_inside_functions():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("package", PURE)
def test_pure_packages_import_neither_sqlalchemy_nor_click(package):
    loaded = _imported_after(_modules(package))
    assert not loaded & {"sqlalchemy", "sqlmodel", "click", "alembic", "psycopg"}, package


@pytest.mark.parametrize("module", ["trigger.codes", "trigger.checks", "trigger.errors", "trigger.settings"])
def test_the_base_modules_need_only_the_standard_library(module):
    loaded = {m for m in _imported_after([module]) if not m.startswith("_")}
    assert loaded - {"trigger"} <= set(sys.stdlib_module_names)


CASE_WORK = ["trigger/cases", "trigger/correspondence", "trigger/access/partnership.py"]
# sending a letter is not run again: the message may have left before the clash (docs/architecture.md)
NOT_RUN_AGAIN = ("trigger/correspondence/dispatch.py",)


def test_every_use_case_that_writes_runs_again_when_it_loses_a_race():
    """docs/architecture.md#optimistic-locking: a function that opens a write transaction
    (`changing(...)` or `app.write()`) is wrapped in `retried`, so a serialization failure, a deadlock
    or a number taken at the same moment is run again instead of reaching the user."""
    missing = []
    paths = [p for where in CASE_WORK for p in sorted((ROOT / where).glob("*.py")) or [ROOT / where]]
    paths = [p for p in paths if str(p.relative_to(ROOT)) not in NOT_RUN_AGAIN]
    assert len(paths) > 10
    for path in paths:
        tree = _parse(path)
        for fn in tree.body:
            if not isinstance(fn, ast.FunctionDef) or fn.name.startswith("_"):
                continue
            writes = any(
                isinstance(n, ast.Call)
                and (
                    (isinstance(n.func, ast.Name) and n.func.id == "changing")
                    or (isinstance(n.func, ast.Attribute) and n.func.attr == "write")
                )
                for n in ast.walk(fn)
            )
            decorated = any(isinstance(d, ast.Name) and d.id == "retried" for d in fn.decorator_list)
            if writes and not decorated:
                missing.append(f"{path.relative_to(ROOT)}: {fn.name}")
    assert missing == []


def test_the_engine_imports_without_click():
    # the faces (`python -m trigger`, the printers of the command line, the web) are not the engine
    engine = [
        m
        for m in _modules("trigger")
        if not m.startswith("trigger.store.migrations") and (m == "trigger" or _layer_of(m) not in FACES)
    ]
    assert "click" not in _imported_after(engine, blocked=("click",), floor=True)


def test_no_module_imports_another_modules_private_names():
    offences = []
    for path in sorted(
        [*ROOT.glob("trigger/**/*.py"), *ROOT.glob("workflows/*.py"), *ROOT.glob("letters/*.py")]
    ):
        if "migrations" in path.parts:
            continue
        tree = _parse(path)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and _first_party(node.module):
                own = ".".join(path.relative_to(ROOT).with_suffix("").parts)
                if node.module == own:
                    continue
                offences += [
                    f"{path.relative_to(ROOT)}:{node.lineno}: {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_")
                ]
    assert offences == []


def test_the_read_tables_are_generated_from_the_models(monkeypatch):
    # the script's own check, run here rather than in an interpreter of its own (the models it reads
    # are the ones this process has imported); the folder it puts on sys.path is taken off again
    monkeypatch.setattr(sys, "path", list(sys.path))
    spec = importlib.util.spec_from_file_location("read_tables", ROOT / "scripts" / "read_tables.py")
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    assert script.source() == (ROOT / "trigger" / "store" / "tables.py").read_text(encoding="utf-8")


COMMAND_LINE = ("cli.py", "trigger/console.py")
COMMAND_LINE_TOP = (
    "click",
    "trigger.codes",
    "trigger.errors",
    "trigger.settings",
    "trigger.console",
    "letters.words",
)


@pytest.mark.parametrize("path", COMMAND_LINE)
def test_the_command_line_imports_one_way(path):
    """cli.py's rule (its docstring, docs/architecture.md#the-command-line): at the top only the
    standard library, click and the face's light modules; inside a function, whole modules
    (`from trigger.cases import moves`), never a name out of one, never an alias."""
    modules = _sources()
    tree = _parse(ROOT / path)
    top = {id(n) for n in tree.body}
    offences = []
    checking: set[int] = set()  # `if TYPE_CHECKING:` imports, read by mypy only
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            checking |= {id(n) for n in node.body}
        if not isinstance(node, (ast.Import, ast.ImportFrom)) or id(node) in checking:
            continue
        names = [a.name for a in node.names]
        base = node.module if isinstance(node, ast.ImportFrom) else None
        where = f"{path}:{node.lineno}: {ast.unparse(node)}"
        if any(a.asname for a in node.names):
            offences.append(f"{where} (an alias)")
        if id(node) in top:
            full = [f"{base}.{n}" if base else n for n in names]
            allowed = {*sys.stdlib_module_names, *COMMAND_LINE_TOP}
            if base in allowed or all(m in allowed or m.split(".")[0] in allowed for m in full):
                continue
            offences.append(f"{where} (the engine at the top: --help would load it)")
        elif base and _first_party(base) and base != "__future__":
            offences += [f"{where} ({n} is not a module)" for n in names if f"{base}.{n}" not in modules]
    assert offences == []


def test_help_loads_no_database_library():
    code = (
        "import sys; sys.argv = ['trigger', 'list', '--help']; import cli\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=HANG
    )
    loaded = set(proc.stdout.splitlines()[-1].split())
    assert not loaded & {"sqlalchemy", "sqlmodel", "rich", "jinja2", "transitions", "alembic", "pydantic"}


def test_tests_share_helpers_only_through_tests_support_and_fixtures_only_through_conftest():
    offences = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        where = path.relative_to(ROOT)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [(a.name, a.name) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [(node.module, a.name) for a in node.names]
            else:
                names = []
            for module, name in names:
                test_code = module.split(".")[0] in ("conftest", "tests") or module.startswith("test_")
                if test_code and not module.startswith("tests.support"):
                    offences.append(f"{where}:{node.lineno}: imports {module}")
                elif module.startswith("tests.support") and name.startswith("_"):
                    offences.append(f"{where}:{node.lineno}: imports the private {module}.{name}")
            if "support" in where.parts and isinstance(node, ast.FunctionDef | ast.ClassDef):
                if any("fixture" in ast.unparse(d) for d in node.decorator_list):
                    offences.append(f"{where}:{node.lineno}: a fixture outside conftest.py ({node.name})")
    assert offences == []


# What a command may leave unloaded (docs/architecture.md#speed): each heavy library only in the
# commands that use it. A command here runs as `trigger` runs it (`cli.main`), in a process forked from
# one that has imported only the third-party libraries every such command imports and none of ours, no
# heavy one, not click (`tests.support.forks.FLOOR`): what it loads beyond them it loads itself.
NEXT_COMPLAINT = (
    "incident",
    "add",
    "{ref}",
    "--occurred",
    "2026-03-01",
    "--reported",
    "2026-03-01",
    "--agency",
    "police",
)
HEAVY = {"weasyprint", "fontTools", "apscheduler", "docx", "rich", "alembic", "openpyxl", "babel"}
NEEDS = {
    ("show", "{ref}"): set(),
    ("list",): set(),
    ("check", "{ref}"): set(),
    NEXT_COMPLAINT: set(),
    # an English letter writes its dates, lists and whole numbers without Babel's locale data
    ("letter", "{ref}", "acknowledgement", "--preview"): set(),
    ("letter", "{ref}", "acknowledgement", "--format", "pdf", "-o", "{out}"): {"weasyprint", "fontTools"},
    ("letter", "{ref}", "acknowledgement", "--format", "docx", "-o", "{docx}"): {"docx"},
}


# the tables built on first use (trigger/store/models.py) that each of these commands builds: those it
# writes; what a command only reads it reads on the read tables (trigger/store/tables.py)
TABLES_BUILT = {
    ("show", "{ref}"): set(),
    ("list",): set(),
    ("check", "{ref}"): set(),
    NEXT_COMPLAINT: {"models_complaints"},
    ("letter", "{ref}", "acknowledgement", "--preview"): set(),
    ("letter", "{ref}", "acknowledgement", "--format", "pdf", "-o", "{out}"): {"models_letters"},
    ("letter", "{ref}", "acknowledgement", "--format", "docx", "-o", "{docx}"): {"models_letters"},
}


def _run_main(*commands: list[str]) -> list[dict]:
    """Run `trigger args` for each of `commands` through `cli.main`, one after another, each in a process
    of its own (see above); what each left loaded and how it left the cycle collector."""
    code = (
        "import gc, json, sys\n"
        "sys.argv = ['trigger', *sys.argv[1:]]\n"
        "import cli\n"
        "try:\n    cli.main()\nexcept SystemExit as exc:\n    assert not exc.code, exc.code\n"
        "ffi = sys.modules.get('weasyprint.text.ffi')\n"
        "heavy = [sys.modules[m].__dict__ for m in ('weasyprint', 'docx') if m in sys.modules]\n"
        "scanned = {id(o) for o in gc.get_objects()}\n"
        "print(json.dumps({'modules': sorted(sys.modules), 'collecting': gc.isenabled(),"
        " 'frozen': gc.get_freeze_count(), 'fonttools_subsets': bool(ffi and not ffi.harfbuzz_subset),"
        " 'heavy_scanned': [id(d) in scanned for d in heavy]}))"
    )
    ran = []
    for args, proc in zip(commands, forked([["-c", code, *args] for args in commands], "floor"), strict=True):
        assert proc.returncode == 0, (args, proc.stderr)
        ran.append(json.loads(proc.stdout.splitlines()[-1]))
    return ran


@pytest.mark.slow
def test_each_command_loads_only_the_heavy_libraries_it_uses(case, tmp_path):
    places = {"out": tmp_path / "letter.pdf", "docx": tmp_path / "letter.docx"}
    commands = [[a.format(ref=case, **places) for a in template] for template in NEEDS]
    for (template, needed), args, ran in zip(NEEDS.items(), commands, _run_main(*commands), strict=True):
        loaded = {m.split(".")[0] for m in ran["modules"]} & HEAVY
        assert loaded == needed, (args, loaded)
        # fontTools' subsetting and variable-font modules: HarfBuzz-Subset, where the host has it,
        # subsets the static bundled fonts
        subsetters = [m for m in ran["modules"] if m.startswith(("fontTools.subset", "fontTools.varLib"))]
        assert ran["fonttools_subsets"] or not subsetters, (args, subsetters)
        # start-up done, the cycle collector runs again and the start-up's objects are set aside
        assert ran["collecting"] and ran["frozen"] > 0, args
        # so are those of WeasyPrint's or python-docx's import, made while the command runs
        assert not any(ran["heavy_scanned"]), args
        # the tables a command builds: those it names (`trigger.store.models`), not every one
        assert _tables_built(ran) == TABLES_BUILT[template], args


def _tables_built(ran: dict) -> set[str]:
    """The modules of tables built on first use (trigger/store/models.py) that a command built."""
    return {m.rpartition(".")[2] for m in ran["modules"] if m.startswith("trigger.store.models_")}


@pytest.mark.slow
def test_the_moves_of_a_case_and_its_letters_build_only_the_tables_they_write(case, db, tmp_path):
    """activate, decide, assign and outcome write none of the tables built on first use, and a letter
    only the copy of what it issued: what they read of the others they read on the read tables."""
    activate = ["activate", "--applicant", "Bo Example", "--received", "2026-03-02", "--channel", "online"]
    steps = [
        [*activate, "--statement", "Nothing has changed"],
        ["decide", case, "--met", "--on", "2026-03-09"],
        ["letter", case, "threshold_met", "--format", "docx", "-o", str(tmp_path / "met.docx")],
        ["assign", case, "--lead", "cbc", "--reviewer", "Morgan Reviewer", "--on", "2026-03-10"],
    ]
    for args, ran in zip(steps, _run_main(*steps), strict=True):
        built = _tables_built(ran)
        assert built == ({"models_letters"} if args[0] == "letter" else set()), (args, built)
    db("meeting", case, "--at", "2026-03-20T10:00", "--held", "--on", "2026-03-20")
    db("finding", case, "--category", "silo_working", "--text", "Reports never linked", "--on", "2026-03-20")
    db("recommend", case, "--to", "police", "--text", "Flag the street", "--on", "2026-03-20")
    steps = [
        ["outcome", case, "--victim-consulted", "--on", "2026-03-25"],
        ["letter", case, "outcome", "--preview"],
    ]
    for args, ran in zip(steps, _run_main(*steps), strict=True):
        assert _tables_built(ran) == set(), args
