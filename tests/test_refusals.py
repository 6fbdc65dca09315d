"""The table of refusals (docs/architecture.md#bad-input): bad input of every kind on the commands
that change things. Each is refused with one line on stderr and a non-zero exit, and the whole
database (every row of every table; on SQLite also `.dump`) is the same afterwards. Never a
traceback."""

from __future__ import annotations

import os
import secrets
from datetime import date, datetime

import pytest
import sqlalchemy

from tests.support.cases import THREE_COMPLAINTS, add_complaints
from tests.support.databases import ON_POSTGRES, PG_URL, with_search_path
from tests.support.sql import database_dump
from trigger.cases import moves, review
from trigger.store.app import App

BIG = str(2**70)  # 1180591620717411303424
KB128 = "x" * 131_072

HEADER = "victim_id,occurred,reported,agency,agency_ref,hate,category,location,description\r\n"
ROW = "V1,2026-01-10,2026-01-11,police,CAD-{n},,,,{text}\r\n"
CSV = {
    # neither UTF-8 nor Windows-1252 (0x81 and 0x8d mean nothing in either)
    "undecodable": (HEADER + ROW.format(n=1, text="Caf")).encode() + b"\x81\x8d\r\n",
    "utf16": (HEADER + ROW.format(n=1, text="noise")).encode("utf-16"),
    "unclosed quote": (
        HEADER + 'V1,2026-01-10,2026-01-11,police,CAD-1,,,,"shouting\r\n' + ROW.format(n=2, text="noise")
    ).encode(),
    "NUL byte": (HEADER + ROW.format(n=1, text="no\x00ise")).encode(),
    "128 KB field": (HEADER + ROW.format(n=1, text=KB128)).encode(),
    "escape characters": (HEADER + ROW.format(n=1, text="\x1b[31mred\x1b[0m")).encode(),
    "year 1900": (HEADER + "V1,1900-01-10,1900-01-11,police,CAD-1,,,,x\r\n").encode(),
    "year 9999": (HEADER + "V1,9999-01-10,9999-01-11,police,CAD-1,,,,x\r\n").encode(),
    "CRLF in a reference": (HEADER + 'V1,2026-01-10,2026-01-11,police,"CAD\r\n1",,,,x\r\n').encode(),
    "duplicate header": (
        b"victim_id,occurred,reported,reported,agency,agency_ref\r\n"
        b"V1,2026-01-10,2026-01-11,2026-01-30,police,C1\r\n"
    ),
}

ACTIVATE = ["activate", "--received", "2026-03-02", "--channel", "online"]


def activate(applicant="Bob Example", statement="Nothing has changed", *more):
    return [*ACTIVATE, "--applicant", applicant, "--statement", statement, *more]


def incident(*more, occurred="2026-02-10", reported="2026-02-11"):
    return [
        "incident",
        "add",
        "{A}",
        "--occurred",
        occurred,
        "--reported",
        reported,
        "--agency",
        "police",
        *more,
    ]


# (name, args, words in the one line). {A}: a case just received (three complaints); {B}: a case under
# appeal against its outcome, reviewed by Sam Reviewer, with action 1 and recommendation 1; {C}: a case
# decided not met on 2026-03-05, its appeal window open; {csv}: a file with the content CSV[name].
REFUSALS = [
    # a year outside 1990-2100, never a traceback
    ("received year 0001", activate("Bob", "x", "--received", "0001-01-01"), "a year outside 1990-2100"),
    ("received year 9999", activate("Bob", "x", "--received", "9999-12-31"), "a year outside 1990-2100"),
    ("received in 1900", activate("Bob", "x", "--received", "1900-05-01"), "a year outside 1990-2100"),
    ("occurred 1989", incident(occurred="1989-12-31", reported="1990-01-02"), "a year outside 1990-2100"),
    ("decided year 2101", ["decide", "{A}", "--met", "--on", "2101-01-01"], "a year outside 1990-2100"),
    ("meeting year 9999", ["meeting", "{B}", "--at", "9999-01-01T10:00"], "a year outside 1990-2100"),
    (
        "action due year 2150",
        ["action", "add", "{B}", "--action", "Visit", "--owner", "cbc", "--due", "2150-01-01"],
        "a year outside 1990-2100",
    ),
    ("purge year 0001", ["purge", "--closed-before", "0001-01-01"], "a year outside 1990-2100"),
    ("report year 0", ["report", "annual", "--year", "0"], "not in the range 1990<=x<=2100"),
    (
        "hours dated 0001",
        ["hours", "{B}", "--agency", "cbc", "--person", "Sam", "--hours", "1", "--date", "0001-01-01"],
        "a year outside",
    ),
    # dates checked against the case
    (
        "action due absurdly far ahead",
        ["action", "add", "{B}", "--action", "Visit", "--owner", "cbc", "--due", "2099-01-01"],
        "more than two years ahead",
    ),
    (
        "evidence due absurdly far ahead",
        ["evidence", "{B}", "--agency", "police", "--requested", "2026-03-10", "--due", "2060-01-01"],
        "more than two years ahead",
    ),
    (
        "meeting before receipt",
        ["meeting", "{B}", "--at", "2026-02-01T10:00"],
        "before the case was received",
    ),
    ("meeting years ahead", ["meeting", "{B}", "--at", "2031-01-01T10:00"], "more than two years ahead"),
    (
        "appeal before receipt",
        ["appeal", "{C}", "--received", "2026-02-01", "--grounds", "process"],
        "before the case was received",
    ),
    (
        "consent years before receipt",
        activate("Bob", "x", "--victim", "Carol Example", "--consent-date", "2024-01-01"),
        "more than a year before the application",
    ),
    (
        "hours before receipt",
        ["hours", "{B}", "--agency", "cbc", "--person", "Sam", "--hours", "1", "--date", "2026-02-01"],
        "before the case was received",
    ),
    (
        "consent year 0001",
        activate("Bob", "x", "--victim", "Carol", "--consent-date", "0001-01-01"),
        "a year outside",
    ),
    # numbers that do not fit
    (
        "hours zero",
        ["hours", "{B}", "--agency", "cbc", "--person", "Sam", "--hours", "0", "--date", "2026-03-10"],
        "not a day's work",
    ),
    (
        "hours 2**70",
        ["hours", "{B}", "--agency", "cbc", "--person", "Sam", "--hours", BIG, "--date", "2026-03-10"],
        "not a day's work",
    ),
    (
        "hours nan",
        ["hours", "{B}", "--agency", "cbc", "--person", "Sam", "--hours", "nan", "--date", "2026-03-10"],
        "not a day's work",
    ),
    (
        "hours inf",
        ["hours", "{B}", "--agency", "cbc", "--person", "Sam", "--hours", "inf", "--date", "2026-03-10"],
        "not a day's work",
    ),
    (
        "hours negative",
        ["hours", "{B}", "--agency", "cbc", "--person", "Sam", "--hours", "-3", "--date", "2026-03-10"],
        "not a day's work",
    ),
    ("same-as 2**70", incident("--same-as", BIG), "not in the range 1<=x<=2147483647"),
    ("same-as 0", incident("--same-as", "0"), "not in the range 1<=x<=2147483647"),
    ("action number 2**70", ["action", "update", "{B}", BIG, "--status", "done"], "not in the range"),
    ("recommendation number 2**70", ["response", "{B}", BIG, "--accepted"], "not in the range"),
    # files partners send: never a traceback, never a swallowed row
    ("undecodable CSV", ["incidents", "import", "{csv}"], "is neither UTF-8 nor Windows-1252"),
    ("UTF-16 CSV", ["incidents", "import", "{csv}"], "is UTF-16"),
    ("unclosed quote", ["incidents", "import", "{csv}"], "quote left open"),
    ("NUL byte in a CSV", ["incidents", "import", "{csv}"], "NUL"),
    ("128 KB CSV field", ["incidents", "import", "{csv}"], "the limit is 10,000"),
    ("escape characters in a CSV", ["incidents", "import", "{csv}"], "an escape"),
    ("CSV year 1900", ["incidents", "import", "{csv}"], "a year outside 1990-2100"),
    ("CSV year 9999", ["incidents", "import", "{csv}"], "a year outside 1990-2100"),
    ("CRLF in a CSV reference", ["incidents", "import", "{csv}"], "a carriage return"),
    # text too long, NUL, control and escape characters
    ("128 KB statement", activate("Bob", KB128), "the limit is 10,000"),
    ("128 KB finding", ["finding", "{B}", "--category", "risk", "--text", KB128], "the limit is 10,000"),
    ("128 KB name", activate("B" * 131_072), "the limit is 200"),
    ("NUL in a name", activate("Ann\x00Example"), "NUL"),
    ("NUL in a statement", activate("Bob", "no\x00thing"), "NUL"),
    ("NUL in a finding", ["finding", "{B}", "--category", "risk", "--text", "a\x00b"], "NUL"),
    ("NUL in a recommendation", ["recommend", "{B}", "--to", "police", "--text", "a\x00b"], "NUL"),
    ("NUL in an agency code", ["agency", "add", "cb\x00c", "--name", "X", "--kind", "other"], "NUL"),
    (
        "NUL in a person",
        ["hours", "{B}", "--agency", "cbc", "--person", "Sam\x00", "--hours", "1", "--date", "2026-03-10"],
        "NUL",
    ),
    ("NUL in a case reference", ["decide", "CT-2026\x00-0001", "--met"], "NUL"),
    ("escape in a name", activate("Ann\x1b[31mExample"), "an escape"),
    ("CRLF in a name", activate("Ann\r\nExample"), "a carriage return"),
    (
        "line break in a reviewer",
        ["assign", "{A}", "--lead", "cbc", "--reviewer", "Sam\nReviewer"],
        "a line break",
    ),
    (
        "tab in a person",
        ["hours", "{B}", "--agency", "cbc", "--person", "Sam\tX", "--hours", "1", "--date", "2026-03-10"],
        "a tab",
    ),
    ("CRLF in an agency reference", incident("--agency-ref", "CAD\r\n1"), "a carriage return"),
    (
        "escape in an agency name",
        ["agency", "add", "fire", "--name", "Fire\x1b]8;;x", "--kind", "other"],
        "an escape",
    ),
    (
        "agency code of 33 characters",
        ["agency", "add", "c" * 33, "--name", "X", "--kind", "other"],
        "the limit is 32",
    ),
    ("space in an agency code", ["agency", "add", "cb c", "--name", "X", "--kind", "other"], "is not a code"),
    ("escape in an agency code", ["agency", "add", "c\x1bbc", "--name", "X", "--kind", "other"], "an escape"),
    ("bidi override in a name", activate("Ann \u202eelpmaxE"), "invisible formatting character"),
    # agency codes unique whatever their case
    (
        "CBC beside cbc",
        ["agency", "add", "CBC", "--name", "Charnwood again", "--kind", "council"],
        "already exists",
    ),
    (
        "Police beside police",
        ["agency", "add", "Police", "--name", "Police again", "--kind", "police"],
        "already exists",
    ),
    # a reason is words
    (
        "blank rejection reason",
        ["decide", "{A}", "--reject", "vexatious", "--reason", "   "],
        "--reason is blank",
    ),
    ("blank met reason", ["decide", "{A}", "--met", "--reason", " \t "], "--reason is blank"),
    ("blank withdrawal reason", ["withdraw", "{A}", "--reason", "   "], "--reason is blank"),
    ("blank close reason", ["close", "{C}", "--force", "--reason", "\n"], "--reason is blank"),
    (
        "blank appeal decision reason",
        ["appeal-decision", "{B}", "--dismissed", "--by", "Chair", "--reason", "  "],
        "--reason is blank",
    ),
    (
        "blank appeal detail",
        ["appeal", "{C}", "--received", "2026-03-10", "--grounds", "process", "--detail", " "],
        "--detail is blank",
    ),
    (
        "blank late reason",
        ["appeal", "{C}", "--received", "2026-03-10", "--grounds", "process", "--late-reason", "  "],
        "--late-reason is blank",
    ),
    (
        "blank no-recommendations reason",
        ["outcome", "{A}", "--no-recommendations", "   "],
        "--no-recommendations is blank",
    ),
    ("blank declined reason", ["response", "{B}", "1", "--declined", "--reason", "   "], "--reason is blank"),
    ("blank action note", ["action", "update", "{B}", "1", "--note", "   "], "--note is blank"),
    # the independence check cannot be dodged
    (
        "decider with a double space",
        ["appeal-decision", "{B}", "--upheld", "--by", "Sam  Reviewer", "--reason", "x"],
        "recorded as involved",
    ),
    (
        "decider in capitals",
        ["appeal-decision", "{B}", "--upheld", "--by", "SAM REVIEWER", "--reason", "x"],
        "recorded as involved",
    ),
    (
        "decider with a no-break space",
        ["appeal-decision", "{B}", "--upheld", "--by", "Sam\u00a0Reviewer", "--reason", "x"],
        "recorded as involved",
    ),
    (
        "decider with padding",
        ["appeal-decision", "{B}", "--upheld", "--by", "  sam reviewer ", "--reason", "x"],
        "recorded as involved",
    ),
    (
        "decider with a zero-width space",
        ["appeal-decision", "{B}", "--upheld", "--by", "Sam\u200bReviewer", "--reason", "x"],
        "invisible formatting character",
    ),
    # every e-mail address checked
    (
        "manager e-mail",
        ["init", "--policy", "llr", "--manager-email", "not-an-address"],
        "is not an e-mail address",
    ),
    (
        "agency e-mail without a domain",
        ["agency", "add", "fire", "--name", "Fire", "--kind", "other", "--email", "a@b"],
        "is not an e-mail address",
    ),
    (
        "applicant e-mail with two @",
        activate("Bob", "x", "--email", "ann@@example.org"),
        "is not an e-mail address",
    ),
    (
        "reviewer e-mail with a space",
        ["assign", "{A}", "--lead", "cbc", "--reviewer", "Sam", "--reviewer-email", "sam @example.org"],
        "is not an e-mail address",
    ),
    (
        "e-mail header injection",
        [
            "agency",
            "add",
            "fire",
            "--name",
            "Fire",
            "--kind",
            "other",
            "--email",
            "a@example.org\r\nBcc: x@example.org",
        ],
        "a carriage return",
    ),
    # the database itself
    (
        "mysql URL",
        ["--db", "mysql://user@127.0.0.1/trigger", "list"],
        "only SQLite (sqlite:///FILE) and PostgreSQL",
    ),
    ("postgres:// URL", ["--db", "postgres://user@127.0.0.1/trigger", "list"], "write a PostgreSQL URL as"),
    (
        "a text file as the database",
        [
            "--db",
            "sqlite:///{notdb}",
            "activate",
            "--applicant",
            "A",
            "--received",
            "2026-03-02",
            "--channel",
            "online",
            "--statement",
            "x",
        ],
        "is not a SQLite database",
    ),
    ("a folder as the database", ["--db", "sqlite:///{tmp}", "list"], "is a folder, not a database file"),
    # left over after the first rounds: each was a traceback or was accepted
    ("calendar span 999999999wd", ["calendar", "due", "2026-12-19", "999999999wd"], "more than ten years"),
    ("calendar span 99999d", ["calendar", "due", "2026-12-19", "99999d"], "more than ten years"),
    ("db upgrade to a bogus revision", ["db", "upgrade", "--revision", "bogus"], "not a revision this"),
    (
        "appeal received after --on",
        ["appeal", "{C}", "--received", "2026-03-20", "--grounds", "process", "--on", "2026-03-10"],
        "is before --received 2026-03-20",
    ),
    (
        "consent date with no victim",
        activate("Bob", "x", "--consent-date", "2026-03-01"),
        "give the victim with --victim",
    ),
    (
        "consent date for the applicant as victim",
        activate("Bob Example", "x", "--victim", "bob example", "--consent-date", "2026-03-01"),
        "give the victim with --victim",
    ),
    ("blank finding text", ["finding", "{B}", "--category", "risk", "--text", "  \t "], "--text is blank"),
    ("blank complainant", incident("--complainant", "   "), "--complainant is blank"),
    ("blank --as", ["--as", "   ", "finding", "{B}", "--category", "risk", "--text", "x"], "is blank"),
    (
        "escape in --as",
        ["--as", "Sam\x1b[31mRed", "finding", "{B}", "--category", "risk", "--text", "x"],
        "an escape",
    ),
    (
        "hours 1e-320",
        ["hours", "{B}", "--agency", "cbc", "--person", "Sam", "--hours", "1e-320", "--date", "2026-03-10"],
        "not a day's work",
    ),
    (
        "decider with a Cyrillic look-alike letter",
        ["appeal-decision", "{B}", "--upheld", "--by", "S\u0430m Revi\u0435wer", "--reason", "x"],
        "recorded as involved",
    ),
    (
        "decider with a trailing dot",
        ["appeal-decision", "{B}", "--upheld", "--by", "Sam Reviewer.", "--reason", "x"],
        "recorded as involved",
    ),
    (
        "decider with an accent",
        ["appeal-decision", "{B}", "--upheld", "--by", "Sám Reviewer", "--reason", "x"],
        "recorded as involved",
    ),
    (
        "a read-only command on a new SQLite file",
        ["--db", "sqlite:///{tmp}/new/folder/trigger.db", "list"],
        "no Community Trigger database at",
    ),
    ("CSV with a header twice", ["incidents", "import", "{csv}"], "is there twice"),
]


@pytest.fixture
def world(db, case, snapshot, tmp_path):
    """{A}: `case`; {B}: under appeal against its outcome; {C}: decided not met."""

    def build() -> dict:
        app = App()
        b = moves.activate(
            app, applicant="Dee Example", received=date(2026, 3, 2), channel="online", statement="x"
        )
        for day in (10, 20, 25):
            db(
                "incident",
                "add",
                b.reference,
                "--occurred",
                f"2026-01-{day}",
                "--reported",
                f"2026-01-{day}",
                "--agency",
                "police",
            )
        moves.decide(app, b.reference, met=True, on=date(2026, 3, 5))
        moves.assign(app, b.reference, lead="cbc", reviewer="Sam Reviewer", on=date(2026, 3, 6))
        review.meeting(app, b.reference, at=datetime(2026, 3, 20, 10), held=True)
        review.add_finding(app, b.reference, category="risk", on=date(2026, 3, 20))
        review.recommend(app, b.reference, to="police", text="Share the log", on=date(2026, 3, 20))
        review.add_action(
            app, b.reference, action="Visit", owner="cbc", due=date(2026, 6, 1), on=date(2026, 3, 20)
        )
        moves.issue_outcome(app, b.reference, victim_consulted=True, on=date(2026, 3, 23))
        moves.lodge_appeal(
            app, b.reference, received=date(2026, 3, 30), grounds="process", on=date(2026, 3, 30)
        )
        c = moves.activate(
            app, applicant="Eve Example", received=date(2026, 3, 2), channel="online", statement="x"
        )
        moves.decide(app, c.reference, met=False, on=date(2026, 3, 5))
        return {"B": b.reference, "C": c.reference}

    made = snapshot("refusals-world", build)
    notdb = tmp_path / "notes.txt"
    notdb.write_text("Minutes of the review meeting\n" * 50)
    return {"A": case, **made, "notdb": str(notdb), "tmp": str(tmp_path)}


@pytest.mark.parametrize("name, args, words", REFUSALS, ids=[r[0] for r in REFUSALS])
def test_bad_input_is_refused_with_one_line_and_the_database_unchanged(
    db, world, tmp_path, name, args, words
):
    if "{csv}" in args:
        path = tmp_path / "incidents.csv"
        path.write_bytes(_csv_for(name))
        world = {**world, "csv": str(path)}
    filled = [_fill(a, world) for a in args]
    before = database_dump()
    result = db.fails(*filled)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    if args[:2] == ["incidents", "import"] and len(lines) > 1:
        lines = lines[-1:]  # the bad rows are listed first, each with its line number, then one summary
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout
    assert words in result.stderr, result.stderr
    assert database_dump() == before, f"{name}: the database changed"
    if _unused_placeholder(filled):
        raise AssertionError(f"{name}: a placeholder was not filled: {filled}")


def _csv_for(name: str) -> bytes:
    key = {
        "undecodable CSV": "undecodable",
        "UTF-16 CSV": "utf16",
        "unclosed quote": "unclosed quote",
        "NUL byte in a CSV": "NUL byte",
        "128 KB CSV field": "128 KB field",
        "escape characters in a CSV": "escape characters",
        "CSV year 1900": "year 1900",
        "CSV year 9999": "year 9999",
        "CRLF in a CSV reference": "CRLF in a reference",
        "CSV with a header twice": "duplicate header",
    }[name]
    return CSV[key]


def _fill(arg: str, world: dict) -> str:
    for key, value in world.items():
        arg = arg.replace("{" + key + "}", value)
    return arg


def _unused_placeholder(args: list[str]) -> bool:
    return any(a in ("{A}", "{B}", "{C}", "{csv}") for a in args)


def test_the_table_covers_every_kind_of_bad_input_the_issue_names():
    names = " ".join(r[0] for r in REFUSALS)
    for kind in (
        "0001",
        "9999",
        "2**70",
        "undecodable",
        "UTF-16",
        "128 KB",
        "NUL",
        "mysql",
        "text file",
        "blank",
        "double space",
        "before receipt",
        "escape",
        "CRLF",
        "CBC beside cbc",
        "unclosed quote",
        "e-mail",
    ):
        assert kind in names, kind
    assert len(REFUSALS) >= 80


@pytest.mark.skipif(not ON_POSTGRES, reason="needs TRIGGER_TEST_DB (PostgreSQL roles)")
def test_a_read_only_postgresql_login_is_told_in_one_line_and_nothing_changes(db, world):
    role = f"ro_{secrets.token_hex(4)}"
    url = os.environ["TRIGGER_DB"]
    schema = sqlalchemy.engine.make_url(url).query["options"].split()[0].split("=", 1)[1]  # -csearch_path=...
    admin = sqlalchemy.create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=sqlalchemy.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        conn.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}")
    try:
        reader = with_search_path(PG_URL.replace("postgres@", f"{role}@"), schema)
        before = database_dump()
        assert world["A"] in db("--db", reader, "list").stdout  # reading works
        for args in (
            [
                "hours",
                world["B"],
                "--agency",
                "cbc",
                "--person",
                "Sam",
                "--hours",
                "1",
                "--date",
                "2026-03-10",
            ],
            ["decide", world["A"], "--met", "--on", "2026-03-05"],
            activate(),
        ):
            result = db.fails("--db", reader, *args)
            assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
            assert "permission denied" in result.stderr and "this login may only read" in result.stderr
        assert database_dump() == before
    finally:
        from trigger.store.app import dispose_engines

        dispose_engines()
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP OWNED BY {role}")
            conn.exec_driver_sql(f"DROP ROLE {role}")
        admin.dispose()


def test_a_latin_1_csv_from_excel_is_read_as_windows_1252_not_a_traceback(db, tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes((HEADER + ROW.format(n=1, text="Café on the corner")).encode("latin-1"))
    result = db("incidents", "import", path)
    assert "Imported 1 of 1 rows" in result.stdout and "Traceback" not in result.stderr


def test_a_read_only_command_on_a_new_sqlite_url_makes_no_folder_and_no_file(db, tmp_path):
    target = tmp_path / "new" / "folder" / "trigger.db"
    for args in (["list"], ["show", "CT-2026-0001"], ["audit", "verify"], ["report", "annual"]):
        result = db.fails("--db", f"sqlite:///{target}", *args)
        assert (
            result.stderr
            == f"Error: no Community Trigger database at {target} yet; run `trigger init` first\n"
        )
    assert "no migrations applied" in db("--db", f"sqlite:///{target}", "db", "current").stdout
    assert not (tmp_path / "new").exists()


def test_a_meeting_time_given_with_an_offset_is_kept_as_the_time_in_england(db, world):
    reviewed = db.json(
        "activate", "--applicant", "Fay Example", "--received", "2026-03-02", "--channel", "online",
        "--statement", "x",
    )["reference"]  # fmt: skip
    add_complaints(db, reviewed, THREE_COMPLAINTS, on="2026-03-03")
    db("decide", reviewed, "--met", "--on", "2026-03-05")
    db("assign", reviewed, "--lead", "cbc", "--reviewer", "Sam Reviewer", "--on", "2026-03-06")
    said = db("meeting", reviewed, "--at", "2026-12-21T10:00+05:00").stdout
    assert said == f"Meeting scheduled 2026-12-21T05:00 on {reviewed}.\n"  # 10:00 at UTC+5 is 05:00 GMT
    assert db.json("show", reviewed)["meeting"]["at"] == "2026-12-21T05:00"
    db("meeting", reviewed, "--at", "2026-06-21T10:00Z")
    assert db.json("show", reviewed)["meeting"]["at"] == "2026-06-21T11:00"  # British Summer Time
