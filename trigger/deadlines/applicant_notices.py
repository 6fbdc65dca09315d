"""The applicant's notices that their case changed, as the reminder sweep sends them
(docs/operations.md#telling-the-applicant).

A notice is made in the transaction of the change (`trigger.store.telling`) and sent by `reminders run`
(and `reminders serve`) exactly as a reminder is: claimed on the database's clock, sent, marked, a
failure backed off and retried, so a crash or a sweep run twice never sends one twice
(`trigger.deadlines.reminders`). Here: which notices are due and what each says (read when it is sent,
so a notice made before the applicant turned notices off, or before the case was purged, is
cancelled, and an address corrected since is the one used), and the audit event recording each one
sent (`record_sent`, written after the send and caught up by the next sweep should it be cut off).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, or_, select, update
from sqlmodel import Session, col

from trigger.cases import links
from trigger.deadlines import notices
from trigger.store import access, audit
from trigger.store.access import REMINDERS, needs
from trigger.store.app import App
from trigger.store.models import ApplicantNotice, ReviewCase
from trigger.store.partnerships import heading

LONDON = ZoneInfo("Europe/London")


@dataclass
class NoticeDue:
    """A notice claimed for sending: the applicant's address and what the message says."""

    id: int
    recipient: str
    reference: str
    news: notices.News
    attempts: int = 0
    first_failed: datetime | None = None
    outbox_file: str | None = None
    alone: bool = False  # as a reminder's: never, a notice goes to the applicant alone
    channel: str = "email"  # or sms
    kind: str = "notice"
    deadline_kind: str = ""


class _Doors:
    """The door's public address and the partnership's name and telephone, read once a sweep for each
    partnership (`links.door_policy`: the door's settings as they stand now)."""

    def __init__(self, session: Session):
        self.session = session
        self.known: dict[int, tuple[str, str, str | None, str]] = {}

    def of(self, case: ReviewCase) -> tuple[str, str, str | None, str]:
        if case.partnership_id not in self.known:
            pol = links.door_policy(self.session, case)
            head = heading(self.session, pol, case.partnership_id)
            self.known[case.partnership_id] = (
                pol.web_base_url,
                head.name,
                head.name_cy,
                head.letterhead.telephone,
            )
        return self.known[case.partnership_id]


def due(
    session: Session, wanted: Sequence[ColumnElement[bool]], limit: int | None, texts: bool
) -> tuple[list[NoticeDue], list[int]]:
    """The notices to send now (`wanted`: due, or abandoned by a runner that crashed), and those to
    cancel: the applicant turned notices off, or has no address (or phone number) now, or the case was
    purged; and texts, unless they can be sent (`texts`: through GOV.UK Notify, with its template)."""
    visible = access.visible_cases(session)
    ours = [] if visible is None else [col(ApplicantNotice.case_id).in_(visible)]
    query = select(ApplicantNotice).where(or_(*wanted), *ours).order_by(col(ApplicantNotice.id))
    if limit:
        query = query.limit(limit)
    doors = _Doors(session)
    send: list[NoticeDue] = []
    cancelled: list[int] = []
    for notice in session.execute(query).scalars():
        case = session.get(ReviewCase, notice.case_id)
        to = "" if case is None else (case.phone if notice.channel == "sms" else case.email) or ""
        if (
            case is None
            or not case.notices
            or case.purged
            or not to.strip()
            or (notice.channel == "sms" and not texts)
        ):
            cancelled.append(notice.id or 0)
            continue
        door, name, name_cy, telephone = doors.of(case)
        news = notices.News(
            case.reference,
            moved=notice.stage is not None,
            letters=notice.letters,
            welsh=notice.language == "cy",
            partnership=name,
            partnership_cy=name_cy,
            telephone=telephone,
            door=door,
        )
        first = notice.first_failed_at and notice.first_failed_at.replace(tzinfo=UTC)
        send.append(
            NoticeDue(
                notice.id or 0,
                to.strip(),
                case.reference,
                news,
                notice.attempts,
                first,
                channel=notice.channel,
            )
        )
    return send, cancelled


def cancel(session: Session, ids: list[int], wanted: Sequence[ColumnElement[bool]]) -> None:
    if ids:
        session.execute(
            update(ApplicantNotice)
            .where(col(ApplicantNotice.id).in_(ids), or_(*wanted))
            .values(status="cancelled", claimed_by=None, claim_until=None)
        )


@needs(REMINDERS)
def record_sent(app: App) -> int:
    """Write the audit event of each notice sent whose event is not written yet (one transaction): the
    case's record says the applicant was told, on which day and by which channel, never the address."""
    with app.write() as session:
        visible = access.visible_cases(session)
        ours = [] if visible is None else [col(ApplicantNotice.case_id).in_(visible)]
        rows = list(
            session.execute(
                select(ApplicantNotice)
                .where(
                    col(ApplicantNotice.status) == "sent", col(ApplicantNotice.recorded_at).is_(None), *ours
                )
                .order_by(col(ApplicantNotice.id))
            ).scalars()
        )
        for notice in rows:
            case = session.get(ReviewCase, notice.case_id)
            sent = (notice.sent_at or datetime.now(UTC)).replace(tzinfo=UTC)
            if case is not None and not case.purged:
                detail = {"notice": notice.id, "channel": notice.channel, "letters": notice.letters}
                if notice.stage:
                    detail["stage"] = notice.stage
                audit.record(
                    session,
                    case,
                    "applicant_notice",
                    actor=app.actor,
                    on=sent.astimezone(LONDON).date(),
                    detail=detail,
                )
            notice.recorded_at = datetime.now(UTC)
            session.add(notice)
        return len(rows)
