"""GOV.UK Notify as a delivery channel beside SMTP and the outbox (docs/operations.md#govuk-notify),
through Notify's own client (`notifications-python-client`, the `notify` extra).

    Notify(templates)            TRIGGER_NOTIFY_API_KEY set: the channel, its settings checked now
    channel.send(msg, name)      a reminder, by the policy's `reminder_template` ((subject)), ((body))
    channel.email(...)           a letter by e-mail, its PDF as a link (`email_template`)
    channel.sms(...)             a text message that a letter was sent (`sms_template`)
    channel.text(...)            a text to the applicant that their case changed (`notice_template`)
    channel.letter(...)          the letter's PDF printed and posted by Notify (precompiled)

Every message carries a reference made from what it is (a reminder's id, a letter's sha256); before
sending, the channel asks Notify for a notification with that reference, so a send whose answer was
lost (a timeout after Notify took it) is never sent twice. Notify's refusals of the message itself
(400) are permanent; its rate limit (429), its errors (5xx), a refused key (403) and no answer are
temporary: retried, then reported, as for SMTP.
"""

from __future__ import annotations

import io
import logging
import os
import re
import time
from email.message import EmailMessage
from urllib.parse import urlparse

from trigger.errors import InvalidInput, MissingDependency
from trigger.rules.policy import NotifyTemplates
from trigger.store import mail

NOTIFY_URL = "https://api.notifications.service.gov.uk"
_KEY = re.compile(r"^[\w-]+-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-[0-9a-f-]{36}$")
POSTAGE = ("first", "second", "economy")


def configured() -> bool:
    return bool((os.environ.get("TRIGGER_NOTIFY_API_KEY") or "").strip())


def _client_class():
    try:
        from notifications_python_client.notifications import NotificationsAPIClient
    except ModuleNotFoundError as exc:
        if not (exc.name or "").startswith(("notifications_python_client", "jwt", "requests")):
            raise
        raise MissingDependency(
            "TRIGGER_NOTIFY_API_KEY needs GOV.UK Notify's client; install the notify extra: "
            "pip install 'community-trigger[notify]'"
        ) from None
    return NotificationsAPIClient


class Notify:
    """TRIGGER_NOTIFY_API_KEY (and TRIGGER_NOTIFY_URL, Notify's own address unless set)."""

    def __init__(self, templates: NotifyTemplates, *, limit: float | None = None):
        key = (os.environ.get("TRIGGER_NOTIFY_API_KEY") or "").strip()
        match = _KEY.match(key)
        if not match:
            raise InvalidInput(
                "TRIGGER_NOTIFY_API_KEY is not a GOV.UK Notify API key (name-<service id>-<secret>, "
                "as Notify's API integration page shows it)"
            )
        self.service = match[1]
        self.url = (os.environ.get("TRIGGER_NOTIFY_URL") or NOTIFY_URL).strip().rstrip("/")
        u = urlparse(self.url)
        if u.scheme != "https" and not (u.scheme == "http" and mail._loopback(u.hostname or "")):
            raise InvalidInput(
                f"TRIGGER_NOTIFY_URL {self.url} must be https:// (the API key signs each request)"
            )
        self.templates = templates
        self.timeout = limit or mail.timeout()
        self._client = _client_class()(key, base_url=self.url, timeout=self.timeout)
        # its own warning per failed request would come on top of our one line saying why
        logging.getLogger("notifications_python_client").setLevel(logging.ERROR)
        self.mail_from = mail.OUTBOX_FROM  # Notify sends from the service's own address
        self.phase = "idle"
        self._stop_by: float | None = None

    def describe(self) -> str:
        return "GOV.UK Notify" if self.url == NOTIFY_URL else f"GOV.UK Notify at {self.url}"

    # -- one notification --

    def _call(self, reference: str, send) -> str:
        """Notify's id for the notification with this reference: the one Notify already has, or a new one."""
        from notifications_python_client.errors import APIError

        if self._stop_by is not None:
            self._client.timeout = max(0.1, min(self.timeout, self._stop_by - time.monotonic()))
        try:
            self.phase = "connecting"
            found = self._client.get_all_notifications(reference=reference).get("notifications") or []
            if found:
                return found[0]["id"]
            self.phase = "sending"
            return send()["id"]
        except APIError as exc:
            raise _failure(exc) from None
        finally:
            self.phase = "idle"

    def _template(self, name: str) -> str:
        template = getattr(self.templates, name)
        if not template:
            raise InvalidInput(
                f"GOV.UK Notify needs the policy's [notify] {name}: the id of the Notify template to use"
            )
        return template

    def send(self, msg: EmailMessage, name: str) -> None:
        """A reminder (or a report to the manager), by the reminder template."""
        template = self._template("reminder_template")
        to = msg["To"]
        if not mail.valid_address(to or ""):
            raise mail.BadAddress(f"{to!r} is not an e-mail address; nothing was sent")
        body = msg.get_content() if msg.get_content_type() == "text/plain" else str(msg.get_payload())
        reference = f"trigger-{name}"
        self.last_id = self._call(
            reference,
            lambda: self._client.send_email_notification(
                email_address=to,
                template_id=template,
                personalisation={"subject": str(msg["Subject"]), "body": body},
                reference=reference,
            ),
        )

    def email(self, to: str, subject: str, body: str, pdf: bytes, filename: str, reference: str) -> str:
        from notifications_python_client import prepare_upload

        template = self._template("email_template")
        upload = prepare_upload(io.BytesIO(pdf), filename=filename, confirm_email_before_download=True)
        return self._call(
            reference,
            lambda: self._client.send_email_notification(
                email_address=to,
                template_id=template,
                personalisation={"subject": subject, "body": body, "link_to_file": upload},
                reference=reference,
            ),
        )

    def sms(self, phone: str, case_reference: str, title: str, reference: str) -> str:
        template = self._template("sms_template")
        return self._call(
            reference,
            lambda: self._client.send_sms_notification(
                phone_number=phone,
                template_id=template,
                personalisation={"reference": case_reference, "title": title},
                reference=reference,
            ),
        )

    def texts(self) -> bool:
        """Whether the applicant's notices may go by text: the policy names their template."""
        return bool(self.templates.notice_template)

    def text(self, phone: str, body: str, reference: str) -> str:
        """A text to the applicant that their case changed (docs/operations.md#telling-the-applicant)."""
        template = self._template("notice_template")
        return self._call(
            reference,
            lambda: self._client.send_sms_notification(
                phone_number=phone, template_id=template, personalisation={"body": body}, reference=reference
            ),
        )

    def letter(self, pdf: bytes, reference: str, postage: str) -> str:
        return self._call(
            reference,
            lambda: self._client.send_precompiled_letter_notification(
                reference=reference, pdf_file=io.BytesIO(pdf), postage=postage
            ),
        )

    # -- the channel's life, as for SMTP --

    def limit(self, seconds: float) -> None:
        """Allow the request in hand, and any after it, at most `seconds` more (a service asked to stop)."""
        self._stop_by = time.monotonic() + seconds

    def abort(self) -> None:
        """A request under way cannot be cut: its answer is checked by reference before any resend."""

    def close(self) -> None:
        self._client.request_session.close()


def _failure(exc) -> Exception:
    """Notify's answer as the mail path's failures: a refusal of the message is permanent, else temporary."""
    status = exc.status_code
    message = exc.message
    if isinstance(message, list):  # {"errors": [{"error": ..., "message": ...}]}
        message = "; ".join(f"{e.get('error')}: {e.get('message')}" for e in message if isinstance(e, dict))
    text = f"GOV.UK Notify answered {status}: {' '.join(str(message).split())[:300]}"
    if status == 400:
        return mail.Refused(text)
    if status == 503 and exc.response is None:
        return mail.MailError("GOV.UK Notify did not answer (no connection, or it timed out)")
    return mail.MailError(text)
