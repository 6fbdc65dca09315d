"""What PostgreSQL itself enforces once `trigger db grant` has run
(docs/architecture.md#what-the-server-enforces): each refusal shown twice, through the command line and
through raw SQL as the same login, so that a person who bypasses `trigger` with `psql` gets no more
than the command line gives them.

Real logins on the real server (127.0.0.1:5432, TRIGGER_TEST_DB's when set): created here with
unique names, set up by the county's own recipe (README, "A county on one PostgreSQL database": an
owner login runs `init`, `partnership add`, `db grant` and registers people), dropped afterwards. These
run in the SQLite pass, and skip only when the server cannot be reached; being on the server whatever the
pass, they are marked `any_engine` so that the PostgreSQL pass does not run them a second time.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from urllib.parse import quote

import pytest
import sqlalchemy
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests.support.databases import keep_engine
from tests.support.runner import Runner
from trigger.store.app import dispose_engines

SERVER = os.environ.get("TRIGGER_TEST_DB", "").strip() or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
ROLES = ("admin", "mgr_a", "mgr_b", "rev_a", "chair_a", "clerk_a", "view_a", "stranger")
NAMES = {
    "admin": "Ada Admin",
    "mgr_a": "Mia Manager",
    "mgr_b": "Bob Manager",
    "rev_a": "Rita Reviewer",
    "chair_a": "Cora Chair",
    "clerk_a": "Cleo Clerk",
    "view_a": "Vin Viewer",
}
GROUP_ROLES = ("admin", "manager", "reviewer", "chair", "clerk", "viewer")
pytestmark = pytest.mark.any_engine

COMPLAINTS = (("2026-01-10", "2026-01-12"), ("2026-01-20", "2026-01-21"), ("2026-02-03", "2026-02-04"))


class County:
    """A county database in its own schema (or, given `database`, a database of its own, in its public
    schema), owned by its own login, with a login per role."""

    def __init__(self, admin_engine, tag: str, folder, database: str | None = None):
        self.admin = admin_engine
        self.database = database or make_url(SERVER).database
        self.schema = "public" if database else f"ct_{tag}"
        self.login = {role: f"ct_{tag}_{role}" for role in ("owner", *ROLES)}
        self.visitors: dict[str, str] = {}  # logins of other databases, connecting here (not dropped)
        # `db grant` names the groups after the database (and the schema, when not public)
        prefix = self.database if database else f"{self.database}_{self.schema}"
        self.groups = {role: f"{prefix}_{role}" for role in GROUP_ROLES}
        self.folder = folder
        self.runner = Runner()
        self.engines: dict[str, sqlalchemy.Engine] = {}  # `sql`'s, one a login (no connection kept)

    def drop(self) -> None:
        """Its schema (or database), its logins and its groups, gone from the server."""
        dispose_engines()
        for engine in self.engines.values():
            engine.dispose()
        with self.admin.connect() as conn:
            if self.schema == "public":
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
            else:
                conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
            for role in [*self.login.values(), *self.groups.values()]:
                conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")

    def url(self, who: str) -> str:
        login = self.login.get(who) or self.visitors[who]
        base = make_url(SERVER).set(username=login, password=None, database=self.database)
        text = base.render_as_string(hide_password=False)
        if self.schema == "public":
            return text
        return f"{text}?options={quote(f'-csearch_path={self.schema}', safe='')}"

    def cli(self, who: str, *args, env: dict | None = None):
        """`trigger --db <who's URL> ...`, with no typed name (the login is who acts)."""
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("TRIGGER_HOME", str(self.folder / "home"))
            mp.delenv("TRIGGER_USER", raising=False)
            mp.delenv("TRIGGER_SMTP_URL", raising=False)
            for key, value in (env or {}).items():
                mp.setenv(key, value)
            # the engine this process used for the login before, its pool emptied: what SQLAlchemy
            # learnt of the server and compiled is kept, each command still connects anew
            keep_engine(self.url(who))
            result = self.runner("--db", self.url(who), *args, ok=False)
        dispose_engines()
        return result

    def ok(self, who: str, *args):
        result = self.cli(who, *args)
        assert result.exit_code == 0, f"{who}: trigger {' '.join(map(str, args))}:\n{result.stderr}"
        return result

    def sql(self, who: str, statement: str, **params):
        """Run one statement as the login, in a transaction rolled back afterwards; return the rows
        (or the rowcount of a change)."""
        url = self.url(who)
        if url not in self.engines:
            self.engines[url] = sqlalchemy.create_engine(url, poolclass=NullPool)
        with self.engines[url].connect() as conn:
            result = conn.execute(sqlalchemy.text(statement), params)
            out = result.all() if result.returns_rows else result.rowcount
            conn.rollback()
            return out

    def refused(self, who: str, statement: str, *, codes=("42501",), **params) -> str:
        """The server's refusal of a statement by the login: insufficient privilege (42501), or for a
        login with no group, tables it cannot even see (42P01)."""
        with pytest.raises(sqlalchemy.exc.DBAPIError) as caught:
            self.sql(who, statement, **params)
        assert caught.value.orig.sqlstate in codes, caught.value.orig
        return str(caught.value.orig)


@pytest.fixture(scope="module")
def server():
    engine = sqlalchemy.create_engine(SERVER, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except sqlalchemy.exc.OperationalError as exc:
        engine.dispose()
        pytest.skip(
            f"PostgreSQL at {make_url(SERVER).host}:{make_url(SERVER).port} is not reachable: {exc.orig}"
        )
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def county(server, tmp_path_factory):
    """Partnerships A and B set up as the README's recipe says, one login of each role, a case in each."""
    c = County(server, secrets.token_hex(4), tmp_path_factory.mktemp("pgroles"))
    with server.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {c.login['owner']} LOGIN CREATEROLE")
        for role in ROLES:
            conn.exec_driver_sql(f"CREATE ROLE {c.login[role]} LOGIN")
        conn.exec_driver_sql(f"CREATE SCHEMA {c.schema} AUTHORIZATION {c.login['owner']}")
    try:
        c.ok(
            "owner",
            "init",
            "--policy",
            "llr",
            "--partnership",
            "A",
            "--name",
            "Partnership A",
            "--manager-email",
            "a@example.gov.uk",
        )
        c.ok("owner", "partnership", "add", "B", "--name", "Partnership B", "--policy", "llr")
        c.ok("owner", "db", "grant")
        c.ok("owner", "user", "add", c.login["owner"], "--name", "Database Owner", "--role", "admin")
        # the admin registers the others from their own login: no CREATEROLE needed to give the groups
        c.ok("owner", "user", "add", c.login["admin"], "--name", NAMES["admin"], "--role", "admin")
        for role, (kind, where) in {
            "mgr_a": ("manager", "A"),
            "mgr_b": ("manager", "B"),
            "rev_a": ("reviewer", "A"),
            "chair_a": ("chair", "A"),
            "clerk_a": ("clerk", "A"),
            "view_a": ("viewer", "A"),
        }.items():
            c.ok(
                "admin",
                "user",
                "add",
                c.login[role],
                "--name",
                NAMES[role],
                "--role",
                kind,
                "--partnership",
                where,
            )
        c.a = json.loads(
            c.ok(
                "clerk_a",
                "activate",
                "--applicant",
                "Ann A",
                "--received",
                "2026-03-02",
                "--channel",
                "online",
                "--statement",
                "x",
                "--json",
            ).stdout
        )["reference"]
        c.b = json.loads(
            c.ok(
                "mgr_b",
                "activate",
                "--applicant",
                "Ben B",
                "--received",
                "2026-03-02",
                "--channel",
                "online",
                "--statement",
                "x",
                "--json",
            ).stdout
        )["reference"]
        yield c
    finally:
        c.drop()


def test_the_groups_are_given_to_each_login_by_its_role(county, server):
    with server.connect() as conn:
        rows = conn.execute(
            sqlalchemy.text(
                "SELECT r.rolname, g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
                "JOIN pg_roles r ON r.oid = m.member WHERE r.rolname LIKE :p"
            ),
            {"p": f"ct\\_{county.schema[3:]}\\_%"},
        ).all()
    groups = dict(rows)
    assert groups[county.login["mgr_a"]] == county.groups["manager"] == f"test_{county.schema}_manager"
    assert groups[county.login["view_a"]] == county.groups["viewer"]
    assert groups[county.login["chair_a"]] == county.groups["chair"]
    assert county.login["stranger"] not in groups


def test_a_login_sees_only_its_own_partnership(county):
    listed = [r["reference"] for r in json.loads(county.ok("mgr_a", "list", "--json").stdout)]
    assert county.a in listed and county.b not in listed
    assert f"Error: no case '{county.b}'" in county.cli("mgr_a", "show", county.b).stderr
    # and psql gives no more: B's case is not there for A's manager
    refs = {r[0] for r in county.sql("mgr_a", "SELECT reference FROM review_case")}
    assert county.a in refs and county.b not in refs
    assert county.sql("mgr_a", "SELECT count(*) FROM incident WHERE partnership_id <> 1")[0][0] == 0
    assert {r[0] for r in county.sql("mgr_b", "SELECT reference FROM review_case")} == {county.b}
    assert {r[0] for r in county.sql("mgr_a", "SELECT code FROM partnership")} == {"A"}
    assert {r[0] for r in county.sql("admin", "SELECT code FROM partnership")} == {"A", "B"}


def test_a_manager_cannot_change_another_partnerships_case_with_sql(county):
    assert (
        f"Error: no case '{county.b}'"
        in county.cli("mgr_a", "decide", county.b, "--met", "--reason", "x").stderr
    )
    changed = county.sql(
        "mgr_a", "UPDATE review_case SET statement = 'edited' WHERE reference = :r", r=county.b
    )
    assert changed == 0  # the row is not there to change
    err = county.refused(
        "mgr_a",
        "INSERT INTO review_case (reference, version, state, state_changed, received, channel, "
        "applicant_name, victim_name, victim_kind, language, statement, policy_name, policy_version, "
        "purged, created_at, updated_at, partnership_id) "
        "VALUES ('CT-B-2026-0999', 1, 'received', current_date, current_date, "
        "'online', 'x', 'x', 'individual', 'en', 'x', 'llr', '1', false, now(), now(), "
        "(SELECT partnership_id FROM app_user WHERE login = :b))",
        b=county.login["mgr_b"],
    )
    assert "row-level security" in err


def test_a_viewer_only_selects(county):
    before = county.sql("view_a", "SELECT count(*) FROM audit_event")[0][0]
    err = county.cli("view_a", "decide", county.a, "--met", "--reason", "x").stderr
    assert (
        "Error: deciding and managing a case needs the manager role; "
        f"{county.login['view_a']} is registered as viewer" in err
    )
    assert county.sql("view_a", "SELECT count(*) FROM review_case")[0][0] >= 1
    assert "permission denied for table review_case" in county.refused(
        "view_a", "UPDATE review_case SET statement = 'x' WHERE reference = :r", r=county.a
    )
    assert "permission denied for table finding" in county.refused(
        "view_a", "INSERT INTO finding (case_id, category, recorded_on) VALUES (1, 'risk', current_date)"
    )
    assert "permission denied" in county.refused("view_a", "DELETE FROM incident")
    assert "permission denied" in county.refused("view_a", "UPDATE audit_head SET seq = seq")
    assert county.sql("view_a", "SELECT count(*) FROM audit_event")[0][0] == before


def test_nobody_may_rewrite_the_audit_log(county, server):
    for who in ("admin", "mgr_a", "rev_a", "chair_a", "clerk_a", "view_a"):
        for statement in (
            "UPDATE audit_event SET actor = 'someone'",
            "DELETE FROM audit_event",
            "TRUNCATE audit_event",
        ):
            assert "permission denied for table audit_event" in county.refused(who, statement)
    # not even the tables' owner, who may do anything else: the log is append-only
    for statement in (
        "UPDATE audit_event SET actor = 'someone'",
        "DELETE FROM audit_event",
        "TRUNCATE audit_event",
    ):
        assert "the audit log is append-only" in county.refused("owner", statement)
    assert "Audit chain intact" in county.ok("admin", "audit", "verify").stdout


def test_a_typed_name_proves_nothing_on_postgresql(county):
    err = county.cli("mgr_a", "--as", county.login["chair_a"], "list").stderr
    assert f"the acting user is the database login {county.login['mgr_a']}" in err
    assert "a typed name proves nothing" in err
    err = county.cli("mgr_a", "list", env={"TRIGGER_USER": "Independent Chair"}).stderr
    assert "--as/TRIGGER_USER 'Independent Chair' is refused" in err
    # naming yourself is fine
    assert county.cli("mgr_a", "--as", county.login["mgr_a"], "list").exit_code == 0


def test_a_reviewer_changes_only_the_cases_they_review_even_with_sql(county):
    mine = _met_case(county, "Rita Reviewer")
    theirs = _met_case(county, "Someone Else")
    err = county.cli("rev_a", "finding", theirs, "--category", "risk", "--text", "x").stderr
    assert (
        f"recording review work on {theirs} needs the manager role, or the reviewer role as its reviewer"
        in err
    )
    county.ok("rev_a", "finding", mine, "--category", "risk", "--text", "x", "--on", "2026-03-07")
    insert = (
        "INSERT INTO finding (case_id, category, recorded_on) "
        "SELECT id, 'risk', current_date FROM review_case WHERE reference = :r"
    )
    assert "row-level security" in county.refused("rev_a", insert, r=theirs)
    assert county.sql("rev_a", insert, r=mine) == 1  # (rolled back)
    assert "permission denied for table threshold_decision" in county.refused(
        "rev_a", "UPDATE threshold_decision SET reason = 'x'"
    )


def test_a_chair_sees_and_decides_only_what_went_to_appeal(county):
    appealed = _met_case(county, "Rita Reviewer", appeal=True)
    quiet = _met_case(county, "Rita Reviewer")
    assert {r[0] for r in county.sql("chair_a", "SELECT reference FROM review_case")} == {appealed}
    assert county.sql("chair_a", "SELECT count(*) FROM incident WHERE case_id IS NULL")[0][0] == 0
    # the server does not even hand the chair the row (on SQLite the engine says "not under appeal")
    assert f"Error: no case '{quiet}'" in county.cli("chair_a", "show", quiet).stderr
    err = county.cli(
        "chair_a", "appeal-decision", appealed, "--dismissed", "--by", "Independent Chair", "--reason", "x"
    ).stderr
    assert "--by 'Independent Chair' is not you" in err
    assert "permission denied for table finding" in county.refused(
        "chair_a", "INSERT INTO finding (case_id, category, recorded_on) VALUES (1, 'risk', current_date)"
    )
    county.ok("chair_a", "bundle", appealed, "-o", county.folder / f"{appealed}.zip", "--on", "2026-03-13")
    assert _chairs_view(county, appealed) == (1, ["appeal_bundle"], 1)  # the case, its bundle and bytes
    county.ok(
        "chair_a",
        "appeal-decision",
        appealed,
        "--dismissed",
        "--by",
        "Cora Chair",
        "--reason",
        "the review weighed the facts",
        "--on",
        "2026-03-16",
    )
    events = json.loads(county.ok("mgr_a", "show", appealed, "--json").stdout)["events"]
    assert (events[-1]["event"], events[-1]["actor"]) == ("decide_appeal", county.login["chair_a"])
    # decided: no longer theirs, for psql as for the command line
    assert f"Error: no case '{appealed}'" in county.cli("chair_a", "show", appealed).stderr
    assert _chairs_view(county, appealed) == (0, [], 0)
    assert county.sql("chair_a", "SELECT count(*) FROM appeal")[0][0] == 0
    assert county.sql("mgr_a", "SELECT count(*) FROM review_case WHERE reference = :r", r=appealed)[0][0] == 1


def _chairs_view(county, ref: str) -> tuple[int, list[str], int]:
    """What the chair's own login reads of a case by raw SQL: the case, its letters' kinds, the bytes
    of its bundle."""
    case = county.sql("chair_a", "SELECT count(*) FROM review_case WHERE reference = :r", r=ref)[0][0]
    kinds = county.sql(
        "chair_a",
        "SELECT l.kind FROM letter l JOIN review_case c ON c.id = l.case_id WHERE c.reference = :r",
        r=ref,
    )
    copies = county.sql(
        "chair_a",
        "SELECT count(*) FROM letter_copy k JOIN letter l ON l.id = k.letter_id "
        "WHERE l.kind = 'appeal_bundle' AND l.case_id = (SELECT case_id FROM appeal WHERE case_id IN "
        "(SELECT id FROM review_case WHERE reference = :r) LIMIT 1)",
        r=ref,
    )
    return case, [k for (k,) in kinds], copies[0][0]


def _signposted(county, victim: str, day: str) -> None:
    """A victim in an imported incident log, told about the Case Review on `day` (by the clerk)."""
    log = county.folder / f"{victim}.csv"
    log.write_text(f"victim_id,occurred,reported,agency,agency_ref\n{victim},{day},{day},police,R-{victim}\n")
    county.ok("clerk_a", "incidents", "import", log)
    county.ok("clerk_a", "signpost", victim, "--how", "letter", "--on", day)


WHO_DID_WHAT = ("signposting", "consultation", "correction", "threshold_decision")


def test_the_records_of_who_did_what_are_append_only_for_every_role(county):
    ref = _met_case(county, "Rita Reviewer")  # a threshold decision
    county.ok("rev_a", "consult", ref, "--response", "agrees with the plan", "--on", "2026-03-09")
    county.ok("mgr_a", "case", "update", ref, "--phone", "0116 496 0000", "--reason", "new number")
    _signposted(county, "VIC-123", "2026-03-08")
    # a correction made by a clerk is stamped with its audit event under the grants
    [incident] = json.loads(county.ok("mgr_a", "show", ref, "--json").stdout)["incidents"][:1]
    county.ok(
        "clerk_a", "incident", "update", str(incident["id"]), "--reported", "2026-01-13", "--reason", "typo"
    )
    stamped = county.sql("mgr_a", "SELECT count(*) FROM correction WHERE audit_seq IS NULL")[0][0]
    assert stamped == 0
    for table in WHO_DID_WHAT:
        assert county.sql("mgr_a", f"SELECT count(*) FROM {table}")[0][0] >= 1, table
        for who in ("admin", "mgr_a", "rev_a", "chair_a", "clerk_a", "view_a"):
            err = county.refused(who, f"UPDATE {table} SET actor = 'someone else'")
            assert f"permission denied for table {table}" in err, (who, table)
        # not even the tables' owner, who may do anything else
        for statement in (
            f"UPDATE {table} SET actor = 'someone else'",
            f"DELETE FROM {table}",
            f"TRUNCATE {table}",
        ):
            assert "records who did what and is append-only" in county.refused("owner", statement)
    # what a manager may change (the text a purge blanks) stays the text of a purged case only
    assert "append-only" in county.refused("mgr_a", "UPDATE consultation SET response = '[purged]'")
    assert "append-only" in county.refused("mgr_a", "UPDATE correction SET reason = '[purged]'")
    assert "append-only" in county.refused("mgr_a", "DELETE FROM signposting")  # a recent one
    assert {r[0] for r in county.sql("mgr_a", "SELECT DISTINCT actor FROM consultation")} == {
        county.login["rev_a"]
    }


def test_the_key_of_the_victims_hashes_is_its_partnerships_and_kept(county):
    """The key of the keyed hashes of victims' ids (`match_key`, docs/operations.md#erasure) is made by
    the clerk's import under the grants, seen only by its own partnership, and changed by nobody."""
    _signposted(county, "VIC-777", "2026-03-08")
    assert county.sql("clerk_a", "SELECT count(*) FROM match_key")[0][0] == 1
    assert county.sql("mgr_b", "SELECT count(*) FROM match_key")[0][0] == 0  # another partnership's
    assert county.sql("chair_a", "SELECT count(*) FROM match_key")[0][0] == 0
    for who in ("mgr_a", "clerk_a", "rev_a", "view_a"):
        for statement in ("UPDATE match_key SET key = key", "DELETE FROM match_key"):
            assert "permission denied for table match_key" in county.refused(who, statement), (who, statement)
    # the victim was found by their hash (`signpost` looked for their complaints), and recorded with it
    assert county.sql("clerk_a", "SELECT count(*) FROM signposting WHERE victim_hash IS NULL")[0][0] == 0


def test_a_whole_case_runs_through_the_command_line_under_the_grants(county, tmp_path):
    # every role's writes, and the engine's own for them (the audit head, the reference counter,
    # deadlines, reminder claims), work with no more than the groups give
    ref = _met_case(county, "Rita Reviewer")
    # the applicant is told of each change (an `applicant_notice` made by whoever makes the change)
    county.ok("mgr_a", "case", "update", ref, "--email", "ann@example.org", "--reason", "given by phone")
    county.ok("clerk_a", "letter", ref, "acknowledgement", "--format", "txt", "--on", "2026-03-03")
    county.ok("rev_a", "meeting", ref, "--at", "2026-03-10T10:00", "--held", "--on", "2026-03-10")
    county.ok(
        "rev_a", "hours", ref, "--agency", "cbc", "--person", "Rita", "--hours", "3", "--date", "2026-03-10"
    )
    county.ok("rev_a", "finding", ref, "--category", "silo_working", "--text", "x", "--on", "2026-03-10")
    county.ok("rev_a", "recommend", ref, "--to", "police", "--text", "Share logs", "--on", "2026-03-10")
    county.ok(
        "rev_a",
        "action",
        "add",
        ref,
        "--action",
        "Joint visit",
        "--owner",
        "police",
        "--due",
        "2027-05-01",
        "--on",
        "2026-03-10",
    )
    county.ok("rev_a", "outcome", ref, "--on", "2026-03-11")
    county.ok("mgr_a", "appeal", ref, "--received", "2026-03-12", "--grounds", "facts", "--on", "2026-03-12")
    county.ok(
        "chair_a",
        "appeal-decision",
        ref,
        "--upheld",
        "--by",
        "Cora Chair",
        "--reason",
        "missed facts",
        "--on",
        "2026-03-16",
    )
    sweep = json.loads(county.ok("mgr_a", "reminders", "run", "--now", "2026-12-01T09:00", "--json").stdout)
    assert sweep["sent"]  # claimed, sent to the outbox and marked, as a manager
    assert sweep["notices"]["sent"] == 4  # the letter, the outcome, the appeal, the decision on it
    assert (
        json.loads(county.ok("admin", "reminders", "run", "--now", "2026-12-01T09:00", "--json").stdout)
        is not None
    )
    county.ok("clerk_a", "letter", ref, "acknowledgement", "--format", "txt", "--on", "2026-03-17")
    by_admin = county.ok("admin", "reminders", "run", "--now", "2026-12-01T09:00", "--json").stdout
    assert json.loads(by_admin)["notices"]["sent"] == 1
    year = json.loads(county.ok("mgr_a", "report", "annual", "--year", "2025", "--json").stdout)
    assert year["reviews_carried_out"] >= 1
    assert "needs the admin role" in county.cli("mgr_a", "audit", "verify").stderr  # two partnerships
    assert "Audit chain intact" in county.ok("admin", "audit", "verify").stdout
    # docs/operations.md#audit-anchors: an admin anchors the chain; a published return carries its head
    assert "anchoring the audit log" in county.cli("mgr_a", "audit", "anchor").stderr
    anchor = json.loads(county.ok("admin", "audit", "anchor").stdout)
    published = county.ok("view_a", "report", "annual", "--year", "2025", "--publish", "--json").stdout
    assert json.loads(published)["audit_anchor"]["seq"] == anchor["seq"]
    (tmp_path / "published.json").write_text(published)
    verified = county.ok("admin", "audit", "verify", "--anchor", tmp_path / "published.json").stdout
    assert f"running through event {anchor['seq']} " in verified
    shown = json.loads(county.ok("view_a", "show", ref, "--json").stdout)
    assert shown["state"] == "in_review" and {e["actor"] for e in shown["events"]} >= {
        county.login["clerk_a"],
        county.login["mgr_a"],
        county.login["rev_a"],
        county.login["chair_a"],
    }


def test_a_manager_purges_their_own_partnership_and_is_told_who_must_vacuum(county):
    old = json.loads(
        county.ok(
            "clerk_a",
            "activate",
            "--applicant",
            "Olive Old",
            "--received",
            "2018-01-02",
            "--channel",
            "phone",
            "--statement",
            "x",
            "--on",
            "2018-01-02",
            "--json",
        ).stdout
    )["reference"]
    # who did what on it: a correction, a threshold decision, a victim told of the Case Review
    county.ok("mgr_a", "case", "update", old, "--phone", "0116 496 0001", "--reason", "Olive's new number",
              "--on", "2018-01-03")  # fmt: skip
    county.ok("mgr_a", "decide", old, "--not-met", "--reason", "Olive reported once", "--on", "2018-01-05")
    _signposted(county, "OLIVE-1", "2018-01-04")
    county.ok("mgr_a", "withdraw", old, "--reason", "the applicant moved away", "--on", "2018-02-01")
    assert (
        "purging personal data needs the manager role"
        in county.cli("clerk_a", "purge", "--closed-before", "2019-01-01").stderr
    )
    done = county.ok("mgr_a", "purge", "--closed-before", "2019-01-01")
    assert old in done.stdout and county.b not in done.stdout
    assert f"the tables' owner ({county.login['owner']}) runs `VACUUM (FULL)" in done.stderr
    assert (
        county.sql("mgr_a", "SELECT applicant_name FROM review_case WHERE reference = :r", r=old)[0][0]
        != "Olive Old"
    )
    # the purge blanked the text of the records of who did what (append-only otherwise) and kept who
    texts = county.sql(
        "mgr_a",
        "SELECT r.reason, r.actor, t.reason, t.actor FROM correction r, threshold_decision t "
        "WHERE r.case_id = t.case_id AND t.case_id = (SELECT id FROM review_case WHERE reference = :r)",
        r=old,
    )
    assert texts == [("[purged]", county.login["mgr_a"], None, county.login["mgr_a"])]
    assert county.sql("mgr_a", "SELECT count(*) FROM signposting WHERE told_on < '2019-01-01'")[0][0] == 0


def test_a_live_cases_key_is_deleted_by_nobody(county):
    """Deleting the key erases the text of the case's audit events (docs/operations.md#erasure): only
    the purge of its personal data may, not a manager with `psql`, not even the tables' owner."""
    ref = _met_case(county, "Rita Reviewer")
    live = "DELETE FROM case_key WHERE case_id = (SELECT id FROM review_case WHERE reference = :r)"
    assert "a case's key goes only with the purge" in county.refused("mgr_a", live, r=ref)
    assert "a case's key goes only with the purge" in county.refused("owner", live, r=ref)
    assert "a case's key goes only with the purge" in county.refused(
        "owner",
        "UPDATE case_key SET key = key WHERE case_id = (SELECT id FROM review_case WHERE reference = :r)",
        r=ref,
    )
    assert "permission denied for table case_key" in county.refused("rev_a", live, r=ref)
    # the key of the victims' hashes: deleting it would leave every id kept unmatched
    _signposted(county, "RITA-1", "2026-01-04")
    for sql in ("DELETE FROM match_key", "UPDATE match_key SET key = key"):
        assert "match_key is refused" in county.refused("owner", sql)


def test_an_unregistered_login_is_kept_out(county):
    err = county.cli("stranger", "list").stderr
    assert f"Error: the login {county.login['stranger']} may not use this database" in err
    county.refused("stranger", "SELECT count(*) FROM review_case", codes=("42501", "42P01"))


def test_a_disabled_login_loses_its_group(county, server):
    county.ok(
        "admin",
        "user",
        "add",
        county.login["stranger"],
        "--name",
        "Sam Stranger",
        "--role",
        "viewer",
        "--partnership",
        "B",
    )
    assert {r[0] for r in county.sql("stranger", "SELECT reference FROM review_case")} == {county.b}
    county.ok("admin", "user", "disable", county.login["stranger"], "--reason", "left the council")
    assert "may not use this database" in county.cli("stranger", "list").stderr
    county.refused("stranger", "SELECT count(*) FROM review_case", codes=("42501", "42P01"))
    listed = {u["login"]: u for u in json.loads(county.ok("admin", "user", "list", "--json").stdout)}
    assert listed[county.login["stranger"]]["disabled_reason"] == "left the council"


def test_db_grant_is_safe_to_rerun_and_only_for_the_owner(county):
    again = county.ok("owner", "db", "grant").stdout
    assert "the groups existed" in again and "the records of who did what are append-only" in again
    assert f"to the groups {county.groups['admin'][: -len('_admin')]}_*" in again
    # the groups keep their names: another prefix is refused in one line, and so is a bad one
    err = county.cli("owner", "db", "grant", "--prefix", "ct_other").stderr
    assert err.startswith(f"Error: this database's group roles are {county.groups['admin']}, ")
    assert len(err.strip().splitlines()) == 1
    err = county.cli("owner", "db", "grant", "--prefix", "Live DB").stderr
    assert "--prefix 'Live DB' cannot name this database's group roles" in err
    assert "--prefix 'trigger'" in county.cli("owner", "db", "grant", "--prefix", "trigger").stderr
    assert (
        "setting up the database and its partnerships needs the admin role"
        in county.cli("mgr_a", "db", "grant").stderr
    )
    assert "must run as the tables' owner" in county.cli("admin", "db", "grant").stderr


def _met_case(county, reviewer: str, appeal: bool = False) -> str:
    ref = json.loads(
        county.ok(
            "clerk_a",
            "activate",
            "--applicant",
            "Pat Example",
            "--received",
            "2026-03-02",
            "--channel",
            "online",
            "--statement",
            "x",
            "--json",
        ).stdout
    )["reference"]
    for occurred, reported in COMPLAINTS:
        county.ok(
            "clerk_a",
            "incident",
            "add",
            ref,
            "--occurred",
            occurred,
            "--reported",
            reported,
            "--agency",
            "police",
            "--on",
            "2026-03-03",
        )
    county.ok("mgr_a", "decide", ref, "--met", "--on", "2026-03-05")
    county.ok("mgr_a", "assign", ref, "--lead", "cbc", "--reviewer", reviewer, "--on", "2026-03-06")
    if appeal:
        county.ok("mgr_a", "meeting", ref, "--at", "2026-03-09T10:00", "--held", "--on", "2026-03-09")
        county.ok("mgr_a", "finding", ref, "--category", "risk", "--text", "x", "--on", "2026-03-09")
        county.ok("mgr_a", "outcome", ref, "--no-recommendations", "none needed", "--on", "2026-03-10")
        county.ok(
            "mgr_a", "appeal", ref, "--received", "2026-03-12", "--grounds", "facts", "--on", "2026-03-12"
        )
    return ref


@pytest.fixture
def second_database(server, county, tmp_path):
    """Another database on the same server (a live one beside the test one, say), set up by its own
    owner; `prepare(db)` runs as the superuser in it before `db grant` does."""
    tag = secrets.token_hex(4)
    other = County(server, tag, tmp_path, database=f"ct_{tag}_live")
    with server.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {other.login['owner']} LOGIN CREATEROLE")
        for role in ("mgr_a", "stranger"):
            conn.exec_driver_sql(f"CREATE ROLE {other.login[role]} LOGIN")
        conn.exec_driver_sql(f"CREATE DATABASE {other.database} OWNER {other.login['owner']}")
    inside = sqlalchemy.create_engine(
        make_url(SERVER).set(database=other.database), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )

    def prepare(before_grant=None):
        other.ok("owner", "init", "--policy", "llr", "--manager-email", "live@example.gov.uk")
        if before_grant is not None:
            with inside.connect() as conn:
                before_grant(conn)
        granted = other.ok("owner", "db", "grant")
        other.ok("owner", "user", "add", other.login["owner"], "--name", "Live Owner", "--role", "admin")
        other.ok("owner", "user", "add", other.login["mgr_a"], "--name", "Lee Live", "--role", "manager")
        return granted

    try:
        yield other, prepare
    finally:
        inside.dispose()
        other.drop()


def test_a_login_given_a_role_in_one_database_has_nothing_in_another_on_the_server(county, second_database):
    live, prepare = second_database

    def borrow_the_test_databases_groups(conn):
        prefix = county.groups["admin"].removesuffix("_admin")
        err = live.cli("owner", "db", "grant", "--prefix", prefix).stderr
        assert f"the role {county.groups['admin']} already exists for another database (" in err
        assert f"schema {county.schema}); give this one group roles of its own" in err

    prepare(borrow_the_test_databases_groups)
    assert live.groups["manager"] == f"{live.database}_manager" != county.groups["manager"]
    # the test database's reviewer, at the live database: the command line and psql alike refuse
    live.visitors["visitor"] = county.login["rev_a"]
    assert (
        f"the login {county.login['rev_a']} may not use this database" in live.cli("visitor", "list").stderr
    )
    for statement in (
        "SELECT count(*) FROM app_user",
        "SELECT count(*) FROM review_case",
        "UPDATE audit_head SET seq = seq",
        "INSERT INTO setting (key, value) VALUES ('x', 'y')",
    ):
        assert "permission denied" in live.refused("visitor", statement)
    # and the live manager, at the test database's schema
    county.visitors["visitor"] = live.login["mgr_a"]
    for statement in ("SELECT count(*) FROM app_user", "UPDATE audit_head SET seq = seq"):
        county.refused("visitor", statement, codes=("42501", "42P01"))
    # each where it belongs
    assert live.sql("mgr_a", "SELECT count(*) FROM review_case")[0][0] == 0
    assert county.sql("rev_a", "SELECT count(*) FROM review_case")[0][0] >= 1


def test_db_grant_takes_from_the_server_wide_groups_of_old_what_they_had(server, second_database):
    live, prepare = second_database

    def as_the_old_release_did(conn):
        # the old `db grant`: cluster-wide groups, shared with every other database on the server
        conn.exec_driver_sql(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'trigger_reviewer') "
            "THEN CREATE ROLE trigger_reviewer NOLOGIN; END IF; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        )
        conn.exec_driver_sql("GRANT USAGE ON SCHEMA public TO trigger_reviewer")
        conn.exec_driver_sql("GRANT SELECT ON ALL TABLES IN SCHEMA public TO trigger_reviewer")
        conn.exec_driver_sql(f"GRANT trigger_reviewer TO {live.login['stranger']}")  # a reviewer elsewhere
        assert live.sql("stranger", "SELECT count(*) FROM app_user") == [(0,)]  # the leak

    out = prepare(as_the_old_release_did).stdout
    assert (
        "The server-wide groups of old (trigger_reviewer) hold nothing here any more; drop them once every "
        "database on this server has run `trigger db grant`: DROP ROLE trigger_reviewer;" in out
    )
    assert "permission denied for table app_user" in live.refused("stranger", "SELECT count(*) FROM app_user")
    assert "groups of old" not in live.ok("owner", "db", "grant").stdout  # said once, when it was done


def test_under_db_grant_every_role_works_with_a_key_store(server, tmp_path):
    """A county database under `db grant`, its keys moved to a SQLite key store by the tables' owner:
    a clerk records a case, a manager reads, decides and purges it; the database holds no key, and the
    manager may not move keys (only the owner may)."""
    keys = tmp_path / "keys"
    keys.mkdir()
    env = {"TRIGGER_KEYSTORE": f"sqlite:///{keys / 'trigger-keys.db'}"}
    c = County(server, secrets.token_hex(4), tmp_path)
    with server.connect() as conn:
        conn.exec_driver_sql(f"CREATE ROLE {c.login['owner']} LOGIN CREATEROLE")
        for role in ("mgr_a", "clerk_a"):
            conn.exec_driver_sql(f"CREATE ROLE {c.login[role]} LOGIN")
        conn.exec_driver_sql(f"CREATE SCHEMA {c.schema} AUTHORIZATION {c.login['owner']}")
    try:
        c.ok("owner", "init", "--policy", "llr", "--partnership", "A", "--name", "Partnership A")
        c.ok("owner", "db", "grant")
        c.ok("owner", "user", "add", c.login["owner"], "--name", "Database Owner", "--role", "admin")
        c.ok("owner", "user", "add", c.login["mgr_a"], "--name", "Mia Manager", "--role", "manager",
             "--partnership", "A")  # fmt: skip
        c.ok("owner", "user", "add", c.login["clerk_a"], "--name", "Cleo Clerk", "--role", "clerk",
             "--partnership", "A")  # fmt: skip
        olive = ("--applicant", "Olive Keyed", "--received", "2018-01-02", "--channel", "phone",
                 "--victim-ref", "V-OLIVE-77")  # fmt: skip
        old = json.loads(
            c.ok("clerk_a", "activate", *olive, "--statement", "x", "--on", "2018-01-02", "--json").stdout
        )
        ref = old["reference"]  # its key made in the database, before the store
        refused = c.cli("mgr_a", "keys", "move", env=env)
        assert refused.exit_code != 0 and "Traceback" not in refused.stderr
        assert "the tables' owner" in refused.stderr or "needs the admin role" in refused.stderr
        moved = c.cli("owner", "keys", "move", env=env)
        assert moved.exit_code == 0, moved.stderr
        assert "Moved 1 case key" in moved.stdout
        assert c.sql("owner", "SELECT count(*) FROM case_key")[0][0] == 0
        # the partnership's key of the victims' hashes went with it, past its guard against deletion
        assert c.sql("owner", "SELECT count(*) FROM match_key")[0][0] == 0
        new = json.loads(
            c.cli(
                "clerk_a",
                "activate",
                "--applicant",
                "Nell New",
                "--received",
                "2026-03-02",
                "--channel",
                "online",
                "--statement",
                "y",
                "--json",
                env=env,
            ).stdout
        )["reference"]
        assert "Nell New" in c.cli("mgr_a", "show", new, env=env).stdout
        assert "Olive Keyed" in c.cli("mgr_a", "show", ref, env=env).stdout
        withdrawn = c.cli("mgr_a", "withdraw", ref, "--reason", "Olive moved", "--on", "2018-02-01", env=env)
        assert withdrawn.exit_code == 0, withdrawn.stderr
        purged = c.cli("mgr_a", "purge", "--closed-before", "2019-01-01", env=env)
        assert purged.exit_code == 0 and ref in purged.stdout, purged.stderr
        held = sqlite3.connect(keys / "trigger-keys.db")
        try:
            assert held.execute("SELECT count(*) FROM case_key").fetchone()[0] == 1  # the live case's only
            assert held.execute("SELECT count(*) FROM match_key").fetchone()[0] == 1
        finally:
            held.close()
        assert c.sql("owner", "SELECT count(*) FROM case_key")[0][0] == 0
        without = c.cli("mgr_a", "show", new)
        assert "this database's keys are kept in a key store" in without.stderr
    finally:
        c.drop()
