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


def test_policy_list_as_json_names_each_preset(trigger):
    presets = trigger.json("policy", "list")
    assert {"name": "llr", "nation": "england"}.items() <= presets[0].items()
    assert set(presets[0]) == {"name", "version", "nation", "area"}
    assert [p["name"] for p in presets] == sorted(p["name"] for p in presets)


# the commands that change no case (reading one, or a reminder's delivery): every other takes --on
READING = {("show",), ("check",), ("export",), ("action", "list"), ("reminders", "retry")}


def test_every_command_that_changes_a_case_takes_on():
    takes_a_case = [
        path
        for path, command in _commands(cli.cli)
        if not isinstance(command, click.Group)
        and {p.name for p in command.params} & {"reference", "incident_id"}
    ]
    assert len(takes_a_case) > 25
    missing = [
        " ".join(p)
        for p, c in _commands(cli.cli)
        if p in takes_a_case and p not in READING and "on" not in {q.name for q in c.params}
    ]
    assert missing == []


def test_hours_and_evidence_are_recorded_on_the_day_given(db, case):
    db("decide", case, "--met", "--on", "2026-03-05")
    db("assign", case, "--lead", "cbc", "--reviewer", "Sam Reviewer", "--on", "2026-03-06")
    db(
        "hours",
        case,
        "--agency",
        "cbc",
        "--person",
        "Sam",
        "--hours",
        "2",
        "--date",
        "2026-03-07",
        "--on",
        "2026-03-09",
    )
    db(
        "evidence",
        case,
        "--agency",
        "police",
        "--requested",
        "2026-03-07",
        "--due",
        "2026-03-20",
        "--on",
        "2026-03-10",
    )
    events = {e["event"]: e["at"] for e in db.json("show", case)["events"]}
    assert events["hours"].startswith("2026-03-09") and events["evidence_request"].startswith("2026-03-10")
    assert db.json("show", case)["hours"][0]["date"] == "2026-03-07"  # the day worked stays the day worked
