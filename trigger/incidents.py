"""`trigger incidents import FILE.csv`: load a case system's incident log for `trigger scan`.

Every row is validated first; a file with any bad row imports nothing unless the caller asks to skip
the bad rows. Rows go in with SQLAlchemy Core in chunks (a million rows in seconds), and agency +
agency_ref is the natural key, so importing the same file twice adds nothing the second time.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from pathlib import Path

from sqlalchemy import func, select

from trigger import audit, checks
from trigger.app import App, today, writers_lock
from trigger.codes import HATE_STRANDS
from trigger.errors import InvalidInput
from trigger.models import Agency, Incident

COLUMNS = (
    "victim_id",
    "occurred",
    "reported",
    "agency",
    "agency_ref",
    "hate",
    "category",
    "location",
    "description",
)
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
            f"{Path(result.file).name}: {n} bad row{'s' if n != 1 else ''} (listed above); "
            "nothing was imported. "
            "Fix them, or give --skip-bad to import the good rows"
        )


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
)  # the order of the tuples `_rows` yields


def _rows(path: Path, agencies: dict[str, int], as_of: date, result: ImportResult, dates_as_text: bool):
    """Read and validate the file row by row: yields the good rows (tuples in ROW order) and records
    every bad one, with its line number, in `result.bad`."""
    seen: dict[tuple[int, str], int] = {}
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        reader = csv.reader(handle, strict=True)
        try:
            header = [h.strip().lower() for h in next(reader)]
        except StopIteration:
            raise InvalidInput(f"{path.name} is empty; it needs a header row: {', '.join(COLUMNS)}") from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise _unreadable(path, 1, exc) from None
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise InvalidInput(
                f"{path.name}: line 1: missing column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)}; the header must be {', '.join(COLUMNS)}"
            )
        at = {c: header.index(c) for c in COLUMNS}
        width = len(header)
        i_victim, i_occ, i_rep, i_ag, i_ref = (
            at[c] for c in ("victim_id", "occurred", "reported", "agency", "agency_ref")
        )
        i_hate, i_cat, i_loc, i_desc = (at[c] for c in ("hate", "category", "location", "description"))
        fromiso = date.fromisoformat
        bad = result.bad.append
        line = 1
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except (UnicodeDecodeError, csv.Error) as exc:
                raise _unreadable(path, start, exc) from None
            line = reader.line_num
            if not row:
                continue
            result.rows += 1
            if line != start:
                # a quote left open swallows the rows after it into one field: never import that
                bad(
                    BadRow(
                        start,
                        f"a quoted field runs on to line {line} (a quote left open?); a field may not hold "
                        "a line break",
                    )
                )
                continue
            if len(row) != width:
                bad(BadRow(line, f"{len(row)} fields where the header has {width}"))
                continue
            problem = _field_problem(header, row)
            if problem:
                bad(BadRow(line, problem))
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
            if not (checks.YEAR_MIN <= occurred.year and reported.year <= checks.YEAR_MAX):
                bad(
                    BadRow(
                        line,
                        f"a year outside {checks.YEAR_MIN}-{checks.YEAR_MAX} is refused; check the dates",
                    )
                )
                continue
            if reported < occurred:
                bad(BadRow(line, f"reported {reported} is before occurred {occurred}"))
                continue
            if reported > as_of:
                bad(BadRow(line, f"reported {reported} is in the future"))
                continue
            code = row[i_ag].strip()
            agency_id = agencies.get(checks.code_key(code))
            if agency_id is None:
                bad(BadRow(line, f"unknown agency {code!r}; add it with `trigger agency add`"))
                continue
            ref = row[i_ref].strip()
            if not ref:
                bad(BadRow(line, "agency_ref is empty; each report needs the agency's own reference"))
                continue
            hate = row[i_hate].strip().lower() or None
            if hate is not None and hate not in HATE_STRANDS:
                bad(
                    BadRow(
                        line,
                        f"hate {hate!r} is not a strand; leave it empty or use {', '.join(HATE_STRANDS)}",
                    )
                )
                continue
            key = (agency_id, ref)
            if key in seen:
                bad(BadRow(line, f"{code} reference {ref!r} repeats line {seen[key]}"))
                continue
            seen[key] = line
            if dates_as_text:  # SQLAlchemy's Date type stores ISO text on SQLite
                occurred, reported = occurred.isoformat(), reported.isoformat()
            result.valid += 1
            yield (
                victim,
                occurred,
                reported,
                agency_id,
                ref,
                hate,
                row[i_cat].strip() or None,
                row[i_loc].strip() or None,
                row[i_desc].strip() or None,
            )


LIMITS = {"description": checks.TEXT_MAX, "location": checks.SHORT_MAX}


def _field_problem(header: list[str], row: list[str]) -> str | None:
    """The first field holding what no field may: NUL or control characters, or too much text."""
    for column, value in zip(header, row, strict=False):
        try:
            checks.text(value, column, limit=LIMITS.get(column, checks.REF_MAX), multiline=False)
        except InvalidInput as exc:
            return str(exc)
    return None


def _unreadable(path: Path, line: int, exc: Exception) -> InvalidInput:
    """A file the CSV reader cannot go on with: it is refused whole, naming the line."""
    if isinstance(exc, UnicodeDecodeError):
        return InvalidInput(
            f"{path.name}: line {line} or near it is not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); "
            "the file may be Latin-1, Windows-1252 or UTF-16: save it as 'CSV UTF-8' and import it again; "
            "nothing was imported"
        )
    return InvalidInput(f"{path.name}: line {line}: {exc} (a quote left open?); nothing was imported")


class _BulkInsert:
    """INSERT ... ON CONFLICT DO NOTHING on the (agency_id, agency_ref) key.

    The statement is built with SQLAlchemy Core and compiled once; each chunk goes to the driver's
    executemany directly, because SQLAlchemy's per-row parameter processing cost more than SQLite's
    own insert work on a million rows."""

    def __init__(self, conn):
        self.conn = conn
        dialect = conn.dialect
        if dialect.name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        elif dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:  # pragma: no cover - the project supports SQLite and PostgreSQL
            raise InvalidInput(f"importing incidents is not supported on {dialect.name}")
        self.sqlite = dialect.name == "sqlite"
        stmt = insert(Incident.__table__).on_conflict_do_nothing(index_elements=["agency_id", "agency_ref"])
        compiled = stmt.compile(dialect=dialect, column_keys=list(ROW))
        position = {key: i for i, key in enumerate(ROW)}
        self.order = [position[k] for k in compiled.positiontup] if compiled.positional else None
        self.sql = str(compiled)

    def __call__(self, chunk: list[tuple]) -> None:
        if not chunk:
            return
        if self.order is None:
            params = [dict(zip(ROW, r, strict=False)) for r in chunk]
        elif self.order == list(range(len(ROW))):
            params = chunk
        else:
            params = [tuple(r[i] for i in self.order) for r in chunk]
        self.conn.exec_driver_sql(self.sql, params)


def import_csv(app: App, path: str | Path, *, skip_bad: bool = False) -> ImportResult:
    """Validate and import an incident log. Raises ImportRefused (nothing written: the transaction rolls
    back) when a row is bad and `skip_bad` is false; the caller lists `result.bad` either way.

    Rows are validated and inserted chunk by chunk in one transaction, so memory stays flat on a
    million rows; after the first bad row (without --skip-bad) the rest is only validated."""
    path = Path(path)
    app.require_schema()
    result = ImportResult(file=str(path), skipped_bad=skip_bad)
    with app.write() as session:
        # the writers' lock first: other changes wait for the import instead of deadlocking with it
        writers_lock(session)
        conn = session.connection()
        agencies = {checks.code_key(code): i for code, i in session.execute(select(Agency.code, Agency.id))}
        insert = _BulkInsert(conn)
        count = select(func.count()).select_from(Incident).where(Incident.case_id.is_(None))
        before = session.execute(count).scalar_one()
        if insert.sqlite:  # a bigger page cache for this transaction: the indexes stay in memory
            conn.exec_driver_sql("PRAGMA cache_size=-262144")
        try:
            rows = _rows(path, agencies, today(), result, dates_as_text=insert.sqlite)
            while chunk := list(islice(rows, CHUNK)):
                if skip_bad or not result.bad:
                    insert(chunk)
        finally:
            if insert.sqlite:
                conn.exec_driver_sql("PRAGMA cache_size=-2000")  # SQLite's default, for the pooled connection
        if result.bad and not skip_bad:
            raise ImportRefused(result)
        result.imported = session.execute(count).scalar_one() - before
        result.already_held = result.valid - result.imported
        # one event for the whole import: counts and the file's name, no personal data
        audit.record(
            session,
            None,
            "incidents_import",
            actor=app.actor,
            on=today(),
            detail={
                "file": path.name,
                "rows": result.rows,
                "imported": result.imported,
                "already_held": result.already_held,
                "bad_rows": len(result.bad),
                "skipped_bad": skip_bad,
            },
        )
    return result
