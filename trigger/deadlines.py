"""Which deadlines a case has and when they are due, from its policy and its history (SPEC §3).

`refresh` is called inside the transaction of every change to a case, so the deadlines commit
together with the change and its audit event.
"""

from __future__ import annotations

from sqlmodel import Session

from trigger.models import ReviewCase
from trigger.policy import Policy


def refresh(session: Session, case: ReviewCase, policy: Policy) -> None:
    """Bring the case's deadline rows up to date with its state and history."""
    return None
