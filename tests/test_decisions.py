"""The decision that stands after an appeal, and closure reasons that are always true
(docs/architecture.md#corrections), through the command line."""

from __future__ import annotations

import json

from sqlmodel import select

from tests.support.letters import to_outcome
from tests.support.sql import raw_sql
from trigger.store.app import App
from trigger.store.models import AuditEvent


def _not_met_case(db) -> str:
    """Received 1 May 2025, one complaint, decided not met on 6 May 2025: the window ends 4 June 2025."""
    ref = db.json(
        "activate",
        *("--applicant", "Bob Smith", "--received", "2025-05-01", "--channel", "phone"),
        *("--statement", "Ignored"),
    )["reference"]
    db(
        "incident",
        "add",
        ref,
        *("--occurred", "2025-04-20", "--reported", "2025-04-21", "--agency", "police", "--on", "2025-05-01"),
    )
    db("decide", ref, "--not-met", "--on", "2025-05-06")
    return ref


def _appeal(db, ref, received="2025-05-20"):
    db(
        "appeal",
        ref,
        *(
            "--received",
            received,
            "--grounds",
            "facts",
            "--detail",
            "I reported it five times",
            "--on",
            received,
        ),
    )


def test_after_an_upheld_appeal_against_not_met_show_says_met(db):
    ref = _not_met_case(db)
    _appeal(db, ref)
    db(
        "appeal-decision",
        ref,
        *("--upheld", "--by", "Chair of Melton CSP", "--reason", "reports were missed", "--on", "2025-06-20"),
    )
    shown = db.json("show", ref)
    assert shown["state"] == "threshold_met"
    t = shown["threshold"]
    assert (t["met"], t["route"], t["decided"], t["by_appeal"]) == (True, "appeal", "2025-06-20", True)
    # the original decision is kept, in the history
    assert t["history"][0] | {"by": None} == {
        "decided": "2025-05-06",
        "met": False,
        "route": None,
        "rejection_category": None,
        "reason": None,
        "by": None,
        "by_appeal": False,
    }
    assert t["history"][1]["upheld"] is True and t["history"][1]["by"] == "Chair of Melton CSP"
    text = db("show", ref).stdout
    assert "Threshold: met on 2025-06-20 (appeal upheld; first decided not met on 2025-05-06)" in text
    assert "Threshold: not met" not in text


def test_letters_use_the_decision_that_stands(db):
    ref = _not_met_case(db)
    db("letter", ref, "threshold_not_met", "--format", "txt", "--on", "2025-05-06")
    _appeal(db, ref)
    db(
        "appeal-decision",
        ref,
        *("--upheld", "--by", "Chair of Melton CSP", "--reason", "reports were missed", "--on", "2025-06-20"),
    )
    met = db("letter", ref, "threshold_met", "--format", "txt", "--on", "2025-06-20").stdout
    assert "On 20 June 2025 we decided that the threshold for an ASB Case Review is met." in met
    assert "Your appeal was upheld" in met
    refused = db.fails("letter", ref, "threshold_not_met", "--format", "txt", "--on", "2025-06-23")
    assert "the appeal upheld on 2025-06-20 replaced the decision" in refused.stderr
    outcome = db("letter", ref, "appeal_outcome", "--format", "txt", "--on", "2025-06-20").stdout
    assert "Your appeal is upheld." in outcome and "now treated as met" in outcome


def test_an_outcome_confirmed_on_appeal_cannot_be_appealed_again(db, case):
    # the appeal body's decision is final (docs/procedure.md#appeals)
    to_outcome(db, case, lead="cbc", housing="cbc")
    db("appeal", case, "--received", "2026-03-30", "--grounds", "facts", "--on", "2026-03-30")
    db(
        "appeal-decision",
        case,
        *("--dismissed", "--by", "Chair of Melton CSP", "--reason", "no new facts", "--on", "2026-04-10"),
    )
    before = db.json("show", case)
    assert before["state"] == "outcome_issued"
    # the grounds are stored sealed under the case's key (docs/operations.md#erasure), read as given
    assert [a["grounds"] for a in before["appeals"]] == ["facts"]
    assert raw_sql("SELECT grounds FROM appeal")[0][0].startswith("sealed:c")
    err = db.fails("appeal", case, "--received", "2026-04-13", "--grounds", "facts", "--on", "2026-04-13")
    lines = err.stderr.strip().splitlines()
    assert lines == [
        "Error: this decision was appealed and the appeal dismissed on 2026-04-10; that decision is final "
        "and cannot be appealed again"
    ]
    assert db.json("show", case) == before


def test_a_dismissed_appeal_confirms_the_decision_on_its_day(db):
    ref = _not_met_case(db)
    _appeal(db, ref)
    db(
        "appeal-decision",
        ref,
        *("--dismissed", "--by", "Chair of Melton CSP", "--reason", "no new facts", "--on", "2025-06-20"),
    )
    t = db.json("show", ref)["threshold"]
    assert (t["met"], t["decided"], t["by_appeal"], t["first_decided"]) == (
        False,
        "2025-06-20",
        True,
        "2025-05-06",
    )
    shown = db.json("show", ref)
    # closed by the dismissal, with its true reason, never "window passed without an appeal"
    assert shown["closure_reason"] == "the appeal was dismissed on 20 June 2025: no new facts"
    closure = db("letter", ref, "closure", "--format", "txt", "--on", "2025-06-20").stdout
    assert "The reason we recorded: the appeal was dismissed on 20 June 2025: no new facts." in closure
    assert "without an appeal" not in closure


def test_closing_after_the_window_without_a_reason_states_the_true_one(db):
    ref = _not_met_case(db)
    refused = db.fails("close", ref, "--on", "2025-06-04")
    assert "the appeal window runs until 2025-06-04" in refused.stderr
    db("close", ref, "--on", "2025-06-05")
    assert db.json("show", ref)["closure_reason"] == (
        "no appeal was lodged within the window, which ended on 4 June 2025"
    )
    assert "Closure reason: no appeal was lodged within the window, which ended on 4 June 2025" in (
        db("show", ref).stdout
    )
    letter = db("letter", ref, "closure", "--format", "txt", "--on", "2025-06-05").stdout
    assert (
        "The reason we recorded: no appeal was lodged within the window, which ended on 4 June 2025."
        in letter
    )


def test_a_reason_given_is_the_one_recorded_and_quoted(db):
    ref = _not_met_case(db)
    db("close", ref, "--reason", "Applicant moved out of the area.", "--on", "2025-06-05")
    assert db.json("show", ref)["closure_reason"] == "Applicant moved out of the area."
    letter = db("letter", ref, "closure", "--format", "html", "--on", "2025-06-05").stdout
    assert "The reason we recorded: Applicant moved out of the area.</p>" in letter


def _outcome_case(db) -> str:
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
    db("assign", ref, "--lead", "cbc", "--reviewer", "Sam Reviewer", "--on", "2025-03-11")
    db("meeting", ref, "--at", "2025-03-20T10:00", "--held")
    db("finding", ref, "--category", "silo_working", "--on", "2025-03-20")
    db("recommend", ref, "--to", "police", "--text", "Share reports", "--on", "2025-03-20")
    db(
        "action",
        "add",
        ref,
        *("--action", "Joint visit", "--owner", "police", "--due", "2025-07-01", "--on", "2025-03-20"),
    )
    db("outcome", ref, "--victim-consulted", "--on", "2025-05-20")
    return ref


def test_closing_after_a_dismissed_appeal_never_says_the_window_passed_without_one(db):
    ref = _outcome_case(db)
    db("appeal", ref, "--received", "2025-05-28", "--grounds", "process", "--on", "2025-05-28")
    db(
        "appeal-decision",
        ref,
        *("--dismissed", "--by", "Chair of Melton CSP", "--reason", "process followed", "--on", "2025-06-20"),
    )
    refused = db.fails("close", ref, "--on", "2025-06-23")
    assert "1 action(s) of the action plan are still open" in refused.stderr
    db("action", "update", ref, "1", "--status", "done", "--on", "2025-06-25")
    db("close", ref, "--on", "2025-06-26")
    reason = db.json("show", ref)["closure_reason"]
    assert reason == "the appeal was dismissed on 20 June 2025 and every action is complete"
    assert "appeal window passed without an appeal" not in db("show", ref).stdout
    letter = db("letter", ref, "closure", "--format", "txt", "--on", "2025-06-26").stdout
    assert "the appeal was dismissed on 20 June 2025 and every action is complete." in letter
    assert "without an appeal" not in letter


def test_closing_an_outcome_whose_window_passed_says_so_and_how_the_actions_ended(db):
    ref = _outcome_case(db)
    db("action", "update", ref, "1", "--status", "dropped", "--on", "2025-06-01")
    db("close", ref, "--on", "2025-06-19")
    assert db.json("show", ref)["closure_reason"] == (
        # 20 working days after 20 May 2025 (26 May a bank holiday)
        "no appeal was lodged within the window, which ended on 18 June 2025, "
        "and every action was dropped (1)"
    )


def test_an_old_appeal_against_the_threshold_does_not_end_a_later_outcomes_window(db):
    ref = _not_met_case(db)
    _appeal(db, ref)
    db(
        "appeal-decision",
        ref,
        *("--upheld", "--by", "Chair of Melton CSP", "--reason", "reports were missed", "--on", "2025-06-02"),
    )
    db("assign", ref, "--lead", "cbc", "--reviewer", "Sam Reviewer", "--on", "2025-06-03")
    db("meeting", ref, "--at", "2025-06-10T10:00", "--held")
    db("finding", ref, "--category", "silo_working", "--on", "2025-06-10")
    db("outcome", ref, "--no-recommendations", "nothing to add", "--victim-consulted", "--on", "2025-06-12")
    refused = db.fails("close", ref, "--on", "2025-06-13")
    assert "the appeal window runs until" in refused.stderr
    assert db.json("show", ref)["state"] == "outcome_issued"


def test_a_forced_close_needs_a_reason_and_nothing_is_written_without_one(db):
    ref = _not_met_case(db)
    with App().read() as s:
        before = len(s.exec(select(AuditEvent)).all())
    refused = db.fails("close", ref, "--force", "--on", "2025-05-07")
    assert refused.stderr.count("\n") == 1 and "needs a reason" in refused.stderr
    with App().read() as s:
        assert len(s.exec(select(AuditEvent)).all()) == before
    db("close", ref, "--force", "--reason", "the applicant asked us to stop", "--on", "2025-05-07")
    shown = db.json("show", ref)
    assert shown["closure_reason"] == "the applicant asked us to stop"
    close = next(e for e in shown["events"] if e["event"] == "close")
    assert json.dumps(close["detail"]) == '{"forced": true, "open_actions": 0}'
