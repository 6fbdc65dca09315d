"""`trigger db grant`: what PostgreSQL itself enforces, so that a login that bypasses the command line
with `psql` can do no more than its role allows on the command line
(docs/architecture.md#what-the-server-enforces).

- **Group roles** `trigger_admin`, `trigger_manager`, `trigger_reviewer`, `trigger_chair`,
  `trigger_clerk` and `trigger_viewer`, created if missing (they are cluster-wide, and other
  databases on the server may have made them already).
- **Least privilege** on the tables of the current schema: every group may SELECT; each writing group
  may INSERT or UPDATE only the tables its work writes (`WRITES`); only a manager may DELETE, and only
  what `purge` deletes; `trigger_viewer` only SELECTs.
- **The audit log is append-only for everybody**: no group is granted UPDATE, DELETE or TRUNCATE on
  `audit_event`, and triggers refuse them even to the tables' owner. A case's key (`case_key`, which
  opens the text of its events) is never updated, and deleted only for a case being purged.
- **Row-level security**: each login sees and changes only its own partnership's rows, looked up in
  `app_user` by `session_user`; an admin reads every partnership and changes no case; a reviewer
  changes only the cases they review; a chair sees only cases that went to appeal.
- `trigger_sync_login(login)`, run by `trigger user add`/`disable`, gives a registered login its
  role's group (and takes the others away); an admin may run it without being able to grant roles
  themselves, and it grants nothing but the group `app_user` says.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text
from sqlmodel import Session

from trigger.errors import InvalidInput, NotPermitted
from trigger.store import audit
from trigger.store.access import ROLES, SETUP, needs
from trigger.store.app import App, today
from trigger.store.models import metadata

PREFIX = "trigger_"
GROUPS = tuple(PREFIX + r for r in ROLES)
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
    "threshold_decision": {"INSERT": ("manager",), "UPDATE": ("manager",)},
    "evidence_request": {"INSERT": ("manager", "reviewer"), "UPDATE": ("manager", "reviewer")},
    "hours_entry": {"INSERT": ("manager", "reviewer"), "UPDATE": ("manager", "reviewer")},
    "meeting": {"INSERT": ("manager", "reviewer"), "UPDATE": ("manager", "reviewer")},
    "finding": {"INSERT": ("manager", "reviewer"), "UPDATE": ("manager", "reviewer")},
    "recommendation": {"INSERT": ("manager", "reviewer"), "UPDATE": ("manager", "reviewer")},
    "action": {"INSERT": ("manager", "reviewer"), "UPDATE": ("manager", "reviewer")},
    "consultation": {"INSERT": ("manager", "reviewer"), "UPDATE": ("manager", "reviewer")},
    "appeal": {"INSERT": ("manager",), "UPDATE": ("manager", "chair")},
    "letter": {"INSERT": ("manager", "clerk", "chair"), "UPDATE": ("manager",)},
    "letter_copy": {"INSERT": ("manager", "clerk", "chair"), "UPDATE": ("manager",), "DELETE": ("manager",)},
    "letter_delivery": {"INSERT": ("manager", "clerk"), "UPDATE": ("manager",)},  # `letter --send`; purge
    "deadline": {"INSERT": CASE_WORK, "UPDATE": CASE_WORK},
    "reminder": {"INSERT": CASE_WORK, "UPDATE": ("admin", *CASE_WORK)},  # an admin may run the sweep
    "audit_head": {"UPDATE": WRITERS},  # every change appends to the chain (and locks its head)
    "audit_event": {"INSERT": WRITERS},  # never UPDATE, DELETE or TRUNCATE
    # a case's key is made with its first event and deleted only by purge (docs/operations.md#erasure)
    "case_key": {"INSERT": CASE_WORK, "DELETE": ("manager",)},
    "policy_snapshot": {"INSERT": ("manager", "clerk")},
    "correction": {"INSERT": ("admin", "manager", "reviewer", "clerk"), "UPDATE": ("manager",)},
    "signposting": {"INSERT": ("manager", "clerk"), "UPDATE": ("manager",), "DELETE": ("manager",)},
    # the applicant's links: made by `web link` and the acknowledgement letter, revoked by `web link`
    "applicant_link": {"INSERT": ("manager", "clerk"), "UPDATE": ("manager", "clerk")},
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
    "audit_event": (
        "partnership_id IS NULL OR CASE WHEN case_id IS NULL THEN trigger_sees(partnership_id, false) "
        "ELSE case_id IN (SELECT id FROM review_case) END",
        "CASE WHEN partnership_id IS NULL AND case_id IS NULL THEN (SELECT trigger_role()) IS NOT NULL "
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


def group_of(role: str) -> str:
    return PREFIX + role


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
  SELECT DISTINCT case_id FROM appeal
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
  IF me.role = 'chair' THEN RETURN EXISTS (SELECT 1 FROM appeal WHERE case_id = c); END IF;
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
  SELECT CASE WHEN disabled_on IS NULL THEN 'trigger_' || role END INTO wanted
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
    groups_created: list[str] = field(default_factory=list)
    tables: int = 0
    policies: int = 0
    logins: list[tuple[str, str | None]] = field(default_factory=list)


def _q(conn, name: str) -> str:
    return conn.dialect.identifier_preparer.quote(name)


@needs(SETUP)
def grant(app: App) -> Granted:
    """Create the group roles, grant least privilege on this schema's tables, install row-level
    security and the audit log's guard, and give every registered login its group. Idempotent."""

    with app.write() as session:
        conn = session.connection()
        if conn.dialect.name != "postgresql":
            raise InvalidInput(
                "`trigger db grant` is for PostgreSQL; a SQLite database is one file, private to its "
                "owner (0600), and the roles are checked by trigger itself"
            )
        schema = conn.execute(text("SELECT current_schema()")).scalar()
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
        done = Granted(schema)
        s = _q(conn, schema)
        for group in GROUPS:
            made = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :g"), {"g": group}).first()
            if made is None:
                done.groups_created.append(group)
            # cluster-wide and shared: another run may create it at the same moment
            conn.exec_driver_sql(
                "DO $$ BEGIN "
                f"IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{group}') THEN "
                f"CREATE ROLE {group} NOLOGIN; END IF; "
                "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            )
        everyone = ", ".join(GROUPS)
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {s} TO {everyone}")
        # straight to the driver: no parameters, so psycopg leaves format()'s %I alone
        driver = conn.connection.dbapi_connection
        assert driver is not None  # None only once the connection is closed
        cursor = driver.cursor()
        cursor.execute(_FUNCTIONS.format(s=s, groups=", ".join(f"'{g}'" for g in GROUPS)))
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
        conn.exec_driver_sql(f"GRANT EXECUTE ON FUNCTION {s}.trigger_sync_login(text) TO {group_of('admin')}")
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
                conn.exec_driver_sql(f"GRANT {privilege} ON {t} TO {', '.join(group_of(r) for r in roles)}")
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
        writers = ", ".join(group_of(r) for r in WRITERS)
        conn.exec_driver_sql(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {s} TO {writers}")
        audit_log = f"{s}.audit_event"
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS trigger_append_only ON {audit_log}")
        conn.exec_driver_sql(
            f"CREATE TRIGGER trigger_append_only BEFORE UPDATE OR DELETE ON {audit_log} "
            f"FOR EACH ROW EXECUTE FUNCTION {s}.trigger_append_only()"
        )
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS trigger_append_only_truncate ON {audit_log}")
        conn.exec_driver_sql(
            f"CREATE TRIGGER trigger_append_only_truncate BEFORE TRUNCATE ON {audit_log} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {s}.trigger_append_only()"
        )
        # a key destroyed outside purge would erase a live case's audit text (docs/operations.md#erasure)
        keys = f"{s}.case_key"
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS trigger_key_kept ON {keys}")
        conn.exec_driver_sql(
            f"CREATE TRIGGER trigger_key_kept BEFORE UPDATE OR DELETE ON {keys} "
            f"FOR EACH ROW EXECUTE FUNCTION {s}.trigger_key_kept()"
        )
        for (login,) in conn.execute(text("SELECT login FROM app_user ORDER BY login")):
            done.logins.append((login, sync_login(session, login)))

        audit.record(
            session,
            None,
            "db_grant",
            actor=app.actor,
            on=today(),
            detail={"schema": schema, "groups_created": done.groups_created, "policies": done.policies},
        )
    return done


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
