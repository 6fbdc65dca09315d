"""The applicant's own case page, opened by their private link (docs/operations.md#the-applicants-link):

    /case/TOKEN                opens the link: starts a visit (`follow`) and goes to /case, so the
                               token leaves the address bar; an unknown, revoked or expired link gets
                               the same page; links that open nothing are counted per client (429)
    /case                      the case: its stage and the day each stage was reached

What the page shows is read by `trigger.read.applicant` for the case the link opens; no SQL and no
rule here, only words.
"""

from __future__ import annotations

from datetime import date

from babel.dates import format_date
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from trigger.cases import links
from trigger.read import applicant
from trigger.web.follow import COOKIE, Visit
from trigger.web.guard import client_of, plain_page
from trigger.web.pages import Web, problem, redirect, render
from trigger.web.words import LANGUAGES, say

HOME = "/case"


def day(value: date | None, language: str) -> str:
    if value is None:
        return ""
    return format_date(value, "d MMMM y", locale="cy" if language == "cy" else "en_GB")


def keep(web: Web, request: Request, response: Response, visit: Visit) -> None:
    """The visit's cookie: signed, HttpOnly, SameSite=Lax (the link is opened from a letter or an
    e-mail, another site), Secure when the request came over TLS; for the case pages only."""
    response.set_cookie(
        COOKIE,
        web.visits.cookie(visit),
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=HOME,
    )


def closed_link(web: Web, request: Request) -> Response:
    """What an unknown, revoked or expired link gets, alike (and a case page without a visit)."""
    lang = request.query_params.get("lang")
    response = problem(
        web,
        request,
        404,
        "link_title",
        "link_text",
        lang=lang if lang in LANGUAGES else "en",
        start_url=HOME,
        again=False,
        service_key="case_service",
        lang_href=HOME,
    )
    response.delete_cookie(COOKIE, path=HOME)
    return response


def routes(web: Web) -> list[Route]:
    def visit_of(request: Request) -> Visit | None:
        return web.visits.find(request.cookies.get(COOKIE))

    async def open_link(request: Request) -> Response:
        client = client_of(request.scope)
        if web.guesses.spent(client):  # the plain page: a guesser's thousands cost next to nothing
            return HTMLResponse(
                plain_page(429, "too_many_title", "too_many_links_text"),
                status_code=429,
                headers={"cache-control": "no-store"},
            )
        found = await run_in_threadpool(links.opened, web.app(None), request.path_params["token"])
        if found is None:
            web.guesses.allow(client)  # counted: a client trying links that open nothing is slowed
            return closed_link(web, request)
        visit = web.visits.start(found)
        response = redirect(web, request, HOME)
        keep(web, request, response, visit)
        return response

    async def page_of(request: Request) -> tuple[Visit, applicant.CasePage] | Response:
        """The visit and its case, or the answer when there is none (no visit, or its link stopped)."""
        visit = visit_of(request)
        if visit is None:
            return closed_link(web, request)
        page = await run_in_threadpool(applicant.case_page, web.app(None), visit.link)
        if page is None:
            return closed_link(web, request)
        wanted = request.query_params.get("lang")
        if request.method == "GET" and wanted is not None:
            if wanted in LANGUAGES:
                visit = visit.speaking(wanted)
            response = redirect(web, request, request.url.path)
            keep(web, request, response, visit)
            return response
        return visit, page

    async def home(request: Request) -> Response:
        found = await page_of(request)
        if isinstance(found, Response):
            return found
        visit, page = found
        lang = visit.language or page.language
        door = await run_in_threadpool(web.door, page.partnership or None)
        return render(
            web,
            request,
            "case.html",
            door=door,
            draft=None,
            lang=lang,
            csrf=web.visits.csrf(visit),
            start_url=HOME,
            service_key="case_service",
            page=page,
            history=[
                {"date": day(m.on, lang), "text": say(f"moved_{m.state}", lang)}
                for m in reversed(page.history)
            ],
            stage_text=say(f"stage_{page.stage}", lang),
        )

    return [
        Route(HOME, home),
        Route(HOME + "/{token:str}", open_link),
    ]
