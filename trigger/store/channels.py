"""The channel a message leaves by: GOV.UK Notify when TRIGGER_NOTIFY_API_KEY is set, else SMTP when
TRIGGER_SMTP_URL is, else the outbox folder (docs/architecture.md#sending-mail)."""

from __future__ import annotations

from trigger.store import mail, notify
from trigger.store.access import READ, needs
from trigger.store.app import App
from trigger.store.unit import default_policy


@needs(READ)  # reads the policy for its Notify templates: every role that sends has READ
def transport(app: App) -> notify.Notify | mail.Smtp | mail.Outbox:
    """The configured channel, its settings checked now (one clear line for a bad one)."""
    if notify.configured():
        with app.read() as session:
            templates = default_policy(app, session).notify
        return notify.Notify(templates)
    return mail.transport(app)
