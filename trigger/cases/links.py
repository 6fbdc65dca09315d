"""The applicant's private link to their own case page at the online door (`trigger web link`;
docs/operations.md#the-applicants-link).

A link is `BASE/case/TOKEN`: TOKEN is 256 random bits (`secrets`), shown once (printed, or carried by
the acknowledgement letter and e-mail) and kept only as its sha256, so the database never holds a
working link. A link opens its case while it is not revoked and the case has not been closed or
withdrawn for longer than the policy's `[web] link_expires_after`; an unknown, revoked or expired link
is refused alike (`opened` says None, whichever it was). Issuing, reissuing and revoking are audited;
the token itself is never written to the audit log or to a log.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from trigger import checks
from trigger.errors import GuardRefused, InvalidInput, PolicyError
from trigger.rules import policy as policies
from trigger.rules.policy import Policy
from trigger.store import models
from trigger.store.access import FOLLOW, LETTERS, needs
from trigger.store.app import App, today
from trigger.store.models import ReviewCase, row_id
from trigger.store.partnerships import partnership_of
from trigger.store.unit import Work, case_policy, changing, on_for_change, retried
from workflows.machine import TERMINAL

TOKEN_BYTES = 32  # 256 bits: far past guessing, however many guesses the rate limit lets through
PATH = "/case/"  # where the door opens a link: BASE/case/TOKEN
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # what secrets.token_urlsafe(32) gives
_NOBODY = hashlib.sha256(b"no such link").hexdigest()  # compared against when no row matches

# why a link was made (the `issued_for` column): the officer's command, or a message that carries it
BY_COMMAND, BY_LETTER, BY_APPLICATION = "trigger web link", "the acknowledgement letter", "the online door"


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def address(base_url: str, token: str) -> str:
    """The link as the applicant is given it: the door's public address (or, without one, the path
    to put after it)."""
    return f"{base_url.rstrip('/')}{PATH}{token}"


def door_policy(session: Session, case: ReviewCase) -> Policy:
    """The policy of the partnership's door as it stands now (its public address and how long links
    last are the door's settings, not the procedure the case started under); the case's own policy
    when the partnership's file cannot be read."""
    row = partnership_of(session, case.partnership_id)
    try:
        return policies.load(row.policy) if row is not None else case_policy(session, case)
    except PolicyError:
        return case_policy(session, case)


def ends_on(case: ReviewCase, pol: Policy) -> date | None:
    """The last day a link to the case works: `[web] link_expires_after` after it was closed or
    withdrawn; None while the case is open."""
    if case.state not in TERMINAL:
        return None
    return pol.calendar().due(case.state_changed, pol.link_expires_after, roll_forward=False)


def works(case: ReviewCase, pol: Policy, as_of: date) -> bool:
    end = ends_on(case, pol)
    return end is None or as_of <= end


def token_in(link: str) -> str:
    """The token at the end of a link."""
    return link.rpartition(PATH)[2]


def keep(w: Work, token: str, issued_for: str, on: date) -> models.ApplicantLink:
    """Store a new link to the case in hand as its token's hash (in the caller's transaction, which
    records its audit event)."""
    row = models.ApplicantLink(
        case_id=row_id(w.case), token_hash=digest(token), issued_on=on, issued_for=issued_for
    )
    w.session.add(row)
    w.session.flush()
    return row


def _active(session: Session, case: ReviewCase) -> list[models.ApplicantLink]:
    return list(
        session.exec(
            select(models.ApplicantLink)
            .where(
                models.ApplicantLink.case_id == row_id(case), col(models.ApplicantLink.revoked_on).is_(None)
            )
            .order_by(col(models.ApplicantLink.id))
        )
    )


@dataclass(frozen=True)
class Issued:
    """A link just made: its address (BASE/case/TOKEN, or /case/TOKEN when the door has no public
    address yet), shown once; and the links it replaced."""

    reference: str
    link: str
    public: bool  # the door has a public address ([web] base_url)
    replaced: int


def _reason(reason: str | None, what: str) -> str:
    if reason is None:
        raise InvalidInput(f"{what} needs --reason TEXT: say why (it is kept in the case's record)")
    return checks.required_words(reason, "--reason")


@retried
@needs(LETTERS)
def issue(
    app: App, reference: str, *, reissue: bool = False, reason: str | None = None, on: date | None = None
) -> Issued:
    """`trigger web link REF [--reissue --reason TEXT]`: make the applicant's link and give it once.
    A case that already has a working link is refused (only its hash is kept, so it cannot be shown
    again) unless reissued, which stops every earlier link."""
    why = _reason(reason, "reissuing a link") if reissue else checks.words(reason, "--reason")
    with changing(app, reference) as w:
        on = on_for_change(w.case, on)
        pol = door_policy(w.session, w.case)
        if not works(w.case, pol, today()):
            raise GuardRefused(
                f"{w.case.reference} was {w.case.state} on {w.case.state_changed.isoformat()}; its link "
                f"would not work (links stop {pol.link_expires_after.describe()} after a case ends)"
            )
        earlier = _active(w.session, w.case)
        if earlier and not reissue:
            raise GuardRefused(
                f"{w.case.reference} already has a link (given on {earlier[-1].issued_on.isoformat()} by "
                f"{earlier[-1].issued_for}); only its hash is kept, so it cannot be shown again: "
                f"`trigger web link {w.case.reference} --reissue --reason TEXT` makes a new one and stops "
                "the old"
            )
        for row in earlier:
            row.revoked_on = on
            w.session.add(row)
        token = new_token()
        row = keep(w, token, BY_COMMAND, on)
        w.record(
            "web_link",
            on,
            reason=why,
            detail={"link": row.id, "replaced": [r.id for r in earlier]},
        )
        base = pol.web_base_url
    return Issued(w.case.reference, address(base, token), bool(base), len(earlier))


@retried
@needs(LETTERS)
def revoke(app: App, reference: str, *, reason: str | None, on: date | None = None) -> int:
    """`trigger web link REF --revoke --reason TEXT`: every link to the case stops working at once."""
    why = _reason(reason, "revoking a link")
    with changing(app, reference) as w:
        on = on_for_change(w.case, on)
        earlier = _active(w.session, w.case)
        if not earlier:
            raise GuardRefused(f"{w.case.reference} has no working link to revoke")
        for row in earlier:
            row.revoked_on = on
            w.session.add(row)
        w.record("web_link_revoke", on, reason=why, detail={"links": [r.id for r in earlier]})
    return len(earlier)


# -- opening a link at the door -----------------------------------------------------------------------


def usable(session: Session, link_id: int, as_of: date | None = None) -> ReviewCase | None:
    """The case a link opens, while it works: not revoked, and its case not ended too long ago."""
    row = session.get(models.ApplicantLink, link_id)
    if row is None or row.revoked_on is not None:
        return None
    case = session.get(ReviewCase, row.case_id)
    if case is None:
        return None
    # only an ended case's link can have expired: the door's policy is read for those alone
    if case.state in TERMINAL and not works(case, door_policy(session, case), as_of or today()):
        return None
    return case


@needs(FOLLOW)
def opened(app: App, token: str) -> int | None:
    """The link a token opens (its id, which the door keeps in the applicant's session), or None for a
    token that is unknown, revoked or expired alike. The stored hash is compared in constant time."""
    wanted = digest(token) if _TOKEN.fullmatch(token or "") else _NOBODY
    with app.read() as session:
        row = session.exec(
            select(models.ApplicantLink).where(models.ApplicantLink.token_hash == wanted)
        ).first()
        stored = row.token_hash if row is not None else _NOBODY
        if not hmac.compare_digest(stored, wanted) or row is None or wanted == _NOBODY:
            return None
        return row.id if usable(session, row_id(row)) is not None else None
