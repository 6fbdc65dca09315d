"""Who may do what, as a table: every command that touches the database, run by each role
(docs/architecture.md#partnerships-people-and-roles). A refusal is one line naming the role needed,
and writes nothing; an allowed command is never refused for its role (it may still be refused for
what the case allows).

On SQLite, whatever database the rest of the suite uses: the table is the engine's; what PostgreSQL
itself enforces is tests/test_pg_roles.py.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import click
import pytest

import cli
from tests.support.databases import copy_sqlite, keep_engine, remove_sqlite
from tests.support.runner import Runner
from trigger.store import access
from trigger.store.access import (
    ACTIVATE,
    AGENCIES,
    APPEAL_DECISION,
    AUDIT,
    BUNDLE,
    COMPLAINTS,
    DECIDE,
    LETTERS,
    PEOPLE,
    PURGE,
    READ,
    READ_CASE,
    REMINDERS,
    REVIEW,
    SETUP,
    USERS,
)
from trigger.store.app import dispose_engines

# the people of the template: one of each role in partnership A, a manager in B, an admin
PEOPLE_OF = {
    "admin": ("ada", "Ada Admin", None),
    "manager": ("mia", "Mia Manager", "A"),
    "reviewer": ("rita", "Rita Reviewer", "A"),
    "chair": ("cora", "Cora Chair", "A"),
    "clerk": ("cleo", "Cleo Clerk", "A"),
    "viewer": ("vin", "Vin Viewer", "A"),
}
ORDER = ("viewer", "clerk", "chair", "reviewer", "manager", "admin")  # the admin last: it may disable people
REVIEWING = "CT-2026-0001"  # in review, Rita Reviewer's
APPEALED = "CT-2026-0002"  # under appeal
RECEIVED = "CT-2026-0003"  # just received
IN_B = "CT-B-2026-0001"

LOG = (
    "victim_id,occurred,reported,agency,agency_ref,hate,category,location,description\n"
    "V1,2026-01-10,2026-01-12,police,L1,,,,\nV1,2026-01-20,2026-01-21,police,L2,,,,\n"
)


def _run(runner: Runner, url: str, who: str | None, *args, ok=False):
    head = ["--db", url] + (["--as", who] if who else [])
    return runner(*head, *args, ok=ok)


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """A county of two partnerships, everybody registered, a case at each stage the table needs."""
    folder = tmp_path_factory.mktemp("access")
    path = folder / "template.db"
    url = f"sqlite:///{path}"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TRIGGER_HOME", str(folder / "home"))
        mp.delenv("TRIGGER_SMTP_URL", raising=False)
        r = Runner()

        def t(*args, who="mia"):
            return _run(r, url, who, *args, ok=True)

        t("init", "--policy", "llr", "--partnership", "A", "--name", "Partnership A", who=None)
        t("partnership", "add", "B", "--name", "Partnership B", "--policy", "llr", who=None)
        t("user", "add", "ada", "--name", "Ada Admin", "--role", "admin", who=None)
        for role, (login, name, where) in PEOPLE_OF.items():
            if role != "admin":
                t("user", "add", login, "--name", name, "--role", role, "--partnership", where, who="ada")
        t(
            "user",
            "add",
            "spare",
            "--name",
            "Spare Viewer",
            "--role",
            "viewer",
            "--partnership",
            "A",
            who="ada",
        )
        t("user", "add", "bob", "--name", "Bob Manager", "--role", "manager", "--partnership", "B", who="ada")
        for n in (1, 2, 3):
            t(
                "activate",
                "--applicant",
                f"Applicant {n}",
                "--received",
                "2026-03-02",
                "--channel",
                "online",
                "--statement",
                "x",
                who="cleo",
            )
        t(
            "activate",
            "--applicant",
            "In B",
            "--received",
            "2026-03-02",
            "--channel",
            "online",
            "--statement",
            "x",
            who="bob",
        )
        for occurred, reported in (
            ("2026-01-10", "2026-01-12"),
            ("2026-01-20", "2026-01-21"),
            ("2026-02-03", "2026-02-04"),
        ):
            t(
                "incident",
                "add",
                REVIEWING,
                "--occurred",
                occurred,
                "--reported",
                reported,
                "--agency",
                "police",
                "--on",
                "2026-03-03",
                who="cleo",
            )
        t("letter", REVIEWING, "acknowledgement", "--format", "txt", "--on", "2026-03-03", who="cleo")
        t("letter", APPEALED, "acknowledgement", "--format", "txt", "--on", "2026-03-03", who="cleo")
        t("decide", REVIEWING, "--met", "--on", "2026-03-05")
        t("assign", REVIEWING, "--lead", "cbc", "--reviewer", "Rita Reviewer", "--on", "2026-03-06")
        t(
            "hours",
            REVIEWING,
            "--agency",
            "cbc",
            "--person",
            "Rita",
            "--hours",
            "2",
            "--date",
            "2026-03-07",
            who="rita",
        )
        t(
            "recommend",
            REVIEWING,
            "--to",
            "police",
            "--text",
            "Share the logs",
            "--on",
            "2026-03-07",
            who="rita",
        )
        t(
            "action",
            "add",
            REVIEWING,
            "--action",
            "Joint visit",
            "--owner",
            "police",
            "--due",
            "2026-05-01",
            "--on",
            "2026-03-07",
            who="rita",
        )
        t("decide", APPEALED, "--not-met", "--reason", "no complaints in time", "--on", "2026-03-05")
        t(
            "appeal",
            APPEALED,
            "--received",
            "2026-03-09",
            "--grounds",
            "facts",
            "--detail",
            "They did not listen",
            "--on",
            "2026-03-09",
        )
        log = folder / "log.csv"
        log.write_text(LOG, encoding="utf-8")
        t("incidents", "import", log, who="cleo")
    dispose_engines()
    return path


@pytest.fixture
def county(template, tmp_path, sqlite_home):
    """This test's own copy of the template, and a runner acting as a given login. The copy is put at
    one path per test process, so its engine (and the statements SQLAlchemy compiled for it) is the one
    earlier tests used (`keep_engine`), as for the `db` fixture's database."""
    path = sqlite_home / "county.db"
    url = f"sqlite:///{path}"
    dispose_engines()
    remove_sqlite(path)
    copy_sqlite(template, path)
    keep_engine(url)
    runner = Runner()
    (tmp_path / "log.csv").write_text(LOG.replace("L1", "M1").replace("L2", "M2"), encoding="utf-8")

    class County:
        db = path

        def as_(self, who, *args):
            return _run(runner, url, who, *[str(a).replace("{tmp}", str(tmp_path)) for a in args])

        def events(self) -> int:
            with sqlite3.connect(path) as conn:
                return conn.execute("SELECT count(*) FROM audit_event").fetchone()[0]

    yield County()
    dispose_engines()


# command, the permission it needs (the table in trigger/store/access.py, seen from the command line)
TABLE = [
    (("show", APPEALED), READ_CASE),
    (("list",), READ_CASE),
    (("check", APPEALED), READ_CASE),
    (("export", APPEALED, "--json"), READ_CASE),
    (("letter", APPEALED, "--issued", "1", "-o", "{tmp}/copy.txt", "--force"), READ_CASE),
    (("partnership", "list"), READ_CASE),
    (("agency", "list"), READ_CASE),
    (("calendar", "due", "2026-03-02", "1wd"), READ_CASE),  # the partnership's closure days
    (("calendar", "holidays", "2026"), READ_CASE),
    (("report", "annual", "--year", "2025"), READ),
    (("report", "hours"), READ),
    (("report", "deadlines"), READ),
    (("action", "list"), READ),
    (("scan", "--as-of", "2026-03-01"), READ),
    (("calendar", "ics", "-o", "{tmp}/cal.ics", "--force"), READ),
    (("reminders", "status"), READ),
    (
        (
            "activate",
            "--applicant",
            "New",
            "--received",
            "2026-03-04",
            "--channel",
            "phone",
            "--statement",
            "x",
        ),
        ACTIVATE,
    ),
    (
        (
            "incident",
            "add",
            REVIEWING,
            "--occurred",
            "2026-02-10",
            "--reported",
            "2026-02-11",
            "--agency",
            "police",
        ),
        COMPLAINTS,
    ),
    (("share", RECEIVED, "--agency", "police"), ACTIVATE),
    (("incident", "update", "1", "--agency-ref", "CAD-9", "--reason", "typo"), COMPLAINTS),
    (("incident", "void", "2", "--reason", "recorded twice"), COMPLAINTS),
    (("incidents", "import", "{tmp}/log.csv"), COMPLAINTS),
    (("signpost", "V1", "--how", "letter"), COMPLAINTS),
    (("letter", REVIEWING, "threshold_met", "--format", "txt"), LETTERS),
    (("web", "link", REVIEWING, "--reissue", "--reason", "the letter was lost"), LETTERS),
    (("bundle", APPEALED, "-o", "{tmp}/bundle.zip", "--force"), BUNDLE),
    (("decide", RECEIVED, "--not-met", "--reason", "nothing reported"), DECIDE),
    (("assign", RECEIVED, "--lead", "cbc", "--reviewer", "Rita Reviewer"), DECIDE),
    (("appeal", RECEIVED, "--received", "2026-03-09", "--grounds", "facts"), DECIDE),
    (("close", APPEALED, "--reason", "done"), DECIDE),
    (("withdraw", RECEIVED, "--reason", "the applicant moved away"), DECIDE),
    (("case", "update", RECEIVED, "--phone", "0116 000", "--reason", "new number"), DECIDE),
    (
        ("evidence", REVIEWING, "--agency", "police", "--requested", "2026-03-08", "--due", "2026-03-20"),
        REVIEW,
    ),
    (
        ("hours", REVIEWING, "--agency", "cbc", "--person", "R", "--hours", "1", "--date", "2026-03-08"),
        REVIEW,
    ),
    (("hours", "void", REVIEWING, "1", "--reason", "logged twice"), REVIEW),
    (("meeting", REVIEWING, "--at", "2026-03-10T10:00", "--held", "--on", "2026-03-10"), REVIEW),
    (("finding", REVIEWING, "--category", "silo_working", "--text", "x"), REVIEW),
    (("recommend", REVIEWING, "--to", "police", "--text", "x"), REVIEW),
    (("response", REVIEWING, "1", "--accepted"), REVIEW),
    (("action", "add", REVIEWING, "--action", "x", "--owner", "police", "--due", "2026-06-01"), REVIEW),
    (("action", "update", REVIEWING, "1", "--status", "in_progress"), REVIEW),
    (("consult", REVIEWING, "--response", "agreed"), REVIEW),
    (("consult", REVIEWING, "--share-plan"), REVIEW),
    (("victim-statement", REVIEWING, "--text", "in the victim's words"), REVIEW),
    (("outcome", REVIEWING, "--no-recommendations", "none needed"), REVIEW),
    (
        (
            "appeal-decision",
            APPEALED,
            "--dismissed",
            "--by",
            "Cora Chair",
            "--reason",
            "the facts were weighed",
        ),
        APPEAL_DECISION,
    ),
    (("agency", "add", "asb", "--name", "ASB team", "--kind", "council"), AGENCIES),
    (("agency", "update", "police", "--email", "asb@police.example", "--reason", "new inbox"), AGENCIES),
    (("reminders", "run", "--now", "2026-04-01T09:00"), REMINDERS),
    (("reminders", "retry"), REMINDERS),
    (("purge", "--closed-before", "2019-01-01", "--dry-run"), PURGE),
    (("audit", "verify"), AUDIT, ("admin",)),  # in a county the chain runs through every partnership
    (("audit", "anchor"), AUDIT, ("admin",)),
    (("init",), SETUP),
    (("db", "upgrade"), SETUP),
    (("db", "grant"), SETUP),
    (("partnership", "add", "C", "--name", "C", "--policy", "llr"), SETUP),
    (("partnership", "update", "A", "--web", "www.a.gov.uk", "--reason", "new site"), SETUP),
    (("backup", "{tmp}/backup.db", "--force"), SETUP),
    (("keys", "move"), SETUP),  # refused before it looks for TRIGGER_KEYSTORE
    (("user", "add", "newbie", "--name", "New Person", "--role", "viewer", "--partnership", "A"), USERS),
    (("user", "disable", "spare", "--reason", "left the council"), USERS),
    (("user", "list"), PEOPLE),
]
# commands that never open the database: nobody is asked who they are
NO_DATABASE = {
    "demo",
    "diagram",
    "policy list",
    "policy show",
    "letters check",
    "letters fields",
    "incidents maps",
    "db current",  # the schema's revision only
    "reminders serve",  # runs until stopped: `test_serve_refuses_before_it_starts`
    "web serve",  # runs until stopped, as the public (APPLY, which no role holds): test_web.py
}


def _commands(group: click.Group, prefix: str = "") -> set[str]:
    out = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            out |= _commands(command, f"{prefix}{name} ")
        else:
            out.add(f"{prefix}{name}")
    return out


def _command_of(args: tuple) -> str:
    """The command a row runs: `hours REF ...` is `hours log` (the group's default)."""
    group = cli.cli.commands[args[0]]
    if not isinstance(group, click.Group):
        return args[0]
    return f"{args[0]} {args[1] if args[1] in group.commands else group.default_command}"


def test_the_table_covers_every_command():
    covered = {_command_of(row[0]) for row in TABLE}
    missing = _commands(cli.cli) - covered - NO_DATABASE
    assert not missing, f"commands with no row in the permission table: {sorted(missing)}"
    assert not (covered & NO_DATABASE)


# the unit of work's steps that the use-cases open, under the use-case's own permission
UNIT_OF_WORK = ("changing", "policy_of_new_case")


def test_every_use_case_that_opens_a_session_declares_its_permission():
    """A public function of the engine that opens a session (`app.read()`, `app.write()`,
    `changing(app, ...)`) names the permission it needs with `@needs(...)`: undeclared, it is refused
    to everybody once people are registered."""
    import ast

    root = Path(__file__).resolve().parent.parent / "trigger"
    missing = []
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for fn in ast.parse(path.read_text(encoding="utf-8")).body:
            if not isinstance(fn, ast.FunctionDef) or fn.name.startswith("_") or fn.name in UNIT_OF_WORK:
                continue
            opens = any(
                isinstance(n, ast.Call)
                and (
                    (isinstance(n.func, ast.Name) and n.func.id == "changing")
                    or (
                        isinstance(n.func, ast.Attribute)
                        and n.func.attr in ("read", "write")
                        and isinstance(n.func.value, ast.Name)
                        and n.func.value.id == "app"
                    )
                )
                for n in ast.walk(fn)
            )
            declared = any(
                isinstance(d, ast.Call) and getattr(d.func, "id", getattr(d.func, "attr", "")) == "needs"
                for d in fn.decorator_list
            )
            if opens and not declared:
                missing.append(f"{path.relative_to(root.parent)}: {fn.name}")
    assert missing == []


def test_every_use_case_names_a_permission_in_the_one_table():
    assert {p.name for p in access.PERMISSIONS} == {row[1].name for row in TABLE}
    for p in access.PERMISSIONS:
        assert set(p.roles) <= set(access.ROLES), p


@pytest.mark.parametrize("row", TABLE, ids=[" ".join(row[0][:3]) for row in TABLE])
def test_each_command_by_each_role(county, row):
    args, permission = row[:2]
    allowed = row[2] if len(row) > 2 else permission.roles
    for role in ORDER:
        login = PEOPLE_OF[role][0]
        before = county.events()
        result = county.as_(login, *args)
        said = result.stderr.strip()
        if role in allowed:
            assert "role" not in said or "needs the" not in said, f"{role} refused {args}: {said}"
            if role == "chair" and permission in (READ_CASE, BUNDLE, APPEAL_DECISION):
                assert result.exit_code == 0, f"the chair on a case under appeal: {said}"
        else:
            assert result.exit_code != 0, f"{role} was allowed {args}"
            lines = [line for line in said.splitlines() if line]
            assert len(lines) == 1 and lines[0].startswith("Error: "), said
            assert (
                f"needs the {access.roles_text(allowed if role in permission.roles else permission.roles)}"
                f" role; {login} is registered as {role}" in said
            )
            assert county.events() == before, f"{role}'s refused {args} wrote to the audit log"


def test_a_reviewer_changes_only_the_cases_they_review(county):
    county.as_("mia", "decide", RECEIVED, "--met", "--reason", "discretion", "--on", "2026-03-05")
    county.as_(
        "mia", "assign", RECEIVED, "--lead", "police", "--reviewer", "Someone Else", "--on", "2026-03-06"
    )
    before = county.events()
    err = county.as_("rita", "finding", RECEIVED, "--category", "risk", "--text", "x").stderr
    assert (
        f"Error: recording review work on {RECEIVED} needs the manager role, or the reviewer role as its "
        "reviewer; its reviewer is Someone Else, not Rita Reviewer"
    ) in err
    assert county.events() == before
    ok = county.as_("rita", "finding", REVIEWING, "--category", "risk", "--text", "x")
    assert ok.exit_code == 0, ok.stderr
    assert county.as_("rita", "show", RECEIVED).exit_code == 0  # and reads every case of the partnership


def test_a_chair_reads_and_decides_only_a_case_under_appeal(county):
    assert [r["reference"] for r in json.loads(county.as_("cora", "list", "--json").stdout)] == [APPEALED]
    err = county.as_("cora", "show", REVIEWING).stderr
    assert f"{REVIEWING} is in_review, not under appeal: a chair works only on a case under appeal" in err
    assert "reading a case otherwise needs the admin, manager, reviewer, clerk or viewer role" in err
    assert "a chair" in county.as_("cora", "bundle", REVIEWING, "-o", "{tmp}/b.zip").stderr
    # the decider is the chair acting, not a name typed
    err = county.as_(
        "cora", "appeal-decision", APPEALED, "--upheld", "--by", "Independent Chair", "--reason", "x"
    ).stderr
    assert (
        "--by 'Independent Chair' is not you: an appeal is decided by the chair acting, Cora Chair (cora)"
        in err
    )
    done = county.as_(
        "cora", "appeal-decision", APPEALED, "--upheld", "--by", "cora  CHAIR", "--reason", "facts missed"
    )
    assert done.exit_code == 0, done.stderr
    events = json.loads(county.as_("mia", "show", APPEALED, "--json").stdout)["events"]
    assert events[-1]["actor"] == "cora" and events[-1]["event"] == "decide_appeal"


def test_independence_is_still_checked_for_a_registered_chair(county):
    # a chair who acted on the case under another login's name is involved in it
    county.as_("ada", "user", "add", "mia2", "--name", "Mia Manager", "--role", "chair", "--partnership", "A")
    err = county.as_(
        "mia2", "appeal-decision", APPEALED, "--dismissed", "--by", "Mia Manager", "--reason", "x"
    ).stderr
    assert "Error:" in err and "involved" in err


def test_the_admin_reads_every_partnership_but_does_no_case_work(county):
    refs = {r["reference"] for r in json.loads(county.as_("ada", "list", "--json").stdout)}
    assert {REVIEWING, APPEALED, RECEIVED, IN_B} <= refs
    assert county.as_("ada", "show", IN_B).exit_code == 0
    assert (
        "deciding and managing a case needs the manager role; ada is registered as admin"
        in county.as_("ada", "decide", RECEIVED, "--met", "--reason", "x").stderr
    )


def test_another_partnerships_case_is_not_there(county):
    for login in ("mia", "rita", "cleo", "vin"):
        assert f"Error: no case '{IN_B}'" in county.as_(login, "show", IN_B).stderr
        assert IN_B not in county.as_(login, "list").stdout
    assert f"Error: no case '{REVIEWING}'" in county.as_("bob", "decide", REVIEWING, "--met").stderr
    assert (
        "bob works for partnership B; acting for A needs the admin role"
        in county.as_("bob", "list", "--partnership", "A").stderr
    )
    assert "no partnership 'Z'" in county.as_("ada", "list", "--partnership", "Z").stderr


def test_only_registered_enabled_people_act_once_anybody_is_registered(county):
    before = county.events()
    assert "Error: nobody is not a registered user of this database" in county.as_("nobody", "list").stderr
    county.as_("ada", "user", "disable", "vin", "--reason", "left the council")
    err = county.as_("vin", "list").stderr
    assert "Error: vin was disabled on" in err and "left the council" in err
    assert "vin" in [u["login"] for u in json.loads(county.as_("ada", "user", "list", "--json").stdout)]
    assert county.events() == before + 1  # the disabling only
    assert "ada is the only admin left" in county.as_("ada", "user", "disable", "ada", "--reason", "x").stderr
    assert (
        "already registered"
        in county.as_("ada", "user", "add", "MIA", "--name", "x", "--role", "viewer").stderr
    )
    assert (
        "an admin works for every partnership"
        in county.as_(
            "ada", "user", "add", "ad2", "--name", "x", "--role", "admin", "--partnership", "A"
        ).stderr
    )
    assert (
        "say which with --partnership CODE"
        in county.as_("ada", "user", "add", "v2", "--name", "x", "--role", "viewer").stderr
    )


def test_a_manager_lists_their_partnerships_people_only(county):
    mine = {u["login"] for u in json.loads(county.as_("mia", "user", "list", "--json").stdout)}
    assert mine == {"mia", "rita", "cora", "cleo", "vin", "spare"}
    assert "bob" in {u["login"] for u in json.loads(county.as_("ada", "user", "list", "--json").stdout)}


def test_db_grant_on_sqlite_is_one_clear_line(county):
    result = county.as_("ada", "db", "grant")
    assert result.exit_code != 0
    assert result.stderr.strip() == (
        "Error: `trigger db grant` is for PostgreSQL; a SQLite database is one file, private to its owner "
        "(0600), and the roles are checked by trigger itself"
    )


def test_serve_refuses_before_it_starts(county):
    result = county.as_("vin", "reminders", "serve")
    assert result.exit_code != 0 and "sending reminders needs the admin or manager role" in result.stderr


def test_the_first_person_registered_must_be_an_admin(db):
    err = db.fails("user", "add", "jo", "--name", "Jo", "--role", "manager").stderr
    assert "the first person registered must be an admin" in err
    assert db.json("user", "list") == []
    # nobody registered: the database trusts whoever runs a command, as before
    assert db("--as", "anybody at all", "list").exit_code == 0


def test_the_server_grants_a_manager_what_purge_changes():
    """`purge` runs as the partnership's manager: every table it blanks or deletes from is theirs to
    change on PostgreSQL too (a purge refused half-way by the server would keep the personal data)."""
    from trigger.access import grants
    from trigger.cases import retention

    def may_update(table: str, columns: set[str]) -> bool:
        for privilege, roles in grants.WRITES[table].items():
            if "manager" not in roles or not privilege.startswith("UPDATE"):
                continue
            if privilege == "UPDATE" or columns <= {c.strip() for c in privilege[8:-1].split(",")}:
                return True
        return False

    for model, fields in retention.ROW_FIELDS:
        assert may_update(model.__tablename__, set(fields)), model.__tablename__
        # and the append-only records of who did what let through exactly what the purge writes
        if model.__tablename__ in grants.WHO_DID_WHAT:
            assert grants.PURGE_BLANKS[model.__tablename__] == fields, model.__tablename__
    for table in ("letter_delivery",):
        assert "manager" in grants.WRITES[table]["UPDATE"]
    for table in ("letter_copy", "signposting", "incident"):
        assert "manager" in grants.WRITES[table]["DELETE"], table


def test_every_table_has_its_grants_and_its_row_level_security():
    from trigger.access import grants
    from trigger.store.models import metadata

    assert set(metadata.tables) | {"alembic_version"} == set(grants.WRITES)
    for name, table in metadata.tables.items():
        parents = {fk.parent.name: fk.column.table.name for fk in table.foreign_keys}
        rule = grants.policy_for(name, {c.name for c in table.columns}, parents)
        assert (rule is None) == (name in grants.UNSCOPED), name
