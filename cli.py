"""The `trigger` command line: parse, call a use-case, hand its result to a printer. No SQL, no rules,
no date arithmetic (docs/architecture.md).

Finding a command: `trigger X Y` is the function `X_Y` (`trigger report annual` is `report_annual`), a
group `trigger X` is `X_group`, and a command `trigger X` is `X`, or `X_` where that name is taken
(`list_`, `scan_`, `export_`, `demo_`). The file runs in sections by noun, in this order: the
partnership and its settings, cases, complaints, the review, letters, deadlines, reports and records,
the workflow and the demo. What a command prints beyond a line or two is in `trigger/console.py`.

Every domain error (`trigger.errors.TriggerError`) becomes one line on stderr and a non-zero exit, in
one place (`TriggerGroup.invoke`).

Imports, one rule: `trigger --help` must not load the engine, so at the top of this file are only the
standard library, click and the light modules of the face (`trigger.codes`, `trigger.errors`,
`trigger.settings`, `trigger.console`, `letters.words`). A command imports each engine module it calls
on its first lines, as `from <package> import <module>` (`from trigger.cases import moves`), then calls
`module.function(...)`: never a name out of a module, never an alias.
"""

from __future__ import annotations

import functools
import gc
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import click

from letters.words import plural
from trigger import codes, console, errors, settings

F = TypeVar("F", bound=Callable[..., Any])
CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# -- the machinery -------------------------------------------------------------------------------------
# groups, commands, option types, shared options, start-up


class OneLineUsageError(click.UsageError):
    """A usage mistake shown as one line that says what is wrong and where the help is."""

    def show(self, file: Any = None) -> None:
        where = f"; see `{self.ctx.command_path} --help`" if self.ctx is not None else ""
        click.echo(f"Error: {self.format_message().rstrip('.')}{where}", err=True)


def exclusive(*names: str) -> Callable[[F], F]:
    """Declare options that contradict each other (`--met` and `--not-met`): given together on the
    command line, the command is refused with one line naming both, before anything runs. An argument
    is named by its name in capitals (`KIND`). Checked once, for every command, by `TriggerCommand`."""

    def mark(f: F) -> F:
        f.__exclusive__ = [*getattr(f, "__exclusive__", []), names]  # type: ignore[attr-defined]
        return f

    return mark


class TriggerCommand(click.Command):
    """A command that refuses contradictory options (see `exclusive`)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        for names in getattr(self.callback, "__exclusive__", []):
            given = [name for name in names if self._given(ctx, name)]
            if len(given) > 1:
                listed = (
                    " and ".join([", ".join(given[:-1]), given[-1]])
                    if len(given) > 2
                    else " and ".join(given)
                )
                raise click.UsageError(f"{listed} contradict each other; give only one", ctx)
        return rest

    def _given(self, ctx: click.Context, name: str) -> bool:
        for param in self.params:
            named = (
                name in param.opts
                if isinstance(param, click.Option)
                else name in (param.human_readable_name, (param.name or "").upper())
            )
            if named and param.name is not None:
                source = ctx.get_parameter_source(param.name)
                value = ctx.params.get(param.name)
                return source is click.core.ParameterSource.COMMANDLINE and value not in (None, False, ())
        raise LookupError(f"{self.name}: no option {name} to declare exclusive")  # a programming error


class TriggerGroup(click.Group):
    """Every group of `trigger`, the root included: its commands refuse contradictions, every domain
    error becomes `Error: <one line>` on stderr and a non-zero exit, and the root reads the config file
    before parsing, so the file's values become click's `default_map` (command line > environment >
    config file > default)."""

    command_class = TriggerCommand
    group_class = type  # `@group.group()` makes a TriggerGroup too: the class is set once, here

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        if parent is None and "default_map" not in extra:
            settings.use_former_dir(click.get_app_dir(settings.APP_NAME, roaming=False))
            try:
                path, table = settings.load_config()
            except errors.TriggerError as exc:
                raise click.ClickException(str(exc)) from None
            if table:
                extra["default_map"] = config_defaults(self, table, "", path)
        return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except errors.TriggerError as exc:
            raise click.ClickException(str(exc)) from None
        except OneLineUsageError:
            raise
        except click.UsageError as exc:
            raise OneLineUsageError(exc.format_message(), exc.ctx) from None
        except Exception as exc:
            if _is_database_error(exc):
                detail = (
                    str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__]
                )[0]
                raise click.ClickException(
                    f"cannot use the database: {detail} (check --db or TRIGGER_DB)"
                ) from None
            raise


class DefaultCommandGroup(TriggerGroup):
    """A group whose first argument, when it names none of its commands, goes to its default command:
    `trigger hours REF ...` logs hours as it always did, `trigger hours void REF N` voids an entry."""

    default_command = "log"

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


def _is_database_error(exc: Exception) -> bool:
    """The database is unreachable, locked, refuses us, or its URL is malformed: the user's to fix
    (every error of the database driver, as SQLAlchemy wraps it), not a bug."""
    return type(exc).__module__.startswith("sqlalchemy") and type(exc).__name__ in (
        "OperationalError",
        "ArgumentError",
        "NoSuchModuleError",
        "InterfaceError",
        "DatabaseError",
        "ProgrammingError",
        "DataError",
        "InternalError",
        "NotSupportedError",
    )


YEARS = (1990, 2100)  # trigger.checks.YEAR_MIN/MAX (not imported here: --help stays light)


class ISODate(click.ParamType):
    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        try:
            day = date.fromisoformat(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-03-14", param, ctx)
        if not YEARS[0] <= day.year <= YEARS[1]:
            self.fail(f"{value}: a year outside {YEARS[0]}-{YEARS[1]} is refused; check the date", param, ctx)
        return day


class ISODateTime(click.ParamType):
    name = "DATETIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a date and time; write it as YYYY-MM-DDTHH:MM", param, ctx)
        if not YEARS[0] <= moment.year <= YEARS[1]:
            self.fail(f"{value}: a year outside {YEARS[0]}-{YEARS[1]} is refused; check the date", param, ctx)
        return moment


DATE = ISODate()
DATETIME = ISODateTime()
ID = click.IntRange(1, 2**31 - 1)  # an id or number: what a database INTEGER holds
YEAR = click.IntRange(*YEARS)
NATION = click.Choice(codes.NATIONS)


class Ctx:
    """The context object: the engine's App, built lazily so that --help never touches the database."""

    def __init__(self, db: str | None, actor: str | None, policy: str | None) -> None:
        self.db, self.actor, self.policy = db, actor, policy
        self.partnership: str | None = None  # --partnership CODE, on the commands that take it
        self._app: Any = None

    @property
    def app(self) -> Any:
        if self._app is None:
            from trigger.store import app

            self._app = app.App(self.db, self.actor, self.policy, self.partnership, notice=say_waiting)
            collect_garbage_from_here()
        return self._app


def say_waiting(text: str) -> None:
    """A change that has waited a few seconds for its turn says so, once, on stderr."""
    print(text, file=sys.stderr, flush=True)


pass_ctx = click.make_pass_decorator(Ctx)


def partnership_option(f: F) -> F:
    """--partnership CODE: which partnership the command acts for, in a database of several (a user
    acts for their own; an admin reads every partnership)."""

    def remember(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        if value is not None:
            ctx.find_object(Ctx).partnership = value  # type: ignore[union-attr]
        return value

    return click.option(
        "--partnership",
        metavar="CODE",
        default=None,
        expose_value=False,
        callback=remember,
        help="The partnership (default: yours, or the database's only one).",
    )(f)


def one_of(choices: tuple[str, ...]) -> str:
    """The choices, in an option's help: click's `[a|b|c]` beside the option would run off the screen."""
    return f"One of: {', '.join(choices)}."


def on_option(f: F) -> F:
    return click.option(
        "--on",
        "on",
        type=DATE,
        default=None,
        help="The day it happened (default today; never in the future).",
    )(f)


def output_options(listing: console.Listing | None) -> Callable[[F], F]:
    """--json and --csv for every listing (one or the other); a table otherwise, fitted to the screen
    unless --wide (a listing printed otherwise than as a table has no --wide)."""

    def add(f: F) -> F:
        if listing is not None:
            f = click.option("--wide", is_flag=True, help=listing.wide_help())(f)
        f = click.option("--csv", "as_csv", is_flag=True, help="Print CSV.")(f)
        f = click.option("--json", "as_json", is_flag=True, help="Print JSON.")(f)
        return exclusive("--json", "--csv", *(["--wide"] if listing is not None else []))(f)

    return add


LETTERHEAD_OPTIONS = (
    ("--name-cy", "name_cy", "TEXT", "Its name in Welsh, for the Welsh half of bilingual letters."),
    ("--address", "address", "LINE", "A line of its address on the letterhead (repeat for each line)."),
    ("--telephone", "telephone", "TEXT", "The telephone number on the letterhead."),
    ("--web", "web", "URL", "The web address on the letterhead."),
    ("--logo", "logo", "FILE", "Its logo: a PNG, JPEG or GIF file (read now, kept in the database)."),
    ("--signatory-name", "signatory_name", "TEXT", "Who signs letters when a case has no named contact."),
    ("--signatory-role", "signatory_role", "TEXT", "The signatory's role, e.g. Community Safety Manager."),
)


def letterhead_options(f: F) -> F:
    """The partnership's own letterhead (each part falls back to the policy's [letterhead] while unset;
    an empty value clears it): gathered into one `letterhead` dict for the command."""

    @functools.wraps(f)
    def gather(*args: Any, **kwargs: Any) -> Any:
        given = {key: kwargs.pop(key) for _, key, _, _ in LETTERHEAD_OPTIONS}
        given["address"] = tuple(given["address"]) or None  # not given: left as it is
        return f(*args, letterhead=given, **kwargs)

    for flag, key, metavar, text in reversed(LETTERHEAD_OPTIONS):
        multiple = key == "address"
        gather = click.option(flag, key, default=None, multiple=multiple, metavar=metavar, help=text)(gather)
    return cast(F, gather)


def force_option(f: F) -> F:
    return click.option("--force", "force", is_flag=True, help="Replace the output file if it exists.")(f)


SUFFIXES = {
    "html": (".html", ".htm"),
    "txt": (".txt",),
    "pdf": (".pdf",),
    "docx": (".docx",),
    "zip": (".zip",),
}


def output_target(c: Ctx, path: str | None, force: bool, stream: bool = True, fmt: str | None = None) -> Any:
    """Where a command's bytes go: the file (checked before any work), or standard output. A file
    named for another format than `fmt` (a zip as `x.txt`) is refused; a name without a suffix (a
    device, a pipe) is taken as it is."""
    from trigger.store import outputs

    target = outputs.target(path, force=force, db_url=c.app.url, stream=sys.stdout.buffer if stream else None)
    suffix = Path(path).suffix.lower() if path else ""
    if fmt in SUFFIXES and suffix and suffix not in SUFFIXES[fmt]:
        expected = Path(path or "").with_suffix(SUFFIXES[fmt][0]).name
        raise click.UsageError(f"-o {path}: this writes {fmt}, not {suffix[1:]}; name the file {expected}")
    return target


def utf8_output() -> None:
    """Write UTF-8 whatever the console's code page (Windows cp1252 cannot encode ŵ); cheap, no imports."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
        if encoding != "utf8" and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(encoding="utf-8", errors="replace")
            except (ValueError, OSError):  # a stream already written to in another encoding
                pass


def config_defaults(command: click.Command, table: dict, where: str, path: Path | None) -> dict:
    """A config file's table for `command` as click's `default_map`: keys are option names as typed
    on the command line (`date-format`, `date_format` or the parameter's own name), sub-tables are
    subcommands; an unknown key is refused, naming the file and the table."""
    names: dict[str, str] = {}
    typed: list[str] = []
    for param in command.params:
        if not isinstance(param, click.Option) or param.name is None:
            continue
        names[param.name] = param.name
        for opt in param.opts + param.secondary_opts:
            if opt.startswith("--"):
                names[opt[2:]] = names[opt[2:].replace("-", "_")] = param.name
                typed.append(opt[2:])
    subcommands = getattr(command, "commands", {})
    out: dict = {}
    for key, value in table.items():
        if isinstance(value, dict) and key in subcommands:
            out[key] = config_defaults(subcommands[key], value, f"{where} {key}".strip(), path)
        elif key in names:
            out[names[key]] = value
        else:
            known = ", ".join(
                sorted(typed) + [f"[{where} {c}]".replace("[ ", "[") for c in sorted(subcommands)]
            )
            command_path = " ".join(["trigger", *where.split()])
            raise click.ClickException(
                f"{path}: [{where.replace(' ', '.') or 'top level'}] {key!r} is not an option of "
                f"`{command_path}`; the options are {known or 'none'} (see docs/operations.md)"
            )
    return out


def setup_logging(verbosity: int) -> None:
    """Our own messages (`trigger.*`, e.g. each sweep of `reminders serve`) at INFO and the libraries'
    at WARNING by default; -v adds our DEBUG and the libraries' INFO (the scheduler's jobs), -vv
    everything; -q keeps warnings only, -qq errors only. One handler on stderr, installed once; other
    handlers (a test runner's) are left alone."""
    ours = {-1: logging.WARNING, 0: logging.INFO}.get(
        verbosity, logging.DEBUG if verbosity > 0 else logging.ERROR
    )
    libraries = {0: logging.WARNING, 1: logging.INFO}.get(
        verbosity, logging.DEBUG if verbosity > 1 else max(ours, logging.WARNING)
    )

    class Stderr(logging.StreamHandler):
        """Writes to whatever sys.stderr is when a record comes (CliRunner swaps it per command)."""

        @property
        def stream(self) -> Any:
            return sys.stderr

        @stream.setter
        def stream(self, _value: Any) -> None:
            pass

    # the PDF renderer's own notes (a font subset by fontTools rather than HarfBuzz, a CSS rule it
    # skips) say nothing an officer can act on: shown from -v, errors always
    renderer = logging.ERROR if verbosity < 1 else libraries

    def wanted(record: logging.LogRecord) -> bool:
        top = record.name.split(".", 1)[0]
        if top == "trigger":
            return record.levelno >= ours
        return record.levelno >= (renderer if top in ("weasyprint", "fontTools") else libraries)

    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "trigger_cli", False)]:
        root.removeHandler(handler)
    handler = Stderr()
    handler.trigger_cli = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(wanted)
    root.addHandler(handler)
    root.setLevel(min(ours, libraries))
    logging.getLogger("trigger").setLevel(ours)


# -- trigger itself ------------------------------------------------------------------------------------


@click.group(cls=TriggerGroup, context_settings=CONTEXT_SETTINGS)
@click.option(
    "--db",
    envvar="TRIGGER_DB",
    show_envvar=True,
    default=None,
    help="Database URL (default: a SQLite file in the user data directory).",
)
@click.option(
    "--as",
    "actor",
    envvar="TRIGGER_USER",
    show_envvar=True,
    default=None,
    help="Who is acting; recorded on every change (default: the OS user).",
)
@click.option(
    "--policy", default=None, help="Policy preset name or TOML file (default: the one chosen at init)."
)
@click.option("-v", "--verbose", count=True, help="Log more (-v: debug detail).")
@click.option("-q", "--quiet", count=True, help="Log less (-q: warnings only, -qq: errors only).")
@click.version_option(package_name="community-trigger")
@click.pass_context
def cli(ctx, db, actor, policy, verbose, quiet):
    """Run ASB Case Reviews (the Community Trigger) under the ASB, Crime and Policing Act 2014, s.104.

    \b
    Start with:
        trigger init --policy llr --manager-email csm@example.gov.uk
        trigger activate --applicant "A. Resident" --received 2026-03-02 \\
            --channel online --statement "Nothing has changed after five reports"
        trigger show CT-2026-0001
    """
    ctx.obj = Ctx(db, actor, policy)
    setup_logging(verbose - quiet)


def main() -> None:
    # The command's start-up (its imports, the tables' classes) makes objects that live until it exits:
    # the cycle collector would scan them again and again, about a sixth of a command's CPU time. It
    # rests until the engine is first used (`collect_garbage_from_here`).
    gc.disable()
    utf8_output()
    cli(prog_name="trigger")


# The cycle collector's first generation after start-up: collected every 20,000 new objects rather
# than 700, as a PDF letter's WeasyPrint makes a million objects that mostly live until it exits.
YOUNG_OBJECTS = 20_000


def collect_garbage_from_here() -> None:
    """After start-up (see `main`): what exists now lives for the whole run, so it is set aside for
    good (`gc.freeze`) and the cycle collector runs on what the command makes from here on, a long
    `trigger web serve` or `reminders serve` included."""
    if not gc.isenabled():
        gc.freeze()
        gc.set_threshold(YOUNG_OBJECTS, *gc.get_threshold()[1:])
        gc.enable()


# -- the partnership and its settings ------------------------------------------------------------------
# init, db, backup, partnership, agency, user, policy


@cli.command()
@click.option(
    "--policy",
    "policy_name",
    default=None,
    help="Policy preset or TOML file (default: the database's current policy; llr for a new one).",
)
@click.option("--manager-email", default=None, help="Where escalations and the morning digest go.")
@click.option(
    "--force",
    is_flag=True,
    help="Change the policy or the manager of a database that holds cases (recorded).",
)
@click.option(
    "--partnership",
    "code",
    metavar="CODE",
    default=None,
    help="The first partnership's code (default main); rerun, the partnership whose settings change.",
)
@click.option("--name", default=None, help="The first partnership's name (default: its policy's area).")
@click.option("--name-cy", default=None, metavar="TEXT", help="Its name in Welsh, for bilingual letters.")
@pass_ctx
def init(c, policy_name, manager_email, force, code, name, name_cy):
    """Create the database and choose the partnership's policy. Safe to rerun; on a database that
    already holds cases it refuses to change the policy or the manager unless --force. The rest of
    its letterhead: `trigger partnership update`."""
    from trigger.access import partnership

    pol, changed = partnership.init(
        c.app,
        c.policy or policy_name,
        manager_email,
        force=force,
        code=code,
        name=name,
        letterhead=partnership.LetterheadInput(name_cy=name_cy),
    )
    click.echo(f"Initialised {c.app.url} with policy {pol.name} {pol.version} ({pol.area}).")
    for line in changed:
        click.echo(f"Changed (recorded in the audit log): {line}", err=True)


@cli.group("db")
def db_group():
    """The database schema: migrations shipped with the engine."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Migrate to this revision.")
@click.option(
    "--adopt",
    is_flag=True,
    help="A database made before migrations (tables, no revision record): check that its tables "
    "match, then record it at the initial revision and migrate.",
)
@pass_ctx
def db_upgrade(c, revision, adopt):
    """Apply the shipped migrations (safe to rerun; run after upgrading trigger)."""
    from trigger.access import partnership

    state = partnership.upgrade(c.app, revision, adopt=adopt)
    click.echo(
        f"{c.app.url}: schema at revision {', '.join(state.current or []) or 'none'}"
        + (" (up to date)" if state.up_to_date else "")
    )


@db_group.command("current")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def db_current(c, as_json):
    """Show the database's schema revision and the newest one this version of trigger ships."""
    from trigger.access import partnership

    state = partnership.schema(c.app)
    if as_json:
        console.emit_json({"current": state.current, "head": state.heads, "up_to_date": state.up_to_date})
    else:
        console.print_schema_state(state)


@db_group.command("grant")
@click.option(
    "--prefix",
    default=None,
    metavar="NAME",
    help="Name this database's group roles NAME_admin, NAME_manager, ... (default: after the database, "
    "and its schema when not public; kept for later runs).",
)
@pass_ctx
def db_grant(c, prefix):
    """PostgreSQL: create this database's group roles (<database>_admin, _manager, _reviewer, _chair,
    _clerk, _viewer), grant them least privilege on this schema's tables, make the audit log and the
    records of who did what append-only and turn on row-level security, so that a login sees and
    changes only what its role allows, with psql too, and nothing in another database on the server.
    Safe to rerun (after `db upgrade`, run it again)."""
    from trigger.access import grants

    done = grants.grant(c.app, prefix)
    made = f"created {', '.join(done.groups_created)}" if done.groups_created else "the groups existed"
    click.echo(
        f"Granted schema {done.schema} to the groups {done.prefix}_*: {made}; {done.tables} tables, "
        f"{done.policies} with row-level security; audit_event and the records of who did what are "
        "append-only."
    )
    if done.old_groups:
        click.echo(
            f"The server-wide groups of old ({', '.join(done.old_groups)}) hold nothing here any more; "
            f"drop them once every database on this server has run `trigger db grant`: "
            f"DROP ROLE {', '.join(done.old_groups)};"
        )
    for login, group in done.logins:
        click.echo(f"  {login}: {group or 'no group (disabled, or no such login on this server)'}")


@cli.command()
@click.argument("file")
@click.option(
    "--keys",
    is_flag=True,
    help="Copy the key store (TRIGGER_KEYSTORE) to FILE instead; keep these copies for days, not months.",
)
@force_option
@pass_ctx
def backup(c, file, keys, force):
    """Copy the SQLite database to FILE while others may be using it (PostgreSQL: use pg_dump). With a
    key store set, the database's copy holds no key, and `--keys` copies the key store (its copies
    decide when a purge is final in every backup: docs/operations.md#the-key-store)."""
    from trigger.access import partnership

    size = partnership.backup(c.app, file, force=force, keys=keys)
    what = "the key store" if keys else c.app.url
    click.echo(f"Backed up {what} to {file} ({size:,} bytes). Restore: stop trigger, copy it back.")


@cli.group("keys")
def keys_group():
    """The keys that seal personal data: in the database, or in a key store of their own
    (TRIGGER_KEYSTORE), so that backups of the database never hold them."""


@keys_group.command("move")
@click.option("--to-database", is_flag=True, help="Move them back from the key store into the database.")
@pass_ctx
def keys_move(c, to_database):
    """Move every key from the database to the key store TRIGGER_KEYSTORE names (copied, read back and
    compared, and only then deleted from the database), or back with --to-database. Safe to rerun,
    after an interruption too; recorded in the audit log. On PostgreSQL, run it as the tables' owner.

    \b
        TRIGGER_KEYSTORE=sqlite:////srv/keys/trigger-keys.db trigger keys move
    """
    from trigger.cases import keys

    done = keys.move(c.app, to_database=to_database)
    moved = keystore_counts(done.moved)
    if to_database:
        click.echo(f"Moved {moved} from {done.where} back to the database; none is left in the key store.")
        if done.dropped:
            click.echo(
                f"Deleted from the key store {done.dropped} keys of no case (or of a purged one): "
                "left by changes that did not commit.",
                err=True,
            )
    else:
        click.echo(
            f"Moved {moved} to {done.where} (read back and compared); none is left in the database. "
            "Its backups taken before now still hold them until they expire."
        )
    for warning in done.warnings:
        click.echo(f"Warning: {warning}", err=True)


def keystore_counts(moved: dict) -> str:
    from trigger.store import keystore

    return keystore.counts(moved)


@cli.group("partnership")
def partnership_group():
    """The partnerships this database serves (a county's several, or the one `init` made)."""


@partnership_group.command("add")
@click.argument("code")
@click.option(
    "--name", required=True, help="The partnership's name, e.g. Charnwood Community Safety Partnership."
)
@click.option(
    "--policy", "policy_name", required=True, metavar="NAME|FILE", help="Its policy: a preset or a TOML file."
)
@click.option(
    "--reference-prefix",
    default=None,
    metavar="PREFIX",
    help="Its case references' prefix, e.g. CT-CHA for CT-CHA-2026-0001 (default CT-CODE).",
)
@click.option("--manager-email", default=None, help="Where its escalations and the morning digest go.")
@letterhead_options
@pass_ctx
def partnership_add(c, code, name, policy_name, reference_prefix, manager_email, letterhead):
    """Add a partnership, with its own policy, reference series, manager, letterhead and the agencies
    its policy lists. Each part of the letterhead not given is its policy's [letterhead]."""
    from trigger.access import partnership

    row = partnership.add_partnership(
        c.app,
        code,
        name=name,
        policy=policy_name,
        reference_prefix=reference_prefix,
        manager_email=manager_email,
        letterhead=partnership.LetterheadInput(**letterhead),
    )
    click.echo(
        f"Added partnership {row.code} ({row.name}), policy {row.policy}, "
        f"references {row.reference_prefix}-YYYY-NNNN."
    )


@partnership_group.command("update")
@click.argument("code")
@click.option("--name", default=None, metavar="TEXT", help="Its name, as letters give it.")
@letterhead_options
@click.option("--reason", default=None, metavar="TEXT", help="Why it changed (kept in the audit log).")
@pass_ctx
def partnership_update(c, code, name, letterhead, reason):
    """Change a partnership's name or letterhead (recorded). Letters issued before keep what they
    said; letters made from now on carry the change. An empty value clears a part, so the policy's
    [letterhead] shows again."""
    from trigger.access import partnership

    row, changed = partnership.update_partnership(
        c.app, code, reason=reason, name=name, letterhead=partnership.LetterheadInput(**letterhead)
    )
    if not changed:
        click.echo(f"Partnership {row.code} already reads so; nothing changed.")
    else:
        parts = ", ".join(part.replace("_", " ") for part in changed)
        click.echo(f"Updated partnership {row.code} ({row.name}): {parts}.")


@partnership_group.command("list")
@output_options(console.PARTNERSHIPS)
@pass_ctx
def partnership_list(c, as_json, as_csv, wide):
    """List the partnerships you see (an admin: all of them)."""
    from trigger.access import partnership

    rows = partnership.list_partnerships(c.app)
    console.emit_rows(rows, console.PARTNERSHIPS, as_json, as_csv, wide)


@cli.group("agency")
def agency_group():
    """The relevant bodies and partners."""


@agency_group.command("add")
@click.argument("code")
@click.option("--name", required=True)
@click.option("--kind", required=True, type=click.Choice(codes.AGENCY_KINDS))
@click.option("--email", default=None)
@partnership_option
@pass_ctx
def agency_add(c, code, name, kind, email):
    """Register an agency."""
    from trigger.access import partnership

    a = partnership.add_agency(c.app, code, name, kind, email)
    click.echo(f"Added agency {a.code} ({a.name}, {a.kind}).")


@agency_group.command("list")
@output_options(console.AGENCIES)
@partnership_option
@pass_ctx
def agency_list(c, as_json, as_csv, wide):
    """List the agencies."""
    from trigger.access import partnership

    rows = partnership.list_agencies(c.app)
    several = len({r["partnership"] for r in rows}) > 1  # an admin's view of a county
    columns = ["code", "name", "kind", "email"] + (["partnership"] if several else [])
    rows = [{k: r[k] for k in columns} for r in rows]
    console.emit_rows(rows, console.AGENCIES.only(columns), as_json, as_csv, wide)


@agency_group.command("update")
@click.argument("code")
@click.option("--name", default=None)
@click.option("--kind", default=None, type=click.Choice(codes.AGENCY_KINDS))
@click.option("--email", default=None, help='The agency\'s contact address ("" clears it).')
@click.option("--reason", default=None, help="Why (kept with the old and new value).")
@partnership_option
@pass_ctx
def agency_update(c, code, name, kind, email, reason):
    """Change an agency's name, kind or e-mail (audited; reminders go to the new address)."""
    from trigger.cases import corrections

    rows = corrections.update_agency(c.app, code, name=name, kind=kind, email=email, reason=reason)
    console.print_corrected(rows, f"agency {code}")


@cli.group("user")
def user_group():
    """The people registered and their roles. With nobody registered, whoever runs a command is trusted;
    once anybody is, every command checks the actor's role."""


@user_group.command("add")
@click.argument("login")
@click.option("--name", required=True, help="The person's name, as letters and the audit log show it.")
@click.option(
    "--role",
    required=True,
    type=click.Choice(codes.ROLES),
    help=(
        "admin: partnerships, people, reading all; manager: their partnership's work; reviewer: the "
        "cases they review; chair: appeals; clerk: applications, complaints, letters; viewer: reading."
    ),
)
@click.option(
    "--partnership",
    "partnership_code",
    metavar="CODE",
    default=None,
    help="Their partnership (not for an admin; default: the only one).",
)
@click.option("--email", default=None)
@pass_ctx
def user_add(c, login, name, role, partnership_code, email):
    """Register a person (on PostgreSQL, an existing database login) with a role. The first must be an
    admin. On PostgreSQL the login is given its role's group once `trigger db grant` has run."""
    from trigger.access import people

    added = people.add(c.app, login, name=name, role=role, partnership=partnership_code, email=email)
    where = f" in {added.partnership}" if added.partnership else ""
    click.echo(f"Registered {added.user.login} ({added.user.name}) as {added.user.role}{where}.")
    for note in added.notes:
        click.echo(note, err=True)


@user_group.command("list")
@output_options(console.USERS)
@pass_ctx
def user_list(c, as_json, as_csv, wide):
    """List the people registered (a manager: their partnership's)."""
    from trigger.access import people

    console.emit_rows(people.list_users(c.app), console.USERS, as_json, as_csv, wide)


@user_group.command("disable")
@click.argument("login")
@click.option("--reason", required=True, help="Why they may no longer act (kept in the audit log).")
@pass_ctx
def user_disable(c, login, reason):
    """Stop a person acting; what they did stays in the record. On PostgreSQL their login loses its group."""
    from trigger.access import people

    u = people.disable(c.app, login, reason=reason)
    click.echo(f"Disabled {u.login} ({u.name}) on {u.disabled_on}.")


@cli.group("policy")
def policy_group():
    """The local procedure presets."""


@policy_group.command("list")
@output_options(console.POLICIES)
def policy_list(as_json, as_csv, wide):
    """List the policy presets shipped with the engine."""
    from trigger.rules import policy

    rows = []
    for name in policy.preset_names():
        p = policy.load(name)
        rows.append({"name": name, "version": p.version, "nation": p.nation, "area": p.area})
    console.emit_rows(rows, console.POLICIES, as_json, as_csv, wide)


@policy_group.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def policy_show(name, as_json):
    """Show a policy's rules and timescales."""
    from trigger.rules import policy

    p = policy.load(name)
    if as_json:
        console.emit_json(console.policy_data(p))
    else:
        console.print_policy(p)


# -- cases ---------------------------------------------------------------------------------------------
# activate, show, list, check, decide, assign, outcome, appeal, appeal-decision, close, withdraw,
# case, consult


@cli.command()
@click.option("--applicant", required=True, help="Who applies (the victim, or a third party with consent).")
@click.option("--received", required=True, type=DATE, help="The day the application was received.")
@click.option("--channel", required=True, type=click.Choice(codes.CHANNELS))
@click.option(
    "--statement", required=True, help="Why the applicant is dissatisfied with the response so far."
)
@click.option("--victim", default=None, help="The victim, when a third party applies.")
@click.option(
    "--consent-date", type=DATE, default=None, help="When the victim consented to a third party applying."
)
@click.option("--consent-method", default=None, help="How consent was given (signed letter, phone...).")
@click.option("--victim-kind", default="individual", type=click.Choice(codes.VICTIM_KINDS))
@click.option("--victim-ref", default=None, help="The victim's id in the partners' case system (for scans).")
@click.option("--address", default=None, help="The applicant's address: where letters go.")
@click.option("--postcode", default=None, help="The applicant's postcode.")
@click.option("--email", default=None, help="The applicant's e-mail address.")
@click.option("--phone", default=None, help="The applicant's telephone.")
@click.option("--victim-address", default=None, help="The victim's address, when a third party applies.")
@click.option("--victim-postcode", default=None, help="The victim's postcode.")
@click.option("--victim-email", default=None, help="The victim's e-mail address.")
@click.option("--victim-phone", default=None, help="The victim's telephone.")
@click.option("--beat", default=None, help="Police beat or neighbourhood code.")
@click.option("--language", default="en", type=click.Choice(codes.LANGUAGES), help="cy for Welsh.")
@click.option("--preferred-contact", default=None, type=click.Choice(codes.PREFERRED_CONTACT))
@click.option("--accessibility", default=None, help="Accessibility needs.")
@click.option("--vulnerability", default=None, help="Vulnerability flags.")
@on_option
@click.option("--json", "as_json", is_flag=True, help="Print the new case's reference as JSON.")
@partnership_option
@pass_ctx
def activate(c, on, as_json, **given):
    """Log an application for an ASB case review. Passing it to the relevant bodies is recorded with
    `trigger share` (s.104(3)); until then it says who has not been told."""
    from trigger.cases import moves, sharing

    case = moves.activate(c.app, on=on, **given)
    if as_json:
        console.emit_json({"reference": case.reference, "state": case.state})
    else:
        click.echo(f"{case.reference} received {case.received.isoformat()}.")
        click.echo(console.sharing_line(case.reference, sharing.status(c.app, case.reference)))


@cli.command()
@click.argument("reference")
@click.option(
    "--agency",
    "agencies",
    multiple=True,
    metavar="CODE",
    help="A relevant body the application was passed to (repeat; default every body not yet told).",
)
@on_option
@pass_ctx
def share(c, reference, agencies, on):
    """Pass the application to the relevant bodies (s.104(3)) and record which, and the day. With an
    SMTP server set (TRIGGER_SMTP_URL), an agency with an e-mail address is e-mailed, and recorded once
    sent; the others are recorded as passed on another way.

    \b
        trigger share CT-2026-0007
        trigger share CT-2026-0007 --agency POL --agency CNC --on 2026-03-03
    """
    from trigger.cases import sharing

    shared = sharing.share(c.app, reference, agencies=agencies, on=on)
    click.echo(console.sharing_line(reference.upper(), shared))


@cli.command()
@click.argument("reference")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def show(c, reference, as_json):
    """Show a case: its state, threshold, deadlines and timeline."""
    from trigger.read import views

    data = views.show(c.app, reference)
    if as_json:
        console.emit_json(data)
    else:
        console.print_case(data)


@cli.command("list")
@click.option("--state", default=None, help="Only cases in this state.")
@click.option(
    "--overdue", is_flag=True, help="Only cases with a deadline overdue: due, not done, and still possible."
)
@click.option("--as-of", type=DATE, default=None, help="Judge overdue as of this day (default today).")
@output_options(console.CASES)
@partnership_option
@pass_ctx
def list_(c, state, overdue, as_of, as_json, as_csv, wide):
    """List cases."""
    from trigger.read import listing

    rows = listing.list_cases(c.app, state=state, overdue=overdue, as_of=as_of)
    console.emit_rows(rows, console.CASES, as_json, as_csv, wide)


@cli.command()
@click.argument("reference")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def check(c, reference, as_json):
    """Evaluate the threshold from the recorded complaints and explain it."""
    from trigger.cases import complaints

    case, explanation, corrected = complaints.check(c.app, reference)
    if as_json:
        console.emit_json({**explanation.as_dict(), "since_corrected": corrected})
    else:
        console.print_check(case, explanation, corrected)


@cli.command()
@click.argument("reference")
@click.option("--met", is_flag=True, help="The threshold is met.")
@click.option("--not-met", is_flag=True, help="The threshold is not met.")
@click.option(
    "--reject",
    "category",
    default=None,
    type=click.Choice(codes.REJECTION_CATEGORIES),
    metavar="CATEGORY",
    help="Reject the application (reported as threshold not met). " + one_of(codes.REJECTION_CATEGORIES),
)
@click.option("--reason", default=None, help="Why (required for a discretionary met or a rejection).")
@on_option
@exclusive("--met", "--not-met", "--reject")
@pass_ctx
def decide(c, reference, met, not_met, category, reason, on):
    """Record the threshold decision."""
    from trigger.cases import moves

    if not (met or not_met or category):
        raise click.UsageError("give one of --met, --not-met or --reject CATEGORY")
    case = moves.decide(c.app, reference, met=met, rejection_category=category, reason=reason, on=on)
    click.echo(f"{case.reference} is now {case.state}.")


@cli.command()
@click.argument("reference")
@click.option("--lead", default=None, help="The lead agency (code).")
@click.option("--reviewer", default=None, help="The named reviewer.")
@click.option("--reviewer-email", default=None)
@click.option(
    "--spoc", default=None, metavar="NAME", help="The case's named single point of contact (a person)."
)
@click.option("--spoc-email", default=None, help="The SPoC's e-mail address.")
@click.option(
    "--reason",
    default=None,
    help="Why the review is reassigned (required once it has started: a reassignment).",
)
@on_option
@pass_ctx
def assign(c, reference, lead, reviewer, reviewer_email, spoc, spoc_email, reason, on):
    """Assign the lead agency and the reviewer; the review starts. Once it has started, the same command
    with --reason reassigns it (the reviewer replaced stays recorded as involved).

    \b
        trigger assign CT-2026-0007 --lead nwlbc --reviewer "Sam Patel" \\
            --spoc "Jo Smith"
        trigger assign CT-2026-0007 --reviewer "Ali Khan" \\
            --reason "Sam Patel on leave until June"
    """
    from trigger.cases import moves

    case = moves.assign(
        c.app,
        reference,
        lead=lead or "",
        reviewer=reviewer or "",
        reviewer_email=reviewer_email,
        spoc=spoc,
        spoc_email=spoc_email,
        reason=reason,
        on=on,
    )
    click.echo(f"{case.reference} is {case.state}; lead agency assigned, reviewer {case.reviewer}.")


@cli.command()
@click.argument("reference")
@click.option(
    "--no-recommendations", default=None, metavar="REASON", help="Issue without recommendations, saying why."
)
@click.option("--victim-consulted", is_flag=True, help="The victim was consulted on the action plan.")
@on_option
@pass_ctx
def outcome(c, reference, no_recommendations, victim_consulted, on):
    """Issue the review's outcome; the appeal window opens."""
    from trigger.cases import moves

    case, warnings = moves.issue_outcome(
        c.app, reference, no_recommendations=no_recommendations, victim_consulted=victim_consulted, on=on
    )
    for w in warnings:
        click.echo(f"Warning: {w}", err=True)
    click.echo(f"{case.reference} is now {case.state}.")


@cli.command()
@click.argument("reference")
@click.option("--received", required=True, type=DATE)
@click.option(
    "--grounds", required=True, help="The ground of appeal the policy allows (LLR: process, facts)."
)
@click.option("--detail", default=None)
@click.option("--late-reason", default=None, help="Why a late appeal is accepted.")
@on_option
@pass_ctx
def appeal(c, reference, received, grounds, detail, late_reason, on):
    """Lodge an appeal against a threshold decision or an outcome."""
    from trigger.cases import moves

    moves.lodge_appeal(
        c.app, reference, received=received, grounds=grounds, detail=detail, late_reason=late_reason, on=on
    )
    click.echo(f"{reference.upper()} is now appealed.")


@cli.command("appeal-decision")
@click.argument("reference")
@click.option("--upheld", is_flag=True, help="The appeal is upheld.")
@click.option("--dismissed", is_flag=True, help="The appeal is dismissed; the decision stands.")
@click.option("--by", required=True, help="The independent decider.")
@click.option("--reason", required=True)
@on_option
@exclusive("--upheld", "--dismissed")
@pass_ctx
def appeal_decision(c, reference, upheld, dismissed, by, reason, on):
    """Record the independent decision on an appeal."""
    from trigger.cases import moves

    if not (upheld or dismissed):
        raise click.UsageError("give --upheld or --dismissed")
    case = moves.decide_appeal(c.app, reference, upheld=upheld, by=by, reason=reason, on=on)
    click.echo(f"{case.reference} is now {case.state}.")


@cli.command()
@click.argument("reference")
@click.option("--reason", default=None, help="When and why the case is closed (2025 guidance).")
@click.option("--force", is_flag=True, help="Close although the appeal window runs or actions are open.")
@on_option
@pass_ctx
def close(c, reference, reason, force, on):
    """Close a case."""
    from trigger.cases import moves

    case = moves.close(c.app, reference, reason=reason, force=force, on=on)
    click.echo(f"{case.reference} is now closed.")


@cli.command()
@click.argument("reference")
@click.option("--reason", required=True)
@on_option
@pass_ctx
def withdraw(c, reference, reason, on):
    """Record that the applicant withdrew."""
    from trigger.cases import moves

    case = moves.withdraw(c.app, reference, reason=reason, on=on)
    click.echo(f"{case.reference} is now withdrawn.")


@cli.group("case")
def case_group():
    """Corrections to a case's own facts."""


@case_group.command("update")
@click.argument("reference")
@click.option("--applicant", default=None)
@click.option("--victim", default=None)
@click.option("--victim-kind", default=None, type=click.Choice(codes.VICTIM_KINDS))
@click.option("--victim-ref", default=None, help="The victim's id in the partners' case system.")
@click.option("--consent-date", type=DATE, default=None)
@click.option("--consent-method", default=None)
@click.option("--received", type=DATE, default=None, help="The day the application was received.")
@click.option("--channel", default=None, type=click.Choice(codes.CHANNELS))
@click.option("--statement", default=None)
@click.option("--address", default=None, help="The applicant's address.")
@click.option("--postcode", default=None)
@click.option("--email", default=None)
@click.option("--phone", default=None)
@click.option("--victim-address", default=None, help="The victim's own address (a third party applied).")
@click.option("--victim-postcode", default=None)
@click.option("--victim-email", default=None)
@click.option("--victim-phone", default=None)
@click.option("--beat", default=None)
@click.option("--language", default=None, type=click.Choice(codes.LANGUAGES))
@click.option("--preferred-contact", default=None, type=click.Choice(codes.PREFERRED_CONTACT))
@click.option("--accessibility", default=None)
@click.option("--vulnerability", default=None)
@click.option("--spoc", default=None, metavar="NAME", help="The case's named single point of contact.")
@click.option("--spoc-email", default=None)
@click.option(
    "--involvement",
    default=None,
    type=click.Choice(codes.VICTIM_INVOLVEMENT),
    help="The victim's chosen involvement in the review, as they said when asked.",
)
@click.option(
    "--notices",
    default=None,
    type=click.Choice(codes.SWITCH),
    help="Tell the applicant (e-mail; text through GOV.UK Notify) when the stage changes or a letter is "
    "issued; off: as they asked.",
)
@click.option("--reason", required=True, help="Why the correction is made (kept with the old and new value).")
@on_option
@pass_ctx
def case_update(c, reference, reason, on, **given):
    """Correct a case's facts: each change keeps the old value, the new value, the reason, who and when.
    An empty value ("") clears an optional field. Letters already issued stay as they were sent.

    \b
        trigger case update CT-2026-0007 --reason "typo" \\
            --address "11 High Street, Loughborough"
        trigger case update CT-2026-0007 --involvement virtual \\
            --reason "asked by phone"
        trigger case update CT-2026-0007 --notices off \\
            --reason "asked by phone to stop the e-mails"
    """
    from trigger.cases import corrections

    rows = corrections.update_case(c.app, reference, reason=reason, on=on, **given)
    console.print_corrected(rows, reference.upper())


@cli.command()
@click.argument("reference")
@click.option("--response", default=None, help="What the victim said about the draft action plan.")
@click.option(
    "--share-plan",
    is_flag=True,
    help="Share the draft action plan with the applicant: their case page online shows it and takes "
    "their comments.",
)
@on_option
@exclusive("--response", "--share-plan")
@pass_ctx
def consult(c, reference, response, share_plan, on):
    """Record that the draft action plan was put to the victim before the outcome (2025 guidance), or
    share the draft with the applicant at their case page online (--share-plan)."""
    from trigger.cases import duties

    if share_plan:
        actions = duties.share_plan(c.app, reference, on=on)
        click.echo(
            f"The draft action plan of {reference.upper()} ({plural(actions, '{n} action', '{n} actions')}) "
            "is shared with the applicant at their case page."
        )
        return
    if response is None:
        raise click.UsageError("give --response TEXT (what the victim said), or --share-plan")
    row = duties.consult(c.app, reference, on=on, response=response)
    click.echo(
        f"Consultation on the draft action plan of {reference.upper()} recorded "
        f"({row.consulted_on.isoformat()})."
    )


@cli.command("victim-statement")
@click.argument("reference")
@click.option("--text", required=True, help="The victim's written statement, in their own words.")
@on_option
@pass_ctx
def victim_statement(c, reference, text, on):
    """Record the victim's written statement for the review meeting, given before it (2025 guidance)."""
    from trigger.cases import duties

    day = duties.victim_statement(c.app, reference, on=on, text=text)
    click.echo(f"The victim's written statement on {reference.upper()} recorded ({day.isoformat()}).")


# -- complaints ----------------------------------------------------------------------------------------
# incident, incidents, scan, signpost


@cli.group("incident")
def incident_group():
    """Complaints recorded against a case."""


@incident_group.command("add")
@click.argument("reference")
@click.option("--occurred", required=True, type=DATE, help="When the behaviour happened.")
@click.option("--reported", required=True, type=DATE, help="When it was reported to the agency.")
@click.option("--agency", required=True, help="The agency it was reported to (code).")
@click.option("--agency-ref", default=None, help="The agency's own reference (CAD number...).")
@click.option("--hate", default=None, type=click.Choice(codes.HATE_STRANDS))
@click.option("--same-as", type=ID, default=None, help="The id of the complaint this one repeats.")
@click.option("--complainant", default=None, help="Who complained, when not the victim (community route).")
@click.option("--category", default=None, help="The kind of report, e.g. diary_sheet (for local caveats).")
@click.option("--description", default=None)
@on_option
@click.option("--json", "as_json", is_flag=True, help="Print the new complaint's id as JSON.")
@pass_ctx
def incident_add(c, reference, on, as_json, **given):
    """Record a complaint of ASB made to an agency."""
    from trigger.cases import complaints

    row = complaints.add_incident(c.app, reference, on=on, **given)
    if as_json:
        console.emit_json({"id": row.id})
    else:
        click.echo(f"Complaint {row.id} recorded on {reference.upper()}.")


@incident_group.command("update")
@click.argument("incident_id", metavar="ID", type=ID)
@click.option("--occurred", type=DATE, default=None)
@click.option("--reported", type=DATE, default=None)
@click.option("--agency", default=None, help="The agency it was reported to (code).")
@click.option("--agency-ref", default=None)
@click.option(
    "--hate", default=None, type=click.Choice((*codes.HATE_STRANDS, "none")), help="A strand, or none."
)
@click.option("--same-as", default=None, help="The id of the complaint this one repeats, or none.")
@click.option("--complainant", default=None)
@click.option("--category", default=None)
@click.option("--description", default=None)
@click.option("--reason", required=True, help="Why the correction is made.")
@on_option
@pass_ctx
def incident_update(c, incident_id, reason, on, **given):
    """Correct a complaint; the threshold check reads the corrected values, and `check` and `show` say
    when a decided case's check has changed (nothing changes state by itself)."""
    from trigger.cases import corrections

    rows = corrections.update_incident(c.app, incident_id, reason=reason, on=on, **given)
    console.print_corrected(rows, f"complaint {incident_id}")


@incident_group.command("void")
@click.argument("incident_id", metavar="ID", type=ID)
@click.option("--reason", required=True, help="Why the complaint was recorded in error.")
@on_option
@pass_ctx
def incident_void(c, incident_id, reason, on):
    """Void a complaint recorded in error: it stays on the record, with the reason, and is left out of
    every count (`check` shows it as void)."""
    from trigger.cases import corrections

    corrections.void_incident(c.app, incident_id, reason=reason, on=on)
    click.echo(f"Complaint {incident_id} is void; it is kept on the record and counted nowhere.")


@cli.group("incidents")
def incidents_group():
    """Incident logs exported from the partners' case systems."""


@incidents_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--map",
    "column_map",
    default=None,
    metavar="ecins|sentinel|civica|MAP.toml",
    help="The partner's column names: a preset or your own TOML column map (`trigger incidents maps`).",
)
@click.option(
    "--date-format",
    default=None,
    metavar="FORMAT",
    help="How the file writes dates, e.g. '%d/%m/%Y' (ISO dates are always read).",
)
@click.option("--skip-bad", is_flag=True, help="Import the good rows even when some rows are bad.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@partnership_option
@pass_ctx
def incidents_import(c, file, column_map, date_format, skip_bad, as_json):
    """Import an incident log: CSV (UTF-8 or Windows-1252) or .xlsx, or - for standard input.

    Our columns: victim_id, occurred, reported, agency, agency_ref (required), hate, category,
    location, description. A partner's export goes through a column map:

    \b
        trigger incidents import ecins-export.csv --map ecins
        trigger incidents import sentinel.xlsx --map sentinel \\
            --date-format '%d/%m/%Y'

    Every bad row is listed with its line number and nothing is imported (unless --skip-bad).
    Importing the same file again adds nothing."""
    from trigger.intake import partner_logs

    data = sys.stdin.buffer.read() if file == "-" else None
    try:
        with console.progress_bar("Importing") as progress:
            result = partner_logs.import_file(
                c.app,
                file,
                data=data,
                column_map=column_map,
                date_format=date_format,
                skip_bad=skip_bad,
                progress=progress,
            )
    except partner_logs.ImportRefused as exc:
        for bad in exc.result.bad:
            click.echo(f"{exc.result.file}: {bad}", err=True)
        raise
    for bad in result.bad:
        click.echo(f"{result.file}: {bad} (skipped)", err=True)
    if as_json:
        console.emit_json(result.as_dict())
        return
    click.echo(
        f"Imported {result.imported} of {result.rows} rows from {result.file}"
        + (f"; {result.already_held} already held" if result.already_held else "")
        + (f"; {plural(len(result.bad), '{n} bad row', '{n} bad rows')} skipped" if result.bad else "")
        + "."
    )


@incidents_group.command("maps")
@click.argument("name", required=False)
def incidents_maps(name):
    """List the column maps shipped for partners' systems, or print one (NAME) to copy and adjust."""
    from trigger.intake import log_files

    if name:
        click.echo(log_files.preset_text(name), nl=False)
        return
    for preset in log_files.preset_names():
        cmap = log_files.load_map(preset)
        click.echo(f"{preset:10} {cmap.title}")


@cli.command("scan")
@click.option("--as-of", type=DATE, required=True, help="Scan as if applications were made on this day.")
@output_options(console.SCAN)
@partnership_option
@pass_ctx
def scan_(c, as_of, as_json, as_csv, wide):
    """List victims who made a second report within six months (to be told about the Case Review) and
    victims who meet the threshold but have no open case (to be signposted)."""
    from trigger.intake import scan

    found = scan.scan(c.app, as_of)
    if as_json:
        console.emit_json(found)
    elif as_csv:
        rows = found["second_report"] + found["meets_threshold"]
        console.emit_rows(rows, console.SCAN, as_csv=True)
    else:
        console.print_scan(found, wide)


@cli.command()
@click.argument("victim_ref", metavar="VICTIM_REF")
@click.option("--how", required=True, help="How they were told (letter, visit, phone...).")
@on_option
@partnership_option
@pass_ctx
def signpost(c, victim_ref, how, on):
    """Record that a victim who made a second report within six months was told about the Case Review
    (2025 guidance); VICTIM_REF is their id in the partners' case system, as `scan` lists it."""
    from trigger.cases import duties

    row = duties.signpost(c.app, victim_ref, on=on, how=how)
    click.echo(
        f"Victim {row.victim_ref} told about the ASB Case Review on {row.told_on.isoformat()}; "
        "`scan` marks them."
    )


# -- the review ----------------------------------------------------------------------------------------
# evidence, hours, meeting, finding, recommend, response, action


@cli.command()
@click.argument("reference")
@click.option("--agency", required=True)
@click.option("--requested", type=DATE, default=None)
@click.option("--due", type=DATE, default=None)
@click.option("--answered", type=DATE, default=None)
@click.option("--not-held", is_flag=True, help="The agency holds no data (a finding in its own right).")
@click.option("--note", default=None)
@on_option
@exclusive("--requested", "--answered")
@exclusive("--answered", "--due")
@exclusive("--requested", "--not-held")
@pass_ctx
def evidence(c, reference, agency, requested, due, answered, not_held, note, on):
    """Request evidence from an agency, or record its answer."""
    from trigger.cases import review

    review.evidence(
        c.app,
        reference,
        agency=agency,
        requested=requested,
        due=due,
        answered=answered,
        not_held=not_held,
        note=note,
        on=on,
    )
    click.echo(f"Evidence from {agency} {'requested' if requested else 'answered'} on {reference.upper()}.")


@cli.group("hours", cls=DefaultCommandGroup)
def hours_group():
    """Review hours: log them (`trigger hours REF --agency ... --person ... --hours N --date D`), or
    void an entry logged in error."""


@hours_group.command("log")
@click.argument("reference")
@click.option("--agency", required=True)
@click.option("--person", required=True)
@click.option("--hours", required=True, type=float)
@click.option("--date", "worked_on", required=True, type=DATE)
@click.option("--note", default=None)
@on_option
@pass_ctx
def hours_log(c, reference, agency, person, hours, worked_on, note, on):
    """Log review hours (the default: `trigger hours REF ...` does the same)."""
    from trigger.cases import review

    row = review.log_hours(
        c.app, reference, agency=agency, person=person, hours=hours, worked_on=worked_on, note=note, on=on
    )
    click.echo(f"Logged {hours:g} hours by {person} ({agency}) on {reference.upper()} as entry {row.id}.")


@hours_group.command("void")
@click.argument("reference")
@click.argument("entry", type=ID)
@click.option("--reason", required=True, help="Why the entry was logged in error.")
@on_option
@pass_ctx
def hours_void(c, reference, entry, reason, on):
    """Void an hours entry logged in error (ENTRY as `show` lists them): kept, left out of every total."""
    from trigger.cases import corrections

    corrections.void_hours(c.app, reference, entry, reason=reason, on=on)
    click.echo(f"Hours entry {entry} on {reference.upper()} is void; it is kept and counted nowhere.")


@cli.command()
@click.argument("reference")
@click.option("--at", "at", required=True, type=DATETIME)
@click.option("--held", is_flag=True, help="The meeting took place.")
@click.option("--victim-involvement", default=None, type=click.Choice(codes.VICTIM_INVOLVEMENT))
@click.option("--attendees", default=None)
@click.option("--place", default=None, help="Where the meeting is, for those who come in person.")
@click.option("--link", default=None, metavar="URL", help="The joining link, for those who join online.")
@click.option("--phone", default=None, help="The telephone number to join by.")
@click.option("--reply-by", type=DATE, default=None, help="The day to say by how the victim will take part.")
@on_option
@pass_ctx
def meeting(c, reference, at, held, victim_involvement, attendees, on, **where):
    """Schedule the review meeting, or record that it was held. The invitation letter states the
    place, the joining link or telephone, and the reply-by day; it needs at least one of the first three.

    \b
        trigger meeting CT-2026-0007 --at 2026-05-12T10:00 \\
            --place "Council Offices, Southfield Road, Loughborough" \\
            --link https://meet.example.org/ct7 --reply-by 2026-05-05
    """
    from trigger.cases import review

    row = review.meeting(
        c.app,
        reference,
        at=at,
        held=held,
        victim_involvement=victim_involvement,
        attendees=attendees,
        on=on,
        **where,
    )
    click.echo(
        f"Meeting {'held' if held else 'scheduled'} {row.at.isoformat(timespec='minutes')} "
        f"on {reference.upper()}."
    )


@cli.command()
@click.argument("reference")
@click.option(
    "--category",
    required=True,
    type=click.Choice(codes.FINDING_CATEGORIES),
    metavar="CATEGORY",
    help="What the review found. " + one_of(codes.FINDING_CATEGORIES),
)
@click.option("--text", default=None)
@on_option
@pass_ctx
def finding(c, reference, category, text, on):
    """Record a finding of the review."""
    from trigger.cases import review

    row = review.add_finding(c.app, reference, category=category, text=text, on=on)
    click.echo(f"Finding {row.id} ({category}) recorded on {reference.upper()}.")


@cli.command()
@click.argument("reference")
@click.option("--to", "to", required=True, help="The body the recommendation is addressed to (code).")
@click.option("--text", required=True)
@on_option
@pass_ctx
def recommend(c, reference, to, text, on):
    """Record a recommendation to a body, which must have regard to it."""
    from trigger.cases import review

    row = review.recommend(c.app, reference, to=to, text=text, on=on)
    click.echo(f"Recommendation {row.id} to {to} recorded on {reference.upper()}.")


@cli.command()
@click.argument("reference")
@click.argument("number", type=ID)
@click.option("--accepted", is_flag=True, help="The body accepted it.")
@click.option("--declined", is_flag=True, help="The body declined it (give --reason).")
@click.option("--reason", default=None, help="The body's reason (required when declined).")
@on_option
@exclusive("--accepted", "--declined")
@pass_ctx
def response(c, reference, number, accepted, declined, reason, on):
    """Record a body's response to recommendation NUMBER: it "had regard" to it (s.104).

    \b
        trigger response CT-2026-0007 3 --accepted
        trigger response CT-2026-0007 4 --declined \\
            --reason "Covered by the new ASB policy"
    """
    from trigger.cases import review

    if not (accepted or declined):
        raise click.UsageError("give --accepted or --declined --reason TEXT")
    row = review.respond_to_recommendation(c.app, reference, number, accepted=accepted, reason=reason, on=on)
    click.echo(f"Recommendation {row.id} on {reference.upper()}: {row.response}.")


@cli.group("action")
def action_group():
    """The action plan."""


@action_group.command("add")
@click.argument("reference")
@click.option("--action", "text", required=True, help="The key action.")
@click.option("--owner", required=True, help="The lead agency for the action (code).")
@click.option("--due", required=True, type=DATE)
@click.option("--resources", default=None)
@click.option("--outcome-measure", default=None)
@click.option("--jag", is_flag=True, help="Handed to the JAG.")
@on_option
@click.option("--json", "as_json", is_flag=True, help="Print the new action's id as JSON.")
@pass_ctx
def action_add(c, reference, text, owner, due, resources, outcome_measure, jag, on, as_json):
    """Add an action to the case's action plan."""
    from trigger.cases import review

    row = review.add_action(
        c.app,
        reference,
        action=text,
        owner=owner,
        due=due,
        resources=resources,
        outcome_measure=outcome_measure,
        jag=jag,
        on=on,
    )
    if as_json:
        console.emit_json({"id": row.number, "number": row.number})
    else:
        click.echo(f"Action {row.number} added to {reference.upper()}, due {due.isoformat()}.")


@action_group.command("update")
@click.argument("reference")
@click.argument("number", type=ID)
@click.option("--status", type=click.Choice(codes.ACTION_STATUSES), default=None)
@click.option("--rag", type=click.Choice(codes.RAG), default=None)
@click.option("--note", default=None, help="A progress note.")
@click.option("--jag", is_flag=True, help="Hand the action to the JAG.")
@click.option("--no-jag", is_flag=True, help="Take the action back from the JAG.")
@on_option
@exclusive("--jag", "--no-jag")
@pass_ctx
def action_update(c, reference, number, status, rag, note, jag, no_jag, on):
    """Update an action's status, RAG or progress."""
    from trigger.cases import review

    jag = True if jag else (False if no_jag else None)
    row = review.update_action(c.app, reference, number, status=status, rag=rag, note=note, jag=jag, on=on)
    click.echo(
        f"Action {row.number} on {reference.upper()}: {row.status}"
        + (f", {row.rag}" if row.rag else "")
        + "."
    )


@action_group.command("list")
@click.argument("reference", required=False)
@click.option("--overdue", is_flag=True, help="Only open actions past their due date.")
@click.option("--owner", default=None, help="Only actions owned by this agency (code).")
@click.option("--as-of", type=DATE, default=None, help="Judge overdue as of this day (default today).")
@output_options(console.ACTIONS)
@partnership_option
@pass_ctx
def action_list(c, reference, overdue, owner, as_of, as_json, as_csv, wide):
    """The action-plan tracker: the actions of one case, or of every case, with owner, due date and RAG."""
    from trigger.reports import actions

    rows = actions.action_tracker(c.app, reference=reference, owner=owner, overdue=overdue, as_of=as_of)
    console.emit_rows(rows, console.ACTIONS, as_json, as_csv, wide)


# -- letters -------------------------------------------------------------------------------------------
# letter, letters, bundle, export


@cli.command(epilog=f"KIND is one of: {', '.join(codes.LETTER_KINDS)}.")
@click.argument("reference")
@click.argument("kind", type=click.Choice(codes.LETTER_KINDS), required=False, metavar="[KIND]")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(codes.LETTER_FORMATS),
    default=None,
    help="html (the default), txt, pdf or docx (Word, to edit before sending).",
)
@click.option(
    "-o",
    "--output",
    default=None,
    metavar="FILE",
    help="Write the letter to this file (required for pdf and docx; html and txt print otherwise).",
)
@force_option
@click.option("--preview", is_flag=True, help="Render without recording the letter in the register.")
@click.option(
    "--to",
    "to",
    default=None,
    help="The recipient (default the applicant, at their address); victim: the victim's copy, at the "
    "victim's address, when a third party applied with consent; for an information_request, the agency code.",
)
@click.option(
    "--templates",
    type=click.Path(file_okay=False),
    default=None,
    help="The partnership's own template folder (rendered in the sandbox; it fetches no file or URL).",
)
@click.option("--until", type=DATE, default=None, help="A delay letter: the new date for the delayed step.")
@click.option("--reason", default=None, help="A delay letter: why the step is late.")
@click.option(
    "--record",
    "record_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Register the edited version actually sent (.pdf, .docx, .html or .txt) instead of rendering.",
)
@click.option(
    "--send",
    is_flag=True,
    help="E-mail the letter to the applicant (PDF attached) over TRIGGER_SMTP_URL or to the outbox.",
)
@click.option(
    "--by",
    type=click.Choice(["email", "sms", "post"]),
    default="email",
    show_default=True,
    help="With --send: e-mail (SMTP, the outbox or GOV.UK Notify); sms or post through GOV.UK Notify only.",
)
@click.option(
    "--issued",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Give back register entry N (as `show` numbers them) exactly as it was sent.",
)
@on_option
@exclusive("--issued", "KIND")
@exclusive("--issued", "--preview")
@exclusive("--issued", "--format")
@exclusive("--issued", "--to")
@exclusive("--issued", "--on")
@exclusive("--issued", "--templates")
@exclusive("--issued", "--record")
@exclusive("--issued", "--send")
@exclusive("--issued", "--until")
@exclusive("--preview", "--record")
@exclusive("--preview", "--send")
@exclusive("--record", "--format")
@exclusive("--record", "--templates")
@pass_ctx
def letter(c, reference, kind, fmt, output, force, issued, record_file, send, by, **given):
    """Issue a letter about a case, or preview, record, e-mail or give back one.

    The letter is recorded in the register as issued; --preview records nothing; --record FILE
    registers the edited version actually sent; --send e-mails it to the applicant with the PDF
    attached and records the delivery; --issued N gives back an issued one exactly as sent.

    The letter is recorded only once it has been written: to -o FILE (never over an existing file
    without --force), or to standard output.

    \b
        trigger letter CT-2026-0007 threshold_met --format pdf -o met.pdf
        trigger letter CT-2026-0007 outcome --format docx -o outcome.docx \\
            --preview
        trigger letter CT-2026-0007 outcome --record outcome-as-sent.pdf
        trigger letter CT-2026-0007 outcome --send
        trigger letter CT-2026-0007 --issued 2 -o sent.pdf
    """
    if issued is not None:
        _letter_copy(c, reference, issued, output, force)
    elif kind is None:
        raise click.UsageError("say which letter: give KIND (e.g. acknowledgement), or --issued N")
    elif send:
        if fmt not in (None, "pdf"):
            raise click.UsageError("--send attaches the letter as a PDF; leave out --format or use pdf")
        _letter_send(c, reference, kind, output, force, record_file, by, **given)
    elif by != "email":
        raise click.UsageError("--by is for --send")
    elif record_file:
        _letter_record(c, reference, kind, record_file, on=given["on"], to=given["to"])
    else:
        _letter_issue(c, reference, kind, fmt or "html", output, force, **given)


def _letter_copy(c: Ctx, reference: str, issued: int, output: str | None, force: bool) -> None:
    """`letter REF --issued N`: a register entry given back exactly as sent."""
    from trigger.correspondence import register
    from trigger.store import outputs

    copy = register.issued_copy(c.app, reference, issued)
    if copy.format in ("pdf", "zip", "docx") and not output:
        raise click.UsageError(f"entry {issued} is a {copy.format}: give -o FILE.{copy.format}")
    outputs.write(output_target(c, output, force, fmt=copy.format), copy.content)
    click.echo(
        f"Entry {issued} of {reference.upper()}: {copy.kind} issued {copy.issued_on} as {copy.format}, "
        f"exactly as sent (sha256 {copy.content_hash[:12]} checked).",
        err=True,
    )


def _letter_send(
    c: Ctx,
    reference: str,
    kind: str,
    output: str | None,
    force: bool,
    record_file: str | None,
    by: str,
    **given: Any,
) -> None:
    """`letter REF KIND --send`: e-mailed with the PDF attached, and recorded."""
    from trigger.correspondence import dispatch
    from trigger.store import outputs

    # the file is checked before anything is sent or recorded
    target = output_target(c, output, force, stream=False, fmt="pdf") if output else None
    sent = dispatch.send(
        c.app,
        reference,
        kind,
        on=given["on"],
        recipient=given["to"],
        templates=given["templates"],
        until=given["until"],
        reason=given["reason"],
        record_path=record_file,
        by=by,
    )
    if target is not None:
        outputs.write(target, sent.issued.content)
    id_name = "Message-ID" if sent.message_id.startswith("<") else "Notify id"
    click.echo(
        f"Sent the {kind} letter on {reference.upper()} to {sent.to} ({sent.via}"
        + (f", file {sent.file}" if sent.file else "")
        + f", {id_name} {sent.message_id}); recorded as register entry {sent.issued.number} "
        f"({sent.issued.issued_on}, pdf, sha256 {sent.issued.content_hash[:12]})."
    )


def _letter_record(
    c: Ctx, reference: str, kind: str, record_file: str, on: date | None, to: str | None
) -> None:
    """`letter REF KIND --record FILE`: the edited version actually sent, registered."""
    from trigger.correspondence import dispatch

    recorded = dispatch.record(c.app, reference, kind, record_file, on=on, recipient=to)
    click.echo(
        f"Recorded the {kind} letter sent on {reference.upper()} as register entry {recorded.number} "
        f"({recorded.issued_on}, {recorded.format} from {record_file}, "
        f"sha256 {recorded.content_hash[:12]})."
    )


def _letter_issue(
    c: Ctx, reference: str, kind: str, fmt: str, output: str | None, force: bool, **given: Any
) -> None:
    """`letter REF KIND`: rendered, written, and recorded (unless --preview)."""
    from trigger.correspondence import register

    if fmt in ("pdf", "docx") and not output:
        raise click.UsageError(f"a {fmt.upper()} letter needs a file to go to: give -o FILE.{fmt}")
    issued = register.letter(
        c.app,
        reference,
        kind,
        fmt=fmt,
        on=given["on"],
        recipient=given["to"],
        preview=given["preview"],
        templates=given["templates"],
        until=given["until"],
        reason=given["reason"],
        output=output_target(c, output, force, fmt=fmt),
    )
    if issued.letter_id is not None:
        click.echo(
            f"Recorded {kind} letter on {reference.upper()} as register entry {issued.number} "
            f"({issued.issued_on}, {fmt}, sha256 {issued.content_hash[:12]}).",
            err=True,
        )
    elif output:
        click.echo(f"Preview of the {kind} letter written to {output}; nothing recorded.", err=True)


@cli.group("letters")
def letters_group():
    """The letter templates."""


@letters_group.command("check")
@click.argument("folder", type=click.Path(file_okay=False))
def letters_check(folder):
    """Check a partnership's template folder: unknown or missing fields, templates that do not parse,
    and references to anything outside the letter (a file or web address in href, src, CSS url() or
    @import), which letters never fetch; each is named with its file and line."""
    from trigger.correspondence import register

    problems = register.check_templates(folder)
    for line in problems:
        click.echo(line)
    if problems:
        raise click.ClickException(f"{plural(len(problems), '{n} problem', '{n} problems')} in {folder}")
    click.echo(f"{folder}: every template is fine.")


@letters_group.command("fields")
def letters_fields():
    """List the fields a letter template may use."""
    from letters import check

    for name in check.field_list():
        click.echo(name)


@cli.command()
@click.argument("reference")
@click.option("-o", "--output", required=True, metavar="FILE", help="The zip file to write.")
@force_option
@click.option("--to", "to", default=None, help="Who receives it (default the policy's appeal body).")
@on_option
@pass_ctx
def bundle(c, reference, output, force, to, on):
    """Make the appeal bundle (report form, chronology, minutes, the letters as issued, outcome and
    action plan, the appellant's own words).

    It is recorded only once the file has been written (never over an existing file without --force).
    """
    from trigger.correspondence import appeal_bundle

    issued = appeal_bundle.make(
        c.app, reference, on=on, recipient=to, output=output_target(c, output, force, stream=False, fmt="zip")
    )
    click.echo(
        f"Appeal bundle for {reference.upper()} written to {output}; recorded as register entry "
        f"{issued.number} (sha256 {issued.content_hash[:12]})."
    )


@cli.command("export")
@click.argument("reference")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON: the case, its chronology and its documents as issued.",
)
@click.option(
    "-o",
    "--output",
    default=None,
    metavar="FILE",
    help="Write a zip: case.json, chronology.txt and every document exactly as issued.",
)
@force_option
@exclusive("--json", "--output")
@pass_ctx
def export_(c, reference, as_json, output, force):
    """The full chronology of a case and the documents it issued, for the Ombudsman or an appeal."""
    from trigger.correspondence import export
    from trigger.store import outputs

    target = output_target(c, output, force, stream=False, fmt="zip") if output else None
    data = export.export_case(c.app, reference)
    if target is not None:
        outputs.write(target, export.export_zip(data))
        click.echo(
            f"Exported {data['case']['reference']} to {output} ({len(data['documents'])} documents).",
            err=True,
        )
    elif as_json:
        console.emit_json(data)
    else:
        console.print_chronology(data)


# -- deadlines -----------------------------------------------------------------------------------------
# calendar, reminders


@cli.group("calendar")
def calendar_group():
    """Working days and bank holidays, with the arithmetic the deadlines use."""


@calendar_group.command("due")
@click.argument("start", type=DATE)
@click.argument("span")
@click.option(
    "--nation", type=NATION, default=None, help="Whose bank holidays count (default: the policy's nation)."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (keys `due`, `policy`).")
@partnership_option
@pass_ctx
def calendar_due(c, start, span, nation, as_json):
    """When SPAN (such as 20wd or 14d; at least one day) after START ends.

    Counted as the cases' deadlines are: the bank holidays of the policy's nation, its closure days and
    its roll-forward rule (the policy chosen at init, or --policy).
    """
    from trigger.deadlines import working_days
    from trigger.rules import calendar, dates

    data = working_days.due(c.app, start, span, nation)
    if as_json:
        console.emit_json(data)
    else:
        due = date.fromisoformat(data["due"])
        click.echo(
            f"{calendar.parse_span(data['span']).describe()} after {start.isoformat()} "
            f"({data['nation']}, policy {data['policy']}): {due.isoformat()} ({dates.weekday(due)})"
        )


@calendar_group.command("holidays")
@click.argument("year", type=YEAR)
@click.option(
    "--nation", type=NATION, default=None, help="Whose bank holidays to list (default: the policy's nation)."
)
@output_options(console.HOLIDAYS)
@partnership_option
@pass_ctx
def calendar_holidays(c, year, nation, as_json, as_csv, wide):
    """The days not counted as working days in YEAR: the bank holidays and the policy's closure days."""
    from trigger.deadlines import working_days

    console.emit_rows(working_days.holidays(c.app, year, nation), console.HOLIDAYS, as_json, as_csv, wide)


@calendar_group.command("ics")
@click.option("--reviewer", default=None, help="Only the cases this reviewer is assigned to.")
@click.option(
    "-o",
    "--output",
    default=None,
    metavar="FILE",
    help="Write the calendar to this file (default: print it).",
)
@force_option
@partnership_option
@pass_ctx
def calendar_ics(c, reviewer, output, force):
    """Open deadlines (all-day) and review meetings (Europe/London) as an iCalendar file for Outlook.

    \b
        trigger calendar ics -o asb-deadlines.ics
        trigger calendar ics --reviewer "Sam Reviewer" -o sam.ics

    Events carry the case reference and what falls due, never the applicant's or victim's name.
    """
    from trigger.deadlines import calendar_feed
    from trigger.store import outputs

    target = output_target(c, output, force, stream=False) if output else None
    content = calendar_feed.ics(c.app, reviewer)
    if target is not None:
        outputs.write(target, content)
        count = content.count(b"BEGIN:VEVENT")
        click.echo(f"Wrote {plural(count, '{n} event', '{n} events')} to {output}.", err=True)
    else:
        click.echo(content, nl=False)


@cli.group("reminders")
def reminders_group():
    """Deadline reminders: send those due, run the scheduler, see and retry failed ones."""


@reminders_group.command("run")
@click.option("--now", "now_text", default=None, help="Act as if it were this ISO date-time (Europe/London).")
@click.option("--dry-run", is_flag=True, help="List what is due; send and change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def reminders_run(c, now_text, dry_run, as_json):
    """Send, once each, every reminder due.

    Mail goes by SMTP when TRIGGER_SMTP_URL is set (TRIGGER_MAIL_FROM is then required), else to the
    outbox folder (TRIGGER_OUTBOX). A reminder that cannot be sent is kept and retried, backing off,
    for at least a day; one refused for good, or still failing after a day, is reported to the manager.
    """
    from trigger.deadlines import reminders

    result = reminders.run(c.app, reminders.parse_now(now_text), dry_run=dry_run)
    if as_json:
        console.emit_json(result.as_dict())
    else:
        console.print_reminder_run(result, dry_run)


@reminders_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (keys `counts`, `undelivered`, `notices`).")
@pass_ctx
def reminders_status(c, as_json):
    """Reminders by state, and every one not delivered: failed, retrying or being sent."""
    from trigger.read import undelivered

    data = undelivered.status(c.app)
    if as_json:
        console.emit_json(data)
    else:
        console.print_reminder_status(data)


@reminders_group.command("retry")
@click.argument("reference", required=False)
@pass_ctx
def reminders_retry(c, reference):
    """Put failed reminders back to be sent by the next run (all, or one case's)."""
    from trigger.deadlines import undelivered

    count = undelivered.retry(c.app, reference)
    where = f" on {reference.upper()}" if reference else ""
    if count:
        click.echo(
            f"Put back {plural(count, '{n} reminder', '{n} reminders')}{where}; "
            "the next `trigger reminders run` sends them."
        )
    else:
        click.echo(f"No failed reminders{where}.")


@reminders_group.command("serve")
@click.option(
    "--every", default=300, show_default=True, type=click.IntRange(5, 86400), help="Seconds between sweeps."
)
@click.option("--digest-at", default="07:30", show_default=True, help="Morning digest time on working days.")
@pass_ctx
def reminders_serve(c, every, digest_at):
    """Run the sweep every few minutes and a morning digest on working days, until SIGTERM or SIGINT.

    On the first signal it finishes the message in hand, releases the reminders it claimed and exits
    within ten seconds; a second signal exits at once. Its log goes to stderr (-v, -q).
    """
    from trigger.deadlines import service

    log = logging.getLogger("trigger.deadlines.reminders").info
    code = service.serve(c.app, every=every, digest_at=digest_at, log=log)
    if code:
        raise SystemExit(code)


# -- the applicant's door ------------------------------------------------------------------------------


@cli.group("web")
def web_group():
    """The applicant's door: apply online and follow a case, in English or Welsh (the web extra)."""


@web_group.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="The address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="The port.")
@pass_ctx
def web_serve(c, host, port):
    """Serve the online application (/apply, /apply/CODE in a county) until SIGTERM or SIGINT.

    Put it behind a reverse proxy that terminates TLS (docs/operations.md); the first signal lets the
    requests in hand finish. Its log (stderr) never holds an applicant's details.
    """
    from trigger.web import serve

    serve.run(c.app.url, host=host, port=port, policy=c.policy)


@web_group.command("link")
@click.argument("reference")
@click.option("--revoke", is_flag=True, help="Stop every link to the case working (needs --reason).")
@click.option("--reissue", is_flag=True, help="Make a new link and stop the earlier ones (needs --reason).")
@click.option("--reason", help="Why the link is revoked or reissued (kept in the case's record).")
@on_option
@pass_ctx
def web_link(c, reference, revoke, reissue, reason, on):
    """Print the applicant's private link to their case page at the online door.

    The link is shown once: only a hash of it is kept, so a case that has one already needs --reissue
    for a new one. It stops working when revoked, or once the case has been closed or withdrawn for
    the policy's [web] link_expires_after. Its address starts with the policy's [web] base_url.
    """
    from trigger.cases import links

    if revoke and reissue:
        raise click.UsageError("give --revoke or --reissue, not both")
    if revoke:
        count = links.revoke(c.app, reference, reason=reason, on=on)
        click.echo(f"{reference.strip().upper()}: {plural(count, '{n} link', '{n} links')} revoked.")
        return
    issued = links.issue(c.app, reference, reissue=reissue, reason=reason, on=on)
    click.echo(issued.link)
    if not issued.public:
        click.echo(
            "The door has no public address yet: put it in front of the link, or set [web] base_url "
            "in the partnership's policy so that letters carry the whole link.",
            err=True,
        )


# -- reports and records -------------------------------------------------------------------------------
# report, audit, purge


@cli.group("report")
def report_group():
    """Published figures: the annual return, review hours, deadline performance."""


def _period_options(f):
    f = click.option("--to", "end", type=DATE, default=None, help="Last day of the period.")(f)
    f = click.option("--from", "start", type=DATE, default=None, help="First day of the period.")(f)
    return f


@report_group.command("annual")
@click.option(
    "--year", type=YEAR, default=None, help="Performance year: 2025 means 1 Apr 2025 to 31 Mar 2026."
)
@_period_options
@click.option(
    "--publish", "suppress", is_flag=True, help="Suppress small numbers (1-4 shown as <5) for publication."
)
@click.option(
    "--html",
    "html_file",
    default=None,
    metavar="FILE",
    help="Write a publishable HTML page with a chart by quarter.",
)
@click.option(
    "--templates",
    type=click.Path(file_okay=False),
    default=None,
    help="The partnership's template folder: its annual.html replaces or extends ours.",
)
@click.option(
    "--xlsx",
    "xlsx_file",
    default=None,
    metavar="FILE",
    help="Write the tidy figures as an Excel workbook.",
)
@click.option(
    "--ods",
    "ods_file",
    default=None,
    metavar="FILE",
    help="Write the tidy figures as an OpenDocument spreadsheet.",
)
@click.option(
    "-o",
    "--output",
    default=None,
    metavar="FILE",
    help="With --csv: write the CSV to this file (with a byte-order mark, so Excel reads £ and ŵ).",
)
@force_option
@output_options(console.ANNUAL)
@partnership_option
@pass_ctx
def report_annual(
    c,
    year,
    start,
    end,
    suppress,
    html_file,
    templates,
    xlsx_file,
    ods_file,
    output,
    force,
    as_json,
    as_csv,
    wide,
):
    """The annual return: the four statutory counts (s.104 publication duty) and the extras, each counted by
    the date of its own event. Fails (exit 1) when the records break a consistency check.

    \b
        trigger report annual --year 2025
        trigger report annual --year 2025 --publish \\
            --html asb-case-reviews-2025-26.html
        trigger report annual --year 2025 --publish --csv -o asb-2025-26.csv \\
            --xlsx asb-2025-26.xlsx

    --csv is tidy: one row per partnership, period, measure and value, with a suppressed flag.
    """
    from trigger.reports import annual, common, publish
    from trigger.store import anchors

    if output and not as_csv:
        raise click.UsageError("-o/--output is for --csv; the other formats name their file themselves")
    files = {"html": html_file, "xlsx": xlsx_file, "ods": ods_file, "csv": output}
    # every file checked before any work: not the database, not over a file without --force
    targets = {kind: output_target(c, f, force, stream=False) for kind, f in files.items() if f}
    period = common.period(year, start, end)
    data = annual.annual(c.app, period, publish=suppress)
    failed = annual.failed_checks(data)
    if targets and failed:
        raise click.ClickException(
            "not writing figures to publish: " + "; ".join(f"{f['name']} ({f['detail']})" for f in failed)
        )
    tidy = bool(targets or as_csv or (as_json and suppress))
    who = publish.publisher(c.app) if tidy else publish.Publisher("")
    rows = publish.tidy_rows(data, who.name, who.name_cy) if tidy else []
    if targets:
        _write_published(targets, data, rows, who, templates)
        written = ", ".join(f for f in files.values() if f)
        suppressed = ", small numbers suppressed" if suppress else ""
        click.echo(f"Wrote {written} ({period.label}{suppressed}).", err=True)
    if as_json:
        console.emit_json(publish.published_json(data, rows) if suppress else data)
    elif as_csv and not output:
        click.echo(("\ufeff" if console.stdout_is_a_file() else "") + publish.csv_text(rows), nl=False)
    elif not targets:
        console.print_annual(annual.annual_rows(data), period, suppress, wide)
    if suppress and not failed:  # figures published: the chain's head kept (docs/operations.md#audit-anchors)
        _kept, why_not = anchors.keep_quietly(c.app, "report annual --publish")
        if why_not:
            click.echo(f"Warning: {why_not}", err=True)
    if failed:
        for f in failed:
            click.echo(f"Inconsistent: {f['name']}: {f['detail']}", err=True)
        raise click.ClickException(
            f"{plural(len(failed), '{n} consistency check', '{n} consistency checks')} failed; "
            "correct the records before publishing"
        )


def _write_published(targets: dict, data: dict, rows: list, who, templates: str | None) -> None:
    """The annual return's files to publish: the page, the workbooks, the tidy CSV (Excel's BOM)."""
    from trigger.reports import publish
    from trigger.store import outputs

    content = {
        "html": lambda: publish.render_page(data, who.name, templates, who.name_cy).encode("utf-8"),
        "xlsx": lambda: publish.xlsx_bytes(rows, data, who.name),
        "ods": lambda: publish.ods_bytes(rows, data, who.name),
        "csv": lambda: publish.csv_text(rows).encode("utf-8-sig"),
    }
    for kind, target in targets.items():
        outputs.write(target, content[kind]())


@report_group.command("hours")
@_period_options
@output_options(console.HOURS)
@partnership_option
@pass_ctx
def report_hours(c, start, end, as_json, as_csv, wide):
    """Review hours by case, agency and person, with the cost at the policy's hourly rate."""
    from trigger.reports import hours

    data = hours.hours(c.app, start, end)
    if as_json:
        console.emit_json(data)
    else:
        console.print_hours_report(data, as_csv, wide)


@report_group.command("deadlines")
@click.option("--as-of", type=DATE, default=None, help="Judge overdue as of this day (default today).")
@output_options(console.DEADLINE_PERFORMANCE)
@partnership_option
@pass_ctx
def report_deadlines(c, as_of, as_json, as_csv, wide):
    """Deadline performance: on-time share and median days per stage. Met late and missed deadlines
    are not on time; the applicant's appeal window is counted as passed or late_accepted, with no share."""
    from trigger.reports import deadlines

    rows = deadlines.deadline_performance(c.app, as_of)
    console.emit_rows(rows, console.DEADLINE_PERFORMANCE, as_json, as_csv, wide, title="Deadline performance")


@cli.group("audit")
def audit_group():
    """The append-only, hash-chained audit log."""


@audit_group.command("verify")
@click.option(
    "--anchor",
    "files",
    multiple=True,
    metavar="FILE",
    help="An anchor kept outside the database (`audit anchor`, or a published return's JSON): fail "
    "unless the chain still runs through it. Repeat for several.",
)
@pass_ctx
def audit_verify(c, files):
    """Check every event's hash and link, and replay each case's events to check its rows against
    them (state, decision, complaints, agencies, hours, actions, deadlines, letters, the case's key);
    print each difference in one line and exit 1 if there is any. The chain must still run through the
    newest anchor kept in the anchor folder (TRIGGER_ANCHOR_DIR, the policy's anchor_folder, or the data
    directory's), and through each --anchor given, so a history rewritten in the database (every hash
    computed again) or cut back is found, not only an edited row.

    \b
        trigger audit verify
        trigger audit verify --anchor audit-anchor-2026-03.json \\
            --anchor audit-anchor-2026-04.json
    """
    from trigger.store import anchors, audit

    result, through = anchors.verify(c.app, [audit.read_anchor(path) for path in files])
    console.print_verification(result, through)


@audit_group.command("anchor")
@click.option(
    "-o",
    "--output",
    default=None,
    metavar="FILE",
    help="Write the anchor to this file (private to you); without it (and without --mail), print it.",
)
@click.option(
    "--mail",
    "send",
    is_flag=True,
    help="E-mail the anchor to the manager (TRIGGER_SMTP_URL, or the outbox folder), to keep it outside "
    "this machine.",
)
@force_option
@pass_ctx
def audit_anchor(c, output, send, force):
    """Write the head of the audit chain (its sequence, hash and the time, UTC) as JSON, to keep outside
    the database: `audit verify --anchor FILE` later fails if the history up to it was rewritten. A copy
    is kept in the anchor folder too, which `audit verify` checks by itself. Keep one a month somewhere
    the database's users cannot write, or send it to the manager with --mail.

    \b
        trigger audit anchor -o audit-anchor-2026-03.json
        trigger audit anchor --mail
    """
    from trigger.store import anchors, audit, outputs

    target = output_target(c, output, force) if output or not send else None
    anchor = audit.take_anchor(c.app)
    kept = anchors.keep(c.app, "audit anchor", anchor)
    if target is not None:
        outputs.write(target, audit.anchor_json(anchor))
    if output:
        click.echo(
            f"Anchored the audit chain at event {anchor['seq']} ({anchor['at']}) in {output}.", err=True
        )
    if send:
        to, via = anchors.send(c.app, kept.anchor)
        click.echo(f"Sent the anchor of event {anchor['seq']} to {', '.join(to)} by {via}.", err=True)


@cli.command()
@click.option(
    "--closed-before",
    required=True,
    type=DATE,
    help="Purge cases closed or withdrawn before this day (at least retention_years ago).",
)
@click.option("--dry-run", is_flag=True, help="List what would be purged; change nothing.")
@output_options(None)
@partnership_option
@pass_ctx
def purge(c, closed_before, dry_run, as_json, as_csv):
    """Remove the personal data of old closed cases (policy retention_years); statistics and the audit
    chain stay, the reasons in each case's audit events erased with the case's key."""
    from trigger.cases import retention

    result = retention.purge(c.app, closed_before, dry_run=dry_run)
    if result.stray_keys:
        stray = result.stray_keys
        click.echo(
            f"Deleted from the key store {len(stray['cases'])} case keys and {len(stray['months'])} month "
            "keys that earlier purges had deleted (brought back by a restored copy of the key store).",
            err=True,
        )
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if as_json or as_csv:
        console.emit_rows(result.cases, console.PURGED, as_json, as_csv)
        click.echo(console.purged_imports(result, closed_before, dry_run), err=True)
    else:
        console.print_purge(result, closed_before, dry_run)


# -- the workflow and the demo -------------------------------------------------------------------------
# diagram, demo


@cli.command()
def diagram():
    """Print the workflow as a Mermaid state diagram."""
    from workflows import machine

    click.echo(machine.mermaid())


@cli.command("demo")
@click.option("--keep", is_flag=True, help="Keep the demo database and say where it is.")
def demo_(keep):
    """Walk two fictional cases through the whole process on a throw-away SQLite database."""
    from trigger import demo
    from trigger.read import views
    from trigger.store import app

    folder = Path(tempfile.mkdtemp(prefix="trigger-demo-"))
    # the fictional cases keep their keys in the throw-away database, never in the real key store
    os.environ.pop("TRIGGER_KEYSTORE", None)
    demo_app = app.App(f"sqlite:///{folder / 'demo.db'}", actor="demo-manager")
    collect_garbage_from_here()
    try:
        references = demo.run(demo_app)
        click.echo("Two fictional cases under the LLR policy (Leicester, Leicestershire and Rutland):\n")
        for ref in references:
            console.print_case(views.show(demo_app, ref))
            click.echo("")
        click.echo("Try: trigger --help, trigger policy show llr, trigger diagram")
    finally:
        app.dispose_engines()
        if keep:
            click.echo(
                f"The demo database is {folder / 'demo.db'} (use --db sqlite:///{folder / 'demo.db'})."
            )
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
