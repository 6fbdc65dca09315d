"""`trigger incidents import FILE.csv`: load an incident log exported from a case system (SPEC §2).

Every row is validated first; a file with any bad row imports nothing unless the caller asks to skip
the bad rows. Rows go in with SQLAlchemy Core in chunks (a million rows in seconds), and agency +
agency_ref is the natural key, so importing the same file twice adds nothing the second time.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from trigger import audit
from trigger.app import App, today
from trigger.errors import InvalidInput
from trigger.models import Agency, Incident

COLUMNS = ("victim_id", "occurred", "reported", "agency", "agency_ref", "hate", "category", "location",
           "description")
HATE_STRANDS = ("race", "religion", "sexual_orientation", "disability", "transgender")
CHUNK = 20_000


@dataclass
class BadRow:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ImportResult:
    file: str
    rows: int = 0  # data rows read
    imported: int = 0  # new incidents stored
    already_held: int = 0  # rows whose agency + agency_ref were already stored
    bad: list[BadRow] = field(default_factory=list)
    skipped_bad: bool = False

    def as_dict(self) -> dict:
        return {"file": self.file, "rows": self.rows, "imported": self.imported,
                "already_held": self.already_held, "bad_rows": len(self.bad),
                "errors": [str(b) for b in self.bad]}


class ImportRefused(InvalidInput):
    """A file with bad rows and no --skip-bad: nothing was imported."""

    def __init__(self, result: ImportResult):
        self.result = result
        n = len(result.bad)
        super().__init__(
            f"{Path(result.file).name}: {n} bad row{'s' if n != 1 else ''} (listed above); nothing was imported. "
            "Fix them, or give --skip-bad to import the good rows"
        )


ROW = ("victim_ref", "occurred", "reported", "agency_id", "agency_ref", "hate", "category", "location",
       "description")  # the order of the tuples `_parse` returns


def _parse(path: Path, agencies: dict[str, int], as_of: date) -> tuple[list[tuple], ImportResult]:
    """Read and validate every row. Returns the good rows (tuples in ROW order) and the tally."""
    result = ImportResult(file=str(path))
    good: list[tuple] = []
    seen: dict[tuple[int, str], int] = {}
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        reader = csv.reader(handle)
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            raise InvalidInput(f"{path.name} is empty; it needs a header row: {', '.join(COLUMNS)}") from None
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise InvalidInput(f"{path.name}: line 1: missing column{'s' if len(missing) > 1 else ''} "
                               f"{', '.join(missing)}; the header must be {', '.join(COLUMNS)}")
        at = {c: header.index(c) for c in COLUMNS}
        width = len(header)
        i_victim, i_occ, i_rep, i_ag, i_ref = (at[c] for c in ("victim_id", "occurred", "reported", "agency",
                                                                "agency_ref"))
        i_hate, i_cat, i_loc, i_desc = (at[c] for c in ("hate", "category", "location", "description"))
        fromiso = date.fromisoformat
        bad = result.bad.append
        for row in reader:
            line = reader.line_num
            if not row:
                continue
            result.rows += 1
            if len(row) != width:
                bad(BadRow(line, f"{len(row)} fields where the header has {width}"))
                continue
            victim = row[i_victim].strip()
            if not victim:
                bad(BadRow(line, "victim_id is empty"))
                continue
            try:
                occurred = fromiso(row[i_occ].strip())
            except ValueError:
                bad(BadRow(line, f"occurred {row[i_occ]!r} is not a date; write it as YYYY-MM-DD"))
                continue
            try:
                reported = fromiso(row[i_rep].strip())
            except ValueError:
                bad(BadRow(line, f"reported {row[i_rep]!r} is not a date; write it as YYYY-MM-DD"))
                continue
            if reported < occurred:
                bad(BadRow(line, f"reported {reported} is before occurred {occurred}"))
                continue
            if reported > as_of:
                bad(BadRow(line, f"reported {reported} is in the future"))
                continue
            code = row[i_ag].strip()
            agency_id = agencies.get(code)
            if agency_id is None:
                bad(BadRow(line, f"unknown agency {code!r}; add it with `trigger agency add`"))
                continue
            ref = row[i_ref].strip()
            if not ref:
                bad(BadRow(line, "agency_ref is empty; each report needs the agency's own reference"))
                continue
            hate = row[i_hate].strip().lower() or None
            if hate is not None and hate not in HATE_STRANDS:
                bad(BadRow(line, f"hate {hate!r} is not a strand; leave it empty or use {', '.join(HATE_STRANDS)}"))
                continue
            key = (agency_id, ref)
            if key in seen:
                bad(BadRow(line, f"{code} reference {ref!r} repeats line {seen[key]}"))
                continue
            seen[key] = line
            good.append((victim, occurred, reported, agency_id, ref, hate, row[i_cat].strip() or None,
                         row[i_loc].strip() or None, row[i_desc].strip() or None))
    return good, result


def _insert_ignoring_existing(session, rows: list[dict]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING on the (agency_id, agency_ref) key, in chunks.

    The statement is built with SQLAlchemy Core and compiled once; the chunks go to the driver's
    executemany directly, because SQLAlchemy's per-row parameter processing cost more than SQLite's
    own insert work on a million rows (dates are already validated and go in as ISO text on SQLite,
    which is how SQLAlchemy's Date type stores them there)."""
    table = Incident.__table__
    conn = session.connection()
    dialect = conn.dialect
    if dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:  # pragma: no cover - the project supports SQLite and PostgreSQL
        raise InvalidInput(f"importing incidents is not supported on {dialect.name}")
    if not rows:
        return
    stmt = insert(table).on_conflict_do_nothing(index_elements=["agency_id", "agency_ref"])
    compiled = stmt.compile(dialect=dialect, column_keys=list(ROW))
    position = {key: i for i, key in enumerate(ROW)}
    order = [position[k] for k in compiled.positiontup] if compiled.positional else None
    sql = str(compiled)
    dates = (position["occurred"], position["reported"])
    if dialect.name == "sqlite":  # a bigger page cache for this transaction: the indexes fit in memory
        conn.exec_driver_sql("PRAGMA cache_size=-262144")
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start:start + CHUNK]
        if dialect.name == "sqlite":  # SQLAlchemy's Date type stores ISO text on SQLite
            chunk = [r[:dates[0]] + (r[dates[0]].isoformat(), r[dates[1]].isoformat()) + r[dates[1] + 1:]
                     for r in chunk]
        if order is not None:
            params = [tuple(r[i] for i in order) for r in chunk]
        else:
            params = [dict(zip(ROW, r)) for r in chunk]
        conn.exec_driver_sql(sql, params)
    if dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA cache_size=-2000")  # SQLite's default, for the pooled connection


def import_csv(app: App, path: str | Path, *, skip_bad: bool = False) -> ImportResult:
    """Validate and import an incident log. Raises ImportRefused (nothing written) when a row is bad and
    `skip_bad` is false; the caller lists `result.bad` for the user either way."""
    path = Path(path)
    app.require_schema()
    with app.write() as session:
        agencies = dict(session.execute(select(Agency.code, Agency.id)).all())
        rows, result = _parse(path, agencies, today())
        result.skipped_bad = skip_bad
        if result.bad and not skip_bad:
            raise ImportRefused(result)
        count = select(func.count()).select_from(Incident).where(Incident.case_id.is_(None))
        before = session.execute(count).scalar_one()
        _insert_ignoring_existing(session, rows)
        result.imported = session.execute(count).scalar_one() - before
        result.already_held = len(rows) - result.imported
        # one event for the whole import: counts and the file's name, no personal data
        audit.record(session, None, "incidents_import", actor=app.actor, on=today(), detail={
            "file": path.name, "rows": result.rows, "imported": result.imported,
            "already_held": result.already_held, "bad_rows": len(result.bad), "skipped_bad": skip_bad,
        })
    return result
