"""Letters that leave the engine: the edited file recorded as the one sent (`letter --record FILE`),
a letter e-mailed to the applicant with its PDF attached (`letter --send`), and the acknowledgement
of an appeal the applicant made at their own case page (sent the same way, or issued to the register).

Either way the register keeps exactly what went out: its bytes and sha256, and for an e-mail the
address, the moment it was handed to the mail server (or written to the outbox) and its Message-ID.
The e-mail goes over the same channel as the reminders (`trigger.store.mail`: `TRIGGER_SMTP_URL` over
verified TLS, XOAUTH2 where configured, else the outbox folder, where the file it was written to is
recorded too), From `TRIGGER_MAIL_FROM`.
"""

from __future__ import annotations

import hashlib
import io
import logging
import zipfile
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any

from sqlmodel import Session

from letters.make import render
from letters.render import LetterError
from trigger.cases import links
from trigger.codes import RECORD_SUFFIXES
from trigger.correspondence.context import context, to_victim, victim_copy_refusal
from trigger.correspondence.eligibility import refusal
from trigger.correspondence.register import (
    Issued,
    keep_link,
    letter,
    letter_facts,
    link_facts,
    prepare,
    register,
    templates_for,
)
from trigger.errors import GuardRefused, InvalidInput, TriggerError
from trigger.rules.policy import Policy
from trigger.store import channels, mail, notify, telling
from trigger.store.access import LETTERS, TAKE_PART, needs
from trigger.store.app import App
from trigger.store.mail import valid_address
from trigger.store.models import LetterDelivery, ReviewCase, row_id
from trigger.store.unit import Work, changing, find_agency, on_for_change

log = logging.getLogger(__name__)


@dataclass
class Sent:
    issued: Issued
    to: str
    message_id: str
    via: str
    file: str | None = None  # the outbox file it was written to


# -- the edited version actually sent ----------------------------------------------------------------


@needs(LETTERS)
def record(
    app: App,
    reference: str,
    kind: str,
    path: str,
    *,
    on: date | None = None,
    recipient: str | None = None,
) -> Issued:
    """Register the edited version actually sent (its bytes and sha256, its format from the file
    name), under the same checks as issuing the letter: the case must support the kind on that day."""
    content, fmt = recorded_file(kind, path)
    with changing(app, reference) as w:
        on = on_for_change(w.case, on)
        issued = _recorded(w, kind, content, fmt, on, recipient)
        register(w, issued, edited=True)
    return issued


def _recorded(w: Work, kind: str, content: bytes, fmt: str, on: date, recipient: str | None) -> Issued:
    why = refusal(w.session, w.case, kind, on)
    if why:
        raise GuardRefused(f"cannot record the {kind} letter: {why}")
    ctx = context(w.session, w.case, w.policy, kind, on, recipient, fmt)
    return Issued(content, kind, fmt, ctx["recipient"]["name"], on, hashlib.sha256(content).hexdigest(), None)


def recorded_file(kind: str, path: str) -> tuple[bytes, str]:
    """The bytes of an edited letter and its format; refused when the file is not what its name says."""
    source = Path(path)
    fmt = RECORD_SUFFIXES.get(source.suffix.lower())
    if fmt is None:
        raise InvalidInput(
            f"{path}: record the letter from a .pdf, .docx, .html or .txt file "
            "(the format is taken from the file name)"
        )
    try:
        content = source.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"{path}: no such file") from None
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not content:
        raise InvalidInput(f"{path} is empty; record the file that was actually sent")
    problem = _not_a(fmt, content)
    if problem:
        raise InvalidInput(f"{path} {problem}; record the {kind} letter as it was sent")
    return content, fmt


def _not_a(fmt: str, content: bytes) -> str | None:
    """What is wrong with a file that should be a letter in `fmt`, or None when it is one."""
    if fmt == "pdf" and not content.startswith(b"%PDF-"):
        return "is not a PDF (it does not start with %PDF-)"
    if fmt == "docx":
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as zf:
                if "word/document.xml" not in zf.namelist():
                    return "is not a Word document (it has no word/document.xml)"
        except zipfile.BadZipFile:
            return "is not a Word document (a .docx file is a zip archive)"
    if fmt in ("html", "txt"):
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            return "is not UTF-8 text"
    return None


# -- by e-mail -----------------------------------------------------------------------------------------


@needs(LETTERS)
def send(
    app: App,
    reference: str,
    kind: str,
    *,
    on: date | None = None,
    recipient: str | None = None,
    templates: str | None = None,
    until: date | None = None,
    reason: str | None = None,
    record_path: str | None = None,
    by: str = "email",
) -> Sent:
    """E-mail the letter to the applicant (an information request: to the agency) with the PDF
    attached and the letter as the text of the message; record it and its delivery in one
    transaction. With `record_path`, the edited PDF is what is attached and recorded. A send the
    server refuses leaves nothing recorded. Through GOV.UK Notify, `by` may also be "sms" (a text
    that the letter was sent) or "post" (Notify prints and posts the PDF)."""

    facts = letter_facts(kind, until, reason)
    edited = None
    if record_path is not None:
        edited = recorded_file(kind, record_path)
        if edited[1] != "pdf":
            raise InvalidInput(f"{record_path}: only a PDF is sent by e-mail; save the edited letter as PDF")
    with changing(app, reference) as w:
        on = on_for_change(w.case, on)
        channel = channels.transport(app)  # its settings (and TRIGGER_MAIL_FROM under SMTP) checked first
        if by != "email" and not isinstance(channel, notify.Notify):
            raise InvalidInput(
                f"--by {by} goes through GOV.UK Notify: set TRIGGER_NOTIFY_API_KEY "
                "(docs/operations.md#govuk-notify), or send by e-mail"
            )
        if to_victim(recipient):
            victim_copy_refusal(w.case, on)  # before asking for the victim's address
        address = {"email": _address, "sms": _phone, "post": _postal}[by](w.session, w.case, kind, recipient)
        if edited is not None:
            issued = _recorded(w, kind, edited[0], "pdf", on, recipient)
        else:
            facts = link_facts(w.session, w.case, kind, facts)
            issued = prepare(w.session, w.case, w.policy, kind, "pdf", on, recipient, templates, facts)
        ctx = context(w.session, w.case, w.policy, kind, on, recipient, "txt", facts)
        body = _covering_note(ctx) if edited is not None else _text(kind, ctx, w.policy, templates)
        row = register(w, issued, edited=edited is not None, facts=facts)
        keep_link(w, facts, on)
        via = channel.describe() if by == "email" else f"{channel.describe()}, {by}"
        written = None
        with mail.sending(
            channel,
            lambda why: (
                f"could not send the {kind} letter to {address} by {via}: {why}; nothing was recorded"
            ),
        ):
            if isinstance(channel, notify.Notify):
                message_id = _by_notify(channel, by, ctx, issued, address, body)
            else:
                msg = _message(ctx, issued, address, mail.sender(), body)
                written = channel.send(msg, f"letter-{row.id}-{issued.kind}")
                message_id = msg["Message-ID"]
        w.session.add(
            LetterDelivery(
                letter_id=row_id(row), sent_to=address, message_id=message_id, via=via, outbox_file=written
            )
        )
        if by == "email" and kind != "information_request" and not to_victim(recipient):
            telling.told_by_letter(w.session, w.case)
    return Sent(issued, address, message_id, via, written)


def _by_notify(channel: notify.Notify, by: str, ctx: dict, issued: Issued, address: str, body: str) -> str:
    """Notify's id for the letter sent by e-mail, text or post; its reference is the letter's own bytes
    and the way it goes, so a send whose answer was lost is found, not sent again."""
    reference = f"trigger-{ctx['reference']}-{issued.kind}-{by}-{issued.content_hash[:16]}"
    if by == "sms":
        return channel.sms(address, ctx["reference"], ctx["letter"]["title"], reference)
    if by == "post":
        return channel.letter(issued.content, reference, postage="second")
    title = ctx["letter"]["title"]
    if ctx["letter"]["bilingual"]:
        title = f"{ctx['letter']['title_cy']} / {title}"
    filename = f"{ctx['reference']}-{issued.kind}.pdf"
    return channel.email(address, f"{title} ({ctx['reference']})", body, issued.content, filename, reference)


def _address(session: Session, case: ReviewCase, kind: str, recipient: str | None) -> str:
    if kind == "information_request":
        if not recipient:
            raise InvalidInput("an information request goes to an agency: give --to AGENCY (its code)")
        agency = find_agency(session, recipient)
        email = (agency.email or "").strip()
        if not email:
            raise InvalidInput(
                f"agency {agency.code} has no e-mail address, so the request cannot be e-mailed; "
                f"add it with `trigger agency add {agency.code} ... --email ADDRESS`, or post the letter"
            )
        return _checked(email, f"agency {agency.code}'s e-mail address")
    who, prefix = _whose(recipient)
    email = (getattr(case, prefix + "email") or "").strip()
    if not email:
        raise InvalidInput(
            f"{case.reference}: the {who} has no e-mail address on record, so the letter cannot be "
            "e-mailed; write it to a file (--format pdf -o FILE.pdf) and post it"
        )
    return _checked(email, f"{case.reference}: the {who}'s e-mail address")


def _whose(recipient: str | None) -> tuple[str, str]:
    """Whose contact a letter goes to: the applicant's, or on the victim's copy the victim's (the
    prefix of its columns)."""
    return ("victim", "victim_") if to_victim(recipient) else ("applicant", "")


def _phone(session: Session, case: ReviewCase, kind: str, recipient: str | None) -> str:
    if (recipient and not to_victim(recipient)) or kind == "information_request":
        raise InvalidInput("a text message goes to the applicant's phone, or with --to victim the victim's")
    who, prefix = _whose(recipient)
    phone = (getattr(case, prefix + "phone") or "").strip()
    if not phone:
        raise InvalidInput(f"{case.reference}: the {who} has no phone number on record for a text message")
    return phone


def _postal(session: Session, case: ReviewCase, kind: str, recipient: str | None) -> str:
    if (recipient and not to_victim(recipient)) or kind == "information_request":
        raise InvalidInput(
            "a letter by post goes to the applicant's address, or with --to victim the victim's"
        )
    who, prefix = _whose(recipient)
    address = (getattr(case, prefix + "address") or "").strip()
    postcode = (getattr(case, prefix + "postcode") or "").strip()
    if not address or not postcode:
        raise InvalidInput(
            f"{case.reference}: the {who} has no postal address and postcode on record to post to"
        )
    return f"post: {address.splitlines()[0]}, {postcode}"


def _checked(address: str, what: str) -> str:

    if not valid_address(address):
        raise InvalidInput(f"{what} {address!r} is not an e-mail address; correct it before sending")
    return address


def _text(kind: str, ctx: dict[str, Any], pol: Policy, templates: str | None) -> str:
    try:
        return render(kind, ctx, "txt", templates_for(pol, templates), pol.glossary).decode("utf-8")
    except LetterError as exc:
        raise InvalidInput(str(exc)) from None


def _covering_note(ctx: dict) -> str:
    """The text of a message whose attachment is an edited letter: the attachment is the letter."""
    ref, name = ctx["reference"], ctx["recipient"]["name"]
    english = (
        f"Dear {name},\n\nPlease find attached our letter about your ASB Case Review (reference {ref}): "
        f"{ctx['letter']['title']}.\n\nIf you cannot open the attachment, reply to this message and we "
        "will send it another way.\n"
    )
    if not ctx["letter"]["bilingual"]:
        return english
    welsh = (
        f"Annwyl {name},\n\nMae ein llythyr am eich Adolygiad Achos Ymddygiad Gwrthgymdeithasol "
        f"(cyfeirnod {ref}) ynghlwm: {ctx['letter']['title_cy']}.\n\nOs na allwch agor yr atodiad, "
        "atebwch y neges hon a byddwn yn ei anfon atoch mewn ffordd arall.\n"
    )
    return f"{welsh}\n{'-' * 60}\n\n{english}"


def _message(ctx: dict, issued: Issued, to: str, mail_from: str, body: str) -> EmailMessage:
    title = ctx["letter"]["title"]
    if ctx["letter"]["bilingual"]:
        title = f"{ctx['letter']['title_cy']} / {title}"
    msg = EmailMessage()
    msg["Subject"] = f"{title} ({ctx['reference']})"
    msg["From"] = mail_from
    msg["To"] = to
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=parseaddr(mail_from)[1].rpartition("@")[2] or "localhost")
    msg.set_content(body)
    msg.add_attachment(
        issued.content,
        maintype="application",
        subtype="pdf",
        filename=f"{ctx['reference']}-{issued.kind}.pdf",
    )
    # set after the attachment: making the message multipart moves Content-* headers into its first part
    msg["Content-Language"] = "cy, en" if ctx["letter"]["bilingual"] else "en"  # RFC 3282: Welsh first
    return msg


# -- an appeal made at the applicant's own case page ---------------------------------------------------


@needs(TAKE_PART)
def acknowledge_online_appeal(app: App, link_id: int) -> Issued | None:
    """Acknowledge an appeal the applicant made at their case page, as an officer would after `trigger
    appeal`: the appeal acknowledgement letter e-mailed to them with its PDF (`letter --send`) when they
    gave an address, else (or when the e-mail fails) issued to the register as a PDF (`letter --format
    pdf`), which their page offers for download. A failure is logged by reference and kind only; the
    appeal stands, and the letter can still be issued from the command line."""
    with app.read() as session:
        case = links.usable(session, link_id)
        if case is None or case.state != "appealed":
            return None
        reference, email = case.reference, (case.email or "").strip()
    kind = "appeal_acknowledgement"
    if email:
        try:
            return send(app, reference, kind).issued
        except TriggerError as exc:
            log.warning("the %s of %s was not e-mailed: %s", kind, reference, type(exc).__name__)
    try:
        return letter(app, reference, kind, fmt="pdf")
    except TriggerError as exc:
        log.warning("the %s of %s was not issued: %s", kind, reference, type(exc).__name__)
        return None
