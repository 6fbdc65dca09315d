"""Delete and regenerate the initial migration `0001_initial` from the current models.

It also rewrites trigger/store/tables.py (scripts/read_tables.py). Run after merging branches that changed
trigger/store/models.py (there are no released databases yet, so
one initial revision is the whole history):

    python scripts/regen_migration.py          # or scripts/regen_migration.sh

It autogenerates against an empty SQLite database, then checks that the new revision upgrades an
empty database to a schema with no differences from the models.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alembic import command  # noqa: E402
from alembic.autogenerate import compare_metadata  # noqa: E402
from alembic.migration import MigrationContext  # noqa: E402
from sqlalchemy import create_engine  # noqa: E402

from trigger.store import db  # noqa: E402
from trigger.store.models import metadata  # noqa: E402


def main() -> int:
    if db.MIGRATIONS.resolve() != (ROOT / "trigger" / "store" / "migrations").resolve():
        print(f"refusing: trigger is imported from {db.MIGRATIONS}, not this source tree", file=sys.stderr)
        return 1
    others = [p for p in db.VERSIONS.glob("*.py") if p.stem != db.INITIAL]
    if others:
        print(
            f"refusing: later revisions exist ({', '.join(p.name for p in others)}); "
            "write a new revision instead",
            file=sys.stderr,
        )
        return 1
    (db.VERSIONS / f"{db.INITIAL}.py").unlink(missing_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{tmp}/empty.db")
        with engine.begin() as conn:
            cfg = db._config(conn)
            cfg.set_main_option("file_template", "%%(rev)s")
            command.revision(cfg, message="initial schema", autogenerate=True, rev_id=db.INITIAL)
        db._head_cache = None
        check = create_engine(f"sqlite:///{tmp}/check.db")
        db.upgrade(check)
        with check.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    if diff:
        print(f"the regenerated revision does not match the models: {diff}", file=sys.stderr)
        return 1
    print(f"wrote {db.VERSIONS / (db.INITIAL + '.py')}; an empty database upgraded to it matches the models")
    import read_tables  # the Core tables of the read paths are derived from the same models

    return read_tables.main([])


if __name__ == "__main__":
    raise SystemExit(main())
