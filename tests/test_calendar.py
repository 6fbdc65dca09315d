"""Working days, bank holidays and timescales: the arithmetic every deadline uses
(docs/procedure.md#counting-days)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.runner import Runner
from trigger.errors import PolicyError
from trigger.rules import deadlines
from trigger.rules import policy as policies
from trigger.rules.calendar import STORED_YEARS, Span, WorkingCalendar, parse_span

pytestmark = pytest.mark.any_engine  # working-day arithmetic: the same on any database

ROOT = Path(__file__).resolve().parents[1]
ENG = WorkingCalendar("england")
WLS = WorkingCalendar("wales")
days = st.dates(min_value=date(2019, 1, 1), max_value=date(2030, 12, 31))
counts = st.integers(min_value=0, max_value=60)


# -- properties ----------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(start=days, n=st.integers(min_value=1, max_value=60), nation=st.sampled_from(["england", "wales"]))
def test_nth_working_day_is_a_working_day_strictly_after_with_n_working_days_up_to_it(start, n, nation):
    cal = WorkingCalendar(nation)
    due = cal.add_working_days(start, n)
    assert due > start and cal.is_working_day(due)
    between = [start + timedelta(days=i) for i in range(1, (due - start).days + 1)]
    assert sum(cal.is_working_day(d) for d in between) == n


@settings(max_examples=200, deadline=None)
@given(start=days, n=counts, m=counts)
def test_working_days_are_monotonic_and_compose(start, n, m):
    assert ENG.add_working_days(start, n) <= ENG.add_working_days(start, n + 1)
    assert ENG.add_working_days(ENG.add_working_days(start, n), m) == ENG.add_working_days(start, n + m)


@settings(max_examples=200, deadline=None)
@given(start=days, n=st.integers(min_value=1, max_value=60))
def test_same_as_holidays_get_nth_working_day(start, n):
    # the hand loop exists so that closure days count; without closures it agrees with `holidays`
    import holidays

    h = holidays.country_holidays("GB", subdiv="ENG")
    assert ENG.add_working_days(start, n) == h.get_nth_working_day(start, n)


@settings(max_examples=200, deadline=None)
@given(start=days, n=st.integers(min_value=0, max_value=40))
def test_calendar_day_deadlines_roll_forward_to_a_working_day(start, n):
    due = ENG.due(start, Span(n, "d"))
    plain = start + timedelta(days=n)
    assert due >= plain and ENG.is_working_day(due)
    assert all(not ENG.is_working_day(plain + timedelta(days=i)) for i in range((due - plain).days))
    assert ENG.due(start, Span(n, "d"), roll_forward=False) == plain


@settings(max_examples=200, deadline=None)
@given(due=days, n=st.integers(min_value=1, max_value=20))
def test_warning_day_is_n_working_days_before(due, n):
    due = ENG.next_working_day(due)
    assert ENG.add_working_days(ENG.before(due, Span(n, "wd")), n) == due


@settings(max_examples=100, deadline=None)
@given(start=days, n=st.integers(min_value=1, max_value=30), closed=st.sets(days, max_size=10))
def test_closure_days_never_count(start, n, closed):
    cal = WorkingCalendar("england", closed)
    due = cal.add_working_days(start, n)
    assert due not in closed and due >= ENG.add_working_days(start, n)


# -- worked examples -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "start, span, due, why",
    [
        ("2022-09-16", "1wd", "2022-09-20", "Fri; Mon 19 Sep 2022 was the Queen's state funeral"),
        ("2023-05-05", "1wd", "2023-05-09", "Fri; Mon 8 May 2023 was the coronation bank holiday"),
        ("2023-04-28", "5wd", "2023-05-09", "May Day 1 May and the coronation 8 May"),
        ("2022-06-01", "1wd", "2022-06-06", "Platinum Jubilee Thu 2 and Fri 3 June 2022"),
        (
            "2021-12-24",
            "1wd",
            "2021-12-29",
            "Christmas and Boxing Day 2021 fell at the weekend: 27 and 28 Dec",
        ),
        ("2021-12-31", "1wd", "2022-01-04", "New Year's Day 2022 was a Saturday: substitute Mon 3 Jan"),
        (
            "2026-12-22",
            "10wd",
            "2027-01-08",
            "25 Dec, Boxing Day substitute Mon 28 Dec, 1 Jan; 24 Dec is a working day",
        ),
        ("2026-12-24", "1wd", "2026-12-29", "Christmas Eve counts; 25 and 28 Dec do not"),
        ("2027-12-24", "1wd", "2027-12-29", "Christmas 2027 on a Saturday: substitutes 27 and 28 Dec"),
        (
            "2026-12-19",
            "20wd",
            "2027-01-20",
            "over Christmas and New Year: 25, 28 Dec and 1 Jan are not counted",
        ),
        ("2026-04-02", "1wd", "2026-04-07", "Good Friday 3 and Easter Monday 6 April 2026"),
        ("2027-03-25", "1wd", "2027-03-30", "Easter 2027: 26 and 29 March"),
        ("2026-12-22", "14d", "2027-01-05", "calendar days: 5 Jan 2027 is a Tuesday"),
        ("2026-12-12", "14d", "2026-12-29", "calendar days ending Sat 26 Dec roll past 28 Dec to 29 Dec"),
        ("2022-09-05", "14d", "2022-09-20", "ends on the state funeral, rolls to the next day"),
    ],
)
def test_worked_examples_england(start, span, due, why):
    assert ENG.due(date.fromisoformat(start), parse_span(span)) == date.fromisoformat(due), why


def test_wales_has_the_same_bank_holidays_as_england_in_these_years():
    # England and Wales share their bank holidays (Banking and Financial Dealings Act 1971, Sch 1);
    # the one-offs of 2022 and 2023 were proclaimed for both
    for year in (2021, 2022, 2023, 2026, 2027):
        assert WLS.holidays_in(year) == ENG.holidays_in(year)
    assert date(2022, 9, 19) in dict(WLS.holidays_in(2022))
    assert date(2023, 5, 8) in dict(WLS.holidays_in(2023))


def test_bank_holidays_are_those_of_the_holidays_package_for_both_nations():
    # the calendar loads the package's United Kingdom module on its own (a faster start): same days and names
    import holidays

    for nation, subdiv in (("england", "ENG"), ("wales", "WLS")):
        ours = WorkingCalendar(nation)
        theirs = holidays.country_holidays("GB", subdiv=subdiv)
        for year in range(1990, 2101):
            _ = date(year, 1, 1) in theirs
            assert ours.holidays_in(year) == sorted((d, n) for d, n in theirs.items() if d.year == year)


_COUNT_IN_A_FRESH_PROCESS = """
import json, sys
from datetime import date
from trigger.rules.calendar import WorkingCalendar
cal = WorkingCalendar(sys.argv[1])
print(json.dumps({
    "due": cal.add_working_days(date(2022, 9, 16), 1).isoformat(),
    "year": [[d.isoformat(), n] for d, n in cal.holidays_in(int(sys.argv[2]))],
    "asked_the_package": "holidays" in sys.modules,
}))
"""


def _count_in_a_fresh_process(tmp_path, nation: str = "england", year: int = 2022) -> dict:
    """Working days counted by a new process whose temporary folder is tmp_path (where the stored copy
    of the bank holidays is kept)."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c", _COUNT_IN_A_FRESH_PROCESS, nation, str(year)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)


def _package_year(subdiv: str, year: int) -> list[list[str]]:
    import holidays

    theirs = holidays.country_holidays("GB", subdiv=subdiv, years=year)
    return [[d.isoformat(), n] for d, n in sorted(theirs.items())]


def test_the_bank_holidays_are_computed_once_then_read_from_the_stored_copy(tmp_path):
    first = _count_in_a_fresh_process(tmp_path)
    (copy,) = (tmp_path / f"_jinja2-cache-{os.getuid()}").glob("trigger-bank-holidays-england-*.json")
    assert oct(copy.parent.stat().st_mode & 0o777) == "0o700"
    second = _count_in_a_fresh_process(tmp_path)
    # Friday 16 September 2022: the next working day is Tuesday 20th, past the Queen's state funeral
    assert first["due"] == second["due"] == "2022-09-20"
    assert first["year"] == second["year"] == _package_year("ENG", 2022)
    assert first["asked_the_package"] and not second["asked_the_package"]


def test_a_damaged_stored_copy_is_computed_again(tmp_path):
    _count_in_a_fresh_process(tmp_path, "wales")
    (copy,) = (tmp_path / f"_jinja2-cache-{os.getuid()}").glob("trigger-bank-holidays-wales-*.json")
    for damage in ("{not json", json.dumps({"2022": [["2022-13-40", "Nothing"]]}), "[]"):
        copy.write_text(damage, encoding="utf-8")
        again = _count_in_a_fresh_process(tmp_path, "wales")
        assert again["due"] == "2022-09-20" and again["year"] == _package_year("WLS", 2022)
        assert again["asked_the_package"]
        assert _count_in_a_fresh_process(tmp_path, "wales")["asked_the_package"] is False  # stored again


def test_a_year_beyond_the_stored_copy_is_asked_of_the_package(tmp_path):
    far = STORED_YEARS.stop + 5
    counted = _count_in_a_fresh_process(tmp_path, "england", far)
    assert counted["year"] == _package_year("ENG", far)


def test_closure_days_move_deadlines():
    # Christmas Eve is no bank holiday, so it is a working day unless the partnership lists it as a closure
    cal = WorkingCalendar(
        "england", [date(2026, 12, 24), date(2026, 12, 29), date(2026, 12, 30), date(2026, 12, 31)]
    )
    assert cal.add_working_days(date(2026, 12, 23), 1) == date(2027, 1, 4)
    assert (date(2026, 12, 24), "Partnership closure day") in cal.holidays_in(2026)


@pytest.mark.parametrize("text", ["14", "-1d", "2 weeks", "1.5wd", "", "wd", "3w", "0wd", "0d", "00wd"])
def test_unitless_or_negative_timescales_are_refused(text):
    with pytest.raises(ValueError, match="is not a timescale"):
        parse_span(text)


@pytest.mark.parametrize(
    "key, value", [("acknowledge", '"1"'), ("review", '"-28d"'), ("appeal_window", "20")]
)
def test_policy_with_a_unitless_or_negative_timescale_is_refused_at_load(key, value):
    text = policies.resolve("llr").read_text(encoding="utf-8")
    lines = [f"{key} = {value}" if line.startswith(f"{key} =") else line for line in text.splitlines()]
    with pytest.raises(PolicyError) as err:
        policies.parse("\n".join(lines), "bad.toml")
    assert f"bad.toml: timescales.{key}:" in str(err.value)


# -- the command line -------------------------------------------------------------------------------------


def test_calendar_due_cli(trigger):
    assert trigger.json("calendar", "due", "2026-12-19", "20wd")["due"] == "2027-01-20"
    assert trigger.json("calendar", "due", "2022-09-16", "1wd", "--nation", "wales")["due"] == "2022-09-20"
    out = trigger("calendar", "due", "2026-12-22", "14d").stdout
    assert "2027-01-05 (Tuesday)" in out


def test_calendar_due_refuses_a_unitless_span(trigger):
    result = trigger.fails("calendar", "due", "2026-12-19", "20")
    assert "is not a timescale" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("span", ["0wd", "0d", "-1wd", "-3d"])
def test_calendar_due_refuses_a_zero_or_negative_span_in_one_line(trigger, span, tmp_path, monkeypatch):
    # a zero span would answer with the start day itself, a weekend or a closure day included
    monkeypatch.setenv("TRIGGER_DB", f"sqlite:///{tmp_path / 'none' / 'trigger.db'}")
    result = trigger.fails("calendar", "due", "2026-12-18", "--", span)
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"Error: SPAN: {span!r} is not a timescale: it must be at least one day (1{span[-2:].strip('0')})"
        if span.startswith("0")
        else f"Error: SPAN: {span!r} is not a timescale; write a whole number with its unit, e.g. 1wd or 14d"
    )
    assert not (tmp_path / "none").exists()  # nothing written, not even the database's folder


def _policy_file(folder, closures=(), roll_forward=True, nation="england"):
    text = policies.resolve("llr").read_text(encoding="utf-8")
    days = ", ".join(d.isoformat() for d in sorted(closures))
    text = text.replace("closures = []", f"closures = [{days}]")
    text = text.replace("roll_forward = true", f"roll_forward = {str(roll_forward).lower()}")
    text = text.replace('nation = "england"', f'nation = "{nation}"')
    path = folder / "ours.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_calendar_due_counts_the_policys_closure_days(trigger, tmp_path):
    policy = _policy_file(tmp_path, closures=[date(2026, 12, 21), date(2026, 12, 22)])
    # Friday 18 December: Monday 21 and Tuesday 22 are closed, so one working day later is Wednesday 23
    assert trigger.json("--policy", policy, "calendar", "due", "2026-12-18", "1wd")["due"] == "2026-12-23"
    out = trigger("--policy", policy, "calendar", "due", "2026-12-18", "1wd").stdout
    assert out == "1 working day after 2026-12-18 (england, policy llr): 2026-12-23 (Wednesday)\n"
    # without them the preset's calendar answers Monday
    assert trigger.json("calendar", "due", "2026-12-18", "1wd")["due"] == "2026-12-21"
    listed = trigger.json("--policy", policy, "calendar", "holidays", "2026")
    assert {"date": "2026-12-21", "weekday": "Monday", "name": "Partnership closure day"} in listed


closure_days = st.sets(st.dates(min_value=date(2019, 1, 1), max_value=date(2031, 12, 31)), max_size=12)


@settings(max_examples=60, deadline=None)
@given(
    start=days,
    count=st.integers(min_value=1, max_value=60),
    unit=st.sampled_from(["wd", "d"]),
    closed=closure_days,
    roll_forward=st.booleans(),
    nation=st.sampled_from(["england", "wales"]),
)
def test_calendar_due_is_the_deadline_a_case_gets_under_the_same_policy(
    tmp_path_factory, start, count, unit, closed, roll_forward, nation
):
    path = _policy_file(tmp_path_factory.mktemp("policy"), closed, roll_forward, nation)
    answered = Runner().json("--policy", path, "calendar", "due", start.isoformat(), f"{count}{unit}")
    pol = policies.load(str(path))
    # the case engine's own computation: an acknowledgement timescale of the same span, received on START
    pol = dataclasses.replace(pol, timescales={**pol.timescales, "acknowledge": Span(count, unit)})
    (ack,) = [
        d for d in deadlines.compute(pol, deadlines.CaseFacts("received", start)) if d.kind == "acknowledge"
    ]
    assert answered["due"] == ack.due.isoformat()
    assert answered["nation"] == nation


def test_calendar_holidays_cli(trigger):
    rows = trigger.json("calendar", "holidays", "2026")
    assert [r["date"] for r in rows if r["date"] >= "2026-12-01"] == [
        "2026-12-25",
        "2026-12-26",
        "2026-12-28",
    ]
    assert any(
        r["date"] == "2022-09-19" for r in trigger.json("calendar", "holidays", "2022", "--nation", "wales")
    )
