"""The threshold (s.104(4)-(5), docs/procedure.md#threshold): qualifying complaints, routes, caveats and
the explanation."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trigger.errors import PolicyError
from trigger.rules import policy as policies
from trigger.rules.calendar import months_beginning_with
from trigger.rules.threshold import Complaint, Rules, evaluate, why_not_qualifying, window_start
from workflows import PRESETS_DIR

D = date.fromisoformat


def qualifies(c: Complaint, application: date) -> str | None:
    """None when the complaint qualifies, else the reason it does not."""
    found = why_not_qualifying(c, application)
    return found[0] if found else None


LLR = Rules(qualifying_complaints=3, hate_route=True)


# -- calendar months "beginning with" (docs/procedure.md#counting-months) -----------------------------------


@pytest.mark.parametrize(
    "start, months, end",
    [
        ("2026-01-15", 1, "2026-02-14"),  # worked example: 15 Jan -> 14 Feb
        ("2026-01-31", 1, "2026-02-28"),  # worked example: 31 Jan -> 28 Feb
        ("2026-01-30", 1, "2026-02-28"),  # worked example: 30 Jan -> 28 Feb
        ("2024-01-31", 1, "2024-02-29"),  # worked example: ... or 29 Feb in a leap year
        ("2024-01-30", 1, "2024-02-29"),
        ("2024-01-29", 1, "2024-02-28"),  # 29 Feb exists in 2024, so the day before it
        ("2026-03-01", 1, "2026-03-31"),  # worked example: 1 Mar -> 31 Mar
        ("2026-12-15", 1, "2027-01-14"),  # across a year end
        ("2025-08-31", 6, "2026-02-28"),  # six months ending in a short February
        ("2026-03-02", 6, "2026-09-01"),
    ],
)
def test_months_beginning_with_worked_examples(start, months, end):
    assert months_beginning_with(D(start), months) == D(end)


def _month_index(day: date) -> int:
    return day.year * 12 + day.month


def in_period(day: date, start: date, months: int) -> bool:
    """An independent formulation: `day` is inside N months beginning with `start` until the calendar
    reaches the Nth following month on (or after) `start`'s day number; a month too short to have that
    day is inside in full."""
    gap = _month_index(day) - _month_index(start)
    return day >= start and (gap < months or (gap == months and day.day < start.day))


dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31))


@given(dates, st.integers(min_value=1, max_value=24))
def test_period_end_agrees_with_an_independent_formulation(start, months):
    end = months_beginning_with(start, months)
    assert in_period(end, start, months)
    assert not in_period(end + timedelta(days=1), start, months)


@given(dates, st.integers(min_value=1, max_value=12))
def test_period_end_is_monotonic_and_the_period_never_shorter_than_28_days_a_month(start, months):
    end = months_beginning_with(start, months)
    assert end >= months_beginning_with(start - timedelta(days=1), months)
    assert (end - start).days + 1 >= 28 * months
    assert (end - start).days + 1 <= 31 * months


@given(dates)
def test_window_start_is_the_earliest_complaint_an_application_can_reach(application):
    start = window_start(application)
    assert months_beginning_with(start, 6) >= application
    assert months_beginning_with(start - timedelta(days=1), 6) < application


# -- the qualifying complaint (s.104, EN para 231) -----------------------------------------------------------


def complaint(i, occurred, reported, agency="police", **kw):
    return Complaint(id=i, occurred=D(occurred), reported=D(reported), agency=agency, **kw)


def test_complaint_on_the_last_day_of_the_month_qualifies_and_the_next_day_does_not():
    assert qualifies(complaint(1, "2026-01-15", "2026-02-14"), D("2026-03-02")) is None
    reason, detail = why_not_qualifying(complaint(1, "2026-01-15", "2026-02-15"), D("2026-03-02"))
    assert reason == "reported 31 days after the behaviour; the limit is one month"
    assert detail == "the month beginning with 15 January 2026 ended on 14 February 2026"


def test_late_report_is_explained_in_plain_english():
    reason = qualifies(complaint(7, "2026-01-10", "2026-02-20"), D("2026-03-02"))
    # the plain-English reason docs/procedure.md#qualifying-complaint quotes
    assert reason == "reported 41 days after the behaviour; the limit is one month"


def test_leap_year_month_end_qualifies_a_report_on_29_february():
    assert qualifies(complaint(1, "2024-01-31", "2024-02-29"), D("2024-03-10")) is None
    assert qualifies(complaint(1, "2024-01-31", "2024-03-01"), D("2024-03-10")) is not None


def test_application_on_the_last_day_of_six_months_still_counts_the_complaint():
    c = complaint(1, "2025-09-01", "2025-09-02")
    assert qualifies(c, D("2026-03-01")) is None  # six months beginning with 2 Sep end on 1 Mar
    reason, detail = why_not_qualifying(c, D("2026-03-02"))
    assert reason == "reported more than six months before the application"
    assert detail == "the six months beginning with 2 September 2025 ended on 1 March 2026"


def test_complaint_after_the_application_does_not_count():
    assert "after the application" in qualifies(complaint(1, "2026-03-01", "2026-03-05"), D("2026-03-02"))


# -- routes -------------------------------------------------------------------------------------------------


def test_three_qualifying_complaints_about_separate_incidents_meet_the_statutory_threshold():
    e = evaluate(
        [
            complaint(1, "2026-01-10", "2026-01-12"),
            complaint(2, "2026-01-20", "2026-01-21"),
            complaint(3, "2026-02-03", "2026-02-04"),
        ],
        D("2026-03-02"),
        LLR,
    )
    assert (e.met, e.route, e.statutory_count, e.statutory_met) == (True, "statutory", 3, True)
    assert [v.id for v in e.counted] == [1, 2, 3]
    assert all("separate incident" in v.reason for v in e.counted)


def test_one_incident_reported_to_three_agencies_counts_once():
    e = evaluate(
        [
            complaint(1, "2026-01-10", "2026-01-12", "police"),
            complaint(2, "2026-01-10", "2026-01-13", "cbc", same_as=1),
            complaint(3, "2026-01-10", "2026-01-14", "emh", same_as=2),
        ],
        D("2026-03-02"),
        LLR,
    )
    assert e.statutory_count == 1 and not e.met
    assert [v.id for v in e.excluded] == [2, 3]
    assert "the same incident as complaint 1" in e.excluded[0].reason
    assert e.possible_duplicates == []  # linked reports are not "possible" duplicates


def test_a_late_report_of_an_incident_also_reported_in_time_still_counts_the_incident():
    e = evaluate(
        [
            complaint(1, "2026-01-10", "2026-02-20", "police"),
            complaint(2, "2026-01-10", "2026-01-11", "cbc", same_as=1),
        ],
        D("2026-03-02"),
        LLR,
    )
    assert e.statutory_count == 1 and [v.id for v in e.counted] == [2]


def test_unlinked_reports_on_the_same_day_to_different_agencies_are_possible_duplicates():
    e = evaluate(
        [
            complaint(1, "2026-01-10", "2026-01-12", "police"),
            complaint(2, "2026-01-10", "2026-01-12", "cbc"),
            complaint(3, "2026-01-20", "2026-01-21", "police"),
        ],
        D("2026-03-02"),
        LLR,
    )
    assert e.possible_duplicates == [(1, 2)]
    assert e.statutory_count == 3  # flagged, not merged: the manager links them with --same-as
    assert "Complaints 1 and 2 were made to different agencies" in e.text()


def test_hate_incident_alone_meets_llr_threshold():
    e = evaluate([complaint(1, "2026-02-01", "2026-02-02", hate="race")], D("2026-03-02"), LLR)
    assert (e.met, e.route, e.statutory_met) == (True, "hate", False)


def test_hate_incident_reported_too_late_does_not_meet_the_hate_route():
    e = evaluate([complaint(1, "2026-01-01", "2026-02-02", hate="race")], D("2026-03-02"), LLR)
    assert not e.met and e.route is None


def test_hate_route_off_in_policy_means_a_hate_incident_is_one_complaint():
    e = evaluate([complaint(1, "2026-02-01", "2026-02-02", hate="race")], D("2026-03-02"), Rules())
    assert not e.met


def test_community_route_counts_distinct_people_with_the_victim_as_one():
    rules = Rules(community_route=True, community_individuals=3)
    reports = [
        complaint(1, "2026-02-01", "2026-02-02"),
        complaint(2, "2026-02-01", "2026-02-02", "cbc", same_as=1, complainant="Neighbour A"),
        complaint(3, "2026-02-01", "2026-02-03", "emh", same_as=1, complainant="neighbour a"),
    ]
    assert not evaluate(reports, D("2026-03-02"), rules).met  # the victim and one neighbour: two people
    reports.append(complaint(4, "2026-02-01", "2026-02-03", "emh", same_as=1, complainant="Shopkeeper B"))
    e = evaluate(reports, D("2026-03-02"), rules)
    assert (e.met, e.route, e.statutory_count) == (True, "community", 1)
    assert "3 different people" in e.routes["community"]


COMMUNITY = Rules(community_route=True, community_individuals=3)


def test_three_people_about_three_different_incidents_do_not_meet_the_community_route():
    # docs/procedure.md#llr-threshold: three people about the same incident, not about the case
    reports = [
        complaint(1, "2026-01-10", "2026-01-12"),
        complaint(2, "2026-01-20", "2026-01-21", "cbc", complainant="Neighbour A"),
        complaint(3, "2026-02-01", "2026-02-03", "emh", complainant="Shopkeeper B"),
    ]
    e = evaluate(reports, D("2026-03-02"), COMMUNITY)
    assert e.route == "statutory"  # three separate incidents still meet the Act's count
    assert e.community is not None and not e.community.met
    assert e.routes["community"] == (
        "No incident was complained about by 3 different people within six months: the most was one "
        "person, about the behaviour on 10 January 2026 (complaint 1). The local community route needs 3 "
        "about the same incident."
    )
    assert e.as_dict()["community"] == {
        "met": False,
        "needed": 3,
        "people": 1,
        "incident": 1,
        "occurred": "2026-01-10",
        "complaints": [1],
    }
    assert evaluate(reports[1:], D("2026-03-02"), COMMUNITY).route is None  # two people, two incidents


def test_community_route_names_the_incident_three_people_complained_about():
    reports = [
        complaint(1, "2026-01-10", "2026-01-12", complainant="Neighbour A"),  # another incident
        complaint(2, "2026-02-01", "2026-02-02"),
        complaint(3, "2026-02-01", "2026-02-02", "cbc", same_as=2, complainant="Neighbour A."),
        complaint(4, "2026-02-01", "2026-02-04", "emh", same_as=3, complainant="Shopkeeper B"),
    ]
    e = evaluate(reports, D("2026-03-02"), COMMUNITY)
    assert (e.met, e.route) == (True, "community")
    assert e.routes["community"] == (
        "3 different people complained about the same incident, the behaviour on 1 February 2026 "
        "(complaints 2, 3 and 4), within six months (at least 3 needed), which meets the local community "
        "route."
    )
    assert e.as_dict()["community"]["incident"] == 2 and e.community is not None and e.community.met


def test_names_differing_only_in_case_accents_or_punctuation_are_one_person():
    reports = [
        complaint(1, "2026-02-01", "2026-02-02", complainant="Zoë Hart"),
        complaint(2, "2026-02-01", "2026-02-02", "cbc", same_as=1, complainant="zoe  hart."),
        complaint(3, "2026-02-01", "2026-02-03", "emh", same_as=1),
    ]
    e = evaluate(reports, D("2026-03-02"), COMMUNITY)
    assert e.community is not None and e.community.most is not None
    assert (e.met, e.community.most.people) == (False, 2)


def _incidents(complaints: list[Complaint]) -> list[set[int]]:
    """The oracle's incidents: the complaints joined by their links, found by merging sets (not by
    following each link to its first report, as the engine does)."""
    groups: list[set[int]] = []
    for c in complaints:
        joined = [g for g in groups if c.id in g or (c.same_as is not None and c.same_as in g)]
        merged = {c.id, *([c.same_as] if c.same_as is not None else [])}.union(*joined)
        groups = [g for g in groups if g not in joined] + [merged]
    return groups


def _person(name: str | None) -> str:
    return "".join(ch for ch in (name or "the victim").casefold() if ch.isalnum())


linked_reports = st.lists(
    st.tuples(
        st.integers(0, 150),  # the behaviour, days after 1 October 2025
        st.integers(0, 40),  # reported this many days later (some too late to qualify)
        st.sampled_from([None, "Neighbour A", "neighbour a", "Shopkeeper B", "Carer C", "Dee D"]),
        st.integers(0, 12),  # links to the report this many places back (0: a new incident)
    ),
    max_size=12,
)


def _linked(raw) -> list[Complaint]:
    base = date(2025, 10, 1)
    out: list[Complaint] = []
    for i, (day, lag, who, back) in enumerate(raw):
        same_as = out[i - back].id if 0 < back <= i else None
        occurred = out[i - back].occurred if same_as else base + timedelta(days=day)
        out.append(Complaint(i + 1, occurred, occurred + timedelta(days=lag), "police", None, same_as, who))
    return out


@settings(max_examples=300, deadline=None)
@given(linked_reports, st.integers(1, 5))
def test_community_route_counts_different_people_per_incident_as_an_oracle_does(raw, needed):
    complaints = _linked(raw)
    application = D("2026-03-02")
    e = evaluate(complaints, application, Rules(community_route=True, community_individuals=needed))
    in_time = {c.id for c in complaints if qualifies(c, application) is None}
    by_id = {c.id: c for c in complaints}
    incidents = _incidents(complaints)
    people = [{_person(by_id[i].complainant) for i in group if i in in_time} for group in incidents]
    most = max((len(p) for p in people), default=0)
    assert e.community is not None
    assert (e.community.most.people if e.community.most else 0) == most
    assert (e.route == "community") == (most >= needed and not e.statutory_met)
    assert e.community.met == (most >= needed)
    if e.community.most is not None:  # the incident named is one the oracle finds with that many people
        named = next(g for g in incidents if e.community.most.incident in g)
        assert set(e.community.most.complaints) == named & in_time
        assert f"{most} different people" in e.routes["community"] or most == 1


@settings(max_examples=200, deadline=None)
@given(linked_reports, st.integers(2, 5))
def test_people_complaining_about_separate_incidents_never_add_up(raw, needed):
    # the same complainants, each report made its own incident: no incident has more than one person
    complaints = [dataclasses.replace(c, same_as=None) for c in _linked(raw)]
    e = evaluate(complaints, D("2026-03-02"), Rules(community_route=True, community_individuals=needed))
    assert e.community is not None and not e.community.met
    assert e.route != "community"


@settings(max_examples=200, deadline=None)
@given(linked_reports, st.sampled_from([None, "Neighbour A", "New Person"]), st.integers(1, 5))
def test_another_report_of_an_incident_never_lowers_the_count(raw, who, needed):
    complaints = _linked(raw)
    rules = Rules(community_route=True, community_individuals=needed)
    before = evaluate(complaints, D("2026-03-02"), rules)
    if not complaints:
        return
    first = complaints[0]
    again = Complaint(len(complaints) + 1, first.occurred, first.reported, "cbc", None, first.id, who)
    after = evaluate([*complaints, again], D("2026-03-02"), rules)
    assert before.community is not None and after.community is not None
    people = lambda e: e.community.most.people if e.community.most else 0  # noqa: E731
    assert people(before) <= people(after) <= people(before) + 1
    assert after.statutory_count == before.statutory_count  # a linked report is the same incident


# -- stricter local caveats (docs/procedure.md#stricter-local-caveats) ---------------------------------------


def test_caveat_never_overrides_a_statutory_met_and_is_labelled_stricter_than_the_act():
    rules = Rules(hate_route=True, stricter_caveats=("report_within_7_days", "latest_within_month"))
    e = evaluate(
        [
            complaint(1, "2025-10-01", "2025-10-20"),
            complaint(2, "2025-10-05", "2025-10-25"),
            complaint(3, "2025-10-10", "2025-10-30"),
        ],
        D("2026-03-02"),
        rules,
    )
    assert (e.met, e.route) == (True, "statutory")
    names = [c.name for c in e.caveats]
    assert names == ["report_within_7_days", "latest_within_month"]
    for caveat in e.as_dict()["stricter_caveats"]:
        assert caveat["label"] == "stricter than the Act"
        assert "not applied to the statutory count" in caveat["effect"]
    assert e.text().count("stricter than the Act") == 2
    assert all("stricter than the Act" in v.caveat for v in e.counted)


def test_seven_day_caveat_applies_to_the_local_hate_route():
    rules = Rules(hate_route=True, stricter_caveats=("report_within_7_days",))
    e = evaluate([complaint(1, "2026-02-01", "2026-02-12", hate="religion")], D("2026-03-02"), rules)
    assert not e.met
    assert "sets aside complaint 1 for the local routes" in e.caveats[0].effect
    assert "only to the local routes" in e.caveats[0].effect


def test_diary_sheets_caveat_applies_to_local_routes_but_not_the_statutory_count():
    rules = Rules(hate_route=True, stricter_caveats=("no_diary_sheets",))
    diary = [complaint(i, f"2026-02-0{i}", f"2026-02-0{i}", category="diary_sheet") for i in (1, 2, 3)]
    assert evaluate(diary, D("2026-03-02"), rules).route == "statutory"
    hate_diary = [complaint(1, "2026-02-01", "2026-02-02", hate="race", category="diary_sheet")]
    assert not evaluate(hate_diary, D("2026-03-02"), rules).met


def test_configured_caveat_is_labelled_even_when_it_changes_nothing():
    e = evaluate([], D("2026-03-02"), Rules(stricter_caveats=("no_diary_sheets",)))
    assert "Local rule, stricter than the Act: diary sheets do not count" in e.text()


reports = st.lists(
    st.tuples(
        st.integers(0, 200),
        st.integers(0, 45),
        st.sampled_from(["police", "cbc", "emh"]),
        st.sampled_from([None, None, None, "race"]),
        st.sampled_from([None, "diary_sheet"]),
    ),
    max_size=8,
)


@settings(max_examples=150, deadline=None)
@given(
    reports,
    st.integers(1, 3),
    st.lists(
        st.sampled_from(["latest_within_month", "no_diary_sheets", "report_within_7_days"]), unique=True
    ),
)
def test_caveats_never_change_the_statutory_count_or_a_statutory_met(raw, required, caveats):
    base = date(2025, 9, 1)
    complaints = [
        Complaint(
            i + 1, base + timedelta(days=o), base + timedelta(days=o + lag), agency, hate, None, None, cat
        )
        for i, (o, lag, agency, hate, cat) in enumerate(raw)
    ]
    application = date(2026, 3, 31)
    plain = evaluate(complaints, application, Rules(required, hate_route=True))
    strict = evaluate(
        complaints, application, Rules(required, hate_route=True, stricter_caveats=tuple(caveats))
    )
    assert strict.statutory_count == plain.statutory_count
    assert strict.statutory_count == sum(1 for c in complaints if qualifies(c, application) is None)
    if plain.statutory_met:
        assert strict.met and strict.route == "statutory"
    assert len(strict.counted) + len(strict.excluded) == len(complaints)
    assert not strict.met or plain.met  # a caveat can only take a local route away, never add one


# -- policy --------------------------------------------------------------------------------------------------


def _policy_text(**threshold) -> str:
    text = (PRESETS_DIR / "llr.toml").read_text()
    for key, value in threshold.items():
        lines = [ln for ln in text.splitlines() if ln.split("=")[0].strip() == key]
        text = text.replace(lines[0], f"{key} = {value}")
    return text


def test_policy_above_three_qualifying_complaints_is_refused_at_load():
    with pytest.raises(PolicyError, match=r"threshold.qualifying_complaints: 4 is above 3.*s.104\(4\)"):
        policies.parse(_policy_text(qualifying_complaints=4), "strict.toml")
    assert policies.parse(_policy_text(qualifying_complaints=2), "lenient.toml").qualifying_complaints == 2


def test_unknown_caveat_is_refused_at_load():
    with pytest.raises(PolicyError, match="stricter_caveats"):
        policies.parse(_policy_text(stricter_caveats='["case_closed"]'), "x.toml")


# -- through the command line --------------------------------------------------------------------------------


def _new_case(db, received="2026-03-02"):
    return db.json(
        "activate",
        "--applicant",
        "Cara Example",
        "--received",
        received,
        "--channel",
        "phone",
        "--statement",
        "Still happening",
    )["reference"]


def _add(db, ref, occurred, reported, agency="police", *extra):
    return db.json(
        "incident",
        "add",
        ref,
        "--occurred",
        occurred,
        "--reported",
        reported,
        "--agency",
        agency,
        "--on",
        "2026-03-03",
        *extra,
    )["id"]


def test_check_json_gives_met_route_counted_and_excluded_with_reasons(db):
    ref = _new_case(db)
    first = _add(db, ref, "2026-01-10", "2026-01-12")
    late = _add(db, ref, "2026-01-10", "2026-02-20", "cbc")
    dup = _add(db, ref, "2026-01-20", "2026-01-21", "emh")
    linked = _add(db, ref, "2026-01-20", "2026-01-22", "police", "--same-as", dup)
    result = db.json("check", ref)
    assert result["met"] is False and result["route"] is None
    assert [c["id"] for c in result["counted"]] == [first, dup]
    excluded = {c["id"]: c["reason"] for c in result["excluded"]}
    assert excluded[late].startswith("reported 41 days after the behaviour; the limit is one month")
    assert excluded[linked] == f"the same incident as complaint {dup}; counted once"
    details = {c["id"]: c.get("detail") for c in result["excluded"]}
    assert details[late] == "the month beginning with 10 January 2026 ended on 9 February 2026"
    assert (
        f"Complaint {late} was not counted: reported 41 days after the behaviour; the limit is one month "
        "(the month beginning with 10 January 2026 ended on 9 February 2026)."
    ) in result["text"]
    assert result["possible_duplicates"] == [[first, late]]


def test_check_text_reads_like_the_letter_paragraph(db, case):
    out = db("check", case).stdout
    assert out.startswith(f"{case}: threshold MET (statutory route)")
    assert "The application was made on 2 March 2026." in out
    assert "Of the 3 complaints recorded, 3 about separate incidents qualify (complaints 1, 2 and 3)" in out
    assert "The threshold is therefore met under section 104(4)" in out


def test_hate_incident_meets_the_threshold_through_the_cli_and_decide_records_the_route(db):
    ref = _new_case(db)
    _add(db, ref, "2026-02-10", "2026-02-10", "police", "--hate", "disability")
    assert db.json("check", ref)["route"] == "hate"
    db("decide", ref, "--met", "--on", "2026-03-05")
    assert db.json("show", ref)["threshold"]["route"] == "hate"


def test_not_met_decision_is_refused_while_three_complaints_qualify(db, case):
    result = db.fails("decide", case, "--not-met", "--on", "2026-03-05")
    assert "3 qualifying complaints meet the statutory threshold of 3" in result.stderr
    assert db.json("show", case)["state"] == "received"


def test_rejection_is_refused_while_the_statutory_count_is_met(db, case):
    result = db.fails("decide", case, "--reject", "vexatious", "--reason", "third this week")
    assert "cannot reject" in result.stderr


def test_discretionary_met_below_threshold_needs_a_reason(db):
    ref = _new_case(db)
    _add(db, ref, "2026-02-01", "2026-02-02")
    result = db.fails("decide", ref, "--met", "--on", "2026-03-05")
    assert "needs a reason" in result.stderr
    db("decide", ref, "--met", "--reason", "vulnerable victim, harm escalating", "--on", "2026-03-05")
    assert db.json("show", ref)["threshold"]["route"] == "discretionary"


def test_rejection_needs_a_reason_and_is_reported_as_not_met(db):
    ref = _new_case(db)
    _add(db, ref, "2026-02-01", "2026-02-02")
    assert "needs the category and a reason" in db.fails("decide", ref, "--reject", "malicious").stderr
    db(
        "decide",
        ref,
        "--reject",
        "malicious",
        "--reason",
        "made up to harass a neighbour",
        "--on",
        "2026-03-05",
    )
    shown = db.json("show", ref)
    assert shown["state"] == "threshold_not_met"
    assert shown["threshold"]["met"] is False and shown["threshold"]["rejection_category"] == "malicious"


def test_policy_with_caveats_labels_them_in_the_cli_explanation(trigger, tmp_path: Path):
    melton = tmp_path / "melton.toml"
    melton.write_text(_policy_text(name='"melton"', stricter_caveats='["latest_within_month"]'))
    trigger("init", "--policy", str(melton))
    ref = _new_case(trigger)
    for occurred in ("2025-10-01", "2025-10-10", "2025-10-20"):
        _add(trigger, ref, occurred, occurred)
    result = trigger.json("check", ref)
    assert result["route"] == "statutory"
    assert result["stricter_caveats"][0]["label"] == "stricter than the Act"
    text = trigger("check", ref).stdout
    assert "Local rule, stricter than the Act: the most recent complaint" in text
    assert "It was not applied to the statutory count" in text


def test_three_people_complaining_about_the_same_incident_meet_a_community_route(trigger, tmp_path: Path):
    area = tmp_path / "oadby.toml"
    area.write_text(_policy_text(name='"oadby"', community_route="true", hate_route="false"))
    trigger("init", "--policy", str(area))
    ref = _new_case(trigger)
    first = _add(trigger, ref, "2026-02-14", "2026-02-14")
    _add(
        trigger,
        ref,
        "2026-02-14",
        "2026-02-15",
        "cbc",
        "--same-as",
        first,
        "--complainant",
        "Next-door neighbour",
    )
    assert trigger.json("check", ref)["met"] is False
    _add(trigger, ref, "2026-02-14", "2026-02-16", "emh", "--same-as", first, "--complainant", "Shop owner")
    result = trigger.json("check", ref)
    assert (result["met"], result["route"], result["statutory_count"]) == (True, "community", 1)
    assert "3 different people complained" in trigger("check", ref).stdout


def test_check_names_the_incident_that_met_the_community_route_or_the_most_any_reached(
    trigger, tmp_path: Path
):
    area = tmp_path / "oadby.toml"
    area.write_text(_policy_text(name='"oadby"', community_route="true", hate_route="false"))
    trigger("init", "--policy", str(area))
    ref = _new_case(trigger)
    # three people, each about a different incident: the Act's count is met, the community route is not
    party = _add(trigger, ref, "2026-02-07", "2026-02-08")
    _add(trigger, ref, "2026-02-14", "2026-02-15", "cbc", "--complainant", "Next-door neighbour")
    _add(trigger, ref, "2026-02-21", "2026-02-23", "emh", "--complainant", "Shop owner")
    out = trigger("check", ref).stdout
    assert out.startswith(f"{ref}: threshold MET (statutory route)\n")
    assert (
        "No incident was complained about by 3 different people within six months: the most was one "
        "person, about the behaviour on 7 February 2026 (complaint 1). The local community route needs 3 "
        "about the same incident." in " ".join(out.split())
    )
    # those two were about another street; then two more people report the party of 7 February
    for wrong in ("2", "3"):
        trigger("incident", "void", wrong, "--reason", "about another street", "--on", "2026-03-03")
    _add(
        trigger,
        ref,
        "2026-02-07",
        "2026-02-09",
        "cbc",
        "--same-as",
        party,
        "--complainant",
        "Next-door neighbour",
    )
    _add(
        trigger, ref, "2026-02-07", "2026-02-10", "police", "--same-as", party, "--complainant", "Shop owner"
    )
    result = trigger.json("check", ref)
    assert (result["met"], result["route"]) == (True, "community")
    assert result["community"] == {
        "met": True,
        "needed": 3,
        "people": 3,
        "incident": party,
        "occurred": "2026-02-07",
        "complaints": [party, 4, 5],
    }
    assert (
        "3 different people complained about the same incident, the behaviour on 7 February 2026 "
        "(complaints 1, 4 and 5), within six months (at least 3 needed), which meets the local community "
        "route." in " ".join(trigger("check", ref).stdout.split())
    )


def test_a_hate_complaint_set_aside_by_a_caveat_is_said_so_never_hidden():
    rules = Rules(hate_route=True, stricter_caveats=("report_within_7_days",))
    e = evaluate([complaint(1, "2026-02-01", "2026-02-12", hate="religion")], D("2026-03-02"), rules)
    hate = e.routes["hate"]
    assert "No qualifying complaint is about a hate incident" not in hate and not e.met
    assert hate == (
        "Complaint 1 is a qualifying report of a hate incident (religion), but the local rule that each "
        "incident must be reported within 7 days (stricter than the Act) sets it aside, so the local hate "
        "incident route is not met."
    )
    assert hate in e.text()


def test_every_caveat_that_sets_a_hate_complaint_aside_is_named():
    diary = Rules(hate_route=True, stricter_caveats=("no_diary_sheets",))
    hate_diary = [complaint(1, "2026-02-01", "2026-02-02", hate="race", category="diary_sheet")]
    assert (
        "the local rule that diary sheets do not count as complaints"
        in (evaluate(hate_diary, D("2026-03-02"), diary).routes["hate"])
    )
    latest = Rules(hate_route=True, stricter_caveats=("latest_within_month",))
    old = [complaint(1, "2025-12-01", "2025-12-02", hate="disability")]
    said = evaluate(old, D("2026-03-02"), latest).routes["hate"]
    assert "Complaint 1 is a qualifying report of a hate incident (disability)" in said
    assert "the most recent complaint must have been made within the month before the application" in said


def test_no_hate_complaint_at_all_is_still_said_plainly():
    rules = Rules(hate_route=True, stricter_caveats=("report_within_7_days",))
    e = evaluate([complaint(1, "2026-02-01", "2026-02-12")], D("2026-03-02"), rules)
    assert e.routes["hate"].startswith("No qualifying complaint is about a hate incident")


def test_check_and_the_not_met_letter_quote_the_hate_complaint_set_aside(trigger, tmp_path):
    llr = (Path(__file__).resolve().parents[1] / "workflows" / "llr.toml").read_text()
    ours = tmp_path / "melton.toml"
    ours.write_text(
        llr.replace('name = "llr"', 'name = "melton"').replace(
            "stricter_caveats = []", 'stricter_caveats = ["report_within_7_days"]'
        )
    )
    trigger("init", "--policy", ours)
    ref = trigger.json(
        "activate",
        *("--applicant", "Ann Example", "--received", "2026-03-02", "--channel", "online"),
        *("--statement", "Nothing has changed"),
    )["reference"]
    trigger(
        "incident",
        "add",
        ref,
        *("--occurred", "2026-02-01", "--reported", "2026-02-12", "--agency", "police", "--hate", "religion"),
        *("--on", "2026-03-02"),
    )
    said = (
        "Complaint 1 is a qualifying report of a hate incident (religion), but the local rule that each "
        "incident must be reported within 7 days (stricter than the Act) sets it aside"
    )
    checked = trigger("check", ref).stdout
    assert "NOT MET" in checked and said in " ".join(checked.split())
    assert "No qualifying complaint is about a hate incident" not in checked
    trigger("decide", ref, "--not-met", "--on", "2026-03-05")
    letter = trigger("letter", ref, "threshold_not_met", "--format", "txt", "--on", "2026-03-05").stdout
    assert said in " ".join(letter.split())
    assert "No qualifying complaint is about a hate incident" not in letter
