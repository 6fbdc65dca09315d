"""Every file a command writes (letters, bundles, reports, exports, backups) goes through here
(docs/architecture.md#files-the-engine-writes):

- the bytes go to a temporary file in the target's own folder (private to its owner, 0600), are
  flushed to disk, and only then renamed into place, so a full disk or a missing folder leaves no
  half-written file and, for a letter, nothing recorded;
- an existing file is never replaced without `--force`;
- nothing is ever written over the database file, its WAL, its journal or its writers' queue
  (symbolic and hard links resolved);
- a character device or a pipe (`/dev/stdout`, a FIFO) is written to directly, as a stream.

Writing is in two steps, `stage` (the temporary file) and `place` (the rename), so that a command
that records what it wrote can place the file inside its transaction, just before the commit, and
take it away again if the commit fails.
"""

from __future__ import annotations

import io
import os
import re
import stat
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol
from zoneinfo import ZoneInfo

from trigger.errors import InvalidInput


class OutputError(InvalidInput):
    """A file that cannot be written: one line saying which and why; nothing was written."""


class Staged(Protocol):
    def place(self) -> None: ...

    def discard(self) -> None: ...


class Target(Protocol):
    description: str

    def stage(self, content: bytes) -> Staged: ...


# -- where the database lives -------------------------------------------------------------------------


SECRET_OPTIONS = ("password", "passfile", "sslpassword")  # a URL's options that hold or name a secret


def safe_url(url: str) -> str:
    """A database URL for a message: any password hidden, in the login part or in its options."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url.split("?")[0])
    parsed = parsed.difference_update_query(SECRET_OPTIONS)
    return parsed.render_as_string(hide_password=True)


def sqlite_path(url: str) -> Path | None:
    """The file of a `sqlite:///` URL; None for any other database (or an in-memory one)."""
    if not url.startswith("sqlite:///"):
        return None
    raw = url[len("sqlite:///") :].split("?")[0]
    return None if raw in ("", ":memory:") else Path(raw)


def database_files(db_url: str | None) -> list[Path]:
    """The files of a SQLite database: the file itself, its WAL, shared-memory and journal files, and the
    writers' queue (`trigger.store.queue`)."""
    path = sqlite_path(db_url or "")
    if path is None:
        return []
    return [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm", "-journal", "-queue")]


def _is_database(target: Path, db_url: str | None) -> bool:
    real = os.path.realpath(target)
    for protected in database_files(db_url):
        if os.path.realpath(protected) == real:
            return True
        try:
            if target.exists() and protected.exists() and os.path.samefile(target, protected):
                return True  # a hard link to the database under another name
        except OSError:
            continue
    return False


# -- targets ---------------------------------------------------------------------------------------------


def target(
    path: str | os.PathLike | None,
    *,
    force: bool = False,
    db_url: str | None = None,
    stream: BinaryIO | None = None,
) -> Target:
    """Where a command's output goes: the file `path` (checked now, before any work is done), or,
    without a path, `stream` (standard output)."""
    if path is None or str(path) == "-":
        if stream is None:
            raise OutputError("no file to write to; give -o FILE")
        return StreamTarget(stream)
    return FileTarget(path, force=force, db_url=db_url)


class FileTarget:
    """A file named by the user, checked when made: not the database, not a folder, its folder
    exists, and no existing file replaced without `force`."""

    def __init__(self, path: str | os.PathLike, *, force: bool = False, db_url: str | None = None):
        given = Path(path)
        if not str(path).strip():
            raise OutputError("the output file name is empty; name a file")
        self.given = given
        self.description = str(path)
        self.force = force
        if _is_database(given, db_url):
            raise OutputError(
                f"{path} is the database (or its WAL or journal); output never goes there, name another file"
            )
        real = Path(os.path.realpath(given))  # write where a symbolic link points, beside its target
        self.path = real
        self.stream = False
        try:
            info = real.stat()
        except FileNotFoundError:
            info = None
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror}") from None
        if info is not None:
            if stat.S_ISDIR(info.st_mode):
                raise OutputError(f"{path} is a folder; name a file inside it")
            if stat.S_ISREG(info.st_mode):
                if not force:
                    raise OutputError(
                        f"{path} already exists; give --force to replace it, or name another file"
                    )
            else:
                self.stream = True  # a device or a pipe: written to as it is (/dev/stdout, a FIFO)
                return
        folder = real.parent
        if not folder.is_dir():
            raise OutputError(f"the folder {given.parent} does not exist; create it or name another file")

    def stage(self, content: bytes) -> Staged:
        if self.stream:
            return _DeviceWrite(self, content)
        return _TempFile(self, content)


def temp_beside(where: FileTarget) -> tuple[int, Path]:
    """A new private (0600) temporary file in the target's folder: its descriptor and path."""
    try:
        fd, tmp = tempfile.mkstemp(dir=where.path.parent, prefix=f".{where.path.name}.", suffix=".partial")
    except OSError as exc:
        raise OutputError(f"cannot write {where.description}: {exc.strerror}") from None
    return fd, Path(tmp)


def place_file(tmp: Path, where: FileTarget) -> None:
    """Rename a finished temporary file into place: over an existing file only with `force`. On
    failure the temporary file is removed and nothing is left behind."""
    try:
        if where.force:
            os.replace(tmp, where.path)
        else:
            _link_new(tmp, where.path, where.description)
    except OutputError:
        tmp.unlink(missing_ok=True)
        raise
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {where.description}: {exc.strerror}") from None
    _sync_folder(where.path.parent)


class _TempFile:
    """The bytes in a private temporary file beside the target, ready to be renamed into place."""

    def __init__(self, where: FileTarget, content: bytes):
        self.where = where
        self.placed = False
        fd, self.tmp = temp_beside(where)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(content)
                fh.flush()
                os.fsync(fh.fileno())  # on disk before anything is recorded
        except OSError as exc:
            self.tmp.unlink(missing_ok=True)
            raise OutputError(f"cannot write {where.description}: {exc.strerror}") from None

    def place(self) -> None:
        place_file(self.tmp, self.where)
        self.placed = True

    def discard(self) -> None:
        """Take the output away again: the temporary file, or the placed file if the record of it
        could not be committed."""
        self.tmp.unlink(missing_ok=True)
        if self.placed:
            self.where.path.unlink(missing_ok=True)
            self.placed = False


def _link_new(tmp: Path, target: Path, shown: str) -> None:
    """Put `tmp` at `target` only if nothing is there (a hard link fails if the name exists, so two
    commands writing the same name at once cannot overwrite each other), then drop the temporary name."""
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise OutputError(
            f"{shown} already exists; give --force to replace it, or name another file"
        ) from None
    except OSError:  # a file system without hard links: check, then rename
        if target.exists():
            raise OutputError(
                f"{shown} already exists; give --force to replace it, or name another file"
            ) from None
        os.replace(tmp, target)
        return
    tmp.unlink(missing_ok=True)


def _sync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _DeviceWrite:
    """A device or a pipe cannot be renamed onto: it is written when placed, and errors (a full disk
    stood in by /dev/full) are reported then, before anything is committed."""

    def __init__(self, where: FileTarget, content: bytes):
        self.where, self.content = where, content

    def place(self) -> None:
        try:
            with open(self.where.path, "wb", buffering=0) as fh:
                fh.write(self.content)
        except OSError as exc:
            raise OutputError(f"cannot write {self.where.description}: {exc.strerror}") from None

    def discard(self) -> None:
        pass


class StreamTarget:
    """Standard output: written when placed, flushed, errors reported before anything is committed."""

    description = "standard output"

    def __init__(self, stream: BinaryIO):
        self.stream = stream

    def stage(self, content: bytes) -> Staged:
        return _StreamWrite(self.stream, content)


class _StreamWrite:
    def __init__(self, stream: BinaryIO, content: bytes):
        self.stream, self.content = stream, content

    def place(self) -> None:
        try:
            self.stream.write(self.content)
            self.stream.flush()
        except OSError as exc:
            raise OutputError(f"cannot write to standard output: {exc.strerror or exc}") from None

    def discard(self) -> None:
        pass


def write(target_: Target, content: bytes) -> None:
    """Stage and place at once: for output that records nothing (reports, previews, backups)."""
    staged = target_.stage(content)
    try:
        staged.place()
    except BaseException:
        staged.discard()
        raise


# -- CSV cells -----------------------------------------------------------------------------------------

_FORMULA = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def csv_cell(value: object) -> object:
    """A cell a spreadsheet will not run: text starting with = + - @ (or a tab or carriage return)
    gets a leading apostrophe, so `=HYPERLINK(...)` shows as text; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def zip_files(files: list[tuple[str, bytes, datetime]]) -> bytes:
    """A zip whose files carry their real dates: an issued letter the moment it was recorded, a page
    made for the bundle the moment the bundle was made (shown in the partnership's own time)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data, moment in files:
            local = _local(moment)
            info = zipfile.ZipInfo(name, date_time=local.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            zf.writestr(info, data)
    return buf.getvalue()


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo("Europe/London"))
