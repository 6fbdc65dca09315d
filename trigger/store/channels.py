"""The channel a message leaves by: GOV.UK Notify when TRIGGER_NOTIFY_API_KEY is set, else SMTP when
TRIGGER_SMTP_URL is, else the outbox folder (docs/architecture.md#sending-mail)."""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol

from trigger.store import mail, notify
from trigger.store.access import READ, needs
from trigger.store.app import App
from trigger.store.unit import default_policy


class Channel(Protocol):
    """What a message leaves by (Notify, SMTP or the outbox), as the sweep, the digest and the failure
    report send; a stopping `reminders serve` hurries the message in hand (`limit`) or cuts it (`abort`)."""

    mail_from: str

    def describe(self) -> str: ...
    def send(self, msg: EmailMessage, name: str) -> str | None: ...  # the outbox: the file written
    def limit(self, seconds: float) -> None: ...
    def abort(self) -> None: ...
    def close(self) -> None: ...


@needs(READ)  # reads the policy for its Notify templates: every role that sends has READ
def transport(app: App) -> notify.Notify | mail.Smtp | mail.Outbox:
    """The configured channel, its settings checked now (one clear line for a bad one)."""
    if notify.configured():
        with app.read() as session:
            templates = default_policy(app, session).notify
        return notify.Notify(templates)
    return mail.transport(app)
