"""The partnerships' set-up: `trigger init` (the schema and the first partnership), `trigger
partnership add|list` (a county's several partnerships in one database, each with its own policy,
reference series, manager and agencies; what a database of one partnership kept as its settings),
and the agencies (the relevant bodies of s.105 and other partners) of each partnership."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from letters.words import plural
from trigger import checks
from trigger.codes import AGENCY_KINDS, not_one_of
from trigger.errors import GuardRefused, InvalidInput, NotFound, PolicyError
from trigger.rules import policy as policies
from trigger.rules.policy import Policy
from trigger.store import access, audit, db, keystore, outputs
from trigger.store.access import AGENCIES, READ_CASE, SETUP, needs
from trigger.store.app import App, retried, today, writers_lock
from trigger.store.models import Agency, AppUser, Partnership, ReviewCase, row_id
from trigger.store.unit import default_policy

FIRST_CODE = "main"  # the partnership `trigger init` makes when not told its code
FIRST_PREFIX = "CT"  # CT-2026-0001, as a database of one partnership always had
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
_PREFIX = re.compile(r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*$")

# -- set-up ----------------------------------------------------------------------------------------


def _check_code(code: str) -> str:
    code = code.strip()
    if not _CODE.match(code):
        raise InvalidInput(
            f"{code!r} is not a partnership code: use up to 32 letters, digits, '-' or '_', e.g. CHA"
        )
    return code


def _check_prefix(prefix: str) -> str:
    prefix = prefix.strip().upper()
    if not _PREFIX.match(prefix) or len(prefix) > 12:
        raise InvalidInput(
            f"{prefix!r} is not a reference prefix: use up to 12 capital letters and digits in parts "
            "joined by '-', e.g. CT-CHA (references then read CT-CHA-2026-0001)"
        )
    return prefix


@dataclass(frozen=True)
class LetterheadInput:
    """A partnership's letterhead as given to `init` or `partnership add|update`: None leaves a part as
    it is; an empty text (or no address lines) clears it, so the policy's [letterhead] shows again."""

    name_cy: str | None = None
    address: tuple[str, ...] | None = None
    telephone: str | None = None
    web: str | None = None
    logo: str | None = None  # a PNG, JPEG or GIF file, read when given
    signatory_name: str | None = None
    signatory_role: str | None = None


ADDRESS_LINES = 8  # a postal address and a building: enough for any letterhead


def _letterhead_values(given: LetterheadInput) -> dict[str, object]:
    """The columns to set from what was given, each checked (one clear line for a bad one)."""
    values: dict[str, object] = {}
    for column, what in (
        ("name_cy", "--name-cy"),
        ("signatory_name", "--signatory-name"),
        ("signatory_role", "--signatory-role"),
        ("telephone", "--telephone"),
    ):
        if (value := getattr(given, column)) is not None:
            values[column] = checks.name(value, what)
    if given.web is not None:
        web = checks.name(given.web, "--web")
        if web and (" " in web or "." not in web):
            raise InvalidInput(f"--web {web!r} is not a web address; give one like www.charnwood.gov.uk")
        values["web"] = web
    if given.address is not None:
        lines = [line for line in (checks.name(text, "--address") for text in given.address) if line]
        if len(lines) > ADDRESS_LINES:
            raise InvalidInput(
                f"--address is given {len(lines)} times; a letterhead has at most {ADDRESS_LINES} lines"
            )
        values["address"] = "\n".join(lines) or None
    if given.logo is not None:
        if given.logo.strip():
            path = Path(given.logo).expanduser()
            try:
                values["logo_type"], values["logo"] = policies.read_logo(path.parent, path.name, "--logo")
            except PolicyError as exc:
                raise InvalidInput(str(exc)) from None
        else:
            values["logo_type"] = values["logo"] = None
    return values


def _set_letterhead(row: Partnership, values: dict[str, object]) -> list[str]:
    """Set the letterhead's columns on the row; the names of the parts that changed (for the audit)."""
    changed = []
    for column, value in values.items():
        if getattr(row, column) != value:
            setattr(row, column, value)
            changed.append(column)
    return sorted(set(changed) - {"logo_type"})


@retried
@needs(SETUP)
def init(
    app: App,
    policy_name: str | None = "llr",
    manager_email: str | None = None,
    *,
    force: bool = False,
    code: str | None = None,
    name: str | None = None,
    letterhead: LetterheadInput = LetterheadInput(),
) -> tuple[Policy, list[str]]:
    """Create the schema and the first partnership (code `main` unless given), remember its policy and
    manager, register its relevant bodies. Rerun, it changes the settings of that partnership (or of
    the one named with `code`), and on a partnership that already holds cases refuses to switch the
    policy or the manager unless `force`, and then records the change in the audit log. Returns the
    policy and the changes made to a live partnership."""
    if manager_email and manager_email.strip():
        manager_email = checks.email(manager_email, "--manager-email")
    name = checks.name(name, "--name")
    head = _letterhead_values(letterhead)
    pol = policies.load(policy_name) if policy_name else None  # a bad policy is refused before anything
    code = _check_code(code) if code is not None else None
    state = db.schema_state(app.engine)
    if state.current is not None and not state.ahead:  # (a newer schema is refused below, as it is)
        with app.read():  # only an admin may rerun it once people are registered
            pass
    create_schema(app)
    with app.write() as session:
        audit.ensure_head(session)
        first = session.exec(select(Partnership).order_by(col(Partnership.id))).first()
        row = first
        if code is not None and first is not None:
            row = session.exec(
                select(Partnership).where(func.lower(Partnership.code) == code.lower())
            ).first()
            if row is None:
                raise InvalidInput(
                    f"this database has no partnership {code!r}; add one with `trigger partnership add`"
                )
        current_policy = row.policy if row is not None else ""
        pol = pol or policies.load(current_policy or "llr")
        chosen = policy_name or current_policy or "llr"
        current_manager = (row.manager_email or "") if row is not None else ""
        cases = (
            session.exec(
                select(func.count()).select_from(ReviewCase).where(ReviewCase.partnership_id == row.id)
            ).one()
            if row is not None
            else 0
        )
        changes = []
        if current_policy and chosen != current_policy:
            changes.append(f"the policy from {current_policy} to {chosen}")
        if manager_email is not None and current_manager and manager_email.strip() != current_manager:
            changes.append(f"the manager from {current_manager} to {manager_email.strip()}")
        if cases and changes and not force:
            raise GuardRefused(
                f"this database holds {plural(cases, '{n} case', '{n} cases')}; "
                f"init would change {' and '.join(changes)}: give "
                "--force to change it (recorded), or rerun without those options"
            )
        if row is None:
            row = Partnership(
                code=code or FIRST_CODE,
                name=(name or "").strip() or pol.area,
                policy=chosen,
                reference_prefix=FIRST_PREFIX,
            )
        row.policy = chosen
        if name is not None and name.strip():
            row.name = name.strip()
        if manager_email is not None:
            row.manager_email = manager_email.strip() or None
        letterhead_changed = _set_letterhead(row, head)
        session.add(row)
        session.flush()
        added = _register_agencies(session, row, pol)
        detail: dict = {"policy": pol.name, "version": pol.version, "agencies_added": added}
        if letterhead_changed:
            detail["letterhead"] = letterhead_changed
        if cases and changes:
            detail |= {"forced": True, "cases": cases, "changed": changes}
        audit.record(session, None, "init", actor=app.actor, on=today(), detail=detail, partnership_id=row.id)
    return pol, changes if cases else []


@needs(SETUP)
def upgrade(app: App, revision: str = "head", *, adopt: bool = False) -> db.SchemaState:
    """`trigger db upgrade`: once people are registered, only an admin migrates the schema."""
    state = db.schema_state(app.engine)
    if state.current is not None and not state.ahead:  # (a newer schema is refused below, as it is)
        with app.read():
            pass
    state = db.upgrade(app.engine, revision, adopt=adopt)
    app.schema_ready()
    return state


def schema(app: App) -> db.SchemaState:
    """`trigger db current`: a SQLite file that is not there yet has no migrations applied, and is
    not made by asking."""
    path = outputs.sqlite_path(app.url)
    if path is not None and not path.exists():
        return db.SchemaState(None, db.head_revisions(), False)
    return db.schema_state(app.engine)


@needs(SETUP)
def backup(app: App, target: str | os.PathLike[str], *, force: bool = False, keys: bool = False) -> int:
    """`trigger backup FILE` (SQLite): once people are registered, only an admin copies the database.
    With a key store set, the copy must hold no key (docs/operations.md#the-key-store); `keys` copies
    the key store instead."""
    source = outputs.sqlite_path(app.url)
    store = keystore.configured()
    if keys:
        store = keystore.required()
        with app.read() as session:  # only an admin; and only this database's key store
            store.check(session.connection())
        return db.backup_keys(store.url, target, force=force, db_url=app.url)
    if source is not None and source.exists() and db.schema_state(app.engine).current is not None:
        with app.read() as session:  # PostgreSQL is pg_dump's, which `db.backup` says
            if store is not None:
                held = _keys_in_database(session)
                if held:
                    raise InvalidInput(
                        f"{held} keys are still in the database, not in {store.where}: a copy would hold "
                        "them beside the data; run `trigger keys move` first (or unset TRIGGER_KEYSTORE to "
                        "back up the keys with the database); nothing was written"
                    )
    return db.backup(app.url, target, force=force)


def _keys_in_database(session: Session) -> int:
    conn = session.connection()
    return sum(conn.execute(text(f"SELECT count(*) FROM {name}")).scalar() or 0 for name in keystore.TABLES)


def create_schema(app: App) -> None:
    """Apply the shipped migrations up to the newest (`trigger db upgrade` does the same)."""
    db.upgrade(app.engine)
    app.schema_ready()


def _register_agencies(session: Session, row: Partnership, pol: Policy) -> list[str]:
    added = []
    pid = row_id(row)
    for spec in pol.agencies:
        taken = session.exec(
            select(Agency).where(Agency.partnership_id == pid, Agency.code == spec.code)
        ).first()
        if taken is None:
            session.add(
                Agency(code=spec.code, name=spec.name, kind=spec.kind, email=spec.email, partnership_id=pid)
            )
            added.append(spec.code)
    return added


@retried
@needs(SETUP)
def add_partnership(
    app: App,
    code: str,
    *,
    name: str,
    policy: str,
    reference_prefix: str | None = None,
    manager_email: str | None = None,
    letterhead: LetterheadInput = LetterheadInput(),
) -> Partnership:
    """A further partnership in this database, with its own policy, reference series (`CT-CODE` unless
    given), manager, letterhead and the relevant bodies its policy lists."""
    code = _check_code(code)
    if not (name or "").strip():
        raise InvalidInput("a partnership needs a name (--name)")
    name = checks.name(name, "--name", required=True) or ""
    manager_email = checks.email(manager_email, "--manager-email")
    head = _letterhead_values(letterhead)
    pol = policies.load(policy)  # a bad policy is refused before anything
    prefix = _check_prefix(reference_prefix or f"{FIRST_PREFIX}-{code}")
    with app.write() as session:
        for row in session.exec(select(Partnership)):
            if row.code.lower() == code.lower():
                raise InvalidInput(f"partnership {row.code!r} already exists (`trigger partnership list`)")
            if row.reference_prefix == prefix:
                raise InvalidInput(
                    f"the reference prefix {prefix} is already partnership {row.code}'s; give another with "
                    "--reference-prefix"
                )
        row = Partnership(
            code=code,
            name=name,
            policy=policy,
            reference_prefix=prefix,
            manager_email=manager_email,
        )
        letterhead_changed = _set_letterhead(row, head)
        session.add(row)
        session.flush()
        added = _register_agencies(session, row, pol)
        audit.record(
            session,
            None,
            "partnership_add",
            actor=app.actor,
            on=today(),
            detail={
                "code": code,
                "policy": f"{pol.name} {pol.version}",
                "prefix": prefix,
                "agencies_added": added,
                "letterhead": letterhead_changed,
            },
            partnership_id=row.id,
        )
    return row


@retried
@needs(SETUP)
def update_partnership(
    app: App, code: str, *, reason: str | None, name: str | None = None, letterhead: LetterheadInput
) -> tuple[Partnership, list[str]]:
    """`trigger partnership update CODE`: change its name or letterhead (recorded in the audit log, with
    the reason). Letters issued before keep the bytes they were sent with; new ones carry the change.
    Returns the row and the names of the parts that changed (none: nothing was written)."""
    code = _check_code(code)
    name = checks.name(name, "--name")
    reason = checks.words(reason, "--reason")
    head = _letterhead_values(letterhead)
    with app.write() as session:
        row = session.exec(select(Partnership).where(func.lower(Partnership.code) == code.lower())).first()
        if row is None:
            raise NotFound(f"no partnership {code!r} in this database (`trigger partnership list`)")
        changed = _set_letterhead(row, head)
        if name is not None and name != row.name:
            row.name = name
            changed.insert(0, "name")
        if not changed:
            return row, []
        session.add(row)
        audit.record(
            session,
            None,
            "partnership_update",
            actor=app.actor,
            on=today(),
            reason=reason,
            detail={"code": row.code, "changed": changed},
            partnership_id=row.id,
        )
    return row, changed


def welsh_in_scope(app: App, session: Session) -> bool:
    """Whether what is published for the partnership the session sees (every partnership, for a
    county's total) is to be in Welsh too: its policy is Welsh (or, for a county, any one's is), as
    that partnership's letters are. `--policy` stands in for each partnership's own."""
    scope = access.scope_of(session)
    rows: list[int | None] = [scope] if scope is not None else list(session.exec(select(Partnership.id)))
    return any(default_policy(app, session, partnership_id).welsh for partnership_id in rows or [None])


@needs(READ_CASE)
def list_partnerships(app: App) -> list[dict]:
    """The partnerships the acting user sees (an admin, or anybody in a database with nobody
    registered: all of them), with their cases, agencies and people counted."""
    with app.read() as session:
        query = (
            select(Partnership).where(*access.in_scope(session, Partnership.id)).order_by(Partnership.code)
        )
        rows = list(session.exec(query))

        def count(model, pid):
            return session.exec(
                select(func.count()).select_from(model).where(model.partnership_id == pid)
            ).one()

        return [
            {
                "code": p.code,
                "name": p.name,
                "policy": p.policy,
                "reference_prefix": p.reference_prefix,
                "manager_email": p.manager_email,
                "cases": count(ReviewCase, p.id),
                "agencies": count(Agency, p.id),
                "users": count(AppUser, p.id),
            }
            for p in rows
        ]


# -- agencies --------------------------------------------------------------------------------------


@retried
@needs(AGENCIES)
def add_agency(app: App, code: str, name: str, kind: str, email: str | None = None) -> Agency:
    if not (code or "").strip() or not (name or "").strip():
        raise InvalidInput("an agency needs a code and a name (--name)")
    code = checks.code(code, "the agency code")
    name = checks.name(name, "--name", required=True) or ""
    email = checks.email(email, "--email")
    if kind not in AGENCY_KINDS:
        raise InvalidInput(not_one_of(kind, "an agency kind", AGENCY_KINDS))
    with app.write() as session:
        writers_lock(session)  # the check and the insert together: two people adding one code at once
        pid = access.acting_partnership(session)
        ours = Agency.partnership_id == pid
        same = session.exec(
            select(Agency).where(func.lower(Agency.code) == checks.code_key(code), ours)
        ).first()
        if same:
            raise InvalidInput(
                f"agency {same.code!r} already exists (codes are the same whatever their case); "
                "`trigger agency list` shows them"
            )
        agency = Agency(code=code, name=name, kind=kind, email=email, partnership_id=pid)
        session.add(agency)
        session.flush()
        audit.record(
            session,
            None,
            "agency_add",
            actor=app.actor,
            on=today(),
            detail={"code": code, "kind": kind},
            partnership_id=pid,
        )
    return agency


@needs(READ_CASE)
def list_agencies(app: App) -> list[dict]:
    """The agencies of the partnership(s) the acting user sees, each with its partnership's code."""
    with app.read() as session:
        mine = access.in_scope(session, Agency.partnership_id)
        codes = dict(session.exec(select(Partnership.id, Partnership.code)).all())
        return [
            {
                "code": a.code,
                "name": a.name,
                "kind": a.kind,
                "email": a.email,
                "partnership": codes.get(a.partnership_id),
            }
            for a in session.exec(
                select(Agency).where(*mine).order_by(col(Agency.code), col(Agency.partnership_id))
            )
        ]
