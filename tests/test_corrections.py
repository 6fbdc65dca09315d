"""Corrections, never erasure (docs/architecture.md#corrections): each one audited with the old value,
the new value and its reason; shown in `show`, `export` and the bundle; the audit chain intact; and
nothing changes state by itself."""

from __future__ import annotations

import io
import json
import os
import zipfile
from datetime import date

from sqlmodel import Session, create_engine, select

from tests.support.sql import raw_sql
from trigger.store.models import Deadline, Reminder, ReviewCase


def _audit_text() -> str:
    return " ".join(str(v) for row in raw_sql("SELECT detail FROM audit_event") for v in row)


def _events() -> int:
    return raw_sql("SELECT count(*) FROM audit_event")[0][0]


def _met_case(db) -> str:
    """Received 1 May 2025 with three qualifying complaints to the police; decided met on 6 May 2025."""
    ref = db.json(
        "activate",
        *("--applicant", "Ann Example", "--received", "2025-05-01", "--channel", "online"),
        *("--statement", "Nothing has changed", "--address", "12 Ashby Road, Loughborough"),
        *("--postcode", "LE11 3AA"),
    )["reference"]
    for occurred, reported in (
        ("2025-03-10", "2025-03-12"),
        ("2025-03-20", "2025-03-21"),
        ("2025-04-03", "2025-04-04"),
    ):
        db(
            "incident",
            "add",
            ref,
            *("--occurred", occurred, "--reported", reported, "--agency", "police", "--on", "2025-05-01"),
        )
    db("decide", ref, "--met", "--on", "2025-05-06")
    return ref


# -- the case's own facts ---------------------------------------------------------------------------------


def test_a_case_correction_keeps_old_and_new_value_reason_who_and_when(db):
    ref = _met_case(db)
    db(
        "case",
        "update",
        ref,
        *("--address", "11 Ashby Road, Loughborough", "--phone", "07700 900123"),
        *("--reason", "typo in the house number", "--on", "2025-05-07"),
    )
    shown = db.json("show", ref)
    fixes = {c["field"]: c for c in shown["corrections"]}
    assert fixes["address"] == {
        "subject": "case",
        "id": fixes["address"]["id"],
        "field": "address",
        "old": "12 Ashby Road, Loughborough",
        "new": "11 Ashby Road, Loughborough",
        "reason": "typo in the house number",
        "on": "2025-05-07",
        "by": "tester",
    }
    assert (fixes["phone"]["old"], fixes["phone"]["new"]) == (None, "07700 900123")
    text_ = db("show", ref).stdout
    assert (
        "2025-05-07  case address: '12 Ashby Road, Loughborough' -> '11 Ashby Road, Loughborough'  "
        "by tester  (typo in the house number)"
    ) in text_
    event = next(e for e in shown["events"] if e["event"] == "case_update")
    assert event["reason"] == "typo in the house number" and event["detail"]["fields"] == ["address", "phone"]
    # personal values stay with the case, never in the audit log
    audit = _audit_text()
    assert "Ashby Road" not in audit and "07700" not in audit
    assert "Audit chain intact" in db("audit", "verify").stdout


def test_a_case_correction_needs_a_reason_and_a_change(db):
    ref = _met_case(db)
    before = _events()
    missing = db.fails("case", "update", ref, "--postcode", "LE11 3AB")
    assert "Missing option '--reason'" in missing.stderr and missing.stderr.count("\n") == 1
    blank = db.fails("case", "update", ref, "--postcode", "LE11 3AB", "--reason", "   ")
    assert "a correction needs the reason it is made" in blank.stderr
    same = db.fails("case", "update", ref, "--postcode", "LE11 3AA", "--reason", "check")
    assert "nothing to correct" in same.stderr
    nothing = db.fails("case", "update", ref, "--reason", "check")
    assert "say what to correct" in nothing.stderr
    cleared = db.fails("case", "update", ref, "--applicant", "", "--reason", "oops")
    assert "--applicant cannot be cleared" in cleared.stderr
    third = db.fails("case", "update", ref, "--victim", "Cat Example", "--reason", "applied for her mother")
    assert "needs the victim's consent date: give --consent-date too" in third.stderr
    late = db.fails("case", "update", ref, "--received", "2025-05-03", "--reason", "wrong day")
    assert "after the case's first recorded event (2025-05-01)" in late.stderr
    assert _events() == before
    db("case", "update", ref, "--postcode", "", "--reason", "not the victim's postcode")
    assert db.json("show", ref)["postcode"] is None
    db(
        "case",
        "update",
        ref,
        *("--victim", "Cat Example", "--consent-date", "2025-04-28", "--reason", "applied for her mother"),
    )
    shown = db.json("show", ref)
    assert (shown["third_party"], shown["consent_date"]) == (True, "2025-04-28")


def test_correcting_the_received_date_moves_the_deadlines_it_runs_from(db):
    ref = _met_case(db)
    db("case", "update", ref, "--received", "2025-04-28", "--reason", "date stamp misread")
    shown = db.json("show", ref)
    assert shown["received"] == "2025-04-28"
    acknowledge = next(d for d in shown["deadlines"] if d["kind"] == "acknowledge")
    assert acknowledge["anchor"] == "received 2025-04-28" and acknowledge["due"] == "2025-04-29"


def test_a_letter_issued_before_a_correction_is_marked_and_kept_as_sent(db, tmp_path):
    ref = _met_case(db)
    sent = db("letter", ref, "threshold_met", "--format", "txt", "--on", "2025-05-06").stdout
    assert "12 Ashby Road" in sent
    db("case", "update", ref, "--address", "11 Ashby Road, Loughborough", "--reason", "typo")
    db("case", "update", ref, "--phone", "07700 900123", "--reason", "new phone")  # not in any letter
    later = db("letter", ref, "acknowledgement", "--format", "txt", "--on", "2025-05-08").stdout
    assert "11 Ashby Road" in later
    letters = db.json("show", ref)["letters"]
    assert [c["field"] for c in letters[0]["corrected_since"]] == ["case.address"]
    assert letters[1]["corrected_since"] == []
    assert "1. threshold_met 2025-05-06 (txt, sha256 " in db("show", ref).stdout
    assert "facts since corrected: the applicant's address" in db("show", ref).stdout
    # the register still gives back exactly what was sent
    db("letter", ref, "--issued", "1", "-o", tmp_path / "sent.txt")
    assert (tmp_path / "sent.txt").read_text() == sent


# -- complaints -----------------------------------------------------------------------------------------


def test_a_complaint_correction_feeds_the_check_and_flags_the_decided_case(db):
    ref = _met_case(db)
    before = db.json("show", ref)
    assert before["threshold"]["since_corrected"] is None
    # complaint 3 was in fact reported 40 days after the behaviour: it no longer qualifies
    db(
        "incident",
        "update",
        "3",
        "--reported",
        "2025-04-20",
        "--occurred",
        "2025-03-11",
        "--reason",
        "CAD date",
    )
    checked = db("check", ref).stdout
    assert "threshold NOT MET" in checked
    assert "Note: the decision of 6 May 2025 was made on complaints since corrected" in checked
    assert db.json("check", ref)["since_corrected"].startswith(
        "the decision of 6 May 2025 was made on complaints since corrected"
    )
    shown = db.json("show", ref)
    assert shown["state"] == "threshold_met" and shown["threshold"]["met"] is True  # nothing moved
    assert (
        "the decision of 6 May 2025 was made on complaints since corrected"
        in shown["threshold"]["since_corrected"]
    )
    assert "Note: the decision of 6 May 2025 was made on complaints since corrected" in db("show", ref).stdout
    fixes = {c["field"]: (c["old"], c["new"]) for c in shown["corrections"]}
    assert fixes == {"occurred": ("2025-04-03", "2025-03-11"), "reported": ("2025-04-04", "2025-04-20")}
    event = next(e for e in shown["events"] if e["event"] == "incident_update")
    assert event["detail"]["incident"] == 3 and event["reason"] == "CAD date"


def test_a_corrected_complaint_marks_only_the_letters_that_showed_it_and_says_so_in_words(db):
    ref = db.json(
        "activate",
        *("--applicant", "Ann Example", "--received", "2025-05-01", "--channel", "online"),
        *("--statement", "Nothing has changed", "--address", "12 Ashby Road", "--postcode", "LE11 3AA"),
    )["reference"]
    db("letter", ref, "acknowledgement", "--format", "txt", "--on", "2025-05-01")  # before any complaint
    for occurred, reported in (
        ("2025-03-10", "2025-03-12"),
        ("2025-03-20", "2025-03-21"),
        ("2025-04-03", "2025-04-04"),
    ):
        db("incident", "add", ref, *("--occurred", occurred, "--reported", reported, "--agency", "police"))
    db("decide", ref, "--met", "--on", "2025-05-06")
    db("letter", ref, "threshold_met", "--format", "txt", "--on", "2025-05-06")
    db("incident", "update", "3", "--reported", "2025-04-20", "--reason", "CAD date")
    acknowledgement, met = db.json("show", ref)["letters"]
    assert acknowledgement["corrected_since"] == []
    assert [c["fact"] for c in met["corrected_since"]] == ["the date complaint 3 was reported"]
    shown = db("show", ref).stdout
    assert "threshold_met 2025-05-06 (txt, sha256 " in shown
    assert "facts since corrected: the date complaint 3 was reported" in shown
    assert "incident.reported" not in shown and shown.count("facts since corrected") == 1


def test_a_correction_that_changes_nothing_the_check_says_raises_no_flag(db):
    ref = _met_case(db)
    db("incident", "update", "2", "--agency-ref", "CAD-123", "--reason", "reference added")
    assert db.json("show", ref)["threshold"]["since_corrected"] is None
    assert "Note:" not in db("check", ref).stdout


def test_complaint_corrections_are_checked_like_new_complaints(db):
    ref = _met_case(db)
    before = _events()
    for args, says in (
        (("--reported", "2025-03-01"), "before the behaviour"),
        (("--same-as", "99"), "no other complaint 99 on the same case"),
        (("--same-as", "lots"), "is not a complaint id"),
        (("--hate", "football"), "Invalid value for '--hate'"),
        (("--agency", "nobody"), "no agency with code 'nobody'"),
        (("--reported", "2099-01-01"), "in the future"),
    ):
        result = db.fails("incident", "update", "1", *args, "--reason", "fix")
        assert says in result.stderr and result.stderr.count("\n") == 1, (args, result.stderr)
    assert _events() == before
    missing = db.fails("incident", "update", "42", "--reported", "2025-03-13", "--reason", "fix")
    assert "no complaint 42" in missing.stderr
    db("incident", "update", "2", "--same-as", "1", "--reason", "the same incident reported twice")
    loop = db.fails("incident", "update", "1", "--same-as", "2", "--reason", "fix")
    assert "would link complaint 1 to itself" in loop.stderr
    db("incident", "update", "2", "--same-as", "none", "--hate", "race", "--reason", "separate after all")
    db("incident", "update", "2", "--hate", "none", "--reason", "not a hate incident")
    incident = next(i for i in db.json("show", ref)["incidents"] if i["id"] == 2)
    assert (incident["same_as"], incident["hate"]) == (None, None)


def test_a_voided_complaint_is_kept_shown_with_its_reason_and_counted_nowhere(db):
    ref = _met_case(db)
    db("incident", "void", "2", "--reason", "recorded on the wrong case", "--on", "2025-05-08")
    checked = db.json("check", ref)
    assert checked["statutory_count"] == 2 and not checked["met"]
    assert checked["void"] == [{"id": 2, "reason": "voided on 2025-05-08: recorded on the wrong case"}]
    assert 2 not in [v["id"] for v in checked["counted"] + checked["excluded"]]
    assert "Complaint 2 is void and not counted: voided on 2025-05-08: recorded on the wrong case." in (
        db("check", ref).stdout
    )
    assert "the decision of 6 May 2025 was made on complaints since corrected" in checked["since_corrected"]
    shown = db.json("show", ref)
    incident = next(i for i in shown["incidents"] if i["id"] == 2)
    assert incident["void"] and incident["void_reason"] == "recorded on the wrong case"
    assert "complaint 2 void since 2025-05-08: recorded on the wrong case" in db("show", ref).stdout
    again = db.fails("incident", "void", "2", "--reason", "twice")
    assert "complaint 2 is void (recorded on the wrong case)" in again.stderr
    fix = db.fails("incident", "update", "2", "--reported", "2025-03-22", "--reason", "x")
    assert "cannot be corrected" in fix.stderr


def test_a_voided_imported_complaint_leaves_the_scan(db, tmp_path):
    log = tmp_path / "log.csv"
    log.write_text(
        "victim_id,occurred,reported,agency,agency_ref,hate,category,location,description\n"
        "V1,2026-01-10,2026-01-12,police,CAD-1,,,,\n"
        "V1,2026-02-10,2026-02-11,police,CAD-2,,,,\n"
    )
    db("incidents", "import", log)
    assert [r["victim_id"] for r in db.json("scan", "--as-of", "2026-03-20")["second_report"]] == ["V1"]
    (row,) = raw_sql("SELECT id FROM incident WHERE agency_ref = 'CAD-2'")
    db("incident", "void", str(row[0]), "--reason", "duplicate of CAD-1 keyed twice", "--on", "2026-03-01")
    assert db.json("scan", "--as-of", "2026-03-20")["second_report"] == []
    assert "duplicate" not in _audit_text()


# -- hours ----------------------------------------------------------------------------------------------


def test_a_voided_hours_entry_is_kept_and_left_out_of_every_total(db):
    ref = _met_case(db)
    db("assign", ref, "--lead", "cbc", "--reviewer", "Sam Reviewer", "--on", "2025-05-07")
    logged = db(
        "hours", ref, "--agency", "cbc", "--person", "Sam Reviewer", "--hours", "3", "--date", "2025-05-08"
    )
    assert "as entry 1" in logged.stdout
    db("hours", ref, "--agency", "cbc", "--person", "Sam Reviewer", "--hours", "3", "--date", "2025-05-08")
    db("hours", "void", ref, "2", "--reason", "logged twice", "--on", "2025-05-09")
    shown = db.json("show", ref)
    assert shown["hours_total"] == 3
    assert [(h["entry"], h["void"], h["void_reason"]) for h in shown["hours"]] == [
        (1, False, None),
        (2, True, "logged twice"),
    ]
    assert db.json("report", "hours")["total_hours"] == 3
    assert "2. 2025-05-08 Sam Reviewer (cbc) 3 VOID: logged twice" in db("show", ref).stdout
    assert "already void" in db.fails("hours", "void", ref, "2", "--reason", "again").stderr
    assert "has no hours entry 7" in db.fails("hours", "void", ref, "7", "--reason", "x").stderr


# -- agencies --------------------------------------------------------------------------------------------


def _reminders(ref: str) -> set[tuple[str, str]]:
    engine = create_engine(os.environ["TRIGGER_DB"])
    with Session(engine) as s:
        case = s.exec(select(ReviewCase).where(ReviewCase.reference == ref)).one()
        rows = s.exec(
            select(Reminder).join(Deadline).where(Deadline.case_id == case.id, Reminder.status == "pending")
        ).all()
        return {(r.kind, r.recipient) for r in rows}


def test_an_agency_update_is_audited_and_its_reminders_follow_the_new_address(db):
    db(
        "agency",
        "add",
        "hbbc",
        "--name",
        "Hinckley and Bosworth BC",
        "--kind",
        "council",
        "--email",
        "old@hbbc.example",
    )
    ref = _met_case(db)
    db("assign", ref, "--lead", "hbbc", "--reviewer", "Sam Reviewer", "--on", "2025-05-07")
    assert ("warning", "old@hbbc.example") in _reminders(ref)
    db("agency", "update", "hbbc", "--email", "asb@hbbc.example", "--reason", "team mailbox changed")
    pending = _reminders(ref)
    assert ("warning", "asb@hbbc.example") in pending and ("warning", "old@hbbc.example") not in pending
    listed = {a["code"]: a for a in db.json("agency", "list")}
    assert listed["hbbc"]["email"] == "asb@hbbc.example"
    fixes = [c for c in db.json("show", ref)["corrections"] if c["subject"] == "agency"]
    assert [(c["field"], c["old"], c["new"]) for c in fixes] == [
        ("email", "old@hbbc.example", "asb@hbbc.example")
    ]
    event = raw_sql("SELECT event, detail FROM audit_event ORDER BY seq DESC")[0]
    assert event[0] == "agency_update" and json.loads(event[1])["fields"] == ["email"]
    same = db.fails("agency", "update", "hbbc", "--email", "asb@hbbc.example")
    assert "nothing to change" in same.stderr
    assert "no agency with code 'nope'" in db.fails("agency", "update", "nope", "--name", "X").stderr


# -- reassignment ----------------------------------------------------------------------------------------


def test_a_reassigned_reviewer_stays_involved_and_stops_getting_reminders(db):
    ref = _met_case(db)
    db(
        "assign",
        ref,
        *("--lead", "cbc", "--reviewer", "Sam Reviewer", "--reviewer-email", "sam@cbc.example"),
        *("--on", "2025-05-07"),
    )
    before = _events()
    refused = db.fails("assign", ref, "--reviewer", "Ali Khan")
    assert "to reassign it give --reason" in refused.stderr and _events() == before
    db("assign", ref, "--reviewer", "Ali Khan", "--reason", "Sam on leave until June", "--on", "2025-05-12")
    shown = db.json("show", ref)
    assert (shown["state"], shown["reviewer"]) == ("in_review", "Ali Khan")
    fixes = [(c["field"], c["old"], c["new"]) for c in shown["corrections"]]
    assert fixes == [("reviewer", "Sam Reviewer", "Ali Khan"), ("reviewer_email", "sam@cbc.example", None)]
    assert all(r != "sam@cbc.example" for _k, r in _reminders(ref))
    # the reviewer replaced can never decide the appeal
    db("meeting", ref, "--at", "2025-05-20T10:00", "--held")
    db("finding", ref, "--category", "silo_working", "--on", "2025-05-20")
    db("outcome", ref, "--no-recommendations", "none needed", "--victim-consulted", "--on", "2025-05-21")
    db("appeal", ref, "--received", "2025-05-28", "--grounds", "process", "--on", "2025-05-28")
    refused = db.fails(
        "appeal-decision", ref, "--upheld", "--by", "Sam Reviewer", "--reason", "x", "--on", "2025-06-02"
    )
    assert "Sam Reviewer is recorded as involved in this case" in refused.stderr


# -- init on a live database -------------------------------------------------------------------------------


def test_init_on_a_database_with_cases_refuses_to_switch_policy_or_manager_unless_forced(db):
    _met_case(db)
    before = _events()
    policy = db.fails("init", "--policy", "richmond")
    assert "this database holds 1 case; init would change the policy from llr to richmond" in policy.stderr
    assert policy.stderr.count("\n") == 1
    manager = db.fails("init", "--manager-email", "someone@else.example")
    assert "the manager from csm@example.gov.uk to someone@else.example" in manager.stderr
    assert _events() == before
    # rerunning with the same settings, or none, changes nothing and is fine
    assert "policy llr" in db("init").stdout
    db("init", "--policy", "llr", "--manager-email", "csm@example.gov.uk")
    forced = db("init", "--policy", "richmond", "--force")
    assert "Changed (recorded in the audit log): the policy from llr to richmond" in forced.stderr
    detail = json.loads(
        raw_sql("SELECT detail FROM audit_event WHERE event = 'init' ORDER BY seq DESC")[0][0]
    )
    assert detail["forced"] is True and detail["changed"] == ["the policy from llr to richmond"]


def test_init_on_an_empty_database_may_choose_freely(trigger):
    trigger("init", "--policy", "llr")
    assert "policy richmond" in trigger("init", "--policy", "richmond").stdout


# -- the record carries every correction ---------------------------------------------------------------------


def test_corrections_show_in_the_export_and_the_bundle_and_the_chain_holds(db, tmp_path):
    ref = _met_case(db)
    db(
        "case",
        "update",
        ref,
        "--address",
        "11 Ashby Road, Loughborough",
        "--reason",
        "typo",
        "--on",
        "2025-05-07",
    )
    db("incident", "void", "3", "--reason", "keyed twice", "--on", "2025-05-07")
    exported = db.json("export", ref)
    assert {c["field"] for c in exported["case"]["corrections"]} == {"address", "void"}
    summaries = [i["summary"] for i in exported["chronology"]]
    assert any("case_update by tester (fields address): typo" in s for s in summaries)
    assert any("VOID since 2025-05-07: keyed twice" in s for s in summaries)
    # an appeal needs an appealable decision: take the case to an outcome
    db("assign", ref, "--lead", "cbc", "--reviewer", "Sam Reviewer", "--on", "2025-05-08")
    db("meeting", ref, "--at", "2025-05-20T10:00", "--held")
    db("finding", ref, "--category", "silo_working", "--on", "2025-05-20")
    db("outcome", ref, "--no-recommendations", "none needed", "--victim-consulted", "--on", "2025-05-21")
    db("appeal", ref, "--received", "2025-05-28", "--grounds", "process", "--on", "2025-05-28")
    db("bundle", ref, "-o", tmp_path / "b.zip", "--on", "2025-05-29")
    with zipfile.ZipFile(io.BytesIO((tmp_path / "b.zip").read_bytes())) as zf:
        form = zf.read("01-report-form.txt").decode()
    assert "case address: '12 Ashby Road, Loughborough' -> '11 Ashby Road, Loughborough'" in form
    assert "incident void: None -> 'keyed twice'" in form
    assert "Audit chain intact" in db("audit", "verify").stdout


def test_purge_removes_the_values_a_correction_kept(db):
    ref = _met_case(db)
    db(
        "case",
        "update",
        ref,
        "--address",
        "11 Ashby Road, Loughborough",
        "--reason",
        "typo",
        "--on",
        "2025-05-07",
    )
    db("withdraw", ref, "--reason", "moved away", "--on", "2025-05-08")
    raw_sql("UPDATE review_case SET state_changed = :d", d=date(2018, 1, 1))
    db("purge", "--closed-before", "2019-01-01")
    values = raw_sql("SELECT old_value, new_value, reason FROM correction")
    assert values == [(None, None, "[purged]")]
    assert "Audit chain intact" in db("audit", "verify").stdout
