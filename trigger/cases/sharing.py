"""Passing an application to the relevant bodies (s.104(3)): the procedures must ensure that
applications are passed on to all the relevant bodies in the area. `trigger share` records, as a fact
with its day and who recorded it, that the application was passed to each body; nothing else claims
it (docs/procedure.md#point-of-contact). What the record says (who was told, when, how, and
who not yet) is `told`, which `show`, the export and the letters read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from trigger.errors import GuardRefused, InvalidInput
from trigger.rules.dates import iso
from trigger.store import tables as t
from trigger.store.access import ACTIVATE, READ_CASE, needs
from trigger.store.app import App
from trigger.store.models import PartnerNotification, row_id
from trigger.store.unit import changing, find_agency, find_case, on_for_change, retried

RECORDED = "recorded"  # passed on another way (post, hand, a secure mailbox) and recorded here


def told(session: Session, case: Any) -> dict:
    """s.104(3): which of the partnership's relevant bodies were told about the application (when,
    how), which not yet, and whether all were. Only a notice recorded with how it was passed on counts
    (`trigger share`); none is presumed."""
    agencies = session.execute(
        select(t.agency.c.id, t.agency.c.code, t.agency.c.name)
        .where(t.agency.c.partnership_id == case.partnership_id)
        .order_by(t.agency.c.code)
    ).all()
    notices = session.execute(
        select(t.partner_notification)
        .where(t.partner_notification.c.case_id == case.id, t.partner_notification.c.method.is_not(None))
        .order_by(t.partner_notification.c.notified_on, t.partner_notification.c.id)
    ).all()
    first: dict[int, Any] = {}
    for n in notices:
        first.setdefault(n.agency_id, n)
    passed = [
        {"agency": a.code, "name": a.name, "on": iso(first[a.id].notified_on), "how": first[a.id].method}
        for a in agencies
        if a.id in first
    ]
    not_told = [{"agency": a.code, "name": a.name} for a in agencies if a.id not in first]
    return {"all": bool(agencies) and not not_told, "told": passed, "not_told": not_told}


@needs(READ_CASE)
def status(app: App, reference: str) -> dict:
    """The case's sharing (`told`), read on its own."""
    with app.read() as session:
        return told(session, find_case(session, reference))


@retried
@needs(ACTIVATE)
def share(app: App, reference: str, *, agencies: Sequence[str] = (), on: date | None = None) -> dict:
    """Record that the application was passed to the bodies named (none named: every body not yet
    told), on `on`; one audit event. Returns the case's sharing as `show` gives it."""
    with changing(app, reference) as w:
        on = on_for_change(w.case, on)
        before = told(w.session, w.case)
        already = {row["agency"]: row["on"] for row in before["told"]}
        if agencies:
            chosen = []
            for code in agencies:
                agency = find_agency(w.session, code)
                if agency.code in already:
                    raise InvalidInput(
                        f"{agency.code} was told about {w.case.reference} on {already[agency.code]} already; "
                        "leave it out"
                    )
                if agency not in chosen:
                    chosen.append(agency)
        else:
            chosen = [find_agency(w.session, row["agency"]) for row in before["not_told"]]
            if not chosen:
                raise GuardRefused(f"every relevant body has been told about {w.case.reference} already")
        for agency in chosen:
            w.session.add(
                PartnerNotification(
                    case_id=row_id(w.case), agency_id=row_id(agency), notified_on=on, method=RECORDED
                )
            )
        w.session.flush()
        w.record("share", on, detail={"agencies": [a.code for a in chosen], "method": RECORDED})
        return told(w.session, w.case)
