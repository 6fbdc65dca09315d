"""`trigger db grant [--prefix NAME]`: what PostgreSQL itself enforces, so that a login that bypasses
the command line with `psql` can do no more than its role allows on the command line
(docs/architecture.md#what-the-server-enforces).

- **Group roles of this database**: `<prefix>_admin`, `_manager`, `_reviewer`, `_chair`, `_clerk` and
  `_viewer`, the prefix named after the database (and its schema, when not `public`) unless given, and
  kept in `setting` for the next run. Roles are cluster-wide: groups of their own per database mean
  a login given a role in one database (a test copy, say) has nothing in another on the same server.
  The cluster-wide `trigger_*` groups of old lose everything they had in this schema.
- **Least privilege** on the tables of the current schema: every group may SELECT; each writing group
  may INSERT or UPDATE only the tables (or columns) its work writes (`WRITES`); only a manager may
  DELETE, and only what `purge` deletes; the viewer group only SELECTs.
- **Append-only for everybody**: the audit log, and the records of who did what (`signposting`,
  `consultation`, `correction`, `threshold_decision`: a correction of them is a new row). Triggers
  refuse UPDATE, DELETE and TRUNCATE even to the tables' owner, but for what the engine itself must
  do: stamp a correction with its audit event, blank a purged case's text, delete old signposting
  and the corrections of the old imported rows it deletes.
  A case's key (`case_key`, which opens the text of its events) is never updated, and deleted only
  for a case being purged. A partnership's key of its victims' hashes (`match_key`) is never updated
  or deleted: every hash kept, and so every match, depends on it.
- **Row-level security**: each login sees and changes only its own partnership's rows, looked up in
  `app_user` by `session_user`; an admin reads every partnership and changes no case; a reviewer
  changes only the cases they review; a chair sees a case, and its bundle, only while it is under
  appeal (and within the change that decides the appeal).
- `trigger_sync_login(login)`, run by `trigger user add`/`disable`, gives a registered login its
  role's group of this database (and takes the others away); an admin may run it without being able
  to grant roles themselves, and it grants nothing but the group `app_user` says.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from sqlalchemy import Connection, text
from sqlmodel import Session

from trigger.errors import InvalidInput, NotPermitted
from trigger.store import audit
from trigger.store.access import ROLES, SETUP, needs
from trigger.store.app import App, today
from trigger.store.models import metadata

OLD_PREFIX = "trigger"  # the cluster-wide groups of old (trigger_manager, ...), shared by every database
PREFIX_SETTING = "db_grant_prefix"
MAX_PREFIX = 63 - len("_reviewer")  # PostgreSQL's role names are at most 63 bytes
_PREFIX = re.compile(r"^[a-z_][a-z0-9_]*$")
WRITERS = ("admin", "manager", "reviewer", "chair", "clerk")
CASE_WORK = ("manager", "reviewer", "chair", "clerk")

# table -> {privilege: roles}; every group may SELECT every table; nothing else is granted
WRITES: dict[str, dict[str, tuple[str, ...]]] = {
    "partnership": {"INSERT": ("admin",), "UPDATE": ("admin",)},
    "app_user": {"INSERT": ("admin",), "UPDATE": ("admin",)},
    "setting": {"INSERT": ("admin", "manager"), "UPDATE": ("admin", "manager")},
    "agency": {"INSERT": ("admin", "manager"), "UPDATE": ("admin", "manager")},
    "case_sequence": {"INSERT": ("manager", "clerk"), "UPDATE": ("manager", "clerk")},
    "review_case": {"INSERT": ("manager", "clerk"), "UPDATE": CASE_WORK},
    "partner_notification": {"INSERT": ("manager", "clerk")},
    "incident": {"INSERT": ("manager", "clerk"), "UPDATE": ("manager", "clerk"), "DELETE": ("manager",)},
    # who did what: append-only (a trigger keeps it so); the columns `purge` blanks, by a manager
    "threshold_decision": {"INSERT": ("manager",), "UPDATE (reason)": ("manager",)},
    "evidence_request": {"INSERT": ("manager", "reviewer"), "UPDATE": ("manager", "reviewer")},
    "hours_entry": {"INSERT": ("manager", "reviewer"), "UPDATE": ("manager", "reviewer")},
    "meeting": {"INSERT": ("manager", "reviewer"), "UPDATE": ("manager", "reviewer")},
    "finding": {"INSERT": ("manager", "reviewer"), "UPDATE": ("manager", "reviewer")},
    "recommendation": {"INSERT": ("manager", "reviewer"), "UPDATE": ("manager", "reviewer")},
    "action": {"INSERT": ("manager", "reviewer"), "UPDATE": ("manager", "reviewer")},
    "consultation": {"INSERT": ("manager", "reviewer"), "UPDATE (response)": ("manager",)},
    "appeal": {"INSERT": ("manager",), "UPDATE": ("manager", "chair")},
    "letter": {"INSERT": ("manager", "clerk", "chair"), "UPDATE": ("manager",)},
    "letter_copy": {"INSERT": ("manager", "clerk", "chair"), "UPDATE": ("manager",), "DELETE": ("manager",)},
    "letter_delivery": {"INSERT": ("manager", "clerk"), "UPDATE": ("manager",)},  # `letter --send`; purge
    "deadline": {"INSERT": CASE_WORK, "UPDATE": CASE_WORK},
    "reminder": {"INSERT": CASE_WORK, "UPDATE": ("admin", *CASE_WORK)},  # an admin may run the sweep
    # the applicant's notices: made by every change to a case, sent and marked by the sweep
    "applicant_notice": {"INSERT": CASE_WORK, "UPDATE": ("admin", *CASE_WORK)},
    "audit_head": {"UPDATE": WRITERS},  # every change appends to the chain (and locks its head)
    "audit_event": {"INSERT": WRITERS},  # never UPDATE, DELETE or TRUNCATE
    # a case's key is made with its first event and deleted only by purge (docs/operations.md#erasure)
    "case_key": {"INSERT": CASE_WORK, "DELETE": ("manager",)},
    # the keys of the imported logs' months: made by an import, deleted only by purge
    "log_key": {"INSERT": ("manager", "clerk"), "DELETE": ("manager",)},
    # the key of the keyed hashes of victims' ids: made by the first change that stores an id, never
    # updated nor deleted (the hashes of every record kept depend on it)
    "match_key": {"INSERT": ("manager", "reviewer", "clerk")},
    "policy_snapshot": {"INSERT": ("manager", "clerk")},
    "correction": {
        "INSERT": ("admin", "manager", "reviewer", "clerk"),
        # each row is stamped with the audit event that recorded it, in the change that made it
        "UPDATE (audit_seq)": ("admin", "manager", "reviewer", "clerk"),
        "UPDATE (old_value, new_value, reason)": ("manager",),
    },
    "signposting": {"INSERT": ("manager", "clerk"), "DELETE": ("manager",)},
    # the applicant's links: made by `web link` and the acknowledgement letter, revoked by `web link`
    "applicant_link": {"INSERT": ("manager", "clerk"), "UPDATE (revoked_on)": ("manager", "clerk")},
    "alembic_version": {},
}

# row-level security: (USING, WITH CHECK) per table; the functions are defined below
_CASE_CHILD = ("case_id IN (SELECT id FROM review_case)", "trigger_may_change(NULL, case_id)")


def _child_of(parent: str, column: str) -> tuple[str, str]:
    return (
        f"{column} IN (SELECT id FROM {parent})",
        f"trigger_may_change(NULL, trigger_case_of('{parent}', {column}))",
    )


POLICIES: dict[str, tuple[str, str]] = {
    "partnership": (
        "(SELECT trigger_role()) = 'admin' OR id = (SELECT trigger_partnership())",
        "(SELECT trigger_role()) = 'admin'",
    ),
    "agency": ("trigger_sees(partnership_id, true)", "trigger_may_change(partnership_id, NULL)"),
    "case_sequence": ("trigger_sees(partnership_id, false)", "trigger_may_change(partnership_id, NULL)"),
    "review_case": (
        "(SELECT trigger_role()) = 'admin' OR (partnership_id = (SELECT trigger_partnership()) AND "
        "((SELECT trigger_role()) <> 'chair' OR id IN (SELECT trigger_appealed())))",
        "trigger_may_write(partnership_id, reviewer, id)",  # the row itself: not yet readable on INSERT
    ),
    "incident": (
        "CASE WHEN case_id IS NULL THEN trigger_sees(partnership_id, false) "
        "ELSE case_id IN (SELECT id FROM review_case) END",
        "trigger_may_change(partnership_id, case_id)",
    ),
    "signposting": ("trigger_sees(partnership_id, false)", "trigger_may_change(partnership_id, NULL)"),
    "log_key": ("trigger_sees(partnership_id, false)", "trigger_may_change(partnership_id, NULL)"),
    "match_key": ("trigger_sees(partnership_id, false)", "trigger_may_change(partnership_id, NULL)"),
    "audit_event": (
        "partnership_id IS NULL OR CASE WHEN case_id IS NULL THEN trigger_sees(partnership_id, false) "
        "ELSE case_id IN (SELECT id FROM review_case) END",
        "CASE WHEN partnership_id IS NULL AND case_id IS NULL THEN (SELECT trigger_role()) IS NOT NULL "
        # an admin's sweep records the applicant's notices it sent (docs/operations.md#telling-the-applicant)
        "WHEN event = 'applicant_notice' AND (SELECT trigger_role()) = 'admin' THEN true "
        "ELSE trigger_may_change(partnership_id, case_id) END",
    ),
    "correction": (
        "CASE WHEN case_id IS NOT NULL THEN case_id IN (SELECT id FROM review_case) "
        "WHEN subject = 'agency' THEN subject_id IN (SELECT id FROM agency) "
        "WHEN subject = 'incident' THEN subject_id IN (SELECT id FROM incident) "
        "ELSE (SELECT trigger_role()) = 'admin' END",
        "CASE WHEN case_id IS NOT NULL THEN trigger_may_change(NULL, case_id) "
        "WHEN subject = 'agency' THEN subject_id IN (SELECT id FROM agency) "
        "AND (SELECT trigger_role()) IN ('admin', 'manager') "
        "WHEN subject = 'incident' THEN subject_id IN (SELECT id FROM incident) "
        "AND (SELECT trigger_role()) IN ('manager', 'clerk') ELSE false END",
    ),
    "reminder": (
        "deadline_id IN (SELECT id FROM deadline)",
        "(SELECT trigger_role()) = 'admin' "  # an admin may run the sweep
        "OR trigger_may_change(NULL, trigger_case_of('deadline', deadline_id))",
    ),
    "applicant_notice": (
        "case_id IN (SELECT id FROM review_case)",
        "(SELECT trigger_role()) = 'admin' OR trigger_may_change(NULL, case_id)",  # an admin's sweep
    ),
    "letter_copy": _child_of("letter", "letter_id"),
}
# tables every login reads whole (no personal data, or needed to know who is acting)
UNSCOPED = ("app_user", "setting", "policy_snapshot", "audit_head", "alembic_version")


def policy_for(table: str, columns: set[str], parents: dict[str, str]) -> tuple[str, str] | None:
    """The (USING, WITH CHECK) of a table: its own entry, a case's child, or a child of a table that
    hangs off a case (found by its foreign key), so that a table added later is covered too."""
    if table in POLICIES:
        return POLICIES[table]
    if table in UNSCOPED:
        return None
    if "case_id" in columns:
        return _CASE_CHILD
    for column, parent in sorted(parents.items()):
        if "case_id" in _columns_of(parent):
            return _child_of(parent, column)
    raise InvalidInput(
        f"no row-level security rule for the table {table}: add one to trigger/access/grants.py"
    )


def _columns_of(table: str) -> set[str]:

    return {c.name for c in metadata.tables[table].columns} if table in metadata.tables else set()


# what the append-only trigger lets through: the columns `purge` blanks and the values it writes
# (trigger.cases.retention.ROW_FIELDS)
PURGE_BLANKS = {
    "correction": {"old_value": None, "new_value": None, "reason": "[purged]"},
    "consultation": {"response": "[purged]"},
    "threshold_decision": {"reason": None},
}
WHO_DID_WHAT = ("signposting", "consultation", "correction", "threshold_decision")


def group_of(prefix: str, role: str) -> str:
    return f"{prefix}_{role}"


def default_prefix(database: str, schema: str) -> str:
    """The database's name (and its schema's, when not `public`), as a role name needs it: lower case,
    letters, digits and _; a digest of the real name is added when that changed it (or it is long)."""
    name = database if schema == "public" else f"{database}_{schema}"
    safe = re.sub(r"[^a-z0-9_]", "_", name.lower())
    if not safe[:1].isalpha():
        safe = f"db_{safe}"
    if safe != name or len(safe) > MAX_PREFIX or safe == OLD_PREFIX:
        digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:8]
        safe = f"{safe[: MAX_PREFIX - 9]}_{digest}"
    return safe


def checked_prefix(given: str) -> str:
    prefix = given.strip()
    if not _PREFIX.match(prefix) or len(prefix) > MAX_PREFIX or prefix == OLD_PREFIX:
        raise InvalidInput(
            f"--prefix {given!r} cannot name this database's group roles: use lower-case letters, digits "
            f"and _ (at most {MAX_PREFIX}; not {OLD_PREFIX!r}, the server-wide groups of old), "
            "e.g. --prefix ct_live"
        )
    return prefix


def prefix_of(session: Session) -> str | None:
    """The prefix of this database's group roles, once `db grant` has run."""
    return session.execute(text("SELECT value FROM setting WHERE key = :k"), {"k": PREFIX_SETTING}).scalar()


def group_for(session: Session, role: str) -> str:
    """The group `db grant` gives (or would give, run now without --prefix) a login of this role."""
    prefix = prefix_of(session)
    if prefix is None:
        database, schema = session.execute(text("SELECT current_database(), current_schema()")).one()
        prefix = default_prefix(database, schema)
    return group_of(prefix, role)


# -- the functions row-level security calls -------------------------------------------------------------

_FUNCTIONS = r"""
CREATE OR REPLACE FUNCTION {s}.trigger_role() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {s}, pg_temp AS $$
  SELECT role FROM app_user WHERE login = session_user AND disabled_on IS NULL
$$;
CREATE OR REPLACE FUNCTION {s}.trigger_partnership() RETURNS integer
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {s}, pg_temp AS $$
  SELECT partnership_id FROM app_user WHERE login = session_user AND disabled_on IS NULL
$$;
CREATE OR REPLACE FUNCTION {s}.trigger_appealed() RETURNS SETOF integer
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {s}, pg_temp AS $$
  -- a chair's cases: those under appeal, and one whose appeal this very transaction is deciding (its
  -- row changed in it: the decision moves it on, and its event, deadlines and appeal row follow)
  SELECT id FROM review_case WHERE state = 'appealed'
  UNION
  SELECT c.id FROM appeal a JOIN review_case c ON c.id = a.case_id
  WHERE c.xmin::text::bigint = pg_current_xact_id_if_assigned()::text::bigint % 4294967296
$$;
CREATE OR REPLACE FUNCTION {s}.trigger_sees(p integer, chair_too boolean) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {s}, pg_temp AS $$
  SELECT CASE WHEN u.role = 'admin' THEN true
              WHEN u.role = 'chair' THEN chair_too AND p = u.partnership_id
              ELSE p = u.partnership_id END
  FROM app_user u WHERE u.login = session_user AND u.disabled_on IS NULL
$$;
CREATE OR REPLACE FUNCTION {s}.trigger_case_of(parent text, row_id integer) RETURNS integer
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = {s}, pg_temp AS $$
DECLARE found integer;
BEGIN
  EXECUTE format('SELECT case_id FROM %I WHERE id = $1', parent) INTO found USING row_id;
  RETURN found;
END $$;
CREATE OR REPLACE FUNCTION {s}.trigger_may_write(p integer, named text, c integer) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = {s}, pg_temp AS $$
DECLARE me app_user%ROWTYPE;
BEGIN
  SELECT * INTO me FROM app_user WHERE login = session_user AND disabled_on IS NULL;
  IF NOT FOUND OR me.role = 'viewer' THEN RETURN false; END IF;
  IF me.role = 'admin' THEN RETURN c IS NULL; END IF;  -- an admin does no case work
  IF p IS DISTINCT FROM me.partnership_id THEN RETURN false; END IF;
  IF c IS NULL OR me.role IN ('manager', 'clerk') THEN RETURN true; END IF;
  IF me.role = 'reviewer' THEN  -- only the cases they review (names compared ignoring case and spaces)
    RETURN lower(regexp_replace(btrim(coalesce(named, '')), '\s+', ' ', 'g'))
      IN (lower(regexp_replace(btrim(me.name), '\s+', ' ', 'g')), lower(me.login));
  END IF;
  IF me.role = 'chair' THEN RETURN c IN (SELECT trigger_appealed()); END IF;
  RETURN false;
END $$;
CREATE OR REPLACE FUNCTION {s}.trigger_may_change(p integer, c integer) RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = {s}, pg_temp AS $$
DECLARE owner_id integer; named text;
BEGIN
  IF c IS NULL THEN RETURN trigger_may_write(p, NULL, NULL); END IF;
  SELECT partnership_id, reviewer INTO owner_id, named FROM review_case WHERE id = c;
  RETURN trigger_may_write(owner_id, named, c);
END $$;
CREATE OR REPLACE FUNCTION {s}.trigger_sync_login(who text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = {s}, pg_temp AS $$
DECLARE wanted text; grp text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = who) THEN RETURN NULL; END IF;
  SELECT CASE WHEN disabled_on IS NULL THEN {prefix} || '_' || role END INTO wanted
    FROM app_user WHERE login = who;
  FOREACH grp IN ARRAY ARRAY[{groups}] LOOP
    IF grp IS DISTINCT FROM wanted AND EXISTS (
        SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
        JOIN pg_roles r ON r.oid = m.member WHERE g.rolname = grp AND r.rolname = who) THEN
      EXECUTE format('REVOKE %I FROM %I', grp, who);
    END IF;
  END LOOP;
  IF wanted IS NOT NULL THEN EXECUTE format('GRANT %I TO %I', wanted, who); END IF;
  RETURN wanted;
END $$;
CREATE OR REPLACE FUNCTION {s}.trigger_key_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM {s}.review_case WHERE id = OLD.case_id AND purged) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'a case''s key goes only with the purge of its personal data: % on case_key is refused',
    TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE OR REPLACE FUNCTION {s}.trigger_match_key_kept() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the key of the victims'' hashes is kept while any hash is: % on match_key is refused',
    TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE OR REPLACE FUNCTION {s}.trigger_who_did_what() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE blanks jsonb := CASE TG_TABLE_NAME {blanks} END;
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF TG_TABLE_NAME = 'correction' AND to_jsonb(OLD) ->> 'audit_seq' IS NULL
       AND to_jsonb(NEW) - 'audit_seq' = to_jsonb(OLD) - 'audit_seq' THEN
      RETURN NEW;  -- stamped with the audit event that recorded it
    END IF;
    IF blanks IS NOT NULL AND to_jsonb(NEW) = to_jsonb(OLD) || blanks
       AND EXISTS (SELECT 1 FROM {s}.review_case
                   WHERE id = (to_jsonb(OLD) ->> 'case_id')::integer AND purged) THEN
      RETURN NEW;  -- a purged case's text blanked; who did what, and when, kept
    END IF;
  ELSIF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'signposting'
        AND (to_jsonb(OLD) ->> 'told_on')::date < current_date - interval '1 year' THEN
    RETURN OLD;  -- purge: old enough for every retention a policy may set
  ELSIF TG_OP = 'DELETE' AND TG_TABLE_NAME = 'correction' AND to_jsonb(OLD) ->> 'case_id' IS NULL
        AND to_jsonb(OLD) ->> 'subject' = 'incident'
        AND EXISTS (SELECT 1 FROM {s}.incident i WHERE i.id = (to_jsonb(OLD) ->> 'subject_id')::integer
                    AND i.case_id IS NULL AND i.reported < current_date - interval '1 year') THEN
    RETURN OLD;  -- purge: a correction of an imported row it deletes (as old as the signposting it may)
  END IF;
  RAISE EXCEPTION '% records who did what and is append-only: % is refused (a correction is a new row)',
    TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE OR REPLACE FUNCTION {s}.trigger_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only: % on audit_event is refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;
"""


@dataclass
class Granted:
    schema: str
    prefix: str = ""
    groups: list[str] = field(default_factory=list)
    groups_created: list[str] = field(default_factory=list)
    old_groups: list[str] = field(default_factory=list)  # the server-wide groups of old, emptied here
    tables: int = 0
    policies: int = 0
    logins: list[tuple[str, str | None]] = field(default_factory=list)


def _q(conn, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


@needs(SETUP)
def grant(app: App, prefix: str | None = None) -> Granted:
    """Create this database's group roles, grant least privilege on this schema's tables, install
    row-level security and the append-only guards, and give every registered login its group.
    Idempotent; `prefix` names the groups (first run: default the database's name)."""
    if prefix is not None:
        prefix = checked_prefix(prefix)
    with app.write() as session:
        conn = session.connection()
        if conn.dialect.name != "postgresql":
            raise InvalidInput(
                "`trigger db grant` is for PostgreSQL; a SQLite database is one file, private to its "
                "owner (0600), and the roles are checked by trigger itself"
            )
        database, schema = conn.execute(text("SELECT current_database(), current_schema()")).one()
        assert schema is not None  # App.write found the tables there: it is the first schema of the path
        owner = conn.execute(
            text(
                "SELECT pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relname = 'review_case'"
            )
        ).scalar()
        me, superuser = conn.execute(
            text("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        ).one()
        if me != owner and not superuser:
            raise NotPermitted(
                f"`trigger db grant` must run as the tables' owner ({owner}) or a superuser, not {me}"
            )
        kept = prefix_of(session)
        if prefix is not None and kept is not None and prefix != kept:
            raise InvalidInput(
                f"this database's group roles are {kept}_admin, {kept}_manager, ...; they keep their names: "
                f"run `trigger db grant` without --prefix (or rename the six roles with ALTER ROLE first)"
            )
        chosen = prefix or kept or default_prefix(database, schema)
        done = Granted(schema, chosen)
        s = _q(conn, schema)
        groups = {role: group_of(chosen, role) for role in ROLES}
        done.groups = list(groups.values())
        whose = f"Community Trigger {{}} group of the database {database}, schema {schema}"
        for role, group in groups.items():
            _make_group(conn, group, whose.format(role), done)
        g = {role: _q(conn, group) for role, group in groups.items()}
        everyone = ", ".join(g.values())
        done.old_groups = _empty_old_groups(conn, s, set(groups.values()))
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {s} TO {everyone}")
        # straight to the driver: no parameters, so psycopg leaves format()'s %I alone
        driver = conn.connection.dbapi_connection
        assert driver is not None  # None only once the connection is closed
        cursor = driver.cursor()
        cursor.execute(
            _FUNCTIONS.format(
                s=s,
                groups=", ".join(_literal(x) for x in groups.values()),
                prefix=_literal(chosen),
                blanks=" ".join(
                    f"WHEN {_literal(table)} THEN {_literal(json.dumps(values))}::jsonb"
                    for table, values in PURGE_BLANKS.items()
                ),
            )
        )
        cursor.close()
        for fn in (
            "trigger_role()",
            "trigger_partnership()",
            "trigger_appealed()",
            "trigger_sees(integer, boolean)",
            "trigger_case_of(text, integer)",
            "trigger_may_change(integer, integer)",
            "trigger_may_write(integer, text, integer)",
        ):
            conn.exec_driver_sql(f"REVOKE ALL ON FUNCTION {s}.{fn} FROM PUBLIC")
            conn.exec_driver_sql(f"GRANT EXECUTE ON FUNCTION {s}.{fn} TO {everyone}")
        conn.exec_driver_sql(f"REVOKE ALL ON FUNCTION {s}.trigger_sync_login(text) FROM PUBLIC")
        conn.exec_driver_sql(f"GRANT EXECUTE ON FUNCTION {s}.trigger_sync_login(text) TO {g['admin']}")
        tables = sorted({*metadata.tables, "alembic_version"})
        for table in tables:
            if table not in WRITES:
                raise InvalidInput(
                    f"no privileges set for the table {table}: add it to trigger/access/grants.py"
                )
            t = f"{s}.{_q(conn, table)}"
            conn.exec_driver_sql(f"REVOKE ALL ON {t} FROM PUBLIC, {everyone}")
            conn.exec_driver_sql(f"GRANT SELECT ON {t} TO {everyone}")
            for privilege, roles in WRITES[table].items():
                conn.exec_driver_sql(f"GRANT {privilege} ON {t} TO {', '.join(g[r] for r in roles)}")
            done.tables += 1
            if table == "alembic_version":
                continue
            columns = {c.name for c in metadata.tables[table].columns}
            parents = {fk.parent.name: fk.column.table.name for fk in metadata.tables[table].foreign_keys}
            rule = policy_for(table, columns, parents)
            if rule is None:
                conn.exec_driver_sql(f"ALTER TABLE {t} DISABLE ROW LEVEL SECURITY")
                continue
            using, check = rule
            conn.exec_driver_sql(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY")
            conn.exec_driver_sql(f"DROP POLICY IF EXISTS trigger_rows ON {t}")
            conn.exec_driver_sql(
                f"CREATE POLICY trigger_rows ON {t} FOR ALL TO PUBLIC USING ({using}) WITH CHECK ({check})"
            )
            done.policies += 1
        writers = ", ".join(g[r] for r in WRITERS)
        conn.exec_driver_sql(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {writers}")
        _guard(conn, f"{s}.audit_event", "trigger_append_only", f"{s}.trigger_append_only()")
        for table in WHO_DID_WHAT:
            _guard(conn, f"{s}.{_q(conn, table)}", "trigger_who_did_what", f"{s}.trigger_who_did_what()")
        # a key destroyed outside purge would erase a live case's audit text (docs/operations.md#erasure)
        keys = f"{s}.case_key"
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS trigger_key_kept ON {keys}")
        conn.exec_driver_sql(
            f"CREATE TRIGGER trigger_key_kept BEFORE UPDATE OR DELETE ON {keys} "
            f"FOR EACH ROW EXECUTE FUNCTION {s}.trigger_key_kept()"
        )
        # without it no victim's id kept matches again (docs/operations.md#erasure)
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS trigger_match_key_kept ON {s}.match_key")
        conn.exec_driver_sql(
            f"CREATE TRIGGER trigger_match_key_kept BEFORE UPDATE OR DELETE ON {s}.match_key "
            f"FOR EACH ROW EXECUTE FUNCTION {s}.trigger_match_key_kept()"
        )
        conn.execute(
            text(
                "INSERT INTO setting (key, value) VALUES (:k, :v) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value"
            ),
            {"k": PREFIX_SETTING, "v": chosen},
        )
        for (login,) in conn.execute(text("SELECT login FROM app_user ORDER BY login")):
            done.logins.append((login, sync_login(session, login)))

        audit.record(
            session,
            None,
            "db_grant",
            actor=app.actor,
            on=today(),
            detail={
                "schema": schema,
                "prefix": chosen,
                "groups_created": done.groups_created,
                "old_groups_emptied": done.old_groups,
                "policies": done.policies,
            },
        )
    return done


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _make_group(conn: Connection, group: str, whose: str, done: Granted) -> None:
    """Create the group (another run may at the same moment), or take it over if it is this database's
    or nobody's: a group another database made (its comment says so) is refused, never shared."""
    found = conn.execute(
        text("SELECT shobj_description(oid, 'pg_authid') FROM pg_roles WHERE rolname = :g"), {"g": group}
    ).first()
    if found is not None and found[0] and found[0] != whose:
        raise InvalidInput(
            f"the role {group} already exists for another database ({found[0]}); give this one "
            "group roles of its own: `trigger db grant --prefix NAME`"
        )
    if found is None:
        done.groups_created.append(group)
    q = _q(conn, group)
    conn.exec_driver_sql(
        "DO $$ BEGIN "
        f"IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {_literal(group)}) THEN "
        f"CREATE ROLE {q} NOLOGIN; END IF; "
        "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
    )
    if found is None or not found[0]:  # marked as this database's (a DBA's own roles may stay unmarked)
        conn.exec_driver_sql(
            f"DO $ct$ BEGIN COMMENT ON ROLE {q} IS {_literal(whose)}; "
            "EXCEPTION WHEN insufficient_privilege THEN NULL; END $ct$"
        )


# whether a role was granted anything itself on this schema or its tables (PUBLIC's rights aside)
_HELD = """
SELECT EXISTS (SELECT 1 FROM pg_namespace n, aclexplode(n.nspacl) a
               WHERE n.nspname = current_schema() AND a.grantee = r.oid)
    OR EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a
               WHERE n.nspname = current_schema() AND a.grantee = r.oid)
FROM pg_roles r WHERE r.rolname = :g
"""


def _empty_old_groups(conn: Connection, s: str, ours: set[str]) -> list[str]:
    """Take from the server-wide groups of old (`trigger_manager`, ...) everything they held in this
    schema, so that a login given one for another database has nothing here. Returns those emptied."""
    emptied = []
    for role in ROLES:
        old = group_of(OLD_PREFIX, role)
        if old in ours:
            continue
        held = conn.execute(text(_HELD), {"g": old}).scalar()
        if not held:
            continue
        q = _q(conn, old)
        for kind in ("TABLES", "SEQUENCES", "FUNCTIONS"):
            conn.exec_driver_sql(f"REVOKE ALL ON ALL {kind} IN SCHEMA {s} FROM {q}")
        conn.exec_driver_sql(f"REVOKE ALL ON SCHEMA {s} FROM {q}")
        emptied.append(old)
    return emptied


def _guard(conn: Connection, table: str, name: str, function: str) -> None:
    """Refuse UPDATE, DELETE (row by row) and TRUNCATE on `table` through `function`, even to the owner."""
    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    conn.exec_driver_sql(
        f"CREATE TRIGGER {name} BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW EXECUTE FUNCTION {function}"
    )
    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}_truncate ON {table}")
    conn.exec_driver_sql(
        f"CREATE TRIGGER {name}_truncate BEFORE TRUNCATE ON {table} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}"
    )


# -- logins ------------------------------------------------------------------------------------------------


def login_exists(session: Session, login: str) -> bool | None:
    """Whether the PostgreSQL server has this login; None on SQLite (where a login is a name)."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return None
    return conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :l"), {"l": login}).first() is not None


def session_login(session: Session) -> str | None:
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return None
    return conn.execute(text("SELECT session_user")).scalar()


def sync_login(session: Session, login: str) -> str | None:
    """Give a registered login its role's group (and take away the others), through the function
    `db grant` installed; None when it has not been run yet (or on SQLite)."""
    conn = session.connection()
    if conn.dialect.name != "postgresql":
        return None
    installed = conn.execute(
        text(
            "SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = current_schema() AND p.proname = 'trigger_sync_login'"
        )
    ).first()
    if installed is None:
        return None
    return conn.execute(text("SELECT trigger_sync_login(:l)"), {"l": login}).scalar()
