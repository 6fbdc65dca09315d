"""Where the data lives and the config file: the standard library and platformdirs only, because the
command line reads both before anything else (`trigger --help` must stay fast;
docs/operations.md#the-data-directory).

The data directory (the default database and the outbox: personal data), in order:

1. `TRIGGER_HOME`, when set;
2. the folder the command line used before, `click.get_app_dir("community-trigger", roaming=False)`
   (`~/.config/community-trigger` on Linux, a configuration folder), when it holds a database and the
   data folder does not: an existing installation keeps working, and is told once where its data is;
3. the platform's data folder, `platformdirs.user_data_dir` (`~/.local/share/community-trigger` on
   Linux, `~/Library/Application Support/community-trigger` on macOS, `%LOCALAPPDATA%\\community-trigger`
   on Windows).

The config file `trigger.toml` lives in the platform's config folder (`platformdirs.user_config_dir`),
or in the data directory where an older installation put it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from trigger.errors import InvalidInput

APP_NAME = "community-trigger"
CONFIG_NAME = "trigger.toml"
DB_NAME = "trigger.db"
_NOTED = ".data-folder-noted"  # in the former folder: its user has been told where the data is
_former_dir: Path | None = None


def use_former_dir(path: str | os.PathLike) -> None:
    """The folder the command line kept the data in before the platform's data folder was used."""
    global _former_dir
    _former_dir = Path(path)


def user_data_dir() -> Path:
    import platformdirs  # here: only a command that opens the default database or outbox needs it

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def user_config_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def _former_database() -> Path | None:
    """The former folder, when it holds the only database (the data folder has none)."""
    former = _former_dir
    if former is None or not (former / DB_NAME).is_file():
        return None
    if former == user_data_dir() or (user_data_dir() / DB_NAME).exists():
        return None
    return former


def data_dir(create: bool = True) -> Path:
    """Where the default database and the outbox live (created private, 0700)."""
    home = os.environ.get("TRIGGER_HOME")
    if home:
        path = Path(home)
    else:
        path = _former_database() or user_data_dir()
        if path == _former_dir and not (path / _NOTED).exists():
            print(
                f"Note: the database is {path / DB_NAME}, the folder used before this version; it "
                f"keeps working there. New installations use {user_data_dir()} "
                "(see docs/operations.md#the-data-directory).",
                file=sys.stderr,
            )
            try:
                (path / _NOTED).touch()
            except OSError:  # a read-only folder: the note is shown again next time, nothing else changes
                pass
    if create:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def config_path() -> Path | None:
    """`TRIGGER_CONFIG` (which must exist), else `trigger.toml` in the config folder, else in the data
    directory (where an older installation kept it), if there is one."""
    named = os.environ.get("TRIGGER_CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            raise InvalidInput(f"TRIGGER_CONFIG names {path}, which is not a file")
        return path
    if not os.environ.get("TRIGGER_HOME"):
        path = user_config_dir() / CONFIG_NAME
        if path.is_file():
            return path
    path = data_dir(create=False) / CONFIG_NAME
    return path if path.is_file() else None


def load_config() -> tuple[Path | None, dict]:
    """The config file's path and its tables, as written (option names not yet checked)."""
    path = config_path()
    if path is None:
        return None, {}
    import tomllib  # only when there is a file to read

    try:
        with path.open("rb") as fh:
            return path, tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None


def seconds(name: str, default: float, fits: Callable[[float], bool], expected: str) -> float:
    """A number of seconds from the environment variable `name` (`default` when unset or empty); a
    value that is not a number, or that `fits` refuses, is one line saying what it must be (`expected`,
    as in "from 0.5 to 8")."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = float("nan")  # fits nothing
    if not fits(value):
        raise InvalidInput(f"{name} {text!r} is not a number of seconds {expected}")
    return value
