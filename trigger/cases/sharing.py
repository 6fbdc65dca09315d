"""Passing an application to the relevant bodies (s.104(3)): the procedures must ensure that
applications are passed on to all the relevant bodies in the area. `trigger share` records, as a fact
with its day and who recorded it, that the application was passed to each body; nothing else claims
it (docs/procedure.md#point-of-contact). What the record says (who was told, when, how, and
who not yet) is `told`, which `show`, the export and the letters read.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, date, datetime
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from trigger.errors import DeliveryFailed, GuardRefused, InvalidInput
from trigger.rules.dates import iso, long_date
from trigger.store import models
from trigger.store import tables as t
from trigger.store.access import ACTIVATE, READ_CASE, needs
from trigger.store.app import App
from trigger.store.models import Agency, row_id
from trigger.store.partnerships import heading
from trigger.store.unit import Work, changing, find_agency, find_case, on_for_change, retried

RECORDED = "recorded"  # passed on another way (post, hand, a secure mailbox) and recorded here
EMAIL = "email"  # e-mailed by the engine (an SMTP server set) to the agency's address


def told(session: Session, case: Any) -> dict:
    """s.104(3): which of the partnership's relevant bodies were told about the application (when,
    how), which not yet, and whether all were. Only a notice recorded with how it was passed on counts
    (`trigger share`); none is presumed.

    A case opened by an engine older than this record has a notice without a method for each body
    there was when it opened: that engine listed every body as notified at `activate`, whether or not
    anything was sent. Such a body is `not_recorded` (the record cannot say whether it was told), never
    told and never "not told"; `trigger share` records it like any other."""
    agencies = session.execute(
        select(t.agency.c.id, t.agency.c.code, t.agency.c.name)
        .where(t.agency.c.partnership_id == case.partnership_id)
        .order_by(t.agency.c.code)
    ).all()
    notices = session.execute(
        select(t.partner_notification)
        .where(t.partner_notification.c.case_id == case.id)
        .order_by(t.partner_notification.c.notified_on, t.partner_notification.c.id)
    ).all()
    first: dict[int, Any] = {}
    listed: dict[int, Any] = {}  # the older engine's notices, which say nothing of how or whether
    for n in notices:
        (first if n.method is not None else listed).setdefault(n.agency_id, n)
    passed = [
        {"agency": a.code, "name": a.name, "on": iso(first[a.id].notified_on), "how": first[a.id].method}
        for a in agencies
        if a.id in first
    ]
    unknown = [
        {"agency": a.code, "name": a.name, "listed_on": iso(listed[a.id].notified_on)}
        for a in agencies
        if a.id not in first and a.id in listed
    ]
    not_told = [
        {"agency": a.code, "name": a.name} for a in agencies if a.id not in first and a.id not in listed
    ]
    return {
        "all": bool(agencies) and not not_told and not unknown,
        "told": passed,
        "not_recorded": unknown,
        "not_told": not_told,
    }


@needs(READ_CASE)
def status(app: App, reference: str) -> dict:
    """The case's sharing (`told`), read on its own."""
    with app.read() as session:
        return told(session, find_case(session, reference))


def mail_configured() -> bool:
    """An SMTP server is set (TRIGGER_SMTP_URL): the engine can pass the application on by e-mail
    itself. The outbox is not passing anything on: somebody still has to send it."""
    return bool((os.environ.get("TRIGGER_SMTP_URL") or "").strip())


@needs(ACTIVATE)
def share(app: App, reference: str, *, agencies: Sequence[str] = (), on: date | None = None) -> dict:
    """Pass the application to the bodies named (none named: every body not yet told), on `on`: an
    agency with an e-mail address is e-mailed when an SMTP server is set, each send recorded in its own
    transaction as it succeeds; the others are recorded as passed on another way. Returns the case's
    sharing as `show` gives it."""
    by_mail = _record(app, reference, agencies, on, mail_configured())
    sent: list[str] = []
    for code in by_mail:
        try:
            _send(app, reference, code, on)
        except DeliveryFailed as exc:
            done = f"; e-mailed and recorded: {', '.join(sent)}" if sent else ""
            raise DeliveryFailed(
                f"{exc}{done}; run `trigger share {reference.upper()}` again for the rest"
            ) from None
        sent.append(code)
    return status(app, reference)


@retried
def _record(app: App, reference: str, agencies: Sequence[str], on: date | None, by_mail: bool) -> list[str]:
    """Record the bodies passed the application another way, in one transaction with its event; the
    codes of those to e-mail (not recorded until each is sent)."""
    with changing(app, reference) as w:
        on = on_for_change(w.case, on)
        before = told(w.session, w.case)
        already = {row["agency"]: row["on"] for row in before["told"]}
        if agencies:
            chosen: list[Agency] = []
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
            waiting = sorted(before["not_recorded"] + before["not_told"], key=lambda r: r["agency"])
            chosen = [find_agency(w.session, row["agency"]) for row in waiting]
            if not chosen:
                raise GuardRefused(f"every relevant body has been told about {w.case.reference} already")
        mailed = [a for a in chosen if by_mail and (a.email or "").strip()]
        by_hand = [a for a in chosen if a not in mailed]
        if by_hand:
            _notice(w, by_hand, on, RECORDED)
        elif not mailed:
            raise GuardRefused(f"nothing to record for {w.case.reference}")
        return [a.code for a in mailed]


def _notice(w: Work, agencies: list[Agency], on: date, method: str) -> None:
    for agency in agencies:
        w.session.add(
            models.PartnerNotification(
                case_id=row_id(w.case), agency_id=row_id(agency), notified_on=on, method=method
            )
        )
    w.session.flush()
    w.record("share", on, detail={"agencies": [a.code for a in agencies], "method": method})


def _send(app: App, reference: str, code: str, on: date | None) -> None:
    """E-mail the application to one agency and record it, in one transaction: a send the server
    refuses leaves nothing recorded for that agency. Never run again on a lost race (`retried`): the
    e-mail may be out already, and a second would go to the agency (as `letter --send`)."""
    # the mail module (smtplib, ssl, the e-mail parser: about 8 ms of CPU) is loaded only when a notice
    # is e-mailed: `activate`, `show` and every letter read who was told (`told`) and send nothing
    from trigger.store import mail

    with changing(app, reference) as w:
        on = on_for_change(w.case, on)
        agency = find_agency(w.session, code)
        address = (agency.email or "").strip()
        if not mail.valid_address(address):
            raise InvalidInput(f"agency {agency.code}'s e-mail address {address!r} is not an e-mail address")
        head = heading(w.session, w.policy, w.case.partnership_id)
        msg = message(w.case, agency, address, mail.sender(), head.name)
        _notice(w, [agency], on, EMAIL)
        channel = mail.transport(app)
        ref = w.case.reference
        with mail.sending(
            channel, lambda why: f"could not e-mail {ref} to {code} ({address}): {why}; not recorded"
        ):
            channel.send(msg, f"share-{ref}-{agency.code}")


def message(case: Any, agency: Agency, to: str, mail_from: str, partnership: str) -> EmailMessage:
    """The e-mail that passes an application to a relevant body: the case's reference, when it was
    received, whom it is about and who applied; its details stay in the case, asked for by reference."""
    from trigger.store import mail  # as `_send`: only a notice e-mailed needs it

    third = case.applicant_name != case.victim_name
    lines = [
        f"{partnership} has received an application for an ASB Case Review (Anti-social Behaviour, "
        "Crime and Policing Act 2014, section 104). Section 104(3) requires that it is passed to every "
        f"relevant body in the area; this message passes it to {agency.name}.",
        "",
        f"Reference: {case.reference}",
        f"Received: {long_date(case.received)}",
        f"About: {case.victim_name}",
    ]
    if third:
        lines.append(f"Applied for them by: {case.applicant_name}")
    lines += [
        "",
        "Please check your records for reports of anti-social behaviour about this person or place, and "
        f"keep them ready for the threshold decision. Quote {case.reference} when you reply.",
    ]
    msg = EmailMessage(policy=email_policy.default.clone(max_line_length=998))
    msg["Subject"] = f"ASB Case Review application {case.reference}: passed to {agency.name} (s.104(3))"
    msg["From"] = mail_from
    msg["To"] = to
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain=mail.domain_of(mail_from))
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content("\n".join(lines) + "\n")
    return msg
