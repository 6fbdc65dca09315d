"""Bad input of every kind: one clear line on stderr, a non-zero exit, nothing changed."""

from __future__ import annotations

import os
from datetime import date, timedelta

import pytest
import sqlalchemy

from tests.support.databases import sqlite_only


def _audit_count(tmp_path):
    engine = sqlalchemy.create_engine(os.environ["TRIGGER_DB"])
    try:
        with engine.connect() as conn:
            return conn.execute(sqlalchemy.text("select count(*) from audit_event")).scalar_one()
    finally:
        engine.dispose()


def _one_line_error(result):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error:")
    assert "Traceback" not in result.stderr
    return lines[0]


TOMORROW = (date.today() + timedelta(days=1)).isoformat()


@pytest.mark.parametrize(
    "args, words",
    [
        (["show", "CT-2026-9999"], "no case"),
        (
            [
                "incident",
                "add",
                "{ref}",
                "--occurred",
                "2026-01-10",
                "--reported",
                "2026-01-11",
                "--agency",
                "fire",
            ],
            "no agency with code 'fire'",
        ),
        (
            [
                "incident",
                "add",
                "{ref}",
                "--occurred",
                "2026-02-30",
                "--reported",
                "2026-03-01",
                "--agency",
                "police",
            ],
            "is not a date",
        ),
        (
            [
                "incident",
                "add",
                "{ref}",
                "--occurred",
                "2026-02-10",
                "--reported",
                "2026-02-01",
                "--agency",
                "police",
            ],
            "before --occurred",
        ),
        (
            [
                "incident",
                "add",
                "{ref}",
                "--occurred",
                TOMORROW,
                "--reported",
                TOMORROW,
                "--agency",
                "police",
            ],
            "in the future",
        ),
        (
            [
                "incident",
                "add",
                "{ref}",
                "--occurred",
                "2026-02-01",
                "--reported",
                "2026-02-02",
                "--agency",
                "police",
                "--same-as",
                "999",
            ],
            "no complaint 999",
        ),
        (["decide", "{ref}", "--met", "--on", TOMORROW], "in the future"),
        (["decide", "{ref}", "--met", "--on", "2026-03-01"], "before the case was received"),
        (["decide", "{ref}", "--reject", "vexatious"], "needs the category and a reason"),
        (["decide", "{ref}"], "give one of --met"),
        (
            ["assign", "{ref}", "--lead", "cbc", "--reviewer", "Sam"],
            "allowed moves from received: decide, withdraw",
        ),
        (["outcome", "{ref}"], "cannot outcome: the case is received"),
        (["withdraw", "{ref}"], "Missing option '--reason'"),
        (
            [
                "activate",
                "--applicant",
                "Bob",
                "--received",
                "2026-03-01",
                "--channel",
                "online",
                "--statement",
                " ",
            ],
            "statement of dissatisfaction is required",
        ),
        (
            [
                "activate",
                "--applicant",
                "Bob",
                "--received",
                "2026-03-01",
                "--channel",
                "online",
                "--statement",
                "x",
                "--victim",
                "Carol",
            ],
            "consent date",
        ),
        (
            [
                "activate",
                "--applicant",
                "Bob",
                "--received",
                "2026-03-01",
                "--channel",
                "pigeon",
                "--statement",
                "x",
            ],
            "pigeon",
        ),
        (["action", "update", "{ref}", "7", "--status", "done"], "no action 7"),
        (
            ["hours", "{ref}", "--agency", "cbc", "--person", "Sam", "--hours", "30", "--date", "2026-03-04"],
            "not a day's work",
        ),
        (
            [
                "--policy",
                "nowhere",
                "activate",
                "--applicant",
                "Bob",
                "--received",
                "2026-03-01",
                "--channel",
                "online",
                "--statement",
                "x",
            ],
            "no policy called 'nowhere'",
        ),
    ],
)
def test_bad_input_is_one_clear_line_and_changes_nothing(db, case, tmp_path, args, words):
    before = _audit_count(tmp_path)
    shown = db.json("show", case)
    result = db.fails(*[a.replace("{ref}", case) for a in args])
    line = _one_line_error(result)
    assert words in line
    assert _audit_count(tmp_path) == before
    assert db.json("show", case) == shown


@pytest.mark.no_schema
def test_commands_before_init_say_to_run_init(trigger):
    result = trigger.fails("list")
    assert "trigger init" in _one_line_error(result)


def test_unreachable_database_is_a_clear_error(trigger):
    result = trigger.fails("--db", "postgresql+psycopg://nobody@127.0.0.1:1/none", "list")
    assert "cannot use the database" in _one_line_error(result)


def test_a_bad_policy_file_names_the_file_key_and_reason(trigger, tmp_path):
    from workflows import PRESETS_DIR

    text = (
        (PRESETS_DIR / "llr.toml")
        .read_text()
        .replace("qualifying_complaints = 3", "qualifying_complaints = 4")
    )
    bad = tmp_path / "ours.toml"
    bad.write_text(text)
    line = _one_line_error(trigger.fails("init", "--policy", str(bad)))
    assert str(bad) in line and "threshold.qualifying_complaints" in line and "s.104(4)" in line
    text = (PRESETS_DIR / "llr.toml").read_text().replace('acknowledge = "1wd"', 'acknowledge = "1"')
    bad.write_text(text)
    line = _one_line_error(trigger.fails("init", "--policy", str(bad)))
    assert "timescales.acknowledge" in line and "unit" in line


@sqlite_only
def test_a_move_is_never_dated_before_the_previous_move(db, case):
    db("decide", case, "--met", "--on", "2026-03-10")
    line = _one_line_error(
        db.fails("assign", case, "--lead", "cbc", "--reviewer", "Sam", "--on", "2026-03-09")
    )
    assert "before the case's previous move (2026-03-10)" in line
