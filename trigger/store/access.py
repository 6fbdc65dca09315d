"""Who may do what: the one table of roles and permissions, who is acting, and which partnership's
rows they see (docs/architecture.md#partnerships-people-and-roles).

Each use-case names the permission it needs (`@needs(REVIEW)`); `App.read` and `App.write` check it
when the session opens (`enter`), and `case_check` (called by `trigger.store.unit.find_case` and
`trigger.read.views.case_row`) adds what depends on the case: a reviewer changes only the cases they
review, a chair reads and decides only a case under appeal, and nobody sees another partnership's
cases. With nobody registered the database trusts whoever runs a command, as before.

On PostgreSQL the server enforces the same (`trigger.access.grants`): this module is what the command line
checks, the grants and row-level security are what a login can do with `psql`.

Reads the Core tables (`trigger.store.tables`), never the models: `show` and `list` pass through here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from sqlalchemy import Row, Select, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from trigger.checks import same_name
from trigger.codes import ROLES
from trigger.errors import InvalidInput, NotFound, NotPermitted
from trigger.store import tables as t

UNDER_APPEAL = "appealed"


class Permission:
    """A permission: its name, how a refusal names the work ("recording review work needs ..."), and
    the roles that hold it. (Plain classes here, not dataclasses: `show` and `list` import this module.)"""

    __slots__ = ("name", "roles", "what")

    def __init__(self, name: str, what: str, roles: tuple[str, ...]):
        self.name, self.what, self.roles = name, what, roles

    def __repr__(self) -> str:
        return f"Permission({self.name!r}, {self.roles!r})"


# -- the table: who may do what (on both engines, once anybody is registered) --------------------------
SETUP = Permission("setup", "setting up the database and its partnerships", ("admin",))
USERS = Permission("users", "registering people", ("admin",))
PEOPLE = Permission("people", "listing the people registered", ("admin", "manager"))
AGENCIES = Permission("agencies", "changing the partnership's agencies", ("admin", "manager"))
READ = Permission(
    "read", "reading the partnership's records", ("admin", "manager", "reviewer", "clerk", "viewer")
)
READ_CASE = Permission("read_case", "reading a case", ROLES)  # a chair: only a case under appeal
ACTIVATE = Permission("activate", "logging an application", ("manager", "clerk"))
COMPLAINTS = Permission("complaints", "recording complaints", ("manager", "clerk"))
LETTERS = Permission("letters", "issuing letters", ("manager", "clerk"))
BUNDLE = Permission("bundle", "making the appeal bundle", ("manager", "clerk", "chair"))
DECIDE = Permission("decide", "deciding and managing a case", ("manager",))
REVIEW = Permission("review", "recording review work", ("manager", "reviewer"))  # a reviewer: own cases
APPEAL_DECISION = Permission("appeal_decision", "deciding an appeal", ("chair",))
REMINDERS = Permission("reminders", "sending reminders", ("admin", "manager"))
PURGE = Permission("purge", "purging personal data", ("manager",))
AUDIT = Permission("audit", "verifying the audit log", ("admin", "manager"))
# the public's one permission, through the online door only (`App(public=True)`): no role holds it,
# so it is not among PERMISSIONS, the roles' table
APPLY = Permission("apply", "applying online", ())
# the applicant at their own case page (`trigger.cases.links`): what the link opens, nothing else
FOLLOW = Permission("follow", "following one's own case online", ())
# the applicant taking part in their own case (`trigger.cases.applicant`): the case their link opens,
# through the same use-cases an officer's command calls (which may run only beneath it)
TAKE_PART = Permission("take_part", "taking part in one's own case online", ())
PUBLIC = (APPLY, FOLLOW, TAKE_PART)

PERMISSIONS = (
    SETUP,
    USERS,
    PEOPLE,
    AGENCIES,
    READ,
    READ_CASE,
    ACTIVATE,
    COMPLAINTS,
    LETTERS,
    BUNDLE,
    DECIDE,
    REVIEW,
    APPEAL_DECISION,
    REMINDERS,
    PURGE,
    AUDIT,
)
# what a chair may do, and only on a case under appeal
CHAIR_ON_APPEAL = (READ_CASE, BUNDLE, APPEAL_DECISION)


class Needing(Protocol):
    """What a use-case is called with (`trigger.store.app.App`): the stack of permissions declared."""

    needs: list[Permission]


A = TypeVar("A", bound=Needing)
P = ParamSpec("P")
R = TypeVar("R")


def needs(
    permission: Permission,
) -> Callable[[Callable[Concatenate[A, P], R]], Callable[Concatenate[A, P], R]]:
    """Declare the permission a use-case needs; `App.read`/`App.write` check it when they open."""

    def wrap(fn: Callable[Concatenate[A, P], R]) -> Callable[Concatenate[A, P], R]:
        @functools.wraps(fn)
        def run(app: A, *args: P.args, **kwargs: P.kwargs) -> R:
            app.needs.append(permission)
            try:
                return fn(app, *args, **kwargs)
            finally:
                app.needs.pop()

        return run

    return wrap


def roles_text(roles: tuple[str, ...]) -> str:
    if not roles:
        return "online door's (no registered person's)"
    return roles[0] if len(roles) == 1 else f"{', '.join(roles[:-1])} or {roles[-1]}"


def same_person(a: str | None, b: str | None) -> bool:
    """Names compared as the independence check compares them (`trigger.checks.same_name`: case,
    repeated spaces and compatibility forms ignored)."""

    return same_name(a, b)


# -- who is acting ---------------------------------------------------------------------------------------


class Actor:
    """Who is acting: `role` None when nobody is registered (the database trusts whoever runs a
    command); `partnership_id` the user's partnership, None for an admin (and when nobody is)."""

    __slots__ = ("login", "name", "partnership_id", "role")

    def __init__(
        self, login: str, name: str | None = None, role: str | None = None, partnership_id: int | None = None
    ):
        self.login, self.name, self.role, self.partnership_id = login, name, role, partnership_id

    @property
    def registered(self) -> bool:
        return self.role is not None

    def names(self) -> set[str]:
        return {n for n in (self.login, self.name) if n}


def users_registered(conn: Connection) -> bool:
    return bool(conn.execute(_count_users()).scalar())


@functools.cache
def _count_users() -> Select[Any]:
    """Built once per process: every command asks it as its session opens."""
    return select(func.count()).select_from(t.app_user)


def resolve(conn: Connection, typed: str, typed_given: bool) -> Actor:
    """Who is acting. Nobody registered: whoever runs the command (`typed`), unchecked, as before.
    Once people are registered: on PostgreSQL the authenticated login (`session_user`), and a typed
    name (--as, TRIGGER_USER) naming anybody else is refused; on SQLite the typed name, which must be
    a registered, enabled user."""
    if not users_registered(conn):
        return Actor(typed)
    u = t.app_user.c
    if conn.dialect.name == "postgresql":
        login = conn.execute(text("SELECT session_user")).scalar()
        if typed_given and typed.strip() != login:
            raise NotPermitted(
                f"on this PostgreSQL database the acting user is the database login {login}; "
                f"--as/TRIGGER_USER {typed.strip()!r} is refused (a typed name proves nothing): "
                "connect as that person's own login instead"
            )
        row = conn.execute(select(t.app_user).where(u.login == login)).first()
    else:
        login = typed.strip()
        row = conn.execute(select(t.app_user).where(func.lower(u.login) == login.lower())).first()
    if row is None:
        raise NotPermitted(
            f"{login} is not a registered user of this database; an admin registers people with "
            "`trigger user add LOGIN --name TEXT --role ROLE`"
        )
    if row.disabled_on is not None:
        raise NotPermitted(
            f"{row.login} was disabled on {row.disabled_on.isoformat()}: {row.disabled_reason}"
        )
    return Actor(row.login, row.name, row.role, row.partnership_id)


def refusal(permission: Permission, actor: Actor) -> NotPermitted:
    return NotPermitted(
        f"{permission.what} needs the {roles_text(permission.roles)} role; "
        f"{actor.login} is registered as {actor.role}"
    )


# -- the session's access: checked when a session opens ------------------------------------------------


class Acting(Needing, Protocol):
    """What `enter` reads and settles on the App: who was typed, and who is acting once resolved."""

    who: Actor | None
    actor: str
    actor_given: bool
    partnership: str | None
    public: bool  # the online door: a member of the public, who may only apply


class Access:
    """A session's access: who, for which permission, and the partnership whose rows it sees (None:
    every partnership)."""

    __slots__ = ("actor", "need", "scope")

    def __init__(self, actor: Actor, need: Permission | None, scope: int | None):
        self.actor, self.need, self.scope = actor, need, scope

    @property
    def chair(self) -> bool:
        return self.actor.role == "chair"


def enter(app: Acting, session: Session) -> Access:
    """Called by `App.read`/`App.write` when a session opens: who is acting, whether their role allows
    the use-case's permission, and which partnership's rows the session sees (`session.info`)."""
    conn = session.connection()
    if app.public:
        return _enter_public(app, session, conn)
    if app.who is None:
        app.who = resolve(conn, app.actor, app.actor_given)
        app.actor = app.who.login
    actor: Actor = app.who
    need = app.needs[-1] if app.needs else None
    if actor.registered:
        if need is None:
            raise NotPermitted(
                "this command declares no permission, so it is refused (a defect: please report it)"
            )
        if actor.role not in need.roles:
            raise refusal(need, actor)
    scope = actor.partnership_id
    if app.partnership:
        chosen = partnership_by_code(conn, app.partnership)
        if scope is not None and chosen.id != scope:
            raise NotPermitted(
                f"{actor.login} works for partnership {code_of(conn, scope)}; acting for "
                f"{chosen.code} needs the admin role"
            )
        scope = chosen.id
    access = Access(actor, need, scope)
    session.info["access"] = access
    return access


def _enter_public(app: Acting, session: Session, conn: Connection) -> Access:
    """A member of the public at the online door: nobody registered, allowed to apply and to follow the
    case their private link opens (the use-cases of `FOLLOW` find the case by the link, never by a
    reference the public types), and nothing else, for the partnership whose door they came through.
    An officer's use-case runs for them only beneath one of the door's own (`TAKE_PART`: the applicant
    recording their involvement, a statement, a comment or an appeal as the command line would)."""
    need = app.needs[-1] if app.needs else None
    if need not in PUBLIC and TAKE_PART not in app.needs:
        raise NotPermitted(
            "the online door only takes applications and opens an applicant's own case, "
            f"not {need.what if need else 'this'}"
        )
    app.who = Actor(app.actor)
    scope = partnership_by_code(conn, app.partnership).id if app.partnership else None
    access = Access(app.who, need, scope)
    session.info["access"] = access
    return access


def of(session: Session) -> Access | None:
    return session.info.get("access")


# -- partnerships -------------------------------------------------------------------------------------


def partnership_by_code(conn: Connection, code: str) -> Row[Any]:
    p = t.partnership.c
    row = conn.execute(select(t.partnership).where(func.lower(p.code) == code.strip().lower())).first()
    if row is None:
        known = ", ".join(conn.execute(select(p.code).order_by(p.code)).scalars()) or "none yet"
        raise NotFound(f"no partnership {code!r}; known partnerships: {known} (`trigger partnership list`)")
    return row


def code_of(conn: Connection, partnership_id: int) -> str:
    p = t.partnership.c
    return conn.execute(select(p.code).where(p.id == partnership_id)).scalar() or str(partnership_id)


def acting_partnership(session: Session) -> int:
    """The one partnership a new thing (a case, an agency, an import) belongs to: the case in hand's,
    the user's, the one chosen with --partnership, or the database's only one."""
    info = session.info
    if info.get("case_partnership") is not None:
        return info["case_partnership"]
    access = of(session)
    if access is not None and access.scope is not None:
        return access.scope
    conn = session.connection()
    p = t.partnership.c
    rows = conn.execute(select(p.id, p.code).order_by(p.code)).all()
    if len(rows) == 1:
        return rows[0].id
    if not rows:
        raise NotFound("this database has no partnership yet; run `trigger init` first")
    raise InvalidInput(
        f"this database holds {len(rows)} partnerships ({', '.join(r.code for r in rows)}); "
        "say which with --partnership CODE"
    )


def partnerships(session: Session) -> int:
    """How many partnerships the database holds."""
    return session.connection().execute(select(func.count()).select_from(t.partnership)).scalar() or 0


def scope_of(session: Session) -> int | None:
    """The partnership whose rows the session sees, or None for every partnership."""
    access = of(session)
    return access.scope if access is not None else None


# -- cases: which the session sees, and what it may do with one ---------------------------------------


def case_filter(session: Session, cols: Any = None, *, one: bool = False) -> list[ColumnElement[bool]]:
    """The conditions on `review_case` for the cases this session sees: its partnership's, and in a
    list a chair's only those under appeal (`one`: finding one case, which `case_check` then judges,
    so that a refusal names the role needed). `cols` is the Core table's `.c` (the default) or the
    model class."""
    access = of(session)
    if access is None:
        return []
    cols = t.review_case.c if cols is None else cols
    conds: list[ColumnElement[bool]] = []
    if access.scope is not None:
        conds.append(cols.partnership_id == access.scope)
    if access.chair and access.need in CHAIR_ON_APPEAL and not one:
        conds.append(cols.state == UNDER_APPEAL)
    return conds


def visible_cases(session: Session) -> Select[Any] | None:
    """A subquery of the ids of the cases the session sees, or None when it sees them all (so
    unscoped reports carry no extra join)."""
    conds = case_filter(session)
    if not conds:
        return None
    return select(t.review_case.c.id).where(*conds)


def in_scope(session: Session, partnership_col: Any) -> list[ColumnElement[bool]]:
    """The condition on a table's own `partnership_id` (agencies, incidents, signposting)."""
    scope = scope_of(session)
    return [] if scope is None else [partnership_col == scope]


def case_check(session: Session, case: Any) -> None:
    """What depends on the case: a reviewer changes only the cases they review; a chair reads, bundles
    and decides only a case under appeal. Remembers the case's partnership for what follows."""
    session.info["case_partnership"] = case.partnership_id
    access = of(session)
    if access is None or not access.actor.registered:
        return
    actor, need = access.actor, access.need
    if (
        actor.role == "reviewer"
        and need is REVIEW
        and not any(same_person(case.reviewer, n) for n in actor.names())
    ):
        raise NotPermitted(
            f"{need.what} on {case.reference} needs the manager role, or the reviewer role as its reviewer; "
            f"its reviewer is {case.reviewer or 'not yet named'}, not {actor.name or actor.login}"
        )
    if actor.role == "chair" and need in CHAIR_ON_APPEAL and case.state != UNDER_APPEAL:
        others = tuple(r for r in need.roles if r != "chair") or ("manager",)
        raise NotPermitted(
            f"{case.reference} is {case.state}, not under appeal: a chair works only on a case under "
            f"appeal ({need.what} otherwise needs the {roles_text(others)} role)"
        )
