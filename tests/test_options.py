"""Options that contradict each other are refused with one line naming both, before anything runs
(declared once per command with `cli.exclusive`, checked by `cli.TriggerCommand`)."""

from __future__ import annotations

import click
import pytest
from sqlmodel import select

import cli
from trigger.store.app import App
from trigger.store.models import AuditEvent


def _events() -> int:
    with App().read() as s:
        return len(s.exec(select(AuditEvent)).all())


def _commands(group: click.Group, path=()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


@pytest.mark.parametrize(
    ("args", "first", "second"),
    [
        (("decide", "{ref}", "--met", "--not-met"), "--met", "--not-met"),
        (("decide", "{ref}", "--not-met", "--met"), "--met", "--not-met"),
        (("decide", "{ref}", "--met", "--reject", "vexatious", "--reason", "x"), "--met", "--reject"),
        (("decide", "{ref}", "--not-met", "--reject", "vexatious", "--reason", "x"), "--not-met", "--reject"),
        (
            ("appeal-decision", "{ref}", "--upheld", "--dismissed", "--by", "X", "--reason", "y"),
            "--upheld",
            "--dismissed",
        ),
        (("response", "{ref}", "1", "--accepted", "--declined", "--reason", "y"), "--accepted", "--declined"),
        (("action", "update", "{ref}", "1", "--jag", "--no-jag"), "--jag", "--no-jag"),
        (
            (
                "evidence",
                "{ref}",
                "--agency",
                "police",
                "--requested",
                "2026-03-04",
                "--answered",
                "2026-03-05",
            ),
            "--requested",
            "--answered",
        ),
        (("letter", "{ref}", "acknowledgement", "--issued", "1"), "--issued", "KIND"),
        (("letter", "{ref}", "--issued", "1", "--preview"), "--issued", "--preview"),
        (("export", "{ref}", "--json", "-o", "x.zip"), "--json", "--output"),
        (("list", "--json", "--csv"), "--json", "--csv"),
        (("agency", "list", "--csv", "--json"), "--json", "--csv"),
        (("action", "list", "--json", "--csv"), "--json", "--csv"),
        (("scan", "--as-of", "2026-03-20", "--json", "--csv"), "--json", "--csv"),
        (("report", "deadlines", "--json", "--csv"), "--json", "--csv"),
        (("report", "hours", "--json", "--csv"), "--json", "--csv"),
        (("report", "annual", "--year", "2025", "--json", "--csv"), "--json", "--csv"),
        (("calendar", "holidays", "2026", "--json", "--csv"), "--json", "--csv"),
        (("purge", "--closed-before", "2019-01-01", "--json", "--csv"), "--json", "--csv"),
    ],
)
def test_contradictory_options_are_refused_in_one_line_naming_both(db, case, tmp_path, args, first, second):
    before, state = _events(), db.json("show", case)["state"]
    result = db.fails(*(a.replace("{ref}", case) for a in args))
    assert result.exit_code == 2
    line = result.stderr
    assert line.count("\n") == 1 and line.startswith("Error: ") and "Traceback" not in line
    assert f"{first} and {second} contradict each other" in line
    assert _events() == before and db.json("show", case)["state"] == state


def test_a_decision_given_once_still_works_and_records_which(db, case):
    db("decide", case, "--met", "--on", "2026-03-05")
    assert db.json("show", case)["threshold"]["met"] is True


def test_every_listing_with_json_and_csv_refuses_both():
    """Structural: no listing can slip through with a last-one-wins --json --csv."""
    missing = []
    for path, command in _commands(cli.cli):
        opts = {o for p in command.params for o in getattr(p, "opts", [])}
        if {"--json", "--csv"} <= opts:
            groups = getattr(command.callback, "__exclusive__", [])
            if not any({"--json", "--csv"} <= set(g) for g in groups):
                missing.append(" ".join(path))
    assert missing == []


def test_no_pair_of_flags_shares_one_destination():
    """Two flags writing one variable (`--met/--not-met` as flag values) would let the last one win
    silently; each flag has its own, and `exclusive` refuses the pair."""
    shared = []
    for path, command in _commands(cli.cli):
        seen = {}
        for p in command.params:
            if isinstance(p, click.Option) and p.name in seen:
                shared.append(f"{' '.join(path)}: {p.name}")
            seen[p.name] = p
            if isinstance(p, click.Option) and p.secondary_opts:
                shared.append(f"{' '.join(path)}: {p.opts[0]}/{p.secondary_opts[0]}")
    assert shared == []
