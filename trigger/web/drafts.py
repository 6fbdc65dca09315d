"""Half-finished applications, kept only in the applicant's own session until they send it: in this
process's memory, under a random id that the browser holds in a signed, HttpOnly, SameSite cookie
(Secure behind TLS). Nothing of a draft is written to the database or to a log; a draft left alone
for an hour is forgotten, and the oldest go first when too many are open.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from hashlib import sha256
from typing import TYPE_CHECKING

from itsdangerous import BadSignature, TimestampSigner

if TYPE_CHECKING:
    from trigger.cases.online import Receipt

IDLE_SECONDS = 3600  # the start page tells the applicant: answers are deleted after 60 minutes
MOST_DRAFTS = 5000  # memory bound: a draft holds at most about 250 KB (the field limits)
COOKIE = "ct_session"


@dataclass
class Draft:
    """One applicant's answers so far (`answers`, `incidents`), the page language they chose, and
    once sent, the receipt the confirmation page shows."""

    id: str
    language: str | None = None
    answers: dict = field(default_factory=dict)
    incidents: list[dict] = field(default_factory=list)
    receipt: Receipt | None = None
    touched: float = field(default_factory=time.monotonic)


class Drafts:
    """The drafts of this process, by session id; thread-safe (pages run in a thread pool)."""

    def __init__(
        self, session_key: bytes, csrf_key: bytes, idle: float = IDLE_SECONDS, most: int = MOST_DRAFTS
    ):
        self._signer = TimestampSigner(session_key, salt="trigger.web.session")
        self._csrf_key = csrf_key
        self._idle, self._most = idle, most
        self._drafts: OrderedDict[str, Draft] = OrderedDict()
        self._lock = threading.Lock()

    def start(self) -> Draft:
        draft = Draft(secrets.token_urlsafe(32))
        with self._lock:
            self._drafts[draft.id] = draft
            while len(self._drafts) > self._most:
                self._drafts.popitem(last=False)
        return draft

    def find(self, cookie: str | None) -> Draft | None:
        """The draft a cookie names, if its signature holds and it has not been idle too long."""
        if not cookie or len(cookie) > 200:
            return None
        try:
            sid = self._signer.unsign(cookie, max_age=int(self._idle) * 24).decode("ascii")
        except (BadSignature, UnicodeDecodeError):
            return None
        now = time.monotonic()
        with self._lock:
            self._forget_idle(now)
            draft = self._drafts.get(sid)
            if draft is not None:
                draft.touched = now
                self._drafts.move_to_end(sid)
            return draft

    def _forget_idle(self, now: float) -> None:
        while self._drafts:
            sid, oldest = next(iter(self._drafts.items()))
            if now - oldest.touched <= self._idle:
                break
            del self._drafts[sid]

    def cookie(self, draft: Draft) -> str:
        return self._signer.sign(draft.id).decode("ascii")

    def csrf(self, draft: Draft) -> str:
        """The draft's form token: a keyed hash of its id, so it is known only to its own pages."""
        return hmac.new(self._csrf_key, draft.id.encode("ascii"), sha256).hexdigest()

    def csrf_ok(self, draft: Draft | None, token: str | None) -> bool:
        if draft is None or not token:
            return False
        return hmac.compare_digest(self.csrf(draft), token)

    def __len__(self) -> int:
        return len(self._drafts)
