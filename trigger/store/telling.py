"""Telling the applicant that their case changed (docs/operations.md#telling-the-applicant).

`queue` is called inside the transaction of every change to a case (`trigger.store.unit.changing`),
after the change: when the case's stage as the applicant is told it moved (received, deciding the
threshold, under review, outcome issued, appeal, closed), or a letter to the applicant was added to
the register, it adds one `applicant_notice` row. The row commits with the change and its audit event,
so a change rolled back tells nobody; the reminder sweep sends it, once (`trigger.deadlines.reminders`).

One notice is made for each way the applicant can be reached: an e-mail to their address, and a text
to their phone number, which is sent only where the partnership uses GOV.UK Notify (and cancelled
otherwise). A letter e-mailed to the applicant in the same change (`letter --send`) is its own notice, and
stands for the e-mails not yet sent that only said the case moved (`told_by_letter`): one message,
not a letter and a "your case moved" seconds apart (as after an appeal made online).
A case whose applicant turned the notices off (their case page, or `case update --notices off`), or
was purged, gets none.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import update
from sqlmodel import Session, col, select

from trigger.checks import same_name
from trigger.store import audit
from trigger.store.models import ApplicantNotice, Letter, LetterDelivery, ReviewCase, row_id
from workflows.machine import APPLICANT_STAGE_OF

NOT_TO_APPLICANT = ("information_request",)  # a letter to an agency is not the applicant's news


def stage_of(case: ReviewCase) -> str:
    """The case's stage, as the applicant's case page names it."""
    return APPLICANT_STAGE_OF.get(case.state, "")


def _letters(session: Session, case: ReviewCase) -> tuple[int, list[date]]:
    """How many letters to the applicant this change issued that it did not also deliver to them, and
    the days of the change's events."""
    issued, days = [], []
    for event, detail in audit.pending_details(session, row_id(case)):
        days.append(event.on)
        if event.event == "letter" and detail.get("kind") not in NOT_TO_APPLICANT:
            issued.append(detail.get("letter"))
    if not issued:
        return 0, days
    session.flush()
    delivered = set(
        session.exec(select(col(LetterDelivery.letter_id)).where(col(LetterDelivery.letter_id).in_(issued)))
    )
    # addressed to the applicant: a copy to the victim (`letter --to victim`) is not their letter
    theirs = [
        row.id
        for row in session.exec(select(Letter).where(col(Letter.id).in_(issued)))
        if same_name(row.recipient, case.applicant_name)
    ]
    return len([i for i in theirs if i not in delivered]), days


def queue(session: Session, case: ReviewCase, stage_before: str, welsh: bool) -> list[ApplicantNotice]:
    """The notices the change in hand owes the applicant, added to its transaction: an e-mail, and a
    text message when they gave a phone number (sent only through GOV.UK Notify); in Welsh first, then
    English, when the applicant asked for Welsh or the policy is `welsh` (as the letters)."""
    if not case.notices or case.purged:
        return []
    ways = [w for w, to in (("email", case.email), ("sms", case.phone)) if (to or "").strip()]
    if not ways:
        return []
    stage = stage_of(case)
    moved = stage if stage != stage_before else None
    letters, days = _letters(session, case)
    if moved is None and not letters:
        return []
    made = [
        ApplicantNotice(
            case_id=row_id(case),
            channel=way,
            stage=moved,
            letters=letters,
            language="cy" if welsh or case.language == "cy" else "en",
            send_on=max(days) if days else case.state_changed,
        )
        for way in ways
    ]
    session.add_all(made)
    return made


def told_by_letter(session: Session, case: ReviewCase) -> None:
    """A letter e-mailed to the applicant tells them where their case stands: the e-mail notices still
    waiting that said only that it moved are cancelled (one telling of a letter issued stays)."""
    session.execute(
        update(ApplicantNotice)
        .where(
            col(ApplicantNotice.case_id) == row_id(case),
            col(ApplicantNotice.channel) == "email",
            col(ApplicantNotice.status) == "pending",
            col(ApplicantNotice.letters) == 0,
        )
        .values(status="cancelled")
    )
