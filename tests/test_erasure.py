"""Erasure that erases (docs/operations.md#erasure): the reasons and details of a case's audit events
are stored encrypted under the case's own key, and `purge` destroys the key. Proved on the bytes: after
`trigger purge`, none of a person's words is left in the SQLite file, its WAL or its shared memory
file, in PostgreSQL's table files, in the outbox or in the letter register; the chain still verifies,
and `show` and `export` say the text was erased."""

from __future__ import annotations

import os
import secrets
import sqlite3
from datetime import date
from email import message_from_bytes
from email import policy as email_policy
from pathlib import Path

import pytest

from tests.support.databases import ON_POSTGRES, sqlite_only
from tests.support.sql import pg_dump, raw_sql, read_column, wal_readable, wal_since

# words that occur nowhere else, so that a byte found is one of the case's
NAME = "Quenbury Zaltwhistle"
OLD_ADDRESS = "4 Vexmoor Lane"
ADDRESS = "9 Prundlefield Close"
REASON = "Yorvaldine misheard the street"
WITHDRAWN = "moving in with Ermintrude Scobbleton"
EMAIL = "quenbury@zaltwhistle.example"
# the victim's ids in the partners' systems (on the case; in an imported log), how the imported victim
# was told about the Case Review, and the grounds of an appeal
VICTIM_REF = "QZW-Grimblethorpe-17"
LOGGED_REF = "LOG-Wendlesham-42"
HOW = "Bartholomew Snickett leaflet"
GROUNDS = "Fennimore misread the log"
# an imported row's description corrected, and why: in the correction table, sealed under its log key
LOG_FIX = "Hortensia Quibbleworth's doorway"
LOG_WHY = "Ptolemy Vantablack gave the wrong door"
MARKERS = (
    NAME, OLD_ADDRESS, ADDRESS, REASON, WITHDRAWN, EMAIL, VICTIM_REF, LOGGED_REF, HOW, GROUNDS,
    LOG_FIX, LOG_WHY,
)  # fmt: skip
# the tables whose personal fields are sealed under the case's key or a log key (trigger.store.sealed)
SEALED_TABLES = (
    "review_case", "correction", "incident", "letter", "letter_copy", "letter_delivery", "signposting",
    "appeal",
)  # fmt: skip


def _found(data: bytes, markers: tuple[str, ...] = MARKERS) -> list[str]:
    """The markers in `data`, in UTF-8 (SQLite's and PostgreSQL's text), UTF-16 either way round (a
    SQLite file may store text so), and lower case."""
    hits = []
    for marker in markers:
        for text in {marker, marker.lower()}:
            for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
                if text.encode(encoding) in data:
                    hits.append(f"{text} ({encoding})")
    return hits


def _appeal(ref: str, grounds: str, received: date) -> None:
    """An appeal on the case, written through the engine's own session (the grounds a policy offers
    are codes; this one is a marker, to be looked for in the bytes)."""
    from sqlmodel import select

    from trigger.store.app import App
    from trigger.store.models import Appeal, ReviewCase

    with App().write() as session:
        case = session.exec(select(ReviewCase).where(ReviewCase.reference == ref)).one()
        session.add(Appeal(case_id=case.id, against="threshold", received=received, grounds=grounds))


def _signposted(db, tmp_path: Path, victim: str, how: str, agency_ref: str) -> None:
    """A partner's log of 2018 with two reports of `victim`, imported; the victim told on 2018-03-20."""
    log = tmp_path / f"log-{agency_ref}.csv"
    log.write_text(
        "victim_id,occurred,reported,agency,agency_ref,hate,category,location,description\n"
        f"{victim},2018-03-01,2018-03-02,police,{agency_ref}-1,,,,\n"
        f"{victim},2018-03-08,2018-03-09,police,{agency_ref}-2,,,,\n"
    )
    db("incidents", "import", log)
    db("signpost", victim, "--how", how, "--on", "2018-03-20")


@pytest.fixture
def old_case(db, outbox, tmp_path):
    """A case of 2018, withdrawn in 2019: its address corrected with a reason, a letter issued and one
    e-mailed (to the outbox), its reminders sent to the outbox, an appeal recorded; and a partner's log
    of 2018 about another victim, who was told about the Case Review."""
    ref = db.json(
        "activate", "--applicant", NAME, "--received", "2018-05-01", "--channel", "online",
        "--statement", f"{NAME} cannot sleep", "--address", OLD_ADDRESS, "--postcode", "LE11 1AA",
        "--email", EMAIL, "--victim-ref", VICTIM_REF,
    )["reference"]  # fmt: skip
    _signposted(db, tmp_path, LOGGED_REF, HOW, "CAD-OLD")
    ((row,),) = raw_sql("SELECT id FROM incident WHERE agency_ref = 'CAD-OLD-1'")
    db("incident", "update", row, "--description", LOG_FIX, "--reason", LOG_WHY, "--on", "2018-03-25")
    _appeal(ref, GROUNDS, date(2018, 5, 20))
    for day in ("2018-04-03", "2018-04-10", "2018-04-17"):
        db(
            "incident",
            "add",
            ref,
            "--occurred",
            day,
            "--reported",
            day,
            "--agency",
            "police",
            "--on",
            "2018-05-02",
        )
    db("case", "update", ref, "--address", ADDRESS, "--reason", REASON, "--on", "2018-05-02")
    db("letter", ref, "acknowledgement", "--format", "txt", "-o", tmp_path / "ack.txt", "--on", "2018-05-03")
    db("letter", ref, "acknowledgement", "--send", "--on", "2018-05-03")
    db("reminders", "run", "--now", "2018-06-20T08:00")
    db("withdraw", ref, "--reason", WITHDRAWN, "--on", "2019-01-10")
    return ref


def _outbox_text(folder: Path) -> str:
    """Every message in the outbox as its reader sees it (bodies decoded)."""
    out = []
    for path in sorted(folder.glob("*.eml")):
        msg = message_from_bytes(path.read_bytes(), policy=email_policy.default)
        out += [str(v) for v in msg.values()]
        out += [p.get_content() for p in msg.walk() if p.get_content_maintype() == "text"]
    return "\n".join(out)


def _before_purge_the_data_is_there_and_the_audit_log_holds_it_sealed(db, ref, outbox):
    shown = db.json("show", ref)
    assert [a["grounds"] for a in shown["appeals"]] == [GROUNDS]
    assert read_column("review_case", "victim_ref") == [VICTIM_REF]
    assert set(read_column("incident", "victim_ref")) == {VICTIM_REF, LOGGED_REF}  # the complaints carry it
    assert read_column("signposting", "how") == [HOW]
    assert read_column("signposting", "victim_ref") == [LOGGED_REF]
    events = {e["event"]: e for e in shown["events"]}
    assert events["case_update"]["reason"] == REASON and events["withdraw"]["reason"] == WITHDRAWN
    stored = raw_sql(
        "SELECT reason, detail FROM audit_event WHERE case_id = (SELECT id FROM review_case "
        "WHERE reference = :r) AND event IN ('case_update', 'withdraw')",
        r=ref,
    )
    assert len(stored) == 2 and all(reason.startswith("sealed:") for reason, _ in stored)
    assert all(detail is None or detail.startswith("sealed:") for _, detail in stored)
    stored = [bytes(r[0]) for r in raw_sql("SELECT content FROM letter_copy")]
    assert stored and all(c.startswith(b"sealed:c") for c in stored) and _found(b"".join(stored)) == []
    copies = b"".join(read_column("letter_copy", "content"))
    assert NAME.encode() in copies and ADDRESS.encode() in copies  # the register gives the letter's bytes
    mail = _outbox_text(outbox)
    assert NAME in mail and ADDRESS in mail and EMAIL in mail  # the e-mailed letter
    assert any(p.name.startswith("letter-") for p in outbox.glob("*.eml"))
    assert len(list(outbox.glob("*.eml"))) >= 2  # and at least one reminder beside it


def _after_purge_nothing_is_left_but_the_chain(db, ref, outbox):
    assert "intact" in db("audit", "verify").stdout
    erased = f"[erased by purge on {date.today().isoformat()}]"
    events = {e["event"]: e for e in db.json("show", ref)["events"]}
    assert events["case_update"]["reason"] == erased and events["withdraw"]["reason"] == erased
    assert events["case_update"]["detail"] == {"erased": erased}
    assert "audit reasons and details (the case's key)" in events["purge"]["detail"]["fields"]
    exported = db("export", ref, "--json").stdout
    assert erased in exported and _found(exported.encode()) == []
    assert raw_sql("SELECT count(*) FROM letter_copy")[0][0] == 0
    assert raw_sql("SELECT count(*) FROM case_key")[0][0] == 0
    assert list(outbox.iterdir()) == []  # the letter and the reminders, overwritten and removed


@sqlite_only
@pytest.mark.slow
def test_on_sqlite_no_byte_of_the_person_is_left_in_the_file_its_wal_or_shm(db, old_case, outbox):
    path = Path(os.environ["TRIGGER_DB"][len("sqlite:///") :])
    _before_purge_the_data_is_there_and_the_audit_log_holds_it_sealed(db, old_case, outbox)
    # the audit log's own pages (its table, its indexes, their overflow pages) hold no plaintext even
    # before the purge, while the case's pages do: read them from the file itself
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = dict(conn.execute("SELECT name, group_concat(pageno) FROM dbstat GROUP BY name").fetchall())
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'audit_event'")]
    finally:
        conn.close()
    data = path.read_bytes()

    def read(name: str) -> bytes:
        return b"".join(data[(int(p) - 1) * size : int(p) * size] for p in pages[name].split(","))

    assert {"audit_event", "ix_audit_event_case_id"} <= set(names)
    assert _found(b"".join(read(n) for n in names if n in pages)) == []
    # nor does anything else: the case's names, addresses and statement, the correction's values,
    # the letters sent and whom they were e-mailed to are sealed under the case's key
    assert _found(data) == []
    assert old_case.encode() in read("review_case")  # the check can see: the reference is stored as is

    result = db("purge", "--closed-before", "2020-01-01")
    assert "Purged personal data of 1 case" in result.stdout and result.stderr == ""
    files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
    for f in files:
        if f.exists():
            assert _found(f.read_bytes()) == [], f
    _after_purge_nothing_is_left_but_the_chain(db, old_case, outbox)
    for f in files:  # and the commands run since left nothing behind either
        if f.exists():
            assert _found(f.read_bytes()) == [], f


def _pg_relations() -> dict[str, str]:
    """Every relation of the test's schema (each table, its indexes, its TOAST table and that one's
    index), named `table:relation`, with its file under the server's data directory."""
    rows = raw_sql(
        """
        SELECT t.relname || ':' || x.oid::regclass::text, pg_relation_filepath(x.oid)
        FROM pg_class t JOIN pg_namespace n ON n.oid = t.relnamespace
        CROSS JOIN LATERAL (
          SELECT t.oid UNION SELECT indexrelid FROM pg_index WHERE indrelid = t.oid
          UNION SELECT t.reltoastrelid WHERE t.reltoastrelid <> 0
          UNION SELECT indexrelid FROM pg_index WHERE indrelid = t.reltoastrelid AND t.reltoastrelid <> 0
        ) x(oid)
        WHERE n.nspname = current_schema() AND t.relkind = 'r'
        """
    )
    return {name: path for name, path in rows if path}


def _pg_bytes(path: str) -> bytes:
    return bytes(raw_sql("SELECT pg_read_binary_file(:p)", p=path)[0][0] or b"")


@pytest.mark.skipif(not ON_POSTGRES, reason="needs TRIGGER_TEST_DB (PostgreSQL table files)")
@pytest.mark.slow
def test_on_postgresql_no_byte_of_the_person_is_left_in_the_table_files(db, old_case, outbox):
    if not raw_sql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")[0][0]:
        pytest.skip("reading the server's table files (pg_read_binary_file) needs a superuser")
    _before_purge_the_data_is_there_and_the_audit_log_holds_it_sealed(db, old_case, outbox)
    raw_sql("CHECKPOINT")  # what is in shared buffers goes to the files
    relations = _pg_relations()
    audit_files = [n for n in relations if n.startswith("audit_event:")]
    assert len(audit_files) >= 4 and "case_key:case_key" in relations  # heap, indexes, TOAST
    # the audit log's files, and those of the case's own rows, hold no plaintext even before the purge
    sealed = [n for n in relations if n.split(":")[0] in ("audit_event", *SEALED_TABLES)]
    assert {n: h for n in sealed if (h := _found(_pg_bytes(relations[n])))} == {}
    assert old_case.encode() in _pg_bytes(relations["review_case:review_case"])  # the check can see

    result = db("purge", "--closed-before", "2020-01-01")
    assert "Purged personal data of 1 case" in result.stdout and result.stderr == ""
    raw_sql("CHECKPOINT")
    relations = _pg_relations()  # VACUUM FULL gave the tables new files
    left = {n: h for n, p in relations.items() if (h := _found(_pg_bytes(p)))}
    assert left == {}
    _after_purge_nothing_is_left_but_the_chain(db, old_case, outbox)


def test_a_sealed_reason_moved_to_another_event_does_not_open(db, case):
    """The case, the event's number and the field are bound into each sealed value: copied onto
    another event (by someone with write access to the table) it opens nowhere."""
    db("decide", case, "--met", "--reason", "three qualifying complaints", "--on", "2026-03-04")
    db("withdraw", case, "--reason", "the applicant moved", "--on", "2026-03-05")
    from sqlmodel import select

    from trigger.store import seal
    from trigger.store.app import App
    from trigger.store.models import AuditEvent

    with App().read() as session:
        rows = session.exec(select(AuditEvent).where(AuditEvent.event.in_(("decide", "withdraw")))).all()
        decided, withdrawn = sorted(rows, key=lambda r: r.seq)
        opener = seal.Opener(session, [decided.case_id])
        assert opener.reason(decided) == "three qualifying complaints"
        withdrawn.reason = decided.reason
        assert opener.reason(withdrawn).startswith("[sealed text that does not open")
        session.rollback()


def test_events_of_no_case_are_stored_as_written(db):
    db("agency", "add", "fire", "--name", "Fire and Rescue", "--kind", "other")
    (detail,) = raw_sql("SELECT detail FROM audit_event WHERE event = 'agency_add'")[0]
    assert '"code": "fire"' in detail


def test_text_recorded_after_a_purge_reads_and_the_purged_text_stays_erased(db):
    """A case's key made after its purge (an event recorded on the purged case) opens only what
    followed; what was sealed before stays erased."""
    ref = db.json(
        "activate", "--applicant", NAME, "--received", "2018-05-01", "--channel", "online",
        "--statement", "x",
    )["reference"]  # fmt: skip
    db("withdraw", ref, "--reason", WITHDRAWN, "--on", "2019-01-10")
    db("purge", "--closed-before", "2020-01-01")
    from sqlmodel import select

    from trigger.store import audit
    from trigger.store.app import App
    from trigger.store.models import ReviewCase

    with App().write() as session:
        case = session.exec(select(ReviewCase).where(ReviewCase.reference == ref)).one()
        audit.record(session, case, "note", actor="tester", on=date.today(), reason="asked about by phone")
    events = {e["event"]: e for e in db.json("show", ref)["events"]}
    assert events["withdraw"]["reason"] == f"[erased by purge on {date.today().isoformat()}]"
    assert events["note"]["reason"] == "asked about by phone"
    assert "intact" in db("audit", "verify").stdout


@pytest.mark.skipif(not ON_POSTGRES, reason="needs TRIGGER_TEST_DB (PostgreSQL's WAL and pg_dump)")
@pytest.mark.slow
def test_on_postgresql_no_marker_is_in_the_wal_or_in_a_dump_taken_before_the_purge(db, tmp_path, outbox):
    """What the server copies beyond the tables (the WAL, and so archives and replicas; `pg_dump`)
    only ever held the case's values sealed: none of the markers is in them, in any encoding, before
    or after the purge, while the engine showed them all until the purge. The markers are this run's
    own, so that a page image of an earlier test's rows cannot stand in for them."""
    why_not = wal_readable()
    if why_not:
        pytest.skip(why_not)
    run = secrets.token_hex(3)
    name, address, street = f"Quenbury Zalt{run}", f"4 Vexmoor{run} Lane", f"9 Prundle{run} Close"
    statement, reason, email = f"Yorvald{run} cannot sleep", f"Ermintrude{run} moved", f"q{run}@zalt.example"
    said, logged = f"Scobble{run} shouted at the door", f"Thistlewood{run} banged on the wall"
    victim, imported = f"QZW-{run}-Grimble", f"LOG-{run}-Wendle"
    how, grounds = f"Snickett{run} leaflet", f"Fennimore{run} misread the log"
    markers = (name, address, street, statement, reason, email, said, logged, victim, imported, how, grounds)
    (lsn,) = raw_sql("SELECT pg_current_wal_lsn()::text")[0]
    ref = db.json(
        "activate", "--applicant", name, "--received", "2018-05-01", "--channel", "online",
        "--statement", statement, "--address", address, "--postcode", "LE11 1AA", "--email", email,
        "--victim-ref", victim,
    )["reference"]  # fmt: skip
    for day in ("2018-04-03", "2018-04-10", "2018-04-17"):
        db("incident", "add", ref, "--occurred", day, "--reported", day, "--agency", "police",
           "--description", said, "--on", "2018-05-02")  # fmt: skip
    _appeal(ref, grounds, date(2018, 5, 20))
    _signposted(db, tmp_path, imported, how, f"CAD-{run}-S")
    db("case", "update", ref, "--address", street, "--reason", reason, "--on", "2018-05-02")
    db("letter", ref, "acknowledgement", "--send", "--on", "2018-05-03")  # its bytes kept, and whom to
    db("withdraw", ref, "--reason", reason, "--on", "2019-01-10")
    log = tmp_path / "log.csv"  # a partner's log, with a row of 2018 about another victim
    log.write_text(
        "victim_id,occurred,reported,agency,agency_ref,hate,category,location,description\n"
        f"V77,2018-03-01,2018-03-02,police,CAD-{run},,,,{logged}\n"
    )
    db("incidents", "import", log)
    shown = db("show", ref).stdout
    assert name in shown and street in shown  # the engine reads them
    assert [a["grounds"] for a in db.json("show", ref)["appeals"]] == [grounds]
    listed = {r["victim_id"]: r["told_on"] for r in db.json("scan", "--as-of", "2018-06-30")["second_report"]}
    assert listed == {victim: None, imported: "2018-03-20"}
    dump = tmp_path / "before-purge.sql"
    pg_dump(dump)
    assert "sealed:c" in dump.read_text() and _found(dump.read_bytes(), markers) == []
    raw_sql("CHECKPOINT")
    wal = wal_since(lsn)
    assert ref.encode() in wal and _found(wal, markers) == []  # the case's row is there, sealed

    result = db("purge", "--closed-before", "2020-01-01")
    assert "Purged personal data of 1 case" in result.stdout and result.stderr == ""
    raw_sql("CHECKPOINT")
    assert _found(wal_since(lsn), markers) == []
    assert raw_sql("SELECT count(*) FROM case_key")[0][0] == 0
    assert raw_sql("SELECT count(*) FROM log_key WHERE month < '2020-01'")[0][0] == 0
    # what the backup taken before the purge holds of them can no longer be opened: their keys are gone
    assert raw_sql("SELECT count(*) FROM signposting")[0][0] == 0
    assert "sealed:m" in dump.read_text()  # the imported rows and the signposting, sealed


def test_values_written_before_sealing_began_are_sealed_by_the_upgrade(db, old_case):
    """A database of the revision before sealing holds the values in the clear; `trigger db upgrade`
    seals them in place under each case's key, and the case reads as it did."""
    from alembic import command

    from trigger.store import db as database
    from trigger.store.app import get_engine

    before = db.json("show", old_case)
    scanned = db.json("scan", "--as-of", "2018-06-30")
    told = [(r["victim_id"], r["told_on"]) for r in scanned["second_report"]]
    assert told == [(LOGGED_REF, "2018-03-20"), (VICTIM_REF, None)]  # the case's complaints carry its id
    with database.migrating(get_engine(os.environ["TRIGGER_DB"])) as conn:
        command.downgrade(database._config(conn), "0003_applicant_notices")
    assert raw_sql("SELECT applicant_name, address, victim_ref FROM review_case") == [
        (NAME, ADDRESS, VICTIM_REF)
    ]
    assert raw_sql("SELECT victim_ref, how FROM signposting") == [(LOGGED_REF, HOW)]
    assert raw_sql("SELECT grounds FROM appeal") == [(GROUNDS,)]
    assert {r[0] for r in raw_sql("SELECT victim_ref FROM incident")} == {VICTIM_REF, LOGGED_REF}
    assert NAME.encode() in b"".join(bytes(r[0]) for r in raw_sql("SELECT content FROM letter_copy"))
    assert "up to date" in db("db", "upgrade").stdout
    ((name, address),) = raw_sql("SELECT applicant_name, address FROM review_case")
    assert name.startswith("sealed:c") and address.startswith("sealed:c")
    assert [r[0][:8] for r in raw_sql("SELECT new_value FROM correction ORDER BY id")] == [
        "sealed:m",
        "sealed:c",
    ]
    assert {bytes(r[0])[:8] for r in raw_sql("SELECT content FROM letter_copy")} == {b"sealed:c"}
    after = db.json("show", old_case)
    assert {k: after[k] for k in before if k != "events"} == {k: before[k] for k in before if k != "events"}
    # the victim's ids, how they were told and the grounds sealed; the ids matched on by their hash
    ((ref, digest),) = raw_sql("SELECT victim_ref, victim_hash FROM review_case")
    assert ref.startswith("sealed:c") and len(bytes(digest)) == 32
    ((ref, how, digest),) = raw_sql("SELECT victim_ref, how, victim_hash FROM signposting")
    assert ref.startswith("sealed:m") and how.startswith("sealed:m") and len(bytes(digest)) == 32
    assert raw_sql("SELECT grounds FROM appeal")[0][0].startswith("sealed:c")
    stored = raw_sql("SELECT case_id IS NULL, victim_ref, victim_hash FROM incident")
    assert {(imported, ref[:8]) for imported, ref, _ in stored} == {(True, "sealed:m"), (False, "sealed:c")}
    assert len({bytes(h) for *_, h in stored}) == 2  # one hash per victim
    assert db.json("scan", "--as-of", "2018-06-30") == scanned
