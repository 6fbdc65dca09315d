"""A case's whole life through the real command line, and the guards that carry the law."""

from __future__ import annotations


def test_met_case_is_reviewed_outcome_issued_and_closed(db, case):
    db("decide", case, "--met", "--on", "2026-03-05")
    db("assign", case, "--lead", "cbc", "--reviewer", "Sam Reviewer", "--on", "2026-03-06")
    db("meeting", case, "--at", "2026-03-20T10:00", "--held", "--victim-involvement", "attend")
    db("finding", case, "--category", "silo_working", "--text", "Reports never shared", "--on", "2026-03-20")
    db("recommend", case, "--to", "police", "--text", "Share reports weekly", "--on", "2026-03-20")
    db(
        "action",
        "add",
        case,
        "--action",
        "Joint visit",
        "--owner",
        "police",
        "--due",
        "2026-04-30",
        "--on",
        "2026-03-20",
    )
    db("outcome", case, "--victim-consulted", "--on", "2026-03-23")
    db("action", "update", case, "1", "--status", "done", "--on", "2026-04-20")
    db("close", case, "--reason", "actions complete", "--on", "2026-05-01")
    shown = db.json("show", case)
    assert shown["state"] == "closed"
    assert shown["threshold"] | {"history": None} == {
        "met": True,
        "route": "statutory",
        "decided": "2026-03-05",
        "by_appeal": False,
        "first_decided": "2026-03-05",
        "rejection_category": None,
        "reason": None,
        "since_corrected": None,
        "history": None,
    }
    assert shown["lead_agency"] == "cbc" and shown["reviewer"] == "Sam Reviewer"
    moves = [(e["event"], e["from"], e["to"]) for e in shown["events"] if e["to"]]
    assert moves == [
        ("activate", None, "received"),
        ("decide", "received", "threshold_met"),
        ("assign", "threshold_met", "in_review"),
        ("issue_outcome", "in_review", "outcome_issued"),
        ("close", "outcome_issued", "closed"),
    ]
    assert all(e["actor"] == "tester" for e in shown["events"])
    # every row the life wrote is what the log says it is
    assert "The tables hold what the log says: 1 case replayed." in db("audit", "verify").stdout


def test_not_met_is_refused_while_the_statutory_count_is_met(db, case):
    result = db.fails("decide", case, "--not-met", "--on", "2026-03-05")
    assert "s.104(4)" in result.stderr
    assert db.json("show", case)["state"] == "received"


def test_illegal_move_names_the_state_and_the_allowed_moves(db, case):
    result = db.fails("assign", case, "--lead", "cbc", "--reviewer", "Sam")
    assert "the case is received" in result.stderr
    assert "decide, withdraw" in result.stderr
    assert "Traceback" not in result.stderr


def test_appeal_against_not_met_dismissed_closes_the_case(db):
    ref = db.json(
        "activate",
        "--applicant",
        "Bob",
        "--received",
        "2026-03-02",
        "--channel",
        "phone",
        "--statement",
        "Ignored",
    )["reference"]
    db("incident", "add", ref, "--occurred", "2026-02-01", "--reported", "2026-02-02", "--agency", "emh")
    db("decide", ref, "--not-met", "--on", "2026-03-10")
    db.fails("appeal", ref, "--received", "2026-03-12", "--grounds", "unfair")
    db("appeal", ref, "--received", "2026-03-12", "--grounds", "facts")
    result = db.fails("appeal-decision", ref, "--dismissed", "--by", "tester", "--reason", "no new facts")
    assert "independent" in result.stderr
    db(
        "appeal-decision",
        ref,
        "--dismissed",
        "--by",
        "Chair of Melton CSP",
        "--reason",
        "no new facts",
        "--on",
        "2026-03-30",
    )
    assert db.json("show", ref)["state"] == "closed"
    assert "The tables hold what the log says: 1 case replayed." in db("audit", "verify").stdout
