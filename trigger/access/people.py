"""The people registered to use a database, and their roles: `trigger user add|list|disable`.

With nobody registered the database trusts whoever runs a command, as it always did. The first person
registered must be an admin; from then on every command checks that the actor is a registered,
enabled user whose role allows it (`trigger.store.access`). On PostgreSQL a person is a database login, and
registering them gives that login its role's group (`trigger.access.grants`), so the server enforces the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from trigger import checks
from trigger.access import grants
from trigger.codes import not_one_of
from trigger.errors import GuardRefused, InvalidInput, NotFound
from trigger.store import access, audit
from trigger.store.access import PEOPLE, ROLES, USERS, needs
from trigger.store.app import App, retried, today
from trigger.store.models import AppUser, Partnership

_LOGIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.@-]{0,62}$")


@dataclass
class Added:
    user: AppUser
    partnership: str | None
    notes: list[str]


def _check_login(login: str) -> str:
    login = (login or "").strip()
    if not _LOGIN.match(login):
        raise InvalidInput(
            f"{login!r} is not a login: use up to 63 letters, digits, '_', '.', '@' or '-', starting with "
            "a letter (on PostgreSQL, the person's database login)"
        )
    return login


def _find(session: Session, login: str) -> AppUser | None:
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        return session.exec(select(AppUser).where(AppUser.login == login)).first()
    return session.exec(select(AppUser).where(func.lower(AppUser.login) == login.lower())).first()


@retried
@needs(USERS)
def add(
    app: App,
    login: str,
    *,
    name: str,
    role: str,
    partnership: str | None = None,
    email: str | None = None,
) -> Added:
    """Register a person with a role (and, for every role but admin, a partnership: the database's only
    one unless named). The first must be an admin. On PostgreSQL the login must exist, and it is given
    its role's group (`trigger_<role>`) once `trigger db grant` has made the groups."""
    login = _check_login(login)
    if not (name or "").strip():
        raise InvalidInput("a person needs a name (--name), as letters and the audit log show it")
    name = checks.name(name, "--name", required=True) or ""
    email = checks.email(email, "--email")
    if role not in ROLES:
        raise InvalidInput(not_one_of(role, "a role", ROLES))
    notes: list[str] = []
    with app.write() as session:
        first = session.exec(select(func.count()).select_from(AppUser)).one() == 0
        if first and role != "admin":
            raise GuardRefused(
                "the first person registered must be an admin (--role admin), who then registers the "
                "others; from then on every command checks who is acting"
            )
        if _find(session, login) is not None:
            raise InvalidInput(f"{login} is already registered (`trigger user list`)")
        pid: int | None = None
        code: str | None = None
        if role == "admin":
            if partnership:
                raise InvalidInput("an admin works for every partnership: leave out --partnership")
        else:
            if partnership:
                row = access.partnership_by_code(session.connection(), partnership)
                pid, code = row.id, row.code
            else:
                pid = access.acting_partnership(session)
                code = access.code_of(session.connection(), pid)
        on_server = grants.login_exists(session, login)
        if on_server is False:
            raise NotFound(
                f"there is no login {login} on this PostgreSQL server; create it first "
                f"(CREATE ROLE {login} LOGIN PASSWORD '...'), then register it"
            )
        user = AppUser(login=login, name=name, role=role, partnership_id=pid, email=email)
        session.add(user)
        session.flush()
        audit.record(
            session,
            None,
            "user_add",
            actor=app.actor,
            on=today(),
            detail={"login": login, "role": role, "partnership": code},
            partnership_id=pid,
        )
        group = grants.sync_login(session, login)
        if on_server and group is None:
            notes.append(
                f"{login} is registered; run `trigger db grant` to give the login its group "
                f"({grants.group_for(session, role)}) on this server"
            )
        elif group:
            notes.append(f"the login {login} now has the group {group}")
        if first:
            acting = grants.session_login(session) or app.actor
            how = "connect as that login" if on_server else "--as or TRIGGER_USER"
            notes.append(
                "from now on every command checks who is acting and what their role allows"
                + (
                    ""
                    if access.same_person(login, acting)
                    else f"; you are acting as {acting}, who is not registered: act as {login} ({how}) "
                    "to register the others"
                )
            )
    app.who = None  # whoever acts next is looked up again
    return Added(user, code, notes)


@needs(PEOPLE)
def list_users(app: App) -> list[dict]:
    """The people registered: an admin sees everyone, a manager their partnership's."""
    with app.read() as session:
        codes = dict(session.exec(select(Partnership.id, Partnership.code)).all())
        query = select(AppUser).order_by(AppUser.login)
        scope = access.scope_of(session)
        if scope is not None:
            query = query.where(AppUser.partnership_id == scope)
        return [
            {
                "login": u.login,
                "name": u.name,
                "role": u.role,
                "partnership": codes.get(u.partnership_id) if u.partnership_id else None,
                "email": u.email,
                "disabled_on": u.disabled_on.isoformat() if u.disabled_on else None,
                "disabled_reason": u.disabled_reason,
            }
            for u in session.exec(query)
        ]


@retried
@needs(USERS)
def disable(app: App, login: str, *, reason: str) -> AppUser:
    """Stop a person acting (they stay in the record of what they did); on PostgreSQL their login loses
    its group. The last enabled admin cannot be disabled."""
    if not (reason or "").strip():
        raise InvalidInput("say why the person is disabled (--reason), e.g. left the council")
    words = checks.required_words(reason, "--reason")
    with app.write() as session:
        user = _find(session, (login or "").strip())
        if user is None:
            raise NotFound(f"no registered user {login!r}; `trigger user list` shows them")
        if user.disabled_on is not None:
            raise InvalidInput(f"{user.login} was already disabled on {user.disabled_on.isoformat()}")
        if user.role == "admin":
            admins = session.exec(
                select(func.count())
                .select_from(AppUser)
                .where(AppUser.role == "admin", col(AppUser.disabled_on).is_(None))
            ).one()
            if admins <= 1:
                raise GuardRefused(
                    f"{user.login} is the only admin left; register another admin first, or nobody "
                    "could register people again"
                )
        user.disabled_on, user.disabled_reason = today(), words
        session.add(user)
        session.flush()
        audit.record(
            session,
            None,
            "user_disable",
            actor=app.actor,
            on=today(),
            reason=words,
            detail={"login": user.login, "role": user.role},
            partnership_id=user.partnership_id,
        )
        grants.sync_login(session, user.login)
    app.who = None
    return user
