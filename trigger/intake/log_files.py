"""Reading the incident logs partners send: the file's format and encoding, and the column map.

- **Formats.** CSV or an Excel workbook (.xlsx, read with openpyxl in read-only mode, first sheet);
  a file or standard input (`-`). The format is told by the content, not the name: an .xlsx is a zip.
- **Encodings.** CSV in UTF-8 (with or without the byte-order mark Excel writes) or, failing that,
  Windows-1252 (Excel's "CSV" on an English Windows). UTF-16 ("Unicode text") and files that are
  neither are refused with one line that says how to save the file instead.
- **Column maps.** A TOML file maps our columns to the partner's headers, with optional value maps
  (their hate-strand names to ours) and defaults; presets for ECINS, Sentinel and Civica ship in
  `trigger/intake/maps/` (docs/operations.md#importing-partners-exports).

Rows come out as lists of strings with their line (CSV) or row (XLSX) number; validation is
`trigger.intake.partner_logs`'s.
"""

from __future__ import annotations

import codecs
import csv
import io
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

from trigger.codes import HATE_STRANDS
from trigger.errors import InvalidInput, MissingDependency

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
REQUIRED = COLUMNS[:5]
MAPS_DIR = Path(__file__).parent / "maps"
STDIN = "-"

# -- column maps -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnMap:
    """Our column -> the partner's header; value maps keyed by the partner's value folded to lower case."""

    name: str
    title: str = "our own column names"
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None

    def header_for(self, column: str) -> str:
        return self.columns.get(column, column)


STANDARD = ColumnMap("standard")


def preset_names() -> list[str]:
    return sorted(p.stem for p in MAPS_DIR.glob("*.toml"))


def preset_text(name: str) -> str:
    path = MAPS_DIR / f"{name}.toml"
    if not path.is_file():
        raise InvalidInput(f"no column map called {name!r}; the presets are {', '.join(preset_names())}")
    return path.read_text(encoding="utf-8")


def load_map(spec: str | None) -> ColumnMap:
    """`--map`: a preset's name (ecins, sentinel, civica) or a TOML file; None for our own headers."""
    if not spec:
        return STANDARD
    path = Path(spec)
    if spec in preset_names():
        path = MAPS_DIR / f"{spec}.toml"
    elif not path.is_file():
        raise InvalidInput(
            f"--map {spec!r} is neither a preset ({', '.join(preset_names())}) nor a TOML file that exists"
        )
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"{path}: not a valid TOML column map: {exc}") from None
    return _parse_map(raw, spec if path.parent == MAPS_DIR else str(path))


def _parse_map(raw: dict, name: str) -> ColumnMap:
    def fail(detail: str) -> InvalidInput:
        return InvalidInput(f"column map {name}: {detail} (docs/operations.md#importing-partners-exports)")

    unknown = set(raw) - {"name", "title", "note", "date_format", "columns", "values", "defaults"}
    if unknown:
        raise fail(
            f"unknown key {sorted(unknown)[0]!r}; the keys are date_format, [columns], [values], [defaults]"
        )
    tables = {}
    for key in ("columns", "values", "defaults"):
        tables[key] = raw.get(key, {})
        if not isinstance(tables[key], dict):
            raise fail(f"{key} must be a table ([{key}])")
    for key, table in (("columns", tables["columns"]), ("defaults", tables["defaults"])):
        for ours, theirs in table.items():
            if ours not in COLUMNS:
                raise fail(f"[{key}] {ours!r} is not one of our columns: {', '.join(COLUMNS)}")
            if not isinstance(theirs, str):
                raise fail(f"[{key}] {ours} must be text, not {theirs!r}")
    values: dict[str, dict[str, str]] = {}
    for ours, table in tables["values"].items():
        if ours not in COLUMNS or not isinstance(table, dict):
            raise fail(f"[values.{ours}] must name one of our columns ({', '.join(COLUMNS)}) and be a table")
        for theirs, mapped in table.items():
            if not isinstance(mapped, str):
                raise fail(f"[values.{ours}] {theirs!r} must map to text, not {mapped!r}")
            if ours == "hate" and mapped and mapped not in HATE_STRANDS:
                raise fail(
                    f"[values.hate] {theirs!r} maps to {mapped!r}, not a strand: {', '.join(HATE_STRANDS)}"
                )
        values[ours] = {k.strip().casefold(): v for k, v in table.items()}
    date_format = raw.get("date_format")
    if date_format is not None:
        check_date_format(date_format, f"column map {name}: date_format")
    title = raw.get("title", name)
    return ColumnMap(name, str(title), dict(tables["columns"]), values, dict(tables["defaults"]), date_format)


def check_date_format(fmt: str, where: str = "--date-format") -> None:
    """A strptime format that gives a day, a month and a year, e.g. %d/%m/%Y."""
    if (
        not isinstance(fmt, str)
        or not all(d in fmt for d in ("%d", "%m"))
        or not ("%Y" in fmt or "%y" in fmt)
    ):
        raise InvalidInput(f"{where} {fmt!r} must give the day, month and year, e.g. %d/%m/%Y or %Y-%m-%d")
    try:
        datetime(2026, 3, 14).strftime(fmt)
        datetime.strptime(datetime(2026, 3, 14).strftime(fmt), fmt)
    except ValueError as exc:
        raise InvalidInput(f"{where} {fmt!r} is not a date format: {exc}") from None


# -- dates -----------------------------------------------------------------------------------------------


class DateReader:
    """Text to a date, remembered: a million rows hold a few thousand distinct days, so each is parsed once.

    ISO dates (2026-03-14) are always accepted; with a format (e.g. %d/%m/%Y) that format first. A time of
    day after the date (`14/03/2026 09:30`, as some exports write) is ignored. `as_text` gives ISO text,
    the form SQLite stores (and ISO text compares in date order)."""

    def __init__(self, fmt: str | None, as_text: bool):
        self.fmt, self.as_text = fmt, as_text
        self.seen: dict[str, object] = {}
        self.example = datetime(2026, 3, 14).strftime(fmt) if fmt else "2026-03-14"

    def __call__(self, text: str):
        value = self.seen.get(text)
        if value is None:
            value = self.seen[text] = self._parse(text)
        return value

    def _parse(self, text: str):
        s = text.strip()
        day = None
        for candidate in (s, s.split(" ", 1)[0], s.split("T", 1)[0]):
            if self.fmt:
                try:
                    day = datetime.strptime(candidate, self.fmt).date()
                    break
                except ValueError:
                    pass
            try:
                day = date.fromisoformat(candidate)
                break
            except ValueError:
                pass
        if day is None:
            raise ValueError(text)
        return day.isoformat() if self.as_text else day

    def today(self, day: date):
        return day.isoformat() if self.as_text else day

    def hint(self) -> str:
        if self.fmt:
            return f"write it as {self.fmt} (e.g. {self.example}) or YYYY-MM-DD"
        return "write it as YYYY-MM-DD, or give --date-format (e.g. --date-format %d/%m/%Y)"


# -- sources ---------------------------------------------------------------------------------------------


class _Counted(io.RawIOBase):
    """A binary reader that counts the bytes read through it, for the progress bar."""

    def __init__(self, raw: io.BufferedIOBase):
        self.raw, self.done = raw, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self.raw.readinto(buffer)
        self.done += n or 0
        return n


@dataclass
class Source:
    """An opened partner file: its header, then its rows as (number, cells) with every cell text."""

    name: str
    unit: str  # "line" for CSV, "row" for a workbook
    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    total: int | None  # bytes (CSV) or rows (XLSX) for the progress bar; None when unknown
    done: Callable[[], int]  # how much of `total` has been read
    strict_width: bool  # CSV rows must have the header's width; a workbook's short rows are padded
    encoding: str | None = None


_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0"  # the old binary .xls (and other Office 97 files)


def open_source(path: str | Path, data: bytes | None = None) -> Source:
    """Open a file, or `data` (standard input's bytes) when `path` is "-"; the caller closes nothing:
    the rows iterator closes the file when it ends (`close_source` ends it early)."""
    name = "standard input" if data is not None else str(path)
    opener: Opener
    if data is not None:
        head, opener, size = data[:8], (lambda: io.BytesIO(data)), len(data)
    else:
        p = Path(path)
        try:
            with p.open("rb") as fh:
                head = fh.read(8)
            size = p.stat().st_size
        except IsADirectoryError:
            raise InvalidInput(f"{name} is a folder; give the export file") from None
        except OSError as exc:
            raise InvalidInput(f"cannot read {name}: {exc.strerror}") from None
        opener = _binary_opener(p)
    if not head:
        raise InvalidInput(f"{name} is empty; it needs a header row: {', '.join(COLUMNS)}")
    if head.startswith(_OLE):
        raise InvalidInput(
            f"{name} is an old Excel .xls workbook; open it in Excel and save it as .xlsx or CSV UTF-8"
        )
    if head.startswith(_ZIP):
        return _xlsx(name, opener)
    return _csv(name, opener, size)


Opener = Callable[[], io.BufferedIOBase]  # opens the file (or standard input's bytes) again, from the start


def _binary_opener(p: Path) -> Opener:
    def opener() -> io.BufferedIOBase:
        return p.open("rb")

    return opener


def _encoding(name: str, opener: Opener) -> str:
    """utf-8-sig (which also reads UTF-8 without a BOM), else cp1252; UTF-16 and undecodable refused."""
    with opener() as fh:
        first = fh.read(4096)
        # UTF-16 text has a NUL in nearly every other byte; a stray NUL in a cell is the row's problem
        utf16 = first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or first.count(
            b"\x00"
        ) * 4 > len(first)
        if utf16:
            raise InvalidInput(
                f'{name} is UTF-16 (Excel\'s "Unicode Text"), which is not read; save it from Excel as '
                '"CSV UTF-8 (Comma delimited)" or as .xlsx'
            )
        fh.seek(0)
        utf8 = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := fh.read(1 << 20):
                utf8.decode(chunk)
            utf8.decode(b"", final=True)
            return "utf-8-sig"
        except UnicodeDecodeError:
            pass
        fh.seek(0)
        cp1252 = codecs.getincrementaldecoder("cp1252")()
        lines = 0
        try:
            while chunk := fh.read(1 << 20):
                cp1252.decode(chunk)
                lines += chunk.count(b"\n")
            return "cp1252"
        except UnicodeDecodeError as exc:
            line = lines + exc.object[: exc.start].count(b"\n") + 1
            raise InvalidInput(
                f"{name} is neither UTF-8 nor Windows-1252 "
                f"(byte 0x{exc.object[exc.start]:02x} on line {line}); "
                'save it from Excel as "CSV UTF-8 (Comma delimited)" or as .xlsx'
            ) from None


def _csv(name: str, opener: Opener, size: int) -> Source:
    encoding = _encoding(name, opener)
    raw = opener()
    counted = _Counted(raw)
    text = io.TextIOWrapper(io.BufferedReader(counted, 1 << 16), encoding=encoding, newline="")
    reader = csv.reader(text)
    try:
        header = next(reader)
    except StopIteration:
        text.close()
        raise InvalidInput(f"{name} is empty; it needs a header row: {', '.join(COLUMNS)}") from None
    except csv.Error as exc:
        text.close()
        raise InvalidInput(f"{name}: line 1 is not CSV: {exc}") from None

    width = len(header)

    def rows() -> Iterator[tuple[int, list[str]]]:
        with text:
            while True:
                start = reader.line_num + 1
                try:
                    row = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    raise InvalidInput(
                        f"{name}: line {start}: {exc} (a quote left open?); nothing was imported"
                    ) from None
                if row and reader.line_num != start:
                    _not_swallowed(name, start, reader.line_num, row, width)
                if row:
                    yield reader.line_num, row

    return Source(name, "line", header, rows(), size, lambda: counted.done, True, encoding)


def _not_swallowed(name: str, start: int, end: int, row: list[str], width: int) -> None:
    """A quoted cell may run over several lines (a note with line breaks), but a quote left open
    swallows the rows after it into one cell: when a line inside a cell is itself a whole row of the
    file, the file is refused rather than read one row short."""
    for value in row:
        for inner in value.splitlines()[1:]:
            if inner.count(",") >= max(width - 1, 1):
                raise InvalidInput(
                    f"{name}: line {start}: a quote left open runs on to line {end} and swallows the rows "
                    "after it; close the quote and import the file again (nothing was imported)"
                )


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel keeps every number as a float: 12345.0 was typed 12345
    return str(value)


def _xlsx(name: str, opener: Opener) -> Source:
    try:
        from openpyxl import load_workbook
    except ImportError:  # pragma: no cover - a base dependency
        raise MissingDependency("reading .xlsx needs openpyxl: pip install openpyxl") from None
    fh = opener()
    try:
        book = load_workbook(fh, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a file that is not a workbook
        fh.close()
        raise InvalidInput(
            f"{name} is a zip file but not an Excel .xlsx workbook ({type(exc).__name__}); "
            "save it from the partner's system as .xlsx or CSV"
        ) from None
    sheet = book.worksheets[0]
    total = sheet.max_row
    cells = sheet.iter_rows(values_only=True)
    header = [_cell(v).strip() for v in next(cells, ())]
    while header and not header[-1]:
        header.pop()
    if not header:
        book.close()
        fh.close()
        raise InvalidInput(f"{name}: the first sheet is empty; its first row must be the header")
    width = len(header)
    done = [1]

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for number, values in enumerate(cells, 2):
                done[0] = number
                row = [_cell(v) for v in values]
                if not any(c.strip() for c in row):
                    continue
                while len(row) > width and not row[-1].strip():
                    row.pop()
                if len(row) < width:
                    row += [""] * (width - len(row))
                yield number, row
        finally:
            book.close()
            fh.close()

    return Source(name, "row", header, rows(), total, lambda: done[0], False)


def close_source(source: Source) -> None:
    close = getattr(source.rows, "close", None)
    if close is not None:
        close()


# -- the header ------------------------------------------------------------------------------------------


def _fits(source: Source, cmap: ColumnMap) -> bool:
    found = {h.strip().casefold() for h in source.header}
    return all(cmap.header_for(c).strip().casefold() in found or c in cmap.defaults for c in REQUIRED)


def positions(source: Source, cmap: ColumnMap) -> dict[str, int | None]:
    """Where each of our columns is in the file, by the map's header names (ignoring case and spaces);
    None for an optional column the file lacks. A required column missing is refused, naming the
    headers expected and the ones found."""
    found = {h.strip().casefold(): i for i, h in reversed(list(enumerate(source.header)))}
    at: dict[str, int | None] = {}
    missing = []
    for column in COLUMNS:
        header = cmap.header_for(column)
        key = header.strip().casefold()
        i = found.get(key)
        twice = [n + 1 for n, h in enumerate(source.header) if h.strip().casefold() == key]
        if len(twice) > 1:
            raise InvalidInput(
                f"{source.name}: {source.unit} 1: the header {header!r} is there twice (columns "
                f"{', '.join(map(str, twice))}), so which one holds the {column} is unclear; rename one"
            )
        if i is None and column in REQUIRED and column not in cmap.defaults:
            missing.append(header if header == column else f"{header!r} ({column})")
        at[column] = i
    if missing:
        s = "s" if len(missing) > 1 else ""
        shown = ", ".join(repr(h) for h in source.header[:12]) + (", ..." if len(source.header) > 12 else "")
        if cmap is not STANDARD:
            advice = f"check the column map {cmap.name} against the file's headers"
        elif fits := [p for p in preset_names() if _fits(source, load_map(p))]:
            advice = f"the headers are those of the {fits[0]} preset: give --map {fits[0]}"
        else:
            advice = "give --map ecins, sentinel or civica, or your own column map (docs/operations.md)"
        raise InvalidInput(
            f"{source.name}: {source.unit} 1: missing column{s} {', '.join(missing)}; "
            f"the file's headers are {shown}; {advice}"
        )
    return at
