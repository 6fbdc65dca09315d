"""The partnership's set-up: `trigger init` (the schema, the default policy, the manager's address),
the database's settings, and the agencies (the relevant bodies of s.105 and other partners)."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, select

from trigger import audit, checks, db
from trigger.app import App, retried, today, writers_lock
from trigger.codes import AGENCY_KINDS, not_one_of
from trigger.errors import GuardRefused, InvalidInput
from trigger.models import Agency, ReviewCase, Setting
from trigger.rules import policy as policies
from trigger.rules.policy import Policy

# -- settings of this database ------------------------------------------------------------------------


def setting(session: Session, key: str, default: str = "") -> str:
    row = session.get(Setting, key)
    return row.value if row is not None else default


def set_setting(session: Session, key: str, value: str) -> None:
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value
        session.add(row)


def manager_address(session: Session, policy: Policy) -> str:
    """The manager (the single point of contact): the address given at `trigger init`, else the policy's."""
    return (setting(session, "manager_email") or policy.manager_email or "").strip()


# -- set-up ----------------------------------------------------------------------------------------


@retried
def init(
    app: App, policy_name: str | None = "llr", manager_email: str | None = None, *, force: bool = False
) -> tuple[Policy, list[str]]:
    """Create the schema, remember the default policy, register its relevant bodies. Rerun on a database
    that already holds cases, it refuses to switch the policy or the manager unless `force`, and then
    records the change in the audit log. Returns the policy and the changes made to a live database."""
    if manager_email and manager_email.strip():
        manager_email = checks.email(manager_email, "--manager-email")
    pol = policies.load(policy_name) if policy_name else None  # a bad policy is refused before anything
    create_schema(app)
    with app.write() as session:
        audit.ensure_head(session)
        current_policy = setting(session, "policy", "")
        pol = pol or policies.load(current_policy or "llr")
        chosen = policy_name or current_policy or "llr"
        current_manager = setting(session, "manager_email", "")
        cases = session.exec(select(func.count()).select_from(ReviewCase)).one()
        changes = []
        if current_policy and chosen != current_policy:
            changes.append(f"the policy from {current_policy} to {chosen}")
        if manager_email is not None and current_manager and manager_email.strip() != current_manager:
            changes.append(f"the manager from {current_manager} to {manager_email.strip()}")
        if cases and changes and not force:
            raise GuardRefused(
                f"this database holds {cases} case(s); init would change {' and '.join(changes)}: give "
                "--force to change it (recorded), or rerun without those options"
            )
        set_setting(session, "policy", chosen)
        if manager_email is not None:
            set_setting(session, "manager_email", manager_email.strip())
        added = []
        for spec in pol.agencies:
            if session.exec(select(Agency).where(Agency.code == spec.code)).first() is None:
                session.add(Agency(code=spec.code, name=spec.name, kind=spec.kind, email=spec.email))
                added.append(spec.code)
        detail: dict = {"policy": pol.name, "version": pol.version, "agencies_added": added}
        if cases and changes:
            detail |= {"forced": True, "cases": cases, "changed": changes}
        audit.record(session, None, "init", actor=app.actor, on=today(), detail=detail)
    return pol, changes if cases else []


def create_schema(app: App) -> None:
    """Apply the shipped migrations up to the newest (`trigger db upgrade` does the same)."""
    db.upgrade(app.engine)
    app.schema_ready()


# -- agencies --------------------------------------------------------------------------------------


@retried
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
        same = session.exec(select(Agency).where(func.lower(Agency.code) == checks.code_key(code))).first()
        if same:
            raise InvalidInput(
                f"agency {same.code!r} already exists (codes are the same whatever their case); "
                "`trigger agency list` shows them"
            )
        agency = Agency(code=code, name=name, kind=kind, email=email)
        session.add(agency)
        session.flush()
        audit.record(
            session, None, "agency_add", actor=app.actor, on=today(), detail={"code": code, "kind": kind}
        )
    return agency


def list_agencies(app: App) -> list[Agency]:
    with app.read() as session:
        return list(session.exec(select(Agency).order_by(Agency.code)))
