"""Policies refuse what they cannot mean (docs/procedure.md#llr-timescales): an unknown or misspelt key
named with the file and the line, a zero or negative timescale, a unit other than `wd` or `d`; and a
policy edited without a new version never silently changes the cases already running under it."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from tests.support.letters import PNG, letterhead_policy
from tests.support.sql import database_dump
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


# -- values that used to load and fail later, and a logo that was not what it said ----------------------

BAD_POLICIES = [
    # (name, old text, new text, words in the one line)
    (
        "timescale 99999999999wd",
        'threshold_decision = "14d"',
        'threshold_decision = "99999999999wd"',
        "ten years",
    ),
    ("timescale 3000000d", 'review = "28d"', 'review = "3000000d"', "more than ten years"),
    ("timescale over a year", 'review = "28d"', 'review = "400d"', "longer than a year"),
    ("warning 5000wd", 'warn_before = "2wd"', 'warn_before = "2000wd"', "longer than a year"),
    ("retention 1000000 years", "retention_years = 6", "retention_years = 1000000", "must be at most 100"),
    ("hourly rate inf", "hourly_rate = 35.0", "hourly_rate = inf", "must be a finite number"),
    ("hourly rate nan", "hourly_rate = 35.0", "hourly_rate = nan", "must be a finite number"),
    ("hourly rate 1e300", "hourly_rate = 35.0", "hourly_rate = 1e300", "must be at most 10000"),
    (
        "community individuals 10**9",
        "community_individuals = 3",
        "community_individuals = 1000000000",
        "at most 100",
    ),
    ("closure day in 1900", "closures = []", "closures = [1900-12-25]", "a year outside 1990-2100"),
    ("effective in 9999", "effective = 2022-02-10", "effective = 9999-02-10", "a year outside 1990-2100"),
    (
        "nested 100,000 arrays",
        "closures = []",
        "closures = " + "[" * 100_000 + "]" * 100_000,
        "nested too deeply",
    ),
    ("agency code twice", 'code = "icb"', 'code = "POLICE"', "the agency code 'POLICE' is given twice"),
    ("agency code with an escape", 'code = "icb"', 'code = "i\\u001bcb"', "an escape"),
    ("agency code with a space", 'code = "icb"', 'code = "i cb"', "is not a code"),
    (
        "title with a control character",
        'area = "Leicester',
        'area = "\\u0007Leicester',
        "a control character",
    ),
]


@pytest.mark.parametrize("name, old, new, says", BAD_POLICIES, ids=[b[0] for b in BAD_POLICIES])
def test_a_policy_value_that_would_fail_later_is_refused_at_load(db, tmp_path, name, old, new, says):
    assert old in LLR, old
    path = tmp_path / "ours.toml"
    path.write_text(LLR.replace(old, new, 1))
    before = database_dump()
    for args in (["init", "--policy", path], ["--policy", path, *ACTIVATE]):
        result = db.fails(*args)
        assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"Error: {path}: "), result.stderr
        assert says in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert database_dump() == before


ACTIVATE = [
    "activate", "--applicant", "Ann Example", "--received", "2026-03-02", "--channel", "online",
    "--statement", "Nothing has changed",
]  # fmt: skip


def _logo_policy(tmp_path: Path, logo: str = "logo.png") -> Path:
    path = Path(letterhead_policy(tmp_path))
    path.write_text(path.read_text().replace('logo = "logo.png"', f'logo = "{logo}"'))
    return path


@pytest.mark.parametrize(
    "name, make, says",
    [
        ("a link to /etc/passwd", lambda d: (d / "evil.png").symlink_to("/etc/passwd"), "is a link"),
        ("a link to a real image", lambda d: (d / "evil.png").symlink_to(d / "logo.png"), "is a link"),
        (
            "text named .png",
            lambda d: (d / "evil.png").write_text("root:x:0:0:root:/root:/bin/bash\n"),
            "is not",
        ),
        (
            "a GIF cut short",
            lambda d: (d / "evil.png").write_bytes(b"GIF89a\x08\x00\x04\x00"),
            "is not a PNG",
        ),
        ("25 MB", lambda d: (d / "evil.png").write_bytes(PNG + b"\0" * 25_000_000), "larger than 2,000,000"),
        ("20000 pixels wide", lambda d: (d / "evil.png").write_bytes(_wide_png()), "20000 x 1 pixels"),
        ("a folder", lambda d: (d / "evil.png").mkdir(), "not a plain file"),
        ("a FIFO", lambda d: os.mkfifo(d / "evil.png"), "not a plain file"),
    ],
)
def test_a_logo_that_is_not_a_small_image_file_in_the_policys_folder_is_refused(
    db, tmp_path, name, make, says
):
    path = _logo_policy(tmp_path, "evil.png")
    make(tmp_path)
    before = database_dump()
    result = db.fails("init", "--policy", path)
    assert result.stderr.count("\n") == 1 and "letterhead.logo: " in result.stderr, result.stderr
    assert says in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert "root:x" not in result.stderr
    assert database_dump() == before


@pytest.mark.parametrize("where", ["../outside.png", "{tmp}/outside.png", "sub/../../outside.png"])
def test_a_logo_outside_the_policys_folder_is_refused(db, tmp_path, where):
    folder = tmp_path / "policy"
    (folder / "sub").mkdir(parents=True)
    (tmp_path / "outside.png").write_bytes(PNG)
    path = _logo_policy(folder, where.replace("{tmp}", str(tmp_path)))
    result = db.fails("init", "--policy", path)
    assert result.stderr.count("\n") == 1 and "is outside the policy's folder" in result.stderr, result.stderr


def test_a_logo_made_a_link_after_cases_started_is_refused_by_the_word_letter_not_a_traceback(
    trigger, tmp_path
):
    path = _logo_policy(tmp_path)
    trigger("init", "--policy", path)
    ref = trigger.json(*ACTIVATE)["reference"]
    (tmp_path / "logo.png").unlink()
    (tmp_path / "logo.png").symlink_to("/etc/passwd")
    out = tmp_path / "ack.docx"
    result = trigger.fails(
        "letter", ref, "acknowledgement", "--format", "docx", "-o", out, "--on", "2026-03-03"
    )
    assert result.stderr.count("\n") == 1 and "is a link" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_a_logo_in_a_folder_beside_the_policy_is_carried_as_the_image_it_is(trigger, tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "crest.gif").write_bytes(GIF)
    trigger("init", "--policy", _logo_policy(tmp_path, "images/crest.gif"))
    ref = trigger.json(*ACTIVATE)["reference"]
    html = trigger("letter", ref, "acknowledgement", "--preview", "--on", "2026-03-03").stdout
    assert 'src="data:image/gif;base64,R0lGOD' in html


# a 1 x 1 pixel GIF
GIF = bytes.fromhex("47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b")


def _wide_png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (20_000, 1)).save(buf, "PNG")
    return buf.getvalue()
