"""What every page of the door shares: the door's state in this process (`Web`: the database, the
sessions, the templates, the limits) and how a page is answered (`render`, `problem`, `redirect`), in
the applicant's language with GOV.UK Frontend's layout (templates/base.html)."""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, PrefixLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from trigger.cases import online
from trigger.store.app import App
from trigger.web import journey
from trigger.web.drafts import COOKIE, Draft, Drafts
from trigger.web.follow import Visits
from trigger.web.forms import MAX_FIELDS, Problems
from trigger.web.guard import RateLimit
from trigger.web.words import LANGUAGES, say

HERE = Path(__file__).resolve().parent
SUBMISSIONS_PER_HOUR = 10  # applications one client may send in an hour (a support worker's few, not a bot's)
GUESSES_PER_HOUR = 20  # links one client may try that open nothing (a mistyped link or two; not a search)
DOOR_SECONDS = 30.0  # how long a partnership's name, letterhead and agencies are kept before reading again


@functools.cache
def templates() -> Environment:
    """The door's templates, one Environment for the process: they ship in the package and never change
    while it runs, so each is compiled once however many apps are made (a test makes one per test)."""
    return Environment(
        loader=ChoiceLoader(
            [
                FileSystemLoader(HERE / "templates"),
                PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja", "templates")}),
            ]
        ),
        autoescape=select_autoescape(default=True, default_for_string=True),
        auto_reload=False,  # the templates ship in the package: no file checks on every render
    )


class Web:
    """The door's state in this process: the database, the drafts, the templates, the limits."""

    def __init__(
        self,
        url: str | None,
        submissions_per_hour: int,
        policy: str | None = None,
        guesses_per_hour: int = GUESSES_PER_HOUR,
    ):
        self.url, self.policy = url, policy
        session_key, csrf_key = online.web_keys(self.app(None))
        self.drafts = Drafts(session_key, csrf_key)
        self.visits = Visits(session_key, csrf_key)
        self.submissions = RateLimit(submissions_per_hour)
        self.guesses = RateLimit(guesses_per_hour)
        self.env = templates()
        self._doors: dict[str | None, tuple[float, online.Door]] = {}

    def app(self, code: str | None) -> App:
        """The engine's App for one request: the public at the door of partnership `code`."""
        return App(self.url, actor=online.ACTOR, policy=self.policy, partnership=code, public=True)

    def door(self, code: str | None) -> online.Door:
        now = time.monotonic()
        cached = self._doors.get(code)
        if cached is not None and now - cached[0] < DOOR_SECONDS:
            return cached[1]
        found = online.door(self.app(None), code)
        self._doors[code] = (now, found)
        return found


# -- pages ---------------------------------------------------------------------------------------------


def language_of(draft: Draft | None, door: online.Door | None) -> str:
    if draft is not None and draft.language in LANGUAGES:
        return draft.language
    return "cy" if door is not None and door.welsh_first else "en"


def render(
    web: Web,
    request: Request,
    template: str,
    *,
    door: online.Door | None,
    draft: Draft | None,
    status: int = 200,
    problems: Problems | None = None,
    lang: str | None = None,
    csrf: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """A page in the applicant's language (`lang`, else the draft's, else the door's first), with the
    form token of their session (`csrf`, else the draft's)."""
    lang = lang or language_of(draft, door)
    base = f"/apply/{door.code}" if door is not None else "/apply"
    languages = [("cy", "Cymraeg"), ("en", "English")]
    if not (door is not None and door.welsh_first):
        languages.reverse()
    errors = dict(problems.messages) if problems else {}
    link = context.pop("error_link", lambda name: f"#{journey.anchor(name)}")
    html = web.env.get_template(template).render(
        t=lambda key, **values: say(key, lang, **values),
        lang=lang,
        door=door,
        base=base,
        start_url=context.pop("start_url", base),
        service=say(context.pop("service_key", "service"), lang),
        languages=languages,
        csrf=csrf if csrf is not None else (web.drafts.csrf(draft) if draft is not None else ""),
        errors=errors,
        error_list=[{"text": message, "href": link(name)} for name, message in errors.items()],
        values=context.pop("values", {}),
        **context,
    )
    response = HTMLResponse(html, status_code=status, headers={"cache-control": "no-store"})
    if draft is not None:
        keep(web, request, response, draft)
    return response


def keep(web: Web, request: Request, response: Response, draft: Draft) -> None:
    """The session cookie: signed, HttpOnly, SameSite=Lax, Secure when the request came over TLS."""
    response.set_cookie(
        COOKIE,
        web.drafts.cookie(draft),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/apply",
    )


def problem(
    web: Web,
    request: Request,
    status: int,
    title: str,
    text: str,
    door: online.Door | None = None,
    draft: Draft | None = None,
    **context: Any,
) -> HTMLResponse:
    start = f"/apply/{door.code}" if door is not None else "/apply"
    context.setdefault("start_url", start)
    return render(
        web,
        request,
        "problem.html",
        door=door,
        draft=draft,
        status=status,
        title_key=title,
        text_key=text,
        **context,
    )


def redirect(web: Web, request: Request, url: str, draft: Draft | None = None, background=None) -> Response:
    response = RedirectResponse(url, status_code=303, background=background)
    response.headers["cache-control"] = "no-store"
    if draft is not None:
        keep(web, request, response, draft)
    return response


async def read_form(request: Request):
    """The form a page sent, bounded in fields (the body's size is bounded by the guard)."""
    return await request.form(max_files=0, max_fields=MAX_FIELDS, max_part_size=200_000)
