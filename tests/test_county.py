"""One database for a county: several partnerships, each with its own policy, reference series,
agencies, manager, annual return and cases (docs/architecture.md#partnerships-people-and-roles).
Nobody is registered here (the database trusts whoever runs a command), so these run on SQLite and
on PostgreSQL alike; people and roles are tests/test_access.py and tests/test_pg_roles.py."""

from __future__ import annotations

import os

from sqlmodel import Session, create_engine, select

from tests.support.cases import county
from trigger.store.models import Incident, Partnership, Setting


def _activate(
    trigger, partnership: str | None, name: str = "Ann Example", received: str = "2026-03-02"
) -> str:
    args = [
        "activate",
        "--applicant",
        name,
        "--received",
        received,
        "--channel",
        "online",
        "--statement",
        "x",
    ]
    if partnership:
        args += ["--partnership", partnership]
    return trigger.json(*args)["reference"]


def _complaints(trigger, ref: str, agency: str = "police") -> None:
    for occurred, reported in (
        ("2026-01-10", "2026-01-12"),
        ("2026-01-20", "2026-01-21"),
        ("2026-02-03", "2026-02-04"),
    ):
        trigger(
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
        )


def test_init_makes_one_partnership_and_references_read_as_before(db):
    rows = db.json("partnership", "list")
    assert [(r["code"], r["reference_prefix"], r["policy"], r["manager_email"]) for r in rows] == [
        ("main", "CT", "llr", "csm@example.gov.uk")
    ]
    assert rows[0]["name"] == "Leicester, Leicestershire and Rutland" and rows[0]["agencies"] == 4
    assert _activate(db, None) == "CT-2026-0001"  # no --partnership needed with one


def test_the_partnership_settings_live_on_its_row_not_in_the_settings_table(db):
    db("init", "--manager-email", "new@example.gov.uk")
    with Session(create_engine(os.environ["TRIGGER_DB"])) as s:
        assert s.exec(select(Setting).where(Setting.key.in_(("policy", "manager_email")))).all() == []
        (row,) = s.exec(select(Partnership)).all()
    assert (row.policy, row.manager_email) == ("llr", "new@example.gov.uk")


def test_each_partnership_has_its_own_reference_series_never_handed_out_twice(trigger):
    county(trigger)
    refs = [_activate(trigger, p) for p in ("CHA", "CITY", "CHA", "GW", "CHA", "CITY")]
    assert refs == [
        "CT-CHA-2026-0001",
        "CT-2026-0001",
        "CT-CHA-2026-0002",
        "CT-GW-2026-0001",
        "CT-CHA-2026-0003",
        "CT-2026-0002",
    ]
    listed = {r["code"]: r["cases"] for r in trigger.json("partnership", "list")}
    assert listed == {"CHA": 3, "CITY": 2, "GW": 1}


def test_a_new_case_in_a_county_must_say_its_partnership(trigger):
    county(trigger)
    err = trigger.fails(
        "activate", "--applicant", "A", "--received", "2026-03-02", "--channel", "online", "--statement", "x"
    ).stderr
    assert (
        "Error: this database holds 3 partnerships (CHA, CITY, GW); say which with --partnership CODE" in err
    )
    assert (
        "no partnership 'NOPE'; known partnerships: CHA, CITY, GW"
        in trigger.fails("list", "--partnership", "NOPE").stderr
    )
    assert trigger.json("list") == []  # nothing was written


def test_partnership_add_refuses_a_taken_code_or_prefix_and_a_bad_policy(trigger):
    county(trigger)
    assert (
        "partnership 'CHA' already exists"
        in trigger.fails("partnership", "add", "cha", "--name", "X", "--policy", "llr").stderr
    )
    assert (
        "the reference prefix CT-CHA is already partnership CHA's"
        in trigger.fails(
            "partnership", "add", "CHX", "--name", "X", "--policy", "llr", "--reference-prefix", "ct-cha"
        ).stderr
    )
    assert (
        "is not a reference prefix"
        in trigger.fails(
            "partnership", "add", "X1", "--name", "X", "--policy", "llr", "--reference-prefix", "CT CHA"
        ).stderr
    )
    assert (
        "no policy called 'nosuch'"
        in trigger.fails("partnership", "add", "X2", "--name", "X", "--policy", "nosuch").stderr
    )
    assert (
        "is not a partnership code"
        in trigger.fails("partnership", "add", "a b", "--name", "X", "--policy", "llr").stderr
    )
    assert [r["code"] for r in trigger.json("partnership", "list")] == ["CHA", "CITY", "GW"]


def test_each_partnership_has_its_own_policy_and_agencies(trigger):
    county(trigger)
    gwent = _activate(trigger, "GW")
    assert trigger.json("show", gwent)["policy"].startswith("wales")
    assert trigger.json("show", _activate(trigger, "CHA"))["policy"].startswith("llr")
    trigger(
        "agency", "add", "asb", "--name", "Charnwood ASB team", "--kind", "council", "--partnership", "CHA"
    )
    assert "asb" in {a["code"] for a in trigger.json("agency", "list", "--partnership", "CHA")}
    assert "asb" not in {a["code"] for a in trigger.json("agency", "list", "--partnership", "CITY")}
    # the same code in two partnerships is two agencies; a case uses its own partnership's
    trigger("agency", "add", "asb", "--name", "City ASB team", "--kind", "council", "--partnership", "CITY")
    city = _activate(trigger, "CITY")
    trigger(
        "incident", "add", city, "--occurred", "2026-01-10", "--reported", "2026-01-12", "--agency", "asb"
    )
    assert (
        "no agency with code 'asb'"
        in trigger.fails(
            "incident",
            "add",
            gwent,
            "--occurred",
            "2026-01-10",
            "--reported",
            "2026-01-12",
            "--agency",
            "asb",
        ).stderr
    )


def test_a_partnerships_cases_are_not_in_another_partnerships_list_or_reports(trigger):
    county(trigger)
    cha, city = _activate(trigger, "CHA"), _activate(trigger, "CITY")
    _complaints(trigger, cha)
    trigger("decide", cha, "--met", "--on", "2026-03-05")
    assert [r["reference"] for r in trigger.json("list", "--partnership", "CHA")] == [cha]
    assert [r["reference"] for r in trigger.json("list", "--partnership", "CITY")] == [city]
    assert {r["reference"] for r in trigger.json("list")} == {cha, city}  # nobody registered: all
    cha_year = trigger.json("report", "annual", "--year", "2025", "--partnership", "CHA")
    city_year = trigger.json("report", "annual", "--year", "2025", "--partnership", "CITY")
    county_year = trigger.json("report", "annual", "--year", "2025")
    assert (cha_year["applications"], city_year["applications"], county_year["applications"]) == (1, 1, 2)
    assert (cha_year["threshold_met"], city_year["threshold_met"]) == (1, 0)
    assert trigger.json("report", "deadlines", "--partnership", "CITY")  # only the city's deadlines
    kinds = {r["kind"] for r in trigger.json("report", "deadlines", "--partnership", "CITY")}
    assert "threshold_decision" in kinds
    csv_text = trigger("report", "annual", "--year", "2025", "--csv", "--partnership", "CHA").stdout
    assert "Charnwood" in csv_text and "Leicester City" not in csv_text
    assert "All partnerships" in trigger("report", "annual", "--year", "2025", "--csv").stdout


def test_imports_carry_their_partnership_and_each_scan_reads_its_own_log(trigger, tmp_path):
    county(trigger)
    log = tmp_path / "log.csv"
    log.write_text(
        "victim_id,occurred,reported,agency,agency_ref,hate,category,location,description\n"
        "V1,2026-01-10,2026-01-12,police,A1,,,,\n"
        "V1,2026-01-20,2026-01-21,police,A2,,,,\n"
        "V1,2026-02-03,2026-02-04,police,A3,,,,\n",
        encoding="utf-8",
    )
    assert "say which with --partnership CODE" in trigger.fails("incidents", "import", log).stderr
    trigger("incidents", "import", log, "--partnership", "CHA")
    with Session(create_engine(os.environ["TRIGGER_DB"])) as s:
        cha_id = s.exec(select(Partnership.id).where(Partnership.code == "CHA")).one()
        assert {i.partnership_id for i in s.exec(select(Incident))} == {cha_id}
    cha_scan = trigger.json("scan", "--as-of", "2026-03-01", "--partnership", "CHA")
    city_scan = trigger.json("scan", "--as-of", "2026-03-01", "--partnership", "CITY")
    assert [r["victim_id"] for r in cha_scan["meets_threshold"]] == ["V1"]
    assert city_scan["meets_threshold"] == [] and city_scan["second_report"] == []
    # the same victim id in another partnership's log is another person, in another log
    trigger("incidents", "import", log, "--partnership", "CITY")
    assert [
        r["victim_id"]
        for r in trigger.json("scan", "--as-of", "2026-03-01", "--partnership", "CITY")["meets_threshold"]
    ] == ["V1"]
    trigger("signpost", "V1", "--how", "letter", "--on", "2026-03-02", "--partnership", "CITY")
    told = trigger.json("scan", "--as-of", "2026-03-03", "--partnership", "CITY")["meets_threshold"][0]
    assert told["told_on"] == "2026-03-02"
    assert (
        trigger.json("scan", "--as-of", "2026-03-03", "--partnership", "CHA")["meets_threshold"][0]["told_on"]
        is None
    )


def test_escalations_go_to_the_manager_of_the_cases_partnership(trigger, tmp_path, monkeypatch):
    county(trigger)
    outbox = tmp_path / "outbox"
    monkeypatch.setenv("TRIGGER_OUTBOX", str(outbox))
    cha, city = _activate(trigger, "CHA"), _activate(trigger, "CITY")
    trigger("reminders", "run", "--now", "2026-04-30T09:00")
    to = {}
    for eml in outbox.glob("*.eml"):
        text = eml.read_text(encoding="utf-8")
        for ref in (cha, city):
            if f"{ref} " in text or f"{ref}:" in text:
                to.setdefault(ref, set()).update(
                    line[4:].strip() for line in text.splitlines() if line.startswith("To: ")
                )
    assert "cha@example.gov.uk" in to[cha] and "city@example.gov.uk" not in to[cha]
    assert "city@example.gov.uk" in to[city] and "cha@example.gov.uk" not in to[city]


def test_rerunning_init_changes_the_named_partnership_only(trigger):
    county(trigger)
    _activate(trigger, "CHA")
    trigger("init", "--partnership", "GW", "--manager-email", "gwent@example.gov.uk")
    rows = {r["code"]: r for r in trigger.json("partnership", "list")}
    assert rows["GW"]["manager_email"] == "gwent@example.gov.uk"
    assert rows["CITY"]["manager_email"] == "city@example.gov.uk"
    err = trigger.fails("init", "--partnership", "CHA", "--policy", "wales").stderr
    assert "holds 1 case; init would change the policy from llr to wales" in err
    assert "this database has no partnership 'XX'" in trigger.fails("init", "--partnership", "XX").stderr
