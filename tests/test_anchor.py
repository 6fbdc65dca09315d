"""Anchors for the audit chain (docs/operations.md#audit-anchors): the head kept outside the database,
so that a history rewritten by someone who can write to the database (an edited row and every hash
after it computed again) is found, not only an edited row. Through the real command line, on SQLite
and on PostgreSQL (TRIGGER_TEST_DB)."""

from __future__ import annotations

import json
import os
import re
import stat

import openpyxl
import pytest
import sqlalchemy
from sqlmodel import Session, select

from tests.support.databases import sqlite_only
from tests.support.sql import raw_sql
from trigger.store import audit
from trigger.store.models import AuditEvent


def _rewrite_history(seq: int, reason: str) -> None:
    """What someone with write access to the database can do: change event `seq`'s reason, compute
    its hash and every later one again with the program's own digest, and move the head to match. The
    chain is then whole and consistent."""
    engine = sqlalchemy.create_engine(os.environ["TRIGGER_DB"])
    try:
        with Session(engine) as session:
            events = list(session.exec(select(AuditEvent).order_by(AuditEvent.seq)))
            session.expunge_all()
        prev = audit.GENESIS
        for event in events:
            if event.seq == seq:
                event.reason = reason
            if event.seq >= seq:
                event.prev_hash = prev
                event.hash = audit._digest(event)
            prev = event.hash
        with engine.begin() as conn:
            for event in events[seq - 1 :]:
                conn.execute(
                    sqlalchemy.text(
                        "UPDATE audit_event SET reason = :reason, prev_hash = :prev, hash = :hash "
                        "WHERE seq = :seq"
                    ),
                    {"reason": event.reason, "prev": event.prev_hash, "hash": event.hash, "seq": event.seq},
                )
            conn.execute(sqlalchemy.text("UPDATE audit_head SET last_hash = :h WHERE id = 1"), {"h": prev})
    finally:
        engine.dispose()


def _head() -> tuple[int, str]:
    seq, last = raw_sql("SELECT seq, last_hash FROM audit_head WHERE id = 1")[0]
    return seq, last


def _more_events(trigger, ref: str) -> None:
    trigger("decide", ref, "--met", "--on", "2026-03-05")
    trigger("assign", ref, "--lead", "police", "--reviewer", "Sam Reviewer", "--on", "2026-03-06")


@pytest.fixture
def anchored(db, case, tmp_path):
    """A case with its events, anchored in a file, and more events after the anchor: (file, seq)."""
    path = tmp_path / "audit-anchor.json"
    result = db("audit", "anchor", "-o", path)
    seq, _ = _head()
    assert result.stdout == "" and f"Anchored the audit chain at event {seq} " in result.stderr
    _more_events(db, case)
    assert _head()[0] > seq
    return path, seq


def test_an_anchor_names_the_head_and_the_database_and_no_person(db, case, tmp_path):
    anchor = json.loads(db("audit", "anchor").stdout)
    seq, last = _head()
    assert (anchor["seq"], anchor["hash"]) == (seq, last)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", anchor["at"])
    assert anchor["first_hash"] == raw_sql("SELECT hash FROM audit_event WHERE seq = 1")[0][0]
    assert anchor["partnerships"] == [{"code": "main", "name": "Leicester, Leicestershire and Rutland"}]
    assert anchor["database"].startswith(("SQLite file trigger.db", "PostgreSQL database test on "))
    text = json.dumps(anchor)
    for personal in ("Ann Example", "tester", "Five reports", str(tmp_path), "postgres@"):
        assert personal not in text


def test_the_chain_verifies_through_a_kept_anchor_as_it_grows(db, anchored):
    path, seq = anchored
    out = db("audit", "verify", "--anchor", path).stdout
    events = _head()[0]
    assert re.fullmatch(
        rf"Audit chain intact: {events} events, running through event {seq} \(anchored [0-9TZ:-]+\)\.\n"
        r"The tables hold what the log says: 1 case\(s\) replayed\.\n",
        out,
    )


def test_a_rewritten_history_passes_plain_verify_but_not_the_anchor(db, anchored):
    path, seq = anchored
    _rewrite_history(2, "Nothing was reported")
    assert "Audit chain intact" in db("audit", "verify").stdout  # the chain alone cannot tell
    result = db.fails("audit", "verify", "--anchor", path)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Error: audit chain broken at event {seq}: event {seq} has hash ")
    assert (
        f"but the anchor {path} (taken " in lines[0] and "the history up to it was written again" in lines[0]
    )


def test_a_log_cut_back_before_the_anchor_is_found(db, case, anchored):
    path, seq = anchored
    keep = seq - 2
    (kept_hash,) = raw_sql("SELECT hash FROM audit_event WHERE seq = :s", s=keep)[0]
    raw_sql("DELETE FROM audit_event WHERE seq > :s", s=keep)
    raw_sql("UPDATE audit_head SET seq = :s, last_hash = :h WHERE id = 1", s=keep, h=kept_hash)
    # the chain that is left holds, but the rows are ahead of it: the case's move and the rows it wrote
    plain = db.fails("audit", "verify")
    assert f"{case}: state is in_review, the log says received since 2026-03-02\n" in plain.stdout
    assert f"{case}: threshold decision 1 is not in the log (a row added outside the engine)" in plain.stdout
    result = db.fails("audit", "verify", "--anchor", path)
    assert result.stderr.strip() == (
        f"Error: audit chain broken at event {seq}: event {seq} is missing, but the anchor {path} "
        f"(taken {json.loads(path.read_text())['at']}) has it (the log was cut back)"
    )


def test_every_anchor_given_is_checked(db, anchored, tmp_path):
    path, seq = anchored
    later = tmp_path / "later.json"
    db("audit", "anchor", "-o", later)
    assert (
        f"running through event {seq} " in db("audit", "verify", "--anchor", path, "--anchor", later).stdout
    )
    _rewrite_history(_head()[0], "Changed at the very end")  # after the first anchor, at the second
    result = db.fails("audit", "verify", "--anchor", path, "--anchor", later)
    assert f"audit chain broken at event {_head()[0]}: " in result.stderr and str(later) in result.stderr


def test_an_anchor_file_is_private_and_replaced_only_with_force(db, anchored):
    path, seq = anchored
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    before = path.read_bytes()
    result = db.fails("audit", "anchor", "-o", path)
    assert (
        result.stderr.strip()
        == f"Error: {path} already exists; give --force to replace it, or name another file"
    )
    assert path.read_bytes() == before
    db("audit", "anchor", "-o", path, "--force")
    assert json.loads(path.read_text())["seq"] == _head()[0] > seq
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@sqlite_only
def test_an_anchor_is_never_written_over_the_database(db, case):
    database = os.environ["TRIGGER_DB"].removeprefix("sqlite:///")
    result = db.fails("audit", "anchor", "-o", database, "--force")
    assert "is the database" in result.stderr
    assert "Audit chain intact" in db("audit", "verify").stdout


def test_a_broken_chain_is_not_anchored(db, case, tmp_path):
    raw_sql("UPDATE audit_event SET actor = 'someone else' WHERE seq = 2")
    result = db.fails("audit", "anchor", "-o", tmp_path / "a.json")
    assert result.stderr.strip() == (
        "Error: audit chain broken at event 2: event 2 (activate) was altered; "
        "an anchor would vouch for it, so none was taken"
    )
    assert not (tmp_path / "a.json").exists()


GOOD_HASH = "ab" * 32


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"{", "not JSON (Expecting property name enclosed in double quotes, line 1)"),
        (b"", "not JSON (Expecting value, line 1)"),
        (b"\xff\xfe\x00garbage", "it is not UTF-8 text"),
        (b"[1, 2]", "it holds no seq and hash"),
        (b"[" * 100_000, "its JSON is nested too deeply"),
        (json.dumps({"seq": "7", "hash": GOOD_HASH}).encode(), "seq must be a whole number from 1 to"),
        (json.dumps({"seq": 0, "hash": GOOD_HASH}).encode(), "seq must be a whole number from 1 to"),
        (json.dumps({"seq": 10**30, "hash": GOOD_HASH}).encode(), "seq must be a whole number from 1 to"),
        (json.dumps({"seq": True, "hash": GOOD_HASH}).encode(), "seq must be a whole number from 1 to"),
        (json.dumps({"seq": 3, "hash": "abc"}).encode(), "hash must be 64 hexadecimal digits"),
        (json.dumps({"seq": 3}).encode(), "hash must be 64 hexadecimal digits"),
        (json.dumps({"audit_anchor": None, "applications": 4}).encode(), "seq must be a whole number"),
    ],
)
@pytest.mark.any_engine  # the file is refused before the database is opened
def test_a_malformed_anchor_is_one_line_and_nothing_else(db, tmp_path, content, says):
    path = tmp_path / "anchor.json"
    path.write_bytes(content)
    result = db.fails("audit", "verify", "--anchor", path)
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: {path} is not an audit anchor: {says}")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.any_engine
def test_an_anchor_that_cannot_be_read_is_one_line(db, tmp_path):
    missing = db.fails("audit", "verify", "--anchor", tmp_path / "nowhere.json")
    assert (
        missing.stderr
        == f"Error: cannot read the anchor {tmp_path / 'nowhere.json'}: No such file or directory\n"
    )
    folder = db.fails("audit", "verify", "--anchor", tmp_path)
    assert folder.stderr == f"Error: cannot read the anchor {tmp_path}: Is a directory\n"


def test_a_published_return_carries_the_anchor_and_serves_as_one(db, case, tmp_path):
    returned = db.json("report", "annual", "--year", "2025", "--publish")
    seq, last = _head()
    assert returned["audit_anchor"]["seq"] == seq and returned["audit_anchor"]["hash"] == last
    assert "audit_anchor" not in db.json("report", "annual", "--year", "2025")  # only what is published
    kept = tmp_path / "asb-2025-26.json"
    kept.write_text(json.dumps(returned))
    _more_events(db, case)
    assert f"running through event {seq} " in db("audit", "verify", "--anchor", kept).stdout
    _rewrite_history(3, "Edited after publication")
    assert f"audit chain broken at event {seq}: " in db.fails("audit", "verify", "--anchor", kept).stderr


def test_published_files_carry_the_anchor_where_it_fits(db, case, tmp_path):
    page, book, table = tmp_path / "asb.html", tmp_path / "asb.xlsx", tmp_path / "asb.csv"
    db(
        "report",
        "annual",
        "--year",
        "2025",
        "--publish",
        "--html",
        page,
        "--xlsx",
        book,
        "--csv",
        "-o",
        table,
    )
    seq, last = _head()
    html = page.read_text()
    footer = html[html.index("<footer>") :]
    assert f"event\n{seq} of the audit log had the SHA-256 hash <code>{last}</code>" in footer
    notes = {
        row[0]: row[1]
        for row in openpyxl.load_workbook(book, read_only=True)["Notes"].iter_rows(values_only=True)
    }
    assert f"event {seq} of the audit log had the SHA-256 hash {last}" in notes["Audit anchor"]
    assert last not in table.read_text(encoding="utf-8-sig")  # the tidy CSV holds measures only
