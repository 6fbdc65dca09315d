"""`trigger incidents import FILE`: load a case system's incident log for `trigger scan`. These rows
belong to no case; a complaint recorded on a case is `trigger.cases.complaints`'s.

The file (CSV in UTF-8 or Windows-1252, or .xlsx; a file or standard input) and the partner's column
names are `trigger.intake.log_files`'s business; here every row is validated, and a file with any bad
row imports nothing unless the caller asks to skip the bad rows. Rows go in with SQLAlchemy Core in
chunks (a million rows in seconds), and agency + agency_ref is the natural key, so importing the same
file twice adds nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from pathlib import Path

from sqlalchemy import Connection, Insert, func, select
from sqlmodel import Session, col

from letters.words import plural
from trigger import checks
from trigger.codes import HATE_STRANDS
from trigger.errors import InvalidInput
from trigger.intake.log_files import (
    COLUMNS,
    STDIN,
    ColumnMap,
    DateReader,
    Source,
    check_date_format,
    close_source,
    load_map,
    open_source,
    positions,
)
from trigger.store import access, audit, sealed
from trigger.store.access import COMPLAINTS, needs
from trigger.store.app import App, today, writers_lock
from trigger.store.models import Agency, Incident, metadata

CHUNK = 20_000


@dataclass
class BadRow:
    line: int
    reason: str
    unit: str = "line"  # "row" in a workbook

    def __str__(self) -> str:
        return f"{self.unit} {self.line}: {self.reason}"


@dataclass
class ImportResult:
    file: str
    rows: int = 0  # data rows read
    imported: int = 0  # new incidents stored
    already_held: int = 0  # rows whose agency + agency_ref were already stored
    valid: int = 0  # rows that passed validation
    bad: list[BadRow] = field(default_factory=list)
    skipped_bad: bool = False

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "rows": self.rows,
            "imported": self.imported,
            "already_held": self.already_held,
            "bad_rows": len(self.bad),
            "errors": [str(b) for b in self.bad],
        }


class ImportRefused(InvalidInput):
    """A file with bad rows and no --skip-bad: nothing was imported."""

    def __init__(self, result: ImportResult):
        self.result = result
        n = len(result.bad)
        super().__init__(
            f"{_short(result.file)}: {plural(n, '{n} bad row', '{n} bad rows')} (listed above); "
            "nothing was imported. "
            "Fix them, or give --skip-bad to import the good rows"
        )


def _short(name: str) -> str:
    return name if name == "standard input" else Path(name).name


ROW = (
    "victim_ref",
    "occurred",
    "reported",
    "agency_id",
    "agency_ref",
    "hate",
    "category",
    "location",
    "description",
    "partnership_id",
    "victim_hash",
)  # the order of the tuples `_rows` yields (`_sealed` fills the keyed hash)


def _rows(
    source: Source,
    cmap: ColumnMap,
    agencies: dict[str, int],
    dates: DateReader,
    as_of: date | str,
    result: ImportResult,
    partnership_id: int,
) -> Iterator[tuple[object, ...]]:
    """Validate the file row by row: yields the good rows (tuples in ROW order) and records every bad
    one, with its line (or row) number, in `result.bad`. The partner's header names and values go
    through the column map; the loop stays lean for a million rows."""
    at = positions(source, cmap)
    label = {c: cmap.header_for(c) for c in COLUMNS}
    seen: dict[tuple[int, str], int] = {}
    width = len(source.header)
    i_victim, i_occ, i_rep, i_ag, i_ref = (
        at[c] for c in ("victim_id", "occurred", "reported", "agency", "agency_ref")
    )
    i_hate, i_cat, i_loc, i_desc = (at[c] for c in ("hate", "category", "location", "description"))
    defaults = cmap.defaults
    agency_values = cmap.values.get("agency")
    hate_values = cmap.values.get("hate")
    other_values = {c: m for c, m in cmap.values.items() if c not in ("agency", "hate")}
    strict = source.strict_width
    unit = source.unit
    bad = result.bad.append
    hint = dates.hint()

    # what no cell may hold (NUL, control characters) and how long each may be (checks.text)
    limits = [checks.TEXT_MAX] * width
    for column, limit in (("location", checks.SHORT_MAX), ("description", checks.TEXT_MAX)):
        if (i := at.get(column)) is not None:
            limits[i] = limit
    one_line: set[int] = set()  # an id, a code, a date: never a line break
    for column in ("victim_id", "occurred", "reported", "agency", "agency_ref", "hate", "category"):
        if (i := at.get(column)) is not None:
            limits[i] = checks.REF_MAX
            one_line.add(i)
    names = list(source.header)

    def cell(row, i, column):
        value = row[i].strip() if i is not None else ""
        if not value:
            value = defaults.get(column, "")
        values = other_values.get(column)
        return values.get(value.casefold(), value) if values else value

    for line, row in source.rows:
        result.rows += 1
        if strict and len(row) != width:
            bad(BadRow(line, f"{len(row)} fields where the header has {width}", unit))
            continue
        if not strict and len(row) > width:
            bad(BadRow(line, f"{len(row)} cells where the header has {width}", unit))
            continue
        problem = _cell_problem(row, names, limits, one_line)
        if problem:
            bad(BadRow(line, problem, unit))
            continue
        victim = row[i_victim].strip() if i_victim is not None else ""
        if not victim:
            bad(BadRow(line, f"{label['victim_id']} is empty", unit))
            continue
        text = row[i_occ] if i_occ is not None else defaults["occurred"]
        try:
            occurred = dates(text)
        except ValueError:
            bad(BadRow(line, f"{label['occurred']} {text!r} is not a date; {hint}", unit))
            continue
        text = row[i_rep] if i_rep is not None else defaults["reported"]
        try:
            reported = dates(text)
        except ValueError:
            bad(BadRow(line, f"{label['reported']} {text!r} is not a date; {hint}", unit))
            continue
        if not (checks.YEAR_MIN <= _year(occurred) and _year(reported) <= checks.YEAR_MAX):
            bad(
                BadRow(
                    line,
                    f"a year outside {checks.YEAR_MIN}-{checks.YEAR_MAX} is refused; check the dates",
                    unit,
                )
            )
            continue
        if reported < occurred:
            bad(
                BadRow(line, f"{label['reported']} {reported} is before {label['occurred']} {occurred}", unit)
            )
            continue
        if reported > as_of:
            bad(BadRow(line, f"reported {reported} is in the future", unit))
            continue
        code = (row[i_ag].strip() if i_ag is not None else "") or defaults.get("agency", "")
        if agency_values:
            code = agency_values.get(code.casefold(), code)
        agency_id = agencies.get(checks.code_key(code))
        if agency_id is None:
            fix = f" or map it in [values.agency] of {cmap.name}" if cmap.name != "standard" else ""
            bad(BadRow(line, f"unknown agency {code!r}; add it with `trigger agency add`{fix}", unit))
            continue
        ref = row[i_ref].strip() if i_ref is not None else ""
        if not ref:
            bad(
                BadRow(
                    line,
                    f"{label['agency_ref']} is empty; each report needs the agency's own reference",
                    unit,
                )
            )
            continue
        hate = row[i_hate].strip() if i_hate is not None else ""
        if hate_values and hate:
            hate = hate_values.get(hate.casefold(), hate)
        if hate:
            hate = hate.lower()
            if hate not in HATE_STRANDS:
                fix = f"add it to [values.hate] of {cmap.name}, " if cmap.name != "standard" else ""
                bad(
                    BadRow(
                        line,
                        f"{label['hate']} {hate!r} is not a strand; {fix}leave it empty or use "
                        f"{', '.join(HATE_STRANDS)}",
                        unit,
                    )
                )
                continue
        key = (agency_id, ref)
        if key in seen:
            bad(BadRow(line, f"{code} reference {ref!r} repeats {unit} {seen[key]}", unit))
            continue
        seen[key] = line
        result.valid += 1
        yield (
            victim,
            occurred,
            reported,
            agency_id,
            ref,
            hate or None,
            cell(row, i_cat, "category") or None,
            cell(row, i_loc, "location") or None,
            cell(row, i_desc, "description") or None,
            partnership_id,  # an import carries the partnership it was made for
            None,
        )


# what a row says of the victim, sealed: their id in the partner's system, where and what happened
FREE_TEXT = (ROW.index("victim_ref"), ROW.index("location"), ROW.index("description"))
_VICTIM, _REPORTED, _PARTNERSHIP, _HASH = (
    ROW.index(c) for c in ("victim_ref", "reported", "partnership_id", "victim_hash")
)


def _sealed(rows: Iterator[tuple[object, ...]], session: Session) -> Iterator[tuple[object, ...]]:
    """The rows with their victim's id and free text sealed under the partnership's key for the month
    each was reported (docs/operations.md#erasure), so that the purge of those months erases them from
    backups too; and beside the id its keyed hash, which the scan groups on."""
    ring = sealed.ring_of(session)
    if ring is None:  # pragma: no cover - every write session has its keyring
        raise RuntimeError("an import writes through a session with its keys")
    for row in rows:
        month, pid = str(row[_REPORTED])[:7], row[_PARTNERSHIP]
        values = list(row)
        values[_HASH] = ring.match(pid, values[_VICTIM], make=True)  # type: ignore[arg-type]
        for i in FREE_TEXT:
            if values[i]:
                values[i] = ring.seal_log(pid, month, values[i])  # type: ignore[arg-type]
        yield tuple(values)


def _year(day: date | str) -> int:
    """The year of a date the reader gave back (a date, or ISO text on SQLite)."""
    return day.year if hasattr(day, "year") else int(str(day)[:4])


def _cell_problem(row: list[str], names: list[str], limits: list[int], one_line: set[int]) -> str | None:
    """The first cell holding what no cell may (NUL, control characters; a line break outside the
    free-text columns) or more text than its column takes; None when every cell is fine."""
    for i, value in enumerate(row):
        if not value:
            continue
        name = names[i] if i < len(names) and names[i] else f"column {i + 1}"
        try:
            limit = limits[i] if i < len(limits) else checks.TEXT_MAX
            checks.text(value, name, limit=limit, multiline=i not in one_line)
        except InvalidInput as exc:
            return str(exc)
    return None


class _BulkInsert:
    """INSERT ... ON CONFLICT DO NOTHING on the (agency_id, agency_ref) key.

    The statement is built with SQLAlchemy Core and compiled once; each chunk goes to the driver's
    executemany directly, because SQLAlchemy's per-row parameter processing cost more than SQLite's
    own insert work on a million rows."""

    def __init__(self, conn: Connection):
        self.conn = conn
        dialect = conn.dialect
        table = metadata.tables["incident"]
        unique = ["agency_id", "agency_ref"]
        stmt: Insert
        if dialect.name == "sqlite":
            from sqlalchemy.dialects import sqlite

            stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=unique)
        elif dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql

            stmt = postgresql.insert(table).on_conflict_do_nothing(index_elements=unique)
        else:  # pragma: no cover - the project supports SQLite and PostgreSQL
            raise InvalidInput(f"importing incidents is not supported on {dialect.name}")
        self.sqlite = dialect.name == "sqlite"
        compiled = stmt.compile(dialect=dialect, column_keys=list(ROW))
        position = {key: i for i, key in enumerate(ROW)}
        keys = compiled.positiontup if compiled.positional else None
        self.order = [position[k] for k in keys] if keys is not None else None
        self.sql = str(compiled)

    def __call__(self, chunk: list[tuple[object, ...]]) -> None:
        if not chunk:
            return
        params: Sequence[dict[str, object]] | Sequence[tuple[object, ...]]
        if self.order is None:
            params = [dict(zip(ROW, r, strict=False)) for r in chunk]
        elif self.order == list(range(len(ROW))):
            params = chunk
        else:
            params = [tuple(r[i] for i in self.order) for r in chunk]
        self.conn.exec_driver_sql(self.sql, params)


def import_csv(app: App, path: str | Path, *, skip_bad: bool = False) -> ImportResult:
    """An incident log in our own column names (kept for scripts and the benchmarks)."""
    return import_file(app, path, skip_bad=skip_bad)


@needs(COMPLAINTS)
def import_file(
    app: App,
    path: str | Path,
    *,
    data: bytes | None = None,
    column_map: str | None = None,
    date_format: str | None = None,
    skip_bad: bool = False,
    progress: Callable[[int, int | None], None] | None = None,
) -> ImportResult:
    """Validate and import an incident log: a CSV or .xlsx file, or `data` (standard input's bytes)
    when `path` is "-". `column_map` is a preset's name or a TOML file; `date_format` (e.g. %d/%m/%Y)
    overrides the map's. Raises ImportRefused (nothing written: the transaction rolls back) when a row
    is bad and `skip_bad` is false; the caller lists `result.bad` either way. `progress(done, total)`
    is called after each chunk (bytes of a CSV, rows of a workbook; total None when unknown).

    Rows are validated and inserted chunk by chunk in one transaction, so memory stays flat on a
    million rows; after the first bad row (without --skip-bad) the rest is only validated."""
    cmap = load_map(column_map)
    fmt = date_format or cmap.date_format
    if fmt:
        check_date_format(fmt)
    if str(path) == STDIN and data is None:
        raise InvalidInput("reading standard input needs its bytes (give data=...)")
    app.require_schema()
    source = open_source(path, data if str(path) == STDIN else None)
    result = ImportResult(file=source.name, skipped_bad=skip_bad)
    try:
        with app.write() as session:
            conn = session.connection()
            # the writers' lock first: other changes wait for the import instead of deadlocking with it
            writers_lock(session)
            pid = access.acting_partnership(session)  # an import carries its partnership
            # agency codes are the same whatever their case (`CBC` is `cbc`), the partnership's own
            ours = select(col(Agency.code), col(Agency.id)).where(col(Agency.partnership_id) == pid)
            agencies = {checks.code_key(c): i for c, i in session.execute(ours)}
            insert = _BulkInsert(conn)
            count = (
                select(func.count())
                .select_from(Incident)
                .where(col(Incident.case_id).is_(None), col(Incident.partnership_id) == pid)
            )
            before = session.execute(count).scalar_one()
            if insert.sqlite:  # a bigger page cache for this transaction: the indexes stay in memory
                conn.exec_driver_sql("PRAGMA cache_size=-262144")
            try:
                dates = DateReader(fmt, as_text=insert.sqlite)  # SQLAlchemy's Date is ISO text on SQLite
                rows = _sealed(
                    _rows(source, cmap, agencies, dates, dates.today(today()), result, pid), session
                )
                while chunk := list(islice(rows, CHUNK)):
                    if skip_bad or not result.bad:
                        insert(chunk)
                    if progress is not None:
                        progress(source.done(), source.total)
            finally:
                if insert.sqlite:
                    conn.exec_driver_sql(
                        "PRAGMA cache_size=-2000"
                    )  # SQLite's default, for the pooled connection
            if result.bad and not skip_bad:
                raise ImportRefused(result)
            result.imported = session.execute(count).scalar_one() - before
            result.already_held = result.valid - result.imported
            # one event for the whole import: counts, the file's name and the map, no personal data
            audit.record(
                session,
                None,
                "incidents_import",
                actor=app.actor,
                on=today(),
                detail={
                    "file": _short(source.name),
                    "format": "xlsx" if source.unit == "row" else "csv",
                    "encoding": source.encoding,
                    "map": cmap.name,
                    "rows": result.rows,
                    "imported": result.imported,
                    "already_held": result.already_held,
                    "bad_rows": len(result.bad),
                    "skipped_bad": skip_bad,
                },
                partnership_id=pid,
            )
    finally:
        close_source(source)
    return result
