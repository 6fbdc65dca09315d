"""The layout's rules, held by tests rather than hoped for (docs/architecture.md):

- the pure packages (`trigger.rules`, `workflows`, `letters`) and `trigger.codes` import neither
  SQLAlchemy nor click, so they never open the database and stay cheap to test;
- the engine (`trigger`) imports without click: `cli.py` is only a skin;
- no module imports another's private names: the shared core is the public `trigger.unit`.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.any_engine  # the import graph and the sources: the same on any database

ROOT = Path(__file__).resolve().parents[1]
PURE = ["trigger.codes", "trigger.rules", "workflows", "letters"]


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


def _imported_after(modules: list[str], blocked: tuple[str, ...] = ()) -> set[str]:
    """Import `modules` in a fresh interpreter (with `blocked` made unimportable) and return the
    top-level packages that ended up loaded."""
    code = (
        "import sys\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        f"for name in {modules!r}: __import__(name)\n"
        "print(' '.join(sorted({m.split('.')[0] for m, mod in sys.modules.items() if mod is not None})))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


@pytest.mark.parametrize("package", PURE)
def test_pure_packages_import_neither_sqlalchemy_nor_click(package):
    loaded = _imported_after(_modules(package))
    assert not loaded & {"sqlalchemy", "sqlmodel", "click", "alembic", "psycopg"}, package


@pytest.mark.parametrize("module", ["trigger.codes", "trigger.checks"])
def test_codes_and_checks_need_only_the_standard_library(module):
    loaded = {m for m in _imported_after([module]) if not m.startswith("_")}
    assert loaded - {"trigger"} <= set(sys.stdlib_module_names)


CASE_WORK = [
    "cases",
    "complaints",
    "review",
    "correspondence",
    "partnership",
    "retention",
    "corrections",
    "duties",
]


def test_every_use_case_that_writes_runs_again_when_it_loses_a_race():
    """docs/architecture.md#optimistic-locking: a function that opens a write transaction
    (`changing(...)` or `app.write()`) is wrapped in `retried`, so a serialization failure, a deadlock
    or a number taken at the same moment is run again instead of reaching the user."""
    missing = []
    for name in CASE_WORK:
        tree = ast.parse((ROOT / "trigger" / f"{name}.py").read_text(encoding="utf-8"))
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
                missing.append(f"trigger/{name}.py: {fn.name}")
    assert missing == []


def test_the_engine_imports_without_click():
    # trigger/__main__.py is `python -m trigger`, the command line itself, not the engine
    engine = [
        m for m in _modules("trigger") if not m.startswith("trigger.migrations") and m != "trigger.__main__"
    ]
    assert "click" not in _imported_after(engine, blocked=("click",))


def _first_party(name: str) -> bool:
    return name.split(".")[0] in ("trigger", "workflows", "letters", "cli")


def test_no_module_imports_another_modules_private_names():
    offences = []
    for path in sorted(
        [*ROOT.glob("trigger/**/*.py"), *ROOT.glob("workflows/*.py"), *ROOT.glob("letters/*.py")]
    ):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
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


def test_the_read_tables_are_generated_from_the_models():
    proc = subprocess.run(
        [sys.executable, "scripts/read_tables.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
