"""Write `trigger/store/tables.py`: the tables as plain SQLAlchemy Core `Table`s, generated from the models.

Building the SQLModel classes (a pydantic model and an ORM mapping each) costs about as much as a
fifth of the libraries' own import time; `show` and `list` only read, so they use these Core tables
instead and stay near the import floor (the speed goal in docs/architecture.md#speed). The models stay
the one definition of the schema; this file is derived from them and checked:

    python scripts/read_tables.py           # rewrite trigger/store/tables.py
    python scripts/read_tables.py --check   # exit 1 when it no longer matches the models (CI)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET = ROOT / "trigger" / "store" / "tables.py"

HEADER = '''"""The tables as plain SQLAlchemy Core `Table`s for the read paths (`show`, `list`): names,
columns and their types only (the models' own types, so values read back alike), each built the first
time it is used (`tables.deadline`), so a command pays only for the tables it reads. GENERATED from
trigger/store/models.py by scripts/read_tables.py; do not edit (a test checks it).
"""

{imports}

metadata = MetaData()
'''

FOOTER = """

_BUILD = {{
{entries}
}}


def __getattr__(name: str) -> Table:
    try:
        build = _BUILD[name]
    except KeyError:
        raise AttributeError(f"trigger.store.tables has no table {{name!r}}") from None
    table = globals()[name] = build()
    return table
"""


def source() -> str:
    from trigger.store.models import metadata

    modules: dict[str, set[str]] = {"sqlalchemy": {"Column", "MetaData", "Table"}}
    tables, table_names = [], []
    for table in sorted(metadata.tables.values(), key=lambda t: t.name):
        cols = []
        for col in table.columns:
            kind = type(col.type)
            module = "sqlalchemy" if kind.__module__.startswith("sqlalchemy") else kind.__module__
            modules.setdefault(module, set()).add(kind.__name__)
            key = ", primary_key=True" if col.primary_key else ""
            cols.append(f'    Column("{col.name}", {kind.__name__}(){key}),')
        body = "\n".join("    " + col for col in cols)
        tables.append(
            f"def _{table.name}() -> Table:\n    return Table(\n"
            f'        "{table.name}",\n        metadata,\n{body}\n    )\n'
        )
        table_names.append(table.name)
    lines = {m: f"from {m} import {', '.join(sorted(names))}" for m, names in sorted(modules.items())}
    ours = [line for m, line in lines.items() if m.startswith("trigger.")]  # first-party: a block of its own
    imports = "\n".join(line for m, line in lines.items() if not m.startswith("trigger."))
    imports += "".join(f"\n\n{line}" for line in ours)
    entries = "\n".join(f'    "{name}": _{name},' for name in table_names)
    return HEADER.format(imports=imports) + "\n\n" + "\n\n".join(tables) + FOOTER.format(entries=entries)


def main(argv: list[str]) -> int:
    text = source()
    if "--check" in argv:
        if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != text:
            print(
                "trigger/store/tables.py is out of date; run python scripts/read_tables.py", file=sys.stderr
            )
            return 1
        print("trigger/store/tables.py is up to date")
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
