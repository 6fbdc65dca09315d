"""Where the data lives and the config file: standard library only, because the command line reads
both before anything else (`trigger --help` must stay fast; docs/operations.md#the-config-file).

The data directory, in order:

1. `TRIGGER_HOME`, when set;
2. `~/.local/share/community-trigger` (or under `XDG_DATA_HOME`) when it already exists, so an
   installation made before the move to the platform's application directory keeps its database;
3. the platform's application directory, which the command line sets from
   `click.get_app_dir("community-trigger", roaming=False)` (`%LOCALAPPDATA%` on Windows,
   `~/Library/Application Support` on macOS, `~/.config` on Linux). The engine itself does not
   import click; used without the command line, it falls back to (2)'s location.
"""

from __future__ import annotations

import os
from pathlib import Path

from trigger.errors import InvalidInput

APP_NAME = "community-trigger"
CONFIG_NAME = "trigger.toml"
_app_dir: Path | None = None


def use_app_dir(path: str | os.PathLike) -> None:
    """The platform's application directory, as the command line found it."""
    global _app_dir
    _app_dir = Path(path)


def legacy_dir() -> Path:
    """Where the data lived before the platform's application directory was used."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / APP_NAME


def data_dir(create: bool = True) -> Path:
    """Where the default database, the outbox and the config file live (created private, 0700)."""
    home = os.environ.get("TRIGGER_HOME")
    if home:
        path = Path(home)
    elif legacy_dir().is_dir() or _app_dir is None:
        path = legacy_dir()
    else:
        path = _app_dir
    if create:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def config_path() -> Path | None:
    """`TRIGGER_CONFIG` (which must exist), else `trigger.toml` in the data directory if there is one."""
    named = os.environ.get("TRIGGER_CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            raise InvalidInput(f"TRIGGER_CONFIG names {path}, which is not a file")
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
