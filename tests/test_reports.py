"""The annual return, its checks and suppression, hours, deadlines, the action tracker, the chronology,
responses to recommendations, the audit chain and retention, through the real command line."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.support.cases import received_case, review_to_outcome
from tests.support.sql import raw_sql
from trigger.cases import moves
from trigger.store.app import App

ROOT = Path(__file__).resolve().parent.parent


def test_annual_return_counts_each_figure_by_the_date_of_its_own_event(db, year):
    r = db.json("report", "annual", "--year", "2025")
    assert (
        r["applications"],
        r["threshold_not_met"],
        r["reviews_carried_out"],
        r["reviews_with_recommendations"],
    ) == (7, 2, 3, 2)
    assert r["threshold_met"] == 5 and r["threshold_decisions"] == 7
    assert r["discretionary_below_threshold"] == 1  # Stafford's hidden case is reported, not lost
    assert r["withdrawals"] == 1 and r["appeals"] == 1 and r["appeals_upheld"] == 1
    assert r["channels"] == {"email": 1, "letter": 1, "online": 3, "phone": 2}
    assert {x["agency"]: (x["reviews"], x["of"], x["share"]) for x in r["lead_agencies"]} == {
        "police": (2, 3, 66.7),
        "cbc": (1, 3, 33.3),
    }
    assert r["median_days"]["decision_to_outcome"] == {"median": 52, "cases": 3}
    assert [q["applications"] for q in r["quarters"]] == [2, 1, 2, 2]
    assert [q["reviews_carried_out"] for q in r["quarters"]] == [1, 1, 0, 1]
    assert all(c["ok"] for c in r["checks"])
    before = db.json("report", "annual", "--year", "2024")
    assert (before["applications"], before["threshold_not_met"], before["reviews_carried_out"]) == (1, 0, 0)
    after = db.json("report", "annual", "--from", "2026-04-01", "--to", "2026-11-23")
    assert (
        after["applications"],
        after["threshold_not_met"],
        after["rejections"],
        after["reviews_carried_out"],
    ) == (0, 1, 1, 1)


def test_annual_table_and_csv_show_the_statutory_counts(db, year):
    table = db("report", "annual", "--year", "2025").stdout
    assert "ASB case reviews 2025/26" in table
    assert re.search(r"Applications received +7\n", table)
    text = db("report", "annual", "--year", "2025", "--csv").stdout
    header = "partnership,period,period_from,period_to,section,measure,label,value,suppressed"
    assert text.splitlines()[0] == header
    assert (
        '"Leicester, Leicestershire and Rutland Community Safety Partnership",'
        "2025/26,2025-04-01,2026-03-31,statutory,"
        "reviews_with_recommendations,Reviews resulting in recommendations,2,false"
    ) in text.splitlines()


@pytest.mark.parametrize(
    "args, message",
    [
        (("--from", "2025-06-01", "--to", "2025-05-01"), "is before --from"),
        (("--from", "2025-04-01", "--to", "2026-04-01"), "longer than 12 months"),
        (("--from", "2025-04-01"), "give both --from and --to"),
        (("--year", "2025", "--from", "2025-04-01", "--to", "2025-05-01"), "not both"),
    ],
)
def test_report_period_is_validated(db, args, message):
    result = db.fails("report", "annual", *args)
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_period_of_exactly_twelve_months_is_accepted(db):
    r = db.json("report", "annual", "--from", "2025-01-31", "--to", "2026-01-30")
    assert r["period"] == {"from": "2025-01-31", "to": "2026-01-30", "label": "2025-01-31 to 2026-01-30"}


def test_publish_suppresses_small_numbers_and_what_would_reveal_them(db, year, tmp_path):
    r = db.json("report", "annual", "--year", "2025", "--publish")
    assert r["applications"] == 7
    # a withheld figure is null among numbers, never "<5"; the tidy figures flag it suppressed
    assert r["threshold_not_met"] is None and r["reviews_carried_out"] is None
    # met 5 + not met 2 = 7 decided: publishing 5 would give away the hidden 2
    assert r["threshold_met"] is None
    assert all(v in (None, 0) for v in r["channels"].values())  # 1, 1, 3, 2: all small
    assert "<5" not in json.dumps(r)
    figures = {(f["period"], f["measure"]): f for f in r["figures"]}
    met = figures[("2025/26", "threshold_met")]
    assert met["value"] is None and met["suppressed"] is True
    assert figures[("2025/26", "applications")]["value"] == 7
    assert figures[("2025/26", "applications")]["suppressed"] is False
    assert all(x["share"] is None for x in r["lead_agencies"])
    assert r["median_days"]["decision_to_outcome"]["median"] is None
    page = tmp_path / "asb-2025-26.html"
    db("report", "annual", "--year", "2025", "--publish", "--html", page)
    html = page.read_text()
    assert "<svg" in html and "<script" not in html.lower()
    assert "&lt;5" in html and "Ann Example" not in html and "2025/26" in html
    svg = html[html.index("<svg") : html.index("</svg>") + 6]
    chart = ElementTree.fromstring(svg)  # well-formed, so browsers and WeasyPrint draw it
    assert [t.text for t in chart.iter("{http://www.w3.org/2000/svg}text")][-4:] == [
        "Applications",
        "Not met",
        "Reviews",
        "With recommendations",
    ]


def test_records_that_cannot_be_true_fail_the_report_loudly(db, year):
    # Reigate's table: a review carried out on a case whose threshold was decided not met
    raw_sql(
        "UPDATE threshold_decision SET met = false, route = NULL WHERE case_id = "
        "(SELECT id FROM review_case WHERE reference = :ref)",
        ref=year["A"],
    )
    result = db.fails("report", "annual", "--year", "2025")
    assert "no review without the threshold met" in result.stderr
    assert "consistency check" in result.stderr
    assert db.fails("report", "annual", "--year", "2025", "--html", "x.html").exit_code == 1


def test_hours_by_case_agency_and_person_with_cost(db, year):
    db(
        "hours",
        year["A"],
        "--agency",
        "cbc",
        "--person",
        "Sam Reviewer",
        "--hours",
        "7.5",
        "--date",
        "2025-04-20",
    )
    db(
        "hours",
        year["A"],
        "--agency",
        "police",
        "--person",
        "PC Jones",
        "--hours",
        "4",
        "--date",
        "2025-04-21",
    )
    db(
        "hours",
        year["H"],
        "--agency",
        "cbc",
        "--person",
        "Sam Reviewer",
        "--hours",
        "2",
        "--date",
        "2026-01-20",
    )
    r = db.json("report", "hours")
    assert r["total_hours"] == 13.5 and r["total_cost"] == 13.5 * 35.0
    assert r["longest_review"] == {"reference": year["A"], "hours": 11.5, "cost": 402.5}
    assert r["mean_hours_per_review"] == 6.8
    assert {x["person"]: x["hours"] for x in r["by_person"]} == {"Sam Reviewer": 9.5, "PC Jones": 4.0}
    only_2026 = db.json("report", "hours", "--from", "2026-01-01", "--to", "2026-12-31")
    assert only_2026["total_hours"] == 2.0
    assert "longest CT-2025-0001 (11.5 hours)" in db("report", "hours").stdout


def test_deadline_performance_from_deadline_rows(db, year):
    from sqlmodel import Session, select

    from trigger.store.models import Deadline, ReviewCase

    raw_sql("DELETE FROM reminder")
    raw_sql("DELETE FROM deadline")  # replace the workflow's rows with known ones
    app = App()
    with Session(app.engine) as s:
        case_id = s.exec(select(ReviewCase)).first().id
        s.add_all(
            [
                Deadline(
                    case_id=case_id,
                    kind="threshold_decision",
                    anchor="received 2025-03-20",
                    span="14d",
                    due=date(2025, 4, 3),
                    met_on=date(2025, 4, 2),
                ),
                Deadline(
                    case_id=case_id,
                    kind="threshold_decision",
                    anchor="received 2025-06-01",
                    span="14d",
                    due=date(2025, 6, 16),
                    met_on=date(2025, 6, 20),
                ),
                Deadline(case_id=case_id, kind="review", due=date(2025, 5, 1), met_on=None),
                Deadline(case_id=case_id, kind="review", due=date(2025, 5, 1), not_applicable=True),
                Deadline(case_id=case_id, kind="appeal_window", due=date(2025, 6, 1), met_on=None),
            ]
        )
        s.commit()
    rows = {r["kind"]: r for r in db.json("report", "deadlines", "--as-of", "2025-12-01")}
    assert rows["threshold_decision"]["on_time_share"] == 50.0
    assert rows["threshold_decision"]["median_days_taken"] == 16  # 13 and 19 days
    assert rows["review"]["overdue"] == 1 and rows["review"]["not_applicable"] == 1
    assert rows["review"]["on_time_share"] == 0.0
    # the applicant's appeal window is not the partnership's duty: it expires, it is never overdue
    assert (rows["appeal_window"]["passed"], rows["appeal_window"]["overdue"]) == (1, 0)
    assert rows["appeal_window"]["on_time_share"] is None


def test_deadline_performance_of_the_year_as_the_workflow_recorded_it(db, year):
    rows = {r["kind"]: r for r in db.json("report", "deadlines", "--as-of", "2026-11-23")}
    decisions = rows["threshold_decision"]
    assert decisions["deadlines"] == 8  # one per application
    assert decisions["met_on_time"] + decisions["met_late"] == 8
    assert 0 <= decisions["on_time_share"] <= 100


def test_action_tracker_lists_overdue_actions_by_owner(db, year):
    db(
        "action",
        "add",
        year["F"],
        "--action",
        "Joint visit",
        "--owner",
        "police",
        "--due",
        "2026-02-01",
        "--on",
        "2025-12-01",
    )
    db(
        "action",
        "add",
        year["F"],
        "--action",
        "Tenancy warning",
        "--owner",
        "emh",
        "--due",
        "2026-05-01",
        "--on",
        "2025-12-01",
    )
    db("action", "update", year["F"], "1", "--rag", "red", "--on", "2026-01-15")
    late = db.json("action", "list", "--overdue", "--as-of", "2026-03-01")
    assert [(a["reference"], a["number"], a["owner"], a["rag"], a["days_overdue"]) for a in late] == [
        (year["F"], 1, "police", "red", 28)
    ]
    assert [a["number"] for a in db.json("action", "list", "--owner", "emh")] == [2]
    assert db.json("action", "list", "--overdue", "--as-of", "2026-01-31") == []
    assert "no agency with code" in db.fails("action", "list", "--owner", "nobody").stderr


def test_a_body_records_that_it_had_regard_to_a_recommendation(db, year):
    rec = db.json("show", year["A"])["recommendations"][0]["id"]
    assert "needs the body's reason" in db.fails("response", year["A"], rec, "--declined").stderr
    assert "no recommendation 999" in db.fails("response", year["A"], "999", "--accepted").stderr
    db("response", year["A"], rec, "--declined", "--reason", "Covered by new policy", "--on", "2025-06-01")
    shown = db.json("show", year["A"])["recommendations"][0]
    assert (shown["response"], shown["response_reason"]) == ("declined", "Covered by new policy")
    r = db.json("report", "annual", "--year", "2025")
    assert r["recommendation_responses"] == {"accepted": 0, "declined": 1, "awaiting": 2}  # A; F and H await
    assert any(e["event"] == "recommendation_response" for e in db.json("show", year["A"])["events"])


def test_export_gives_the_whole_chronology_in_date_order(db, year):
    data = db.json("export", year["G"])
    kinds = [i["kind"] for i in data["chronology"]]
    assert {"complaint", "threshold_decision", "appeal", "appeal_decision", "event"} <= set(kinds)
    dates = [i["date"] for i in data["chronology"]]
    assert dates == sorted(dates)
    decision = next(i for i in data["chronology"] if i["kind"] == "appeal_decision")
    assert decision["upheld"] is True and decision["reason"] == "Missed reports"
    text = db("export", year["G"]).stdout
    assert "appeal upheld by Chair of Melton CSP: Missed reports" in text


def test_audit_verify_counts_an_intact_chain(db, year):
    out = db("audit", "verify").stdout
    assert re.match(r"Audit chain intact: \d+ events\.", out)


def test_an_edited_event_is_detected_and_named(db, year):
    raw_sql("UPDATE audit_event SET actor = 'someone else' WHERE seq = 7")
    result = db.fails("audit", "verify")
    assert "event 7" in result.stderr and "altered" in result.stderr


def test_a_deleted_last_event_is_detected(db, year):
    raw_sql("DELETE FROM audit_event WHERE seq = (SELECT MAX(seq) FROM audit_event)")
    result = db.fails("audit", "verify")
    assert "missing" in result.stderr


def test_nothing_in_the_program_updates_or_deletes_audit_rows():
    pattern = re.compile(
        r"(update|delete)\s*\(\s*AuditEvent|(UPDATE|DELETE\s+FROM)\s+audit_event", re.IGNORECASE
    )
    # the program's own code only: a walk of the whole checkout also read every library of a virtual
    # environment kept inside it (CI's `.ci-venv`), thousands of files that are not the program
    program = [
        ROOT / "cli.py",
        *(p for top in ("trigger", "workflows", "letters", "scripts") for p in (ROOT / top).rglob("*.py")),
    ]
    offenders = [str(p.relative_to(ROOT)) for p in program if pattern.search(p.read_text())]
    assert len(program) > 100
    assert offenders == []


def test_audit_details_hold_no_personal_data_of_the_victim(db, year):
    text = " ".join(
        str(v) for row in raw_sql("SELECT reference, detail, reason FROM audit_event") for v in row
    )
    for personal in ("Ann Example", "Ashby Road", "LE11", "ann@example.org", "lives alone", "Shouting"):
        assert personal not in text


@pytest.fixture
def old(db, snapshot):
    """Cases closed in 2019 and one still open, well past LLR's six years."""
    return snapshot("old", _build_old)


def _build_old():
    app = App()
    refs = {}
    refs["closed"] = received_case(app, date(2018, 5, 1), applicant="Ann Example")
    review_to_outcome(app, refs["closed"], date(2018, 5, 10), date(2018, 7, 1))
    moves.close(app, refs["closed"], reason="actions complete", force=True, on=date(2019, 1, 10))
    refs["withdrawn"] = received_case(app, date(2018, 9, 3), applicant="Bob Example", complaints=1)
    moves.withdraw(app, refs["withdrawn"], reason="moved away", on=date(2018, 10, 1))
    refs["open"] = received_case(app, date(2018, 11, 5), applicant="Cat Example", complaints=1)
    raw_sql(
        "INSERT INTO letter (case_id, kind, issued_on, recipient, format, content_hash, created_at) VALUES "
        "((SELECT id FROM review_case WHERE reference = :ref), 'closure', '2019-01-10', "
        "'Ann Example, 12 Ashby Road', 'html', 'abc123', '2019-01-10 09:00:00')",
        ref=refs["closed"],
    )
    return refs


def test_purge_removes_personal_data_and_keeps_figures_and_chain(db, old):
    figures = db.json("report", "annual", "--year", "2018")
    dry = db("purge", "--closed-before", "2020-01-01", "--dry-run").stdout
    assert "Would purge personal data of 2 cases" in dry and "victim AE" in dry and "1 letter" in dry
    assert db.json("show", old["closed"])["applicant"] == "Ann Example"
    db("purge", "--closed-before", "2020-01-01")
    shown = db.json("show", old["closed"])
    assert shown["applicant"] == shown["victim"] == shown["statement"] == "[purged]"
    assert shown["postcode"] is None and all(i["description"] is None for i in shown["incidents"])
    assert db.json("show", old["open"])["applicant"] == "Cat Example"
    assert db.json("report", "annual", "--year", "2018") == figures
    assert "intact" in db("audit", "verify").stdout
    assert any(e["event"] == "purge" for e in shown["events"])
    leftovers = raw_sql(
        "SELECT count(*) FROM review_case WHERE purged = true AND (address IS NOT NULL "
        "OR email IS NOT NULL OR vulnerability IS NOT NULL)"
    )[0][0]
    recipients = {r[0] for r in raw_sql("SELECT DISTINCT recipient FROM letter")}
    assert leftovers == 0 and recipients == {"[purged]"}
    assert "Purged personal data of 0 cases" in db("purge", "--closed-before", "2020-01-01").stdout


def test_purge_refuses_a_date_inside_the_retention_period(db, old):
    result = db.fails("purge", "--closed-before", date.today().isoformat())
    assert "keeps case records for 6 years" in result.stderr
    assert db.json("show", old["closed"])["applicant"] == "Ann Example"


def test_the_appeal_bundle_carries_the_same_chronology(db, year, tmp_path):
    import io
    import zipfile

    out = tmp_path / "bundle.zip"
    db("bundle", year["G"], "-o", out, "--on", "2026-01-11")
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as zf:
        text = zf.read("02-chronology.txt").decode()
    assert "complaint #" in text and "threshold not met" in text
    assert "appeal upheld by Chair of Melton CSP: Missed reports" in text
