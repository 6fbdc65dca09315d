"""The applicant's visit to their own case page: opening the private link (`/case/TOKEN`) starts a
visit, kept in a signed, HttpOnly, SameSite cookie (Secure behind TLS) that names the link, never the
token, so the token leaves the address bar at once and is in no later request, page or Referer. Every
request checks again that the link still works (`trigger.cases.links.usable`), so a revoked link ends
every visit it started. Nothing of a visit is kept on the server.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, replace
from hashlib import sha256

from itsdangerous import BadSignature, TimestampSigner

from trigger.web.words import LANGUAGES

COOKIE = "ct_case"
VISIT_SECONDS = 24 * 3600  # a visit lasts a day; after that the link opens a new one


@dataclass(frozen=True)
class Visit:
    link: int  # the link's id (`applicant_link.id`), never its token
    nonce: str  # this visit's own random part: its form token is made from it
    language: str | None = None  # the language the applicant switched to, if they did

    def speaking(self, language: str) -> Visit:
        return replace(self, language=language)


class Visits:
    def __init__(self, session_key: bytes, csrf_key: bytes, seconds: int = VISIT_SECONDS):
        self._signer = TimestampSigner(session_key, salt="trigger.web.case")
        self._csrf_key = csrf_key
        self._seconds = seconds

    def start(self, link: int) -> Visit:
        return Visit(link, secrets.token_urlsafe(16))

    def cookie(self, visit: Visit) -> str:
        return self._signer.sign(f"{visit.link}.{visit.nonce}.{visit.language or ''}").decode("ascii")

    def find(self, cookie: str | None) -> Visit | None:
        """The visit a cookie holds, if its signature holds and it is not older than a day."""
        if not cookie or len(cookie) > 200:
            return None
        try:
            value = self._signer.unsign(cookie, max_age=self._seconds).decode("ascii")
        except (BadSignature, UnicodeDecodeError):
            return None
        link, _, rest = value.partition(".")
        nonce, _, language = rest.partition(".")
        if not link.isdigit() or not nonce:
            return None
        return Visit(int(link), nonce, language if language in LANGUAGES else None)

    def csrf(self, visit: Visit) -> str:
        """The visit's form token: a keyed hash of its random part, known only to its own pages."""
        return hmac.new(self._csrf_key, f"case.{visit.nonce}".encode("ascii"), sha256).hexdigest()

    def csrf_ok(self, visit: Visit | None, token: object) -> bool:
        if visit is None or not isinstance(token, str) or not token:
            return False
        return hmac.compare_digest(self.csrf(visit), token)
