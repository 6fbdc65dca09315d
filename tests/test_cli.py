"""The command line as a newcomer meets it: help, the demo, the diagram, listings."""

from __future__ import annotations

import csv
import io

import click
import pytest

import cli


def _commands(group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


@pytest.mark.parametrize(
    "path, command", list(_commands(cli.cli)), ids=lambda v: " ".join(v) if isinstance(v, tuple) else ""
)
def test_every_command_has_help(trigger, path, command):
    assert command.help, f"trigger {' '.join(path)} has no help"
    assert trigger(*path, "--help").exit_code == 0


def test_demo_walks_a_met_case_and_an_appealed_case(trigger):
    out = trigger("demo").stdout
    assert "CT-2026-0001  outcome_issued" in out
    assert "CT-2026-0002  closed" in out
    assert "received -> threshold_not_met" in out and "threshold_not_met -> appealed" in out
    assert "appealed -> closed" in out
    assert "in_review -> outcome_issued" in out


def test_diagram_is_mermaid_from_the_workflow(trigger):
    out = trigger("diagram").stdout
    assert "stateDiagram-v2" in out
    assert "received --> threshold_met: decide" in out
    assert "appealed --> in_review: decide_appeal" in out
    assert "closed --> closed" not in out


def test_list_as_csv_and_json(db, case):
    rows = list(csv.DictReader(io.StringIO(db("list", "--csv").stdout)))
    assert [(r["reference"], r["state"]) for r in rows] == [(case, "received")]
    assert db.json("list", "--state", "received")[0]["reference"] == case
    assert db.json("list", "--state", "closed") == []


def test_third_party_application_records_consent(db):
    ref = db.json(
        "activate",
        "--applicant",
        "Cllr Jones",
        "--victim",
        "Tom Example",
        "--consent-date",
        "2026-02-27",
        "--received",
        "2026-03-02",
        "--channel",
        "email",
        "--statement",
        "x",
    )["reference"]
    shown = db.json("show", ref)
    assert shown["third_party"] is True and shown["consent_date"] == "2026-02-27"
    assert shown["victim"] == "Tom Example" and shown["applicant"] == "Cllr Jones"


def test_references_run_per_year(db):
    refs = [
        db.json("activate", "--applicant", "A", "--received", day, "--channel", "phone", "--statement", "x")[
            "reference"
        ]
        for day in ("2025-12-30", "2026-01-02", "2026-01-03")
    ]
    assert refs == ["CT-2025-0001", "CT-2026-0001", "CT-2026-0002"]
