"""The 2025 guidance duties recorded as facts (docs/procedure.md#2025-revision): the named SPoC of each
case, the victim's chosen involvement, consultation on the draft action plan, and signposting."""

from __future__ import annotations

from tests.support.sql import raw_sql


def _met_case(db) -> str:
    ref = db.json(
        "activate",
        *("--applicant", "Ann Example", "--received", "2025-03-03", "--channel", "online"),
        *("--statement", "Nothing has changed"),
    )["reference"]
    for occurred, reported in (
        ("2025-01-10", "2025-01-12"),
        ("2025-01-20", "2025-01-21"),
        ("2025-02-03", "2025-02-04"),
    ):
        db(
            "incident",
            "add",
            ref,
            *("--occurred", occurred, "--reported", reported, "--agency", "police", "--on", "2025-03-03"),
        )
    db("decide", ref, "--met", "--on", "2025-03-10")
    return ref


def _to_meeting(db, ref):
    db("meeting", ref, "--at", "2025-03-20T10:00", "--held")
    db("finding", ref, "--category", "silo_working", "--on", "2025-03-20")
    db("recommend", ref, "--to", "police", "--text", "Share reports", "--on", "2025-03-20")


def test_the_named_spoc_is_set_at_assign_shown_and_signs_the_letters(db):
    ref = _met_case(db)
    db(
        "assign",
        ref,
        *(
            "--lead",
            "cbc",
            "--reviewer",
            "Sam Reviewer",
            "--spoc",
            "Jo Smith",
            "--spoc-email",
            "jo@cbc.example",
        ),
        *("--on", "2025-03-11"),
    )
    shown = db.json("show", ref)
    assert shown["spoc"] == {"name": "Jo Smith", "email": "jo@cbc.example"}
    assert "SPoC: Jo Smith <jo@cbc.example>" in db("show", ref).stdout
    letter = db("letter", ref, "threshold_met", "--format", "txt", "--on", "2025-03-11").stdout
    assert "Your contact: Jo Smith, jo@cbc.example" in letter
    assert "Yours sincerely,\n\nJo Smith\nSingle point of contact\n" in letter  # the named SPoC signs
    db("case", "update", ref, "--spoc", "Kim Lee", "--spoc-email", "kim@cbc.example", "--reason", "Jo left")
    assert db.json("show", ref)["spoc"] == {"name": "Kim Lee", "email": "kim@cbc.example"}
    assert [c["field"] for c in db.json("show", ref)["letters"][0]["corrected_since"]] == [
        "case.spoc",
        "case.spoc_email",
    ]


def test_the_spoc_and_a_replaced_spoc_may_not_decide_the_appeal(db):
    ref = _met_case(db)
    db(
        "assign",
        ref,
        "--lead",
        "cbc",
        "--reviewer",
        "Sam Reviewer",
        "--spoc",
        "Jo Smith",
        "--on",
        "2025-03-11",
    )
    db("assign", ref, "--spoc", "Kim Lee", "--reason", "Jo moved team", "--on", "2025-03-12")
    _to_meeting(db, ref)
    db("outcome", ref, "--victim-consulted", "--on", "2025-03-24")
    db("appeal", ref, "--received", "2025-03-28", "--grounds", "process", "--on", "2025-03-28")
    for name in ("Kim Lee", "Jo Smith"):
        refused = db.fails(
            "appeal-decision", ref, "--upheld", "--by", name, "--reason", "x", "--on", "2025-04-02"
        )
        assert f"{name} is recorded as involved in this case" in refused.stderr


def test_the_victims_chosen_involvement_is_recorded_when_asked_and_changeable(db):
    ref = _met_case(db)
    db("assign", ref, "--lead", "cbc", "--reviewer", "Sam Reviewer", "--on", "2025-03-11")
    db("case", "update", ref, "--involvement", "attend", "--reason", "asked by phone", "--on", "2025-03-12")
    shown = db.json("show", ref)["victim_involvement"]
    assert shown == {"choice": "attend", "recorded": "2025-03-12", "by": shown["by"]} and shown["by"]
    db(
        "case",
        "update",
        ref,
        "--involvement",
        "virtual",
        "--reason",
        "prefers video now",
        "--on",
        "2025-03-14",
    )
    shown = db.json("show", ref)
    assert shown["victim_involvement"]["choice"] == "virtual"
    assert shown["victim_involvement"]["recorded"] == "2025-03-14"
    fixes = [(c["field"], c["old"], c["new"], c["reason"]) for c in shown["corrections"]]
    assert fixes == [
        ("involvement", None, "attend", "asked by phone"),
        ("involvement", "attend", "virtual", "prefers video now"),
    ]
    assert "Victim's involvement: virtual (recorded 2025-03-14)" in db("show", ref).stdout
    db("meeting", ref, "--at", "2025-03-20T10:00", "--victim-involvement", "representative")
    assert db.json("show", ref)["victim_involvement"]["choice"] == "representative"


def test_an_outcome_whose_plan_was_not_put_to_the_victim_warns_and_the_report_counts_it(db):
    ref = _met_case(db)
    db("assign", ref, "--lead", "cbc", "--reviewer", "Sam Reviewer", "--on", "2025-03-11")
    _to_meeting(db, ref)
    warned = db("outcome", ref, "--on", "2025-03-24")
    assert "Warning: the draft action plan was not put to the victim (2025 guidance)" in warned.stderr
    assert f"trigger consult {ref} --on DATE --response TEXT" in warned.stderr
    year = db.json("report", "annual", "--year", "2024")
    assert year["reviews_carried_out"] == 1 and year["reviews_plan_not_put_to_victim"] == 1
    rows = db("report", "annual", "--year", "2024").stdout
    assert "Reviews whose draft action plan was not put to the victim" in rows


def test_a_consultation_recorded_before_the_outcome_is_the_fact_the_outcome_rests_on(db):
    ref = _met_case(db)
    db("assign", ref, "--lead", "cbc", "--reviewer", "Sam Reviewer", "--on", "2025-03-11")
    _to_meeting(db, ref)
    blank = db.fails("consult", ref, "--on", "2025-03-21", "--response", "  ")
    assert "--response needs words" in blank.stderr
    db("consult", ref, "--on", "2025-03-21", "--response", "Wants the visit sooner")
    quiet = db("outcome", ref, "--on", "2025-03-24")
    assert "Warning" not in quiet.stderr
    shown = db.json("show", ref)
    assert shown["consultations"] == [
        {"on": "2025-03-21", "response": "Wants the visit sooner", "by": "tester"}
    ]
    event = next(e for e in shown["events"] if e["event"] == "issue_outcome")
    assert event["detail"]["victim_consulted"] is True and event["detail"]["consultation"]
    assert db.json("report", "annual", "--year", "2024")["reviews_plan_not_put_to_victim"] == 0
    assert "Wants the visit" not in " ".join(str(r[0]) for r in raw_sql("SELECT detail FROM audit_event"))
    chronology = [i["summary"] for i in db.json("export", ref)["chronology"]]
    assert any("draft action plan put to the victim" in s for s in chronology)


def test_a_consultation_is_refused_before_the_threshold_is_met(db):
    ref = db.json(
        "activate",
        *("--applicant", "Ann Example", "--received", "2025-03-03", "--channel", "online"),
        *("--statement", "Nothing has changed"),
    )["reference"]
    refused = db.fails("consult", ref, "--on", "2025-03-04", "--response", "fine")
    assert "the action plan is drafted once the threshold is met" in refused.stderr


def test_scan_marks_the_victims_already_told_and_when(db, tmp_path):
    log = tmp_path / "log.csv"
    log.write_text(
        "victim_id,occurred,reported,agency,agency_ref,hate,category,location,description\n"
        "V1,2026-01-10,2026-01-12,police,CAD-1,,,,\n"
        "V1,2026-02-10,2026-02-11,police,CAD-2,,,,\n"
        "V2,2026-01-15,2026-01-16,police,CAD-3,,,,\n"
        "V2,2026-02-15,2026-02-16,police,CAD-4,,,,\n"
    )
    db("incidents", "import", log)
    unknown = db.fails("signpost", "V9", "--on", "2026-02-20", "--how", "letter")
    assert "no complaints are recorded for victim 'V9'" in unknown.stderr
    assert "--how needs words" in db.fails("signpost", "V1", "--on", "2026-02-20", "--how", " ").stderr
    db("signpost", "V1", "--on", "2026-02-20", "--how", "letter with the Case Review leaflet")
    found = {r["victim_id"]: r for r in db.json("scan", "--as-of", "2026-03-20")["second_report"]}
    assert (found["V1"]["told"], found["V1"]["told_on"]) == (True, "2026-02-20")
    assert (found["V2"]["told"], found["V2"]["told_on"]) == (False, None)
    text_ = db("scan", "--as-of", "2026-03-20").stdout
    assert "1 already told" in text_
    # told before the reports of this window: not yet told about these
    assert db.json("scan", "--as-of", "2026-02-19")["second_report"][0]["told_on"] is None
    assert "leaflet" not in " ".join(str(r[0]) for r in raw_sql("SELECT detail FROM audit_event"))
