"""A GOV.UK Notify API on loopback, for the tests: the documented parts we call, checked as Notify checks
them, so a change in our requests fails a test (https://docs.notifications.service.gov.uk/rest-api.html).

- Authorisation: `Bearer` JSON Web Token, HS256, signed with the API key's secret (its last 36
  characters), `iss` the service id (the 36 before), `iat` within 30 seconds of now; else 403 AuthError.
- POST /v2/notifications/email, /sms and /letter (precompiled: base64 `content`, `reference`,
  `postage`): the documented fields only, required ones present, a known template, every placeholder
  personalised; else 400 ValidationError or BadRequestError. 201 with the notification's id.
- GET /v2/notifications?reference=...: the notifications with that reference (Notify's list of
  messages, filtered), as the channel asks before each send.
- 429 RateLimitError past `rate_limit` requests (Notify's is 3,000 a minute; here counted until the
  test empties `requests`, so that a slow machine never spreads them over two minutes), `fail_next`
  queues documented errors (429, 500) for the next sends, and `answer_late` takes the next send but
  answers only once the client has given up waiting (a timeout on our side: the answer is lost, the
  message is not).

Verification uses the standard library only (hmac), not the client's own JWT code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

from tests.support.waiting import HANG

SERVICE_ID = "6f1c5a5e-3c1d-4e7e-9d1a-1b2c3d4e5f60"
SECRET = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
API_KEY = f"trigger_test-{SERVICE_ID}-{SECRET}"
EMAIL_TEMPLATE = "1d5b3c55-8a6e-4f3c-9e2a-6b8d7c0f1a21"
SMS_TEMPLATE = "2e6c4d66-9b7f-4a4d-8f3b-7c9e8d1a2b32"
REMINDER_TEMPLATE = "3f7d5e77-ac80-4b5e-9a4c-8daf9e2b3c43"
NOTICE_TEMPLATE = "4a8e6f88-bd91-4c6f-8b5d-9eb0af3c4d54"
TEMPLATES = {  # id -> (type, placeholders), as a service's templates would be set up
    EMAIL_TEMPLATE: ("email", {"subject", "body", "link_to_file"}),
    SMS_TEMPLATE: ("sms", {"reference", "title"}),
    REMINDER_TEMPLATE: ("email", {"subject", "body"}),
    NOTICE_TEMPLATE: ("sms", {"body"}),
}
FIELDS = {
    "email": ({"email_address", "template_id"}, {"personalisation", "reference", "email_reply_to_id"}),
    "sms": ({"phone_number", "template_id"}, {"personalisation", "reference", "sms_sender_id"}),
    "letter": ({"reference", "content"}, {"postage"}),
}
DOCUMENTED_ERRORS = {
    429: ("RateLimitError", "Exceeded rate limit for key type LIVE of 3000 requests per 60 seconds"),
    500: ("Exception", "Internal server error"),
}


@dataclass
class Notify:
    """The server's state: what it accepted, and the faults to give next."""

    url: str = ""
    rate_limit: int = 3000
    fail_next: list[int] = field(default_factory=list)
    answer_late: bool = False
    team_only: set[str] | None = None  # a team key: only these recipients (else 400, as Notify answers)
    sent: list[dict] = field(default_factory=list)
    requests: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def of(self, kind: str) -> list[dict]:
        return [n for n in self.sent if n["type"] == kind]


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _token_error(header: str | None) -> str | None:
    if not header or not header.startswith("Bearer "):
        return "Unauthorized: authentication token must be provided"
    try:
        head, claims, signature = header[len("Bearer ") :].split(".")
        alg = json.loads(_b64(head)).get("alg")
        payload = json.loads(_b64(claims))
    except (ValueError, json.JSONDecodeError):
        return "Invalid token: signature, api token is not valid"
    if alg != "HS256":
        return "Invalid token: algorithm used is not HS256"
    expected = hmac.new(SECRET.encode(), f"{head}.{claims}".encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _b64(signature)):
        return "Invalid token: API key not found"
    if payload.get("iss") != SERVICE_ID:
        return "Invalid token: service not found"
    if abs(time.time() - int(payload.get("iat", 0))) > 30:
        return "Error: Your system clock must be accurate to within 30 seconds"
    return None


def _invalid(kind: str, body: dict, team: set[str] | None) -> tuple[str, str] | None:
    """The first thing Notify would refuse in a request body: (error, message)."""
    required, optional = FIELDS[kind]
    for name in sorted(required - set(body)):
        return "ValidationError", f"{name} is a required property"
    for name in sorted(set(body) - required - optional):
        return "ValidationError", f"Additional properties are not allowed ({name} was unexpected)"
    if kind == "letter":
        try:
            pdf = base64.b64decode(body["content"], validate=True)
        except ValueError:
            return "ValidationError", "content is not a valid base64 string"
        if not pdf.startswith(b"%PDF-"):
            return "ValidationError", "Letter content is not a valid PDF"
        if body.get("postage", "second") not in ("first", "second", "economy"):
            return "ValidationError", "postage invalid. It must be either first, second or economy."
        return None
    template = TEMPLATES.get(body["template_id"])
    if template is None or template[0] != kind:
        return "BadRequestError", "Template not found"
    if kind == "email" and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", body["email_address"]):
        return "ValidationError", "email_address Not a valid email address"
    if kind == "sms" and not re.fullmatch(r"(\+44|0)7\d{9}", re.sub(r"[\s()-]", "", body["phone_number"])):
        return "ValidationError", "phone_number Not a UK mobile number"
    recipient = body.get("email_address") or body.get("phone_number")
    if team is not None and recipient not in team:
        return "BadRequestError", "Can't send to this recipient using a team-only API key"
    given = body.get("personalisation") or {}
    missing = sorted(template[1] - set(given))
    if missing:
        return "BadRequestError", f"Missing personalisation: {', '.join(missing)}"
    upload = given.get("link_to_file")
    if upload is not None:
        if not isinstance(upload, dict) or set(upload) - {
            "file",
            "filename",
            "confirm_email_before_download",
            "retention_period",
        }:
            return "BadRequestError", "Unsupported file type or file upload format"
        if not base64.b64decode(upload["file"]).startswith(b"%PDF-"):
            return "BadRequestError", "Unsupported file type '(no extension)'. Supported types are: '.pdf'"
    return None


def _handler(state: Notify):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet: the tests read the state, not the log
            pass

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up waiting (`answer_late`)
                pass

        def _error(self, status: int, error: str, message: str) -> None:
            self._answer(status, {"errors": [{"error": error, "message": message}], "status_code": status})

        def _counted(self) -> bool:
            """Within the rate limit (else answered 429)."""
            with state.lock:
                state.requests.append(time.monotonic())
                if len(state.requests) > state.rate_limit:
                    self._error(429, *DOCUMENTED_ERRORS[429])
                    return False
            return True

        def do_GET(self):
            path, _, query = self.path.partition("?")
            if path != "/v2/notifications":
                return self._error(404, "NotFound", "The requested URL was not found on the server.")
            why = _token_error(self.headers.get("Authorization"))
            if why:
                return self._error(403, "AuthError", why)
            if not self._counted():
                return
            wanted = parse_qs(query).get("reference", [None])[0]
            with state.lock:
                found = [n for n in reversed(state.sent) if wanted is None or n["reference"] == wanted]
            listed = [{k: n[k] for k in ("id", "reference", "type")} | {"status": "created"} for n in found]
            self._answer(200, {"notifications": listed, "links": {"current": f"{state.url}{self.path}"}})

        def do_POST(self):
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            kind = {
                "/v2/notifications/email": "email",
                "/v2/notifications/sms": "sms",
                "/v2/notifications/letter": "letter",
            }.get(self.path)
            if kind is None:
                return self._error(404, "NotFound", "The requested URL was not found on the server.")
            why = _token_error(self.headers.get("Authorization"))
            if why:
                return self._error(403, "AuthError", why)
            if not self._counted():
                return
            with state.lock:
                if state.fail_next:
                    status = state.fail_next.pop(0)
                    return self._error(status, *DOCUMENTED_ERRORS[status])
            if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
                return self._error(400, "BadRequestError", "Invalid JSON supplied in POST data")
            try:
                body = json.loads(raw)
            except json.JSONDecodeError:
                return self._error(400, "BadRequestError", "Invalid JSON supplied in POST data")
            problem = _invalid(kind, body, state.team_only)
            if problem:
                return self._error(400, *problem)
            notification = {"id": str(uuid.uuid4()), "type": kind, "reference": body.get("reference"), **body}
            with state.lock:
                state.sent.append(notification)
                late, state.answer_late = state.answer_late, False
            if late:  # until the client closes the connection, having given up
                self.connection.settimeout(HANG)
                try:
                    self.connection.recv(1, socket.MSG_PEEK)
                except OSError:
                    pass
            answer = {"id": notification["id"], "reference": body.get("reference")}
            if kind == "letter":
                answer["postage"] = body.get("postage", "second")
            else:
                answer["uri"] = f"{state.url}/v2/notifications/{notification['id']}"
                answer["template"] = {"id": body["template_id"], "version": 1}
            self._answer(201, answer)

    return Handler


def serve() -> tuple[Notify, ThreadingHTTPServer]:
    """A running server on loopback; the caller shuts it down."""
    state = Notify()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return state, server
