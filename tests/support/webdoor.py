"""An applicant at the online door, driven without a browser: through Starlette's test client (the
page tests) or an httpx client against a real server (the benchmark). Each step GETs the page, takes
its form token and POSTs the answers a person would type."""

from __future__ import annotations

import re
from datetime import date, timedelta

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
ERROR = re.compile(
    r'<p id="[^"]*-error" class="govuk-error-message">\s*<span class="govuk-visually-hidden">'
    r"[^<]*</span>\s*(.*?)\s*</p>",
    re.S,
)
REFERENCE = re.compile(r'class="app-reference">([^<]+)<')


def ago(days: int) -> date:
    return date.today() - timedelta(days=days)


def date_parts(name: str, day: date) -> dict:
    return {f"{name}-day": str(day.day), f"{name}-month": str(day.month), f"{name}-year": str(day.year)}


def incident(
    days_ago: int, agency: str = "police", ref: str | None = None, hate: str = "no", text=""
) -> dict:
    return {
        "description": text or f"Shouting and banging at night, {days_ago} days ago",
        **date_parts("occurred", ago(days_ago)),
        **date_parts("reported", ago(days_ago - 1)),
        "agency": agency,
        "agency_ref": ref or "",
        "hate": hate,
    }


def victim_answers(name="Alex Morgan", email="alex@example.org", language="en") -> dict:
    return {
        "who": {"who": "victim"},
        "name": {"applicant": name},
        "contact": {"preferred_contact": "email", "email": email},
        "language": {"language": language},
        "incidents": [
            incident(40, "police", "CAD-101"),
            incident(20, "cbc"),
            incident(10, "emh", hate="race"),
        ],
        "statement": {"statement": "I reported this three times and nothing has changed."},
        "accessibility": {"accessibility": ""},
        "share": {"share_consent": "yes"},
    }


class Applicant:
    """One applicant's session (the client keeps the cookie)."""

    def __init__(self, client, base: str = "/apply/main"):
        self.client, self.base = client, base
        self.token = ""
        self.page = ""

    def open(self, step: str = ""):
        r = self.client.get(f"{self.base}/{step}".rstrip("/"), follow_redirects=True)
        assert r.status_code == 200, (step, r.status_code, r.text[:500])
        self.page = r.text
        found = TOKEN.search(r.text)
        self.token = found.group(1) if found else self.token
        return r

    def send(self, step: str, answers: dict, *, expect_errors: bool = False):
        """POST a page's answers (its form token added); returns where it led, or the page with errors."""
        if not self.token:
            self.open(step)
        r = self.client.post(
            f"{self.base}/{step}", data={"csrf_token": self.token, **answers}, follow_redirects=False
        )
        if expect_errors:
            assert r.status_code == 200, (step, r.status_code)
            self.page = r.text
            return self.errors()
        self.page = r.text
        assert r.status_code == 303, (step, r.status_code, self.errors_of(r.text) or r.text[:800])
        return r.headers["location"]

    def errors(self) -> list[str]:
        return self.errors_of(self.page)

    @staticmethod
    def errors_of(html: str) -> list[str]:
        return [" ".join(m.split()) for m in ERROR.findall(html)]

    def apply(self, answers: dict) -> str:
        """The whole journey with valid answers; the reference the confirmation shows."""
        self.open()
        for step in ("who", "victim", "consent", "name", "contact", "language"):
            if step in answers:
                self.open(step)
                self.send(step, answers[step])
        for n, item in enumerate(answers["incidents"], start=1):
            self.open(f"incident/{n}")
            self.send(f"incident/{n}", item)
            self.open("incidents")
            self.send("incidents", {"another": "yes" if n < len(answers["incidents"]) else "no"})
        for step in ("statement", "accessibility", "share"):
            self.open(step)
            self.send(step, answers[step])
        self.open("check")
        where = self.send("check", {})
        assert where.endswith("/done"), where
        r = self.open("done")
        return REFERENCE.search(r.text).group(1).strip()


def open_case(client, link: str) -> str:
    """Open an applicant's private link (a path, /case/TOKEN) and return their case page."""
    opened = client.get(link, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/case", (link, opened.status_code)
    page = client.get("/case", follow_redirects=False)
    assert page.status_code == 200, page.status_code
    return page.text


def statuses(app, paths, client: tuple[str, int]) -> list[int]:
    """GET each path from one client straight through the ASGI application (no HTTP client in between,
    so thousands of requests take seconds): the status of each answer."""
    import asyncio

    async def get(path: str) -> int:
        answer: dict = {}

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message):
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"testserver")],
            "client": client,
            "server": ("testserver", 80),
        }
        await app(scope, receive, send)
        return answer["status"]

    async def run() -> list[int]:
        return [await get(path) for path in paths]

    return asyncio.run(run())


# -- cases as officers record them through the command line (the `trigger` fixture) ------------------

AHEAD = ago(-365)  # a due date a year ahead


def activate(trigger, applicant="Ann Example", received="2026-03-02") -> str:
    return trigger.json(
        "activate",
        "--applicant",
        applicant,
        "--received",
        received,
        "--channel",
        "phone",
        "--statement",
        "Nothing has changed",
    )["reference"]


def reviewed_case(trigger, *, outcome: bool, applicant="Ann Example") -> str:
    """A case received on 2 March 2026, met and assigned (reviewer Sam Reviewer, Jo Bloggs its point of
    contact), with hours, an evidence request and, when `outcome`, its outcome and an action plan."""
    ref = activate(trigger, applicant=applicant)
    trigger("case", "update", ref, "--vulnerability", "Lives alone, anxious", "--reason", "told on the phone")
    trigger("decide", ref, "--met", "--reason", "discretion", "--on", "2026-03-10")
    trigger("assign", ref, "--lead", "cbc", "--reviewer", "Sam Reviewer", "--on", "2026-03-11")
    trigger(
        "case", "update", ref, "--spoc", "Jo Bloggs", "--spoc-email", "jo@example.gov.uk", "--reason", "named"
    )
    trigger("hours", ref, "--agency", "cbc", "--person", "Pat Hours", "--hours", "2", "--date", "2026-03-12")
    trigger("evidence", ref, "--agency", "emh", "--requested", "2026-03-12", "--due", "2026-03-20")
    if outcome:
        trigger("meeting", ref, "--at", "2026-03-20T10:00", "--held", "--on", "2026-03-20")
        trigger("finding", ref, "--category", "silo_working", "--text", "Internal finding text")
        trigger("recommend", ref, "--to", "police", "--text", "Share reports weekly")
        for action, owner, due in (
            ("Share logs weekly", "police", "2026-04-01"),
            ("Visit", "emh", AHEAD.isoformat()),
        ):
            trigger(
                "action", "add", ref, "--action", action, "--owner", owner, "--due", due, "--on", "2026-03-21"
            )
        trigger("action", "update", ref, "2", "--status", "in_progress", "--note", "Internal note: rang Pat")
        trigger("outcome", ref, "--on", "2026-03-25", "--victim-consulted")
    return ref
