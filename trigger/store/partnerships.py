"""A partnership's own settings as every use-case reads them: its row (the case's, the user's, the one
chosen with --partnership, or the database's only one), its manager's address (the single point of
contact) and its letterhead. Setting them up is `trigger.access.partnership`."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlmodel import Session, select

from trigger.rules import policy as policies
from trigger.rules.policy import Letterhead, Policy
from trigger.store import access
from trigger.store.models import Partnership, ReviewCase, row_id


def partnership_of(session: Session, partnership_id: int | None = None) -> Partnership | None:
    """A partnership's row: the one given, else the one in hand (the case's, the user's, the one chosen
    with --partnership, the database's only one); None before `trigger init`."""
    if partnership_id is None:
        if session.exec(select(Partnership.id).limit(1)).first() is None:
            return None
        partnership_id = access.acting_partnership(session)
    return session.get(Partnership, partnership_id)


def manager_address(session: Session, policy: Policy, partnership_id: int | None = None) -> str:
    """The partnership's manager (the single point of contact): the address given at `trigger init` or
    `partnership add`, else the policy's."""
    row = partnership_of(session, partnership_id)
    return ((row.manager_email if row is not None else None) or policy.manager_email or "").strip()


def managers(session: Session, override: str | None = None) -> dict[int, str]:
    """Every partnership's manager address, by partnership id (for the reminder sweep); `override` is
    the --policy given, whose address stands in for a partnership that has none of its own."""
    forced = policies.load(override) if override else None
    out: dict[int, str] = {}
    for row in session.exec(select(Partnership)):
        fallback = row.manager_email or (forced or policies.load(row.policy)).manager_email
        out[row_id(row)] = (fallback or "").strip()
    return out


@dataclass(frozen=True)
class Heading:
    """Who a letter, an e-mail or a page comes from: the partnership's name (and Welsh name, None when
    it has none) and its letterhead, each part the partnership's own where set, else its policy's."""

    name: str
    name_cy: str | None
    letterhead: Letterhead


def heading(session: Session, policy: Policy, partnership_id: int | None = None) -> Heading:
    """The letterhead of the partnership that handles the case, set by `partnership add|update` or
    `init`, falling back to the policy's [letterhead] part by part (docs/architecture.md#letterheads)."""
    row = partnership_of(session, partnership_id)
    if row is None:
        return Heading(policy.partnership, None, policy.letterhead)
    head = policy.letterhead
    lines = tuple(line for line in (row.address or "").splitlines() if line.strip())
    head = replace(
        head,
        address=lines or head.address,
        telephone=row.telephone or head.telephone,
        web=row.web or head.web,
        signatory_name=row.signatory_name or head.signatory_name,
        signatory_role=(row.signatory_role or "") if row.signatory_name else head.signatory_role,
    )
    if row.logo and row.logo_type:
        head = replace(head, logo="(the partnership's own)", logo_image=(row.logo_type, row.logo))
    return Heading(name_of(row, policy), row.name_cy or None, head)


def name_of(row: Partnership, policy: Policy) -> str:
    """A partnership's name as its letters give it: the name it was given, else (a partnership `init`
    named after its policy's area) the policy's partnership name."""
    return policy.partnership if row.name.strip() in ("", policy.area) else row.name


def point_of_contact(session: Session, case: ReviewCase, pol: Policy, head: Heading | None = None) -> dict:
    """Who the applicant deals with, and who signs: the case's named single point of contact when one
    is recorded, else the policy's letterhead signatory, else the manager
    (docs/procedure.md#point-of-contact). The one place a per-case SPoC drops in. `head`: the
    partnership's letterhead, when the caller has it already."""
    if case.spoc_name:  # the case's named SPoC (2025 guidance), set at assign or by case update
        return {
            "name": case.spoc_name,
            "person": True,
            "role": "Single point of contact",
            "email": case.spoc_email or manager_address(session, pol, case.partnership_id) or None,
        }
    letterhead = (head or heading(session, pol, case.partnership_id)).letterhead
    if letterhead.signatory_name:
        return {
            "name": letterhead.signatory_name,
            "person": True,
            "role": letterhead.signatory_role or None,
            "email": manager_address(session, pol, case.partnership_id) or None,
        }
    # the manager's name in the policy is usually a role ("Community Safety Manager"): letters say
    # "contact us" rather than naming a role as if it were a person
    return {
        "name": pol.manager_name,
        "person": False,
        "role": None,
        "email": manager_address(session, pol, case.partnership_id) or None,
    }
