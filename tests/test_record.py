"""The record checks itself (docs/architecture.md#the-record-checks-itself): `trigger audit verify`
replays each case's events and names, in one line each, every row changed behind the program's back.
Real tampering by raw SQL, on SQLite and on PostgreSQL (TRIGGER_TEST_DB), through the real command line.
"""

from __future__ import annotations

import json
import os
import re
from datetime import date

import pytest
import sqlalchemy
from sqlmodel import Session, select

from tests.support.cases import received_case, review_to_outcome
from tests.support.sql import raw_sql
from trigger import demo
from trigger.cases import moves
from trigger.store import audit, seal
from trigger.store.app import App
from trigger.store.models import AuditEvent

CLEAN = "The tables hold what the log says"


def _reviewed(db, ref: str) -> dict:
    """The case taken through its review: a decision, an assignment, evidence, hours, a meeting, a
    finding, a recommendation, two actions (one in progress), the outcome and a letter."""
    db("decide", ref, "--met", "--on", "2026-03-05")
    db("assign", ref, "--lead", "police", "--reviewer", "Sam Reviewer", "--on", "2026-03-06")
    db("evidence", ref, "--agency", "cbc", "--requested", "2026-03-06", "--due", "2026-03-20")
    db(
        "hours",
        ref,
        "--agency",
        "police",
        "--person",
        "Pat Officer",
        "--hours",
        "3.5",
        "--date",
        "2026-03-09",
    )
    db("hours", ref, "--agency", "cbc", "--person", "Sam Reviewer", "--hours", "2", "--date", "2026-03-10")
    db("meeting", ref, "--at", "2026-03-16T10:00", "--held", "--victim-involvement", "attend")
    db(
        "finding",
        ref,
        "--category",
        "silo_working",
        "--text",
        "Reports were not shared",
        "--on",
        "2026-03-16",
    )
    db("recommend", ref, "--to", "police", "--text", "Share reports weekly", "--on", "2026-03-16")
    for text, due in (("Joint visit", "2026-05-01"), ("Share logs", "2026-06-01")):
        db("action", "add", ref, "--action", text, "--owner", "police", "--due", due, "--on", "2026-03-16")
    db(
        "action",
        "update",
        ref,
        "1",
        "--status",
        "in_progress",
        "--note",
        "Visit booked",
        "--on",
        "2026-03-18",
    )
    db("outcome", ref, "--victim-consulted", "--on", "2026-03-20")
    db("letter", ref, "acknowledgement", "--on", "2026-03-03", "-o", os.devnull, "--force")
    ids = {
        "complaints": [r[0] for r in raw_sql("SELECT id FROM incident ORDER BY id")],
        "hours": [r[0] for r in raw_sql("SELECT id FROM hours_entry ORDER BY id")],
    }
    return {"ref": ref, **ids}


@pytest.fixture
def reviewed(db, case, snapshot):
    return snapshot("reviewed-case", lambda: _reviewed(db, case))


def test_an_untouched_case_verifies_clean(db, reviewed):
    out = db("audit", "verify")
    assert f"{CLEAN}: 1 case replayed." in out.stdout
    assert out.stderr == ""


# each: the raw SQL, then the one line `audit verify` must print for it ({ref}, {c1}: the first complaint...)
TAMPERING = {
    "state moved with no event": (
        ["UPDATE review_case SET state = 'closed'"],
        "{ref}: state is closed, the log says outcome_issued since 2026-03-20",
    ),
    "a complaint's reported date moved (the statutory count changes)": (
        ["UPDATE incident SET reported = '2025-06-01' WHERE id = {c1}"],
        "{ref}: complaint {c1}'s reported date is 2025-06-01, the log says 2026-01-12",
    ),
    "a complaint's agency changed": (
        ["UPDATE incident SET agency_id = (SELECT id FROM agency WHERE code = 'cbc') WHERE id = {c2}"],
        "{ref}: complaint {c2}'s agency is cbc, the log says police",
    ),
    "the lead agency changed": (
        ["UPDATE review_case SET lead_agency_id = (SELECT id FROM agency WHERE code = 'cbc')"],
        "{ref}: lead agency is cbc, the log says police",
    ),
    "hours changed": (
        ["UPDATE hours_entry SET hours = 35 WHERE id = {h1}"],
        "{ref}: hours entry {h1}'s hours is 35, the log says 3.5",
    ),
    "an action's status changed": (
        ["UPDATE action SET status = 'done' WHERE number = 1"],
        "{ref}: action 1's status is done, the log says in_progress",
    ),
    "an action's progress rewritten": (
        ["UPDATE action SET progress = '2026-03-18: Visit done, all well' WHERE number = 1"],
        "{ref}: action 1's progress is not what the log says it was set to",
    ),
    "a complaint deleted": (
        ["DELETE FROM incident WHERE id = {c3}"],
        "{ref}: complaint {c3} is gone, but the log has it (deleted outside the engine)",
    ),
    "a complaint inserted with no event": (
        [
            "INSERT INTO incident (case_id, occurred, reported, agency_id, partnership_id) "
            "SELECT id, '2026-02-10', '2026-02-11', lead_agency_id, partnership_id FROM review_case"
        ],
        re.compile(r"{ref}: complaint \d+ is not in the log \(a row added outside the engine\)"),
    ),
    "the threshold decision flipped": (
        ["UPDATE threshold_decision SET met = false, route = NULL"],
        "{ref}: threshold decision 1's met is no, the log says yes",
    ),
    "a deadline marked met": (
        ["UPDATE deadline SET met_on = '2026-03-21' WHERE kind = 'appeal_window'"],
        re.compile(r"{ref}: the appeal window deadline \(\d+\)'s day met is 2026-03-21, the log says empty"),
    ),
    "the case's key deleted": (
        ["DELETE FROM case_key"],
        re.compile(
            r"{ref}: the case's key is gone, so the reasons and details of its \d+ events can no longer be "
            r"read, yet the case was never purged"
        ),
    ),
    "marked purged and its key deleted": (
        ["UPDATE review_case SET purged = true", "DELETE FROM case_key"],
        "{ref}: the case is marked purged, but the log has no purge of it",
    ),
    "an agency's kind changed": (
        ["UPDATE agency SET kind = 'other' WHERE code = 'police'"],
        "agency police's kind is other, the log says police",
    ),
}


@pytest.mark.parametrize("attempt", list(TAMPERING), ids=list(TAMPERING))
def test_each_tampering_by_raw_sql_is_named_in_one_line(db, reviewed, attempt):
    statements, expected = TAMPERING[attempt]
    values = {
        "ref": reviewed["ref"],
        **{f"c{n}": i for n, i in enumerate(reviewed["complaints"], 1)},
        **{f"h{n}": i for n, i in enumerate(reviewed["hours"], 1)},
    }
    for sql in statements:
        raw_sql(sql.format(**values))
    result = db.fails("audit", "verify")
    lines = result.stdout.splitlines()
    if isinstance(expected, str):
        assert expected.format(**values) in lines, result.stdout
    else:
        pattern = re.compile(expected.pattern.format(**values))
        assert any(pattern.fullmatch(line) for line in lines), result.stdout
    assert result.stderr.startswith("Error: ") and " between the tables and the audit log" in result.stderr
    assert result.stderr.count("\n") == 1
    assert CLEAN not in result.stdout


def test_show_of_a_case_whose_key_is_gone_fails_in_one_line(db, reviewed):
    ref = reviewed["ref"]
    raw_sql("DELETE FROM case_key")
    for args in (("show", ref), ("show", ref, "--json"), ("export", ref), ("export", ref, "--json")):
        result = db.fails(*args)
        assert result.stdout == ""
        assert (
            result.stderr.startswith(f"Error: {ref}: the case's key is gone")
            and result.stderr.count("\n") == 1
        )
        assert "run `trigger audit verify`" in result.stderr


def test_events_deleted_from_the_end_and_the_head_rewound_are_found_by_the_rows_ahead(db, reviewed):
    ref = reviewed["ref"]
    (keep,) = raw_sql("SELECT max(seq) FROM audit_event WHERE event = 'issue_outcome'")[0]
    keep -= 1
    (kept_hash,) = raw_sql("SELECT hash FROM audit_event WHERE seq = :s", s=keep)[0]
    raw_sql("DELETE FROM audit_event WHERE seq > :s", s=keep)
    raw_sql("UPDATE audit_head SET seq = :s, last_hash = :h WHERE id = 1", s=keep, h=kept_hash)
    result = db.fails("audit", "verify")
    assert f"{ref}: state is outcome_issued, the log says in_review since 2026-03-06" in result.stdout
    assert re.search(rf"{ref}: letter \d+ of the register is not in the log", result.stdout)


def test_the_demo_and_a_year_of_cases_verify_clean(db, year):
    demo.run(App(actor="demo-manager"))
    out = db("audit", "verify").stdout
    cases = raw_sql("SELECT count(*) FROM review_case")[0][0]
    assert f"{CLEAN}: {cases} cases replayed." in out


def test_the_facts_stay_out_of_what_people_read(db, reviewed):
    shown = db.json("show", reviewed["ref"])
    for event in shown["events"]:
        assert "facts" not in event["detail"] and "baseline" not in event["detail"]
    assert "facts" not in db("export", reviewed["ref"]).stdout


def test_a_purged_case_is_still_checked_from_what_the_purge_left(db):
    app = App()
    ref = received_case(app, date(2018, 5, 1))
    review_to_outcome(app, ref, date(2018, 5, 10), date(2018, 7, 1))
    moves.close(app, ref, reason="actions complete", force=True, on=date(2019, 1, 10))
    db("purge", "--closed-before", "2020-01-01")
    assert f"{CLEAN}: 1 case replayed." in db("audit", "verify").stdout
    (purge,) = raw_sql("SELECT detail FROM audit_event WHERE event = 'purge'")[0]
    assert not seal.is_sealed(purge) and "Ann Example" not in purge and "Ashby" not in purge
    raw_sql("UPDATE incident SET reported = '2018-01-01' WHERE id = (SELECT min(id) FROM incident)")
    raw_sql("UPDATE review_case SET state = 'withdrawn'")
    out = db.fails("audit", "verify").stdout
    assert f"{ref}: state is withdrawn, the log says closed since 2019-01-10" in out
    assert re.search(rf"{ref}: complaint \d+'s reported date is 2018-01-01, the log says 2018-03-22", out)


# -- databases written before the log carried the rows --------------------------------------------------


def _as_written_before_facts() -> None:
    """Take every event's facts out and chain the log again, as in a database written by the version
    before events carried the rows (sealed text sealed again under the same key)."""
    engine = sqlalchemy.create_engine(os.environ["TRIGGER_DB"], poolclass=sqlalchemy.pool.NullPool)
    try:
        with Session(engine) as session:
            events = list(session.exec(select(AuditEvent).order_by(AuditEvent.seq)))
            session.expunge_all()
            opener = seal.Opener(session, [e.case_id for e in events])
            prev = audit.GENESIS
            for e in events:
                was_sealed = seal.is_sealed(e.detail) or seal.is_sealed(e.reason)
                data = (opener.recorded(e) if e.detail else None) or {}
                e.reason = opener.reason(e)
                data.pop("facts", None)
                data.pop("baseline", None)
                e.detail = json.dumps(data, sort_keys=True) if data else None
                if was_sealed:
                    seal.seal_event(session, e)
                e.prev_hash = prev
                e.hash = prev = audit._digest(e)
            with engine.begin() as conn:
                for e in events:
                    conn.execute(
                        sqlalchemy.text(
                            "UPDATE audit_event SET detail = :d, reason = :r, prev_hash = :p, hash = :h "
                            "WHERE seq = :s"
                        ),
                        {"d": e.detail, "r": e.reason, "p": e.prev_hash, "h": e.hash, "s": e.seq},
                    )
                conn.execute(
                    sqlalchemy.text("UPDATE audit_head SET last_hash = :h WHERE id = 1"), {"h": prev}
                )
            session.rollback()
    finally:
        engine.dispose()


def test_an_older_database_verifies_with_a_note_and_its_states_still_checked(db, reviewed):
    ref = reviewed["ref"]
    _as_written_before_facts()
    result = db("audit", "verify")
    assert "Audit chain intact" in result.stdout and f"{CLEAN}: 1 case replayed." in result.stdout
    assert result.stderr.startswith("Note: 1 case and 4 agencies began before the log carried")
    assert result.stderr.count("\n") == 1
    raw_sql("UPDATE review_case SET state = 'closed'")
    assert (
        f"{ref}: state is closed, the log says outcome_issued since 2026-03-20"
        in db.fails("audit", "verify").stdout
    )
    raw_sql("UPDATE review_case SET state = 'outcome_issued'")
    raw_sql("UPDATE incident SET reported = '2025-06-01' WHERE id = :i", i=reviewed["complaints"][0])
    assert db("audit", "verify").stdout  # a row older than the facts cannot be checked against them


def test_the_next_change_to_an_older_case_makes_it_checked_in_full(db, reviewed):
    ref = reviewed["ref"]
    _as_written_before_facts()
    db("hours", ref, "--agency", "police", "--person", "Pat Officer", "--hours", "1", "--date", "2026-03-21")
    result = db("audit", "verify")
    assert result.stderr.startswith("Note: 4 agencies began")  # the case is now checked in full
    raw_sql("UPDATE incident SET reported = '2025-06-01' WHERE id = :i", i=reviewed["complaints"][0])
    line = (
        f"{ref}: complaint {reviewed['complaints'][0]}'s reported date is 2025-06-01, the log says 2026-01-12"
    )
    assert line in db.fails("audit", "verify").stdout
