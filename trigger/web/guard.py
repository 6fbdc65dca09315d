"""What keeps the door safe on the open internet, around every request (an ASGI middleware):

- security headers on every response: a Content Security Policy with no inline script and
  `frame-ancestors 'none'`, no referrer, no sniffing, HSTS when the request came over TLS;
- a limit on the size of a request's body (413 before the application reads it);
- a limit on how many forms one client may send in an hour (429);
- one log line per request with the method, the path, the status and the time taken: never a
  client's address, a query string, a form's contents, an applicant's private link or an exception's
  message, which may hold personal data or open a case; an unexpected error is logged by its type
  and answered with a plain 500 page.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque

from trigger.web.words import say

log = logging.getLogger("trigger.web")

MAX_BODY = 200_000  # bytes: the longest answer (10,000 characters) percent-encoded, with room to spare
POSTS_PER_HOUR = 300  # forms one client may send in an hour: a whole application takes about 20

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
]
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class RateLimit:
    """At most `most` events per client in the last `window` seconds (a sliding window, in memory)."""

    def __init__(self, most: int, window: float = 3600.0):
        self.most, self.window = most, window
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        """Count one event of the client's, unless it has had its most already."""
        return self._event(client, count=True)

    def spent(self, client: str) -> bool:
        """Whether the client has had its most already (nothing counted)."""
        return not self._event(client, count=False)

    def _event(self, client: str, count: bool) -> bool:
        now = time.monotonic()
        with self._lock:
            times = self._seen.setdefault(client, deque())
            while times and now - times[0] > self.window:
                times.popleft()
            if len(times) >= self.most:
                return False
            if count:
                times.append(now)
            if len(self._seen) > 100_000:  # forget clients gone quiet, so memory stays bounded
                for key in [k for k, v in self._seen.items() if not v or now - v[-1] > self.window]:
                    del self._seen[key]
            return True


# an applicant's private link, /case/TOKEN: anything after /case/ that is not one of the case pages'
# own names (trigger.web.casepages, trigger.web.takepart), with all that follows it, so a link cut
# short, with more after it, or typed after a page's name, is never logged either
_LINK = re.compile(r"^/case/(?!(?:involvement|statement|plan|appeal|notices|letters/\d+)$).*")


def loggable(path: str) -> str:
    """A path as the log may hold it: an applicant's private link without its token, whole or part."""
    return _LINK.sub("/case/[link]", path)


def client_of(scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


def plain_page(status: int, title_key: str, text_key: str) -> bytes:
    """A bilingual page for a refusal made before the application runs (no template, no session)."""
    parts = []
    for language in ("en", "cy"):
        parts.append(
            f'<div lang="{language}"><h1 class="govuk-heading-l">{say(title_key, language)}</h1>'
            f'<p class="govuk-body">{say(text_key, language)}</p></div>'
        )
    return (
        '<!DOCTYPE html><html lang="en" class="govuk-template"><head><meta charset="utf-8">'
        f"<title>{say(title_key, 'en')}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="stylesheet" href="/static/govuk/govuk-frontend.min.css"></head>'
        '<body class="govuk-template__body"><div class="govuk-width-container">'
        f'<main class="govuk-main-wrapper" id="main-content">{"".join(parts)}</main></div></body></html>'
    ).encode()


class Guard:
    """The ASGI middleware around the whole door (see the module's docstring)."""

    def __init__(self, app, posts_per_hour: int = POSTS_PER_HOUR, max_body: int = MAX_BODY):
        self.app = app
        self.posts = RateLimit(posts_per_hour)
        self.max_body = max_body

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        secure = scope.get("scheme") == "https"
        status: dict = {"code": 0, "answered": None}

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                names = {name for name, _ in message.get("headers", [])}
                extra = [h for h in HEADERS if h[0] not in names]
                if secure:
                    extra.append(HSTS)
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                status["answered"] = time.perf_counter()  # the last byte is out: the applicant has the page

        try:
            refusal = self._refusal(scope)
            if refusal is not None:
                await self._answer(send_with_headers, *refusal)
            else:
                await self.app(scope, self._bounded(receive), send_with_headers)
        except BodyTooLarge:
            if status["code"] == 0:
                await self._answer(send_with_headers, 413, "too_large_title", "refused_text")
        except Exception as exc:  # noqa: BLE001 - anything unexpected: its type only, never its message
            log.error("%s %s failed: %s", scope["method"], loggable(scope["path"]), type(exc).__name__)
            if status["code"] == 0:
                await self._answer(send_with_headers, 500, "broken_title", "broken_text")
        # the time to the response's last byte; work the page leaves for after it (the acknowledgement
        # e-mail) is logged apart, as it keeps nobody waiting
        ended = time.perf_counter()
        answered = status["answered"] or ended
        after = f" (then {(ended - answered) * 1000:.1f}ms after it)" if ended - answered >= 0.001 else ""
        took = (answered - started) * 1000
        log.info("%s %s %s %.1fms%s", scope["method"], loggable(scope["path"]), status["code"], took, after)

    def _refusal(self, scope) -> tuple[int, str, str] | None:
        if scope["method"] != "POST":
            return None
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    if int(value) > self.max_body:
                        return 413, "too_large_title", "refused_text"
                except ValueError:
                    return 400, "refused_title", "refused_text"
        if not self.posts.allow(client_of(scope)):
            return 429, "too_many_title", "too_many_text"
        return None

    def _bounded(self, receive):
        seen = {"bytes": 0}

        async def bounded():
            message = await receive()
            if message["type"] == "http.request":
                seen["bytes"] += len(message.get("body", b""))
                if seen["bytes"] > self.max_body:
                    raise BodyTooLarge()
            return message

        return bounded

    @staticmethod
    async def _answer(send, status: int, title_key: str, text_key: str) -> None:
        body = plain_page(status, title_key, text_key)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class BodyTooLarge(Exception):
    """A request body past the limit, found while reading it (no Content-Length was given)."""
