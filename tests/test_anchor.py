"""Anchors for the audit chain (docs/operations.md#audit-anchors): the head kept outside the database,
so that a history rewritten by someone who can write to the database (an edited row and every hash
after it computed again) is found, not only an edited row. Through the real command line, on SQLite
and on PostgreSQL (TRIGGER_TEST_DB)."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
from datetime import date
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy
from sqlmodel import Session, select

from tests.support.databases import sqlite_only
from tests.support.serving import Serve
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
        r"The tables hold what the log says: 1 case replayed\.\n",
        out,
    )


def test_a_rewritten_history_passes_plain_verify_but_not_the_anchor(db, anchored, tmp_path, monkeypatch):
    path, seq = anchored
    _rewrite_history(2, "Nothing was reported")
    # the copy kept in the anchor folder finds it by itself (checked below); elsewhere, the chain alone
    # cannot tell
    monkeypatch.setenv("TRIGGER_ANCHOR_DIR", str(tmp_path / "elsewhere"))
    assert "Audit chain intact" in db("audit", "verify").stdout
    result = db.fails("audit", "verify", "--anchor", path)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"Error: audit chain broken at event {seq}: event {seq} has hash ")
    assert (
        f"but the anchor {path} (taken " in lines[0] and "the history up to it was written again" in lines[0]
    )


def _cut_back(keep: int) -> None:
    """Delete every event after `keep` and rewind the head to it: a log that is whole, only shorter."""
    (kept_hash,) = raw_sql("SELECT hash FROM audit_event WHERE seq = :s", s=keep)[0]
    raw_sql("DELETE FROM audit_event WHERE seq > :s", s=keep)
    raw_sql("UPDATE audit_head SET seq = :s, last_hash = :h WHERE id = 1", s=keep, h=kept_hash)


def test_a_log_cut_back_before_the_anchor_is_found(db, case, anchored):
    path, seq = anchored
    keep = seq - 2
    _cut_back(keep)
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


# -- anchors kept in the anchor folder, taken without being asked ------------------------------------------


def _kept(folder: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(folder.glob("audit-anchor-*.json"))]


def test_every_anchor_taken_is_kept_private_in_the_folder_and_checked_by_plain_verify(db, anchored, tmp_path):
    path, seq = anchored
    folder = tmp_path / "home" / "anchors"  # the data directory's (TRIGGER_HOME in the tests)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    (kept,) = folder.glob("audit-anchor-*.json")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert json.loads(kept.read_text())["hash"] == json.loads(path.read_text())["hash"]
    out = db("audit", "verify").stdout
    assert f"running through event {seq} (anchored " in out and f"kept in {folder})." in out
    _rewrite_history(2, "Nothing was reported")
    result = db.fails("audit", "verify")  # nobody had to give the anchor
    assert f"but the anchor {kept} (taken " in result.stderr
    assert "the history up to it was written again" in result.stderr


def test_events_deleted_and_the_head_rewound_past_the_kept_anchor_are_found(db, anchored):
    _path, seq = anchored
    _cut_back(seq - 2)
    result = db.fails("audit", "verify")
    assert f"audit chain broken at event {seq}: event {seq} is missing, but the anchor " in result.stderr
    assert "(the log was cut back)" in result.stderr


def test_the_anchor_folder_is_the_environments_or_the_policys(db, case, tmp_path, monkeypatch):
    policy = tmp_path / "policies" / "melton.toml"
    policy.parent.mkdir()
    text = (Path(__file__).parents[1] / "workflows" / "llr.toml").read_text()
    policy.write_text('anchor_folder = "anchors-kept"\n' + text)
    db("--policy", policy, "audit", "anchor")
    assert len(_kept(policy.parent / "anchors-kept")) == 1
    monkeypatch.setenv("TRIGGER_ANCHOR_DIR", str(tmp_path / "elsewhere"))
    db("--policy", policy, "audit", "anchor")
    assert len(_kept(tmp_path / "elsewhere")) == 1 and len(_kept(policy.parent / "anchors-kept")) == 1


def test_a_folder_shared_by_two_databases_checks_each_against_its_own(db, case, tmp_path, monkeypatch):
    monkeypatch.setenv("TRIGGER_ANCHOR_DIR", str(tmp_path / "shared"))
    db("audit", "anchor")
    other = f"sqlite:///{tmp_path / 'other.db'}"
    db("--db", other, "init")
    db("--db", other, "audit", "anchor")  # the other database's head: another chain altogether
    assert len({a["database_id"] for a in _kept(tmp_path / "shared")}) == 2
    assert "Audit chain intact" in db("audit", "verify").stdout
    assert "Audit chain intact" in db("--db", other, "audit", "verify").stdout


def test_purge_and_a_published_return_keep_an_anchor(db, tmp_path):
    from tests.support.cases import received_case
    from trigger.cases import moves
    from trigger.store.app import App

    folder = tmp_path / "home" / "anchors"
    ref = received_case(App(), date(2018, 5, 1))
    moves.withdraw(App(), ref, reason="moved away", on=date(2018, 6, 1))
    db("report", "annual", "--year", "2018", "--publish", "--json")
    assert [a["taken_by"] for a in _kept(folder)] == ["report annual --publish"]
    db("purge", "--closed-before", "2020-01-01")
    seq, last = _head()
    newest = _kept(folder)[-1]
    assert (newest["taken_by"], newest["seq"], newest["hash"]) == ("purge", seq, last)
    db("report", "annual", "--year", "2018")  # figures not published: nothing kept
    assert len(_kept(folder)) == 2


def test_an_anchor_is_mailed_to_the_manager_through_the_mail_server(db, case, tmp_path, monkeypatch):
    from tests.support.mailservers import MANAGER, Collect, Server

    db("init", "--manager-email", MANAGER)
    handler = Collect()
    server = Server(handler).start()
    try:
        monkeypatch.setenv("TRIGGER_SMTP_URL", server.url())
        monkeypatch.setenv("TRIGGER_MAIL_FROM", "community.safety@council.example")
        result = db("audit", "anchor", "--mail")
    finally:
        server.stop()
    seq, last = _head()
    assert result.stdout == ""
    assert result.stderr == f"Sent the anchor of event {seq} to {MANAGER} by smtp 127.0.0.1:{server.port}.\n"
    (msg,) = handler.messages
    assert msg["To"] == MANAGER and f"event {seq}" in msg["Subject"]
    assert msg["Auto-Submitted"] == "auto-generated"
    (attachment,) = list(msg.iter_attachments())
    sent = json.loads(attachment.get_content())
    assert (sent["seq"], sent["hash"]) == (seq, last)
    kept = tmp_path / "sent.json"
    kept.write_bytes(attachment.get_content())
    assert f"running through event {seq} " in db("audit", "verify", "--anchor", kept).stdout
    assert len(_kept(tmp_path / "home" / "anchors")) == 1  # and a copy kept, as every anchor


def test_an_anchor_that_cannot_be_sent_is_one_line(db, case, monkeypatch):
    from tests.support.mailservers import MANAGER, Collect, Server

    db("init", "--manager-email", MANAGER)
    server = Server(Collect(fail_all="554 5.7.1 No thanks")).start()
    try:
        monkeypatch.setenv("TRIGGER_SMTP_URL", server.url())
        monkeypatch.setenv("TRIGGER_MAIL_FROM", "community.safety@council.example")
        result = db.fails("audit", "anchor", "--mail")
    finally:
        server.stop()
    assert result.stderr.startswith(f"Error: could not send the anchor to {MANAGER} by smtp 127.0.0.1:")
    assert result.stderr.count("\n") == 1


def test_without_a_mail_server_the_anchor_goes_to_the_outbox(db, case, tmp_path, monkeypatch):
    db("init", "--manager-email", "csm@example.gov.uk")
    monkeypatch.setenv("TRIGGER_OUTBOX", str(tmp_path / "outbox"))
    assert "by outbox " in db("audit", "anchor", "--mail").stderr
    (eml,) = (tmp_path / "outbox").glob("*.eml")
    assert b"csm@example.gov.uk" in eml.read_bytes() and b'filename="audit-anchor-' in eml.read_bytes()


@pytest.mark.slow
def test_reminders_serve_keeps_an_anchor_when_it_starts(db, case, tmp_path):
    serve = Serve(env={"TRIGGER_OUTBOX": str(tmp_path / "outbox")})
    try:
        serve.wait_until(lambda: any(line.startswith("anchor: ") for line in serve.lines), "its anchor")
        serve.signal(signal.SIGTERM)
        assert serve.finish() == 0, serve.log
    finally:
        serve.kill()
    seq, last = _head()
    (kept,) = _kept(tmp_path / "home" / "anchors")
    assert (kept["seq"], kept["hash"], kept["taken_by"]) == (seq, last, "reminders serve"), serve.log
    assert f"anchor: the audit chain at event {seq} kept in " in "\n".join(serve.lines)


def test_the_daily_anchor_is_kept_once_a_day_and_only_when_the_chain_grew(db, case, tmp_path):
    from datetime import UTC, datetime, timedelta

    from trigger.store import anchors
    from trigger.store.app import App

    assert anchors.keep_daily(App()) is not None
    assert anchors.keep_daily(App()) is None  # kept today already
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    assert anchors.keep_daily(App(), tomorrow) is None  # nothing happened since
    _more_events(db, case)
    assert anchors.keep_daily(App(), tomorrow).anchor["seq"] == _head()[0]
    assert len(_kept(tmp_path / "home" / "anchors")) == 2
