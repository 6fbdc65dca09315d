"""Policies refuse what they cannot mean (docs/procedure.md#llr-timescales): an unknown or misspelt key
named with the file and the line, a zero or negative timescale, a unit other than `wd` or `d`; and a
policy edited without a new version never silently changes the cases already running under it."""

from __future__ import annotations

from pathlib import Path

import pytest

from trigger.errors import PolicyError
from trigger.rules import policy as policies
from workflows import PRESETS_DIR

LLR = (PRESETS_DIR / "llr.toml").read_text(encoding="utf-8")


def _line_of(text: str, start: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if line.startswith(start))


@pytest.mark.parametrize("name", policies.preset_names())
def test_every_shipped_preset_loads(name):
    pol = policies.load(name)
    assert pol.name == name and pol.timescales["appeal_window"].count >= 1


def test_a_misspelt_key_is_refused_with_the_file_key_and_line():
    text = LLR.replace("roll_forward = true", "roll_foward = false")
    with pytest.raises(PolicyError) as err:
        policies.parse(text, "ours.toml")
    line = _line_of(text, "roll_foward")
    assert str(err.value).startswith("ours.toml: timescales.roll_foward: not a policy key")
    assert f"(line {line})" in str(err.value)


def test_an_unknown_table_is_refused():
    with pytest.raises(PolicyError, match=r"ours.toml: extras: not a policy key"):
        policies.parse(LLR + "\n[extras]\ncolour = 'blue'\n", "ours.toml")


@pytest.mark.parametrize(
    "value, says",
    [
        ('"0wd"', "must be at least one day"),
        ('"0d"', "must be at least one day"),
        ('"-3d"', "write a whole number with its unit"),
        ('"3w"', "write a whole number with its unit"),
        ('"3 months"', "write a whole number with its unit"),
        ("3", "expected text"),
    ],
)
def test_a_timescale_must_be_positive_in_working_or_calendar_days(value, says):
    text = LLR.replace('review = "28d"', f"review = {value}")
    with pytest.raises(PolicyError) as err:
        policies.parse(text, "ours.toml")
    assert "ours.toml: timescales.review:" in str(err.value) and says in str(err.value)


@pytest.mark.parametrize(
    "old, new, says",
    [
        ("hate_route = true", 'hate_route = "yes"', "threshold.hate_route: expected true or false"),
        ("retention_years = 6", "retention_years = 0", "retention_years: must be at least 1"),
        ("hourly_rate = 35.0", "hourly_rate = true", "hourly_rate: expected a number"),
        ('nation = "england"', 'nation = "scotland"', "nation: 'scotland' is not one of"),
        ('kind = "police"', 'kind = "army"', "agencies[1].kind: 'army' is not one of"),
    ],
)
def test_values_of_the_wrong_kind_are_refused(old, new, says):
    with pytest.raises(PolicyError, match=f"ours.toml: {says}".replace("[", r"\[").replace("]", r"\]")):
        policies.parse(LLR.replace(old, new), "ours.toml")


def test_init_refuses_a_bad_policy_in_one_line(trigger, tmp_path: Path):
    bad = tmp_path / "ours.toml"
    bad.write_text(LLR.replace("escalate_after", "escalate_afer"))
    result = trigger.fails("init", "--policy", bad)
    assert result.stderr.count("\n") == 1
    assert f"{bad}: reminders.escalate_afer: not a policy key" in result.stderr


def _ours(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "ours.toml"
    path.write_text(text.replace('name = "llr"', 'name = "ours"'))
    return path


def _activate(trigger) -> str:
    return trigger.json(
        "activate", "--applicant", "Ann Example", "--received", "2026-03-02", "--channel", "online",
        "--statement", "Nothing has changed",
    )["reference"]  # fmt: skip


def test_a_policy_edited_without_a_new_version_is_refused_for_new_cases(trigger, tmp_path: Path):
    path = _ours(tmp_path, LLR)
    trigger("init", "--policy", path)
    _activate(trigger)
    path.write_text(path.read_text().replace('review = "28d"', 'review = "35d"'))
    result = trigger.fails(
        "activate", "--applicant", "Bob", "--received", "2026-03-03", "--channel", "online",
        "--statement", "Still happening",
    )  # fmt: skip
    assert "has changed since cases started under it; give the edited policy a new version" in result.stderr


def test_rewording_a_policy_comment_is_not_a_new_version(trigger, tmp_path: Path):
    path = _ours(tmp_path, LLR)
    trigger("init", "--policy", path)
    first = _activate(trigger)
    path.write_text(path.read_text().replace("# Leicester City:", "# Leicester City's page says:"))
    second = _activate(trigger)
    assert trigger.json("show", second)["policy"] == trigger.json("show", first)["policy"]
