"""The applicant's door as an ASGI application (Starlette), over the engine's online use-cases
(`trigger.cases.online`): no SQL and no rule here, only pages.

    /apply                     the start page (a county: the list of its partnerships' doors)
    /apply/CODE                a partnership's own start page, with its name and letterhead
    /apply/CODE/STEP           one question a page (`journey`), then check your answers, then sent
    /case/TOKEN, /case/...     the applicant's own case page, opened by their private link (`casepages`)
    /static/...                GOV.UK Frontend's assets and the door's own, served from the package

Every page is in English and Welsh (`?lang=cy` on any page switches; Welsh first under a Welsh
policy), works without JavaScript, and is answered through `guard.Guard` (headers, limits, log).
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from trigger.cases import online
from trigger.errors import NotFound, TriggerError
from trigger.web import casepages, journey, takepart
from trigger.web.drafts import COOKIE, Draft
from trigger.web.forms import Problems
from trigger.web.guard import BodyTooLarge, Guard, client_of, log
from trigger.web.pages import (
    GUESSES_PER_HOUR,
    HERE,
    SUBMISSIONS_PER_HOUR,
    Web,
    language_of,
    problem,
    read_form,
    redirect,
    render,
)
from trigger.web.words import LANGUAGES

# -- the application --------------------------------------------------------------------------------------


def create_app(
    url: str | None = None,
    *,
    submissions_per_hour: int = SUBMISSIONS_PER_HOUR,
    posts_per_hour: int | None = None,
    policy: str | None = None,
    guesses_per_hour: int = GUESSES_PER_HOUR,
):
    """The door over the database at `url` (default: TRIGGER_DB or the user's database). Its secrets
    (the session key, the form key) are made once and kept in the database's settings."""
    web = Web(url, submissions_per_hour, policy, guesses_per_hour)

    async def door_or_404(request: Request, code: str | None):
        try:
            return await run_in_threadpool(web.door, code)
        except NotFound:
            return None

    def session(request: Request) -> Draft | None:
        return web.drafts.find(request.cookies.get(COOKIE))

    async def home(request: Request) -> Response:
        return RedirectResponse("/apply", status_code=302)

    async def index(request: Request) -> Response:
        draft = session(request)
        doors = await run_in_threadpool(online.doors, web.app(None))
        if len(doors) == 1:
            return await start_page(request, doors[0], draft)
        if switched := switch_language(request, draft, None):
            return switched
        return render(web, request, "index.html", door=None, draft=draft, doors=doors, start_url="/apply")

    async def start(request: Request) -> Response:
        door = await door_or_404(request, request.path_params["code"])
        if door is None:
            return problem(web, request, 404, "not_found_title", "not_found_text")
        return await start_page(request, door, session(request))

    async def start_page(request: Request, door: online.Door, draft: Draft | None) -> Response:
        if switched := switch_language(request, draft, door):
            return switched
        return render(web, request, "start.html", door=door, draft=draft)

    def switch_language(request: Request, draft: Draft | None, door) -> Response | None:
        wanted = request.query_params.get("lang")
        if wanted is None:
            return None
        draft = draft or web.drafts.start()
        if wanted in LANGUAGES:
            draft.language = wanted
        return redirect(web, request, request.url.path, draft)

    async def logo(request: Request) -> Response:
        door = await door_or_404(request, request.path_params["code"])
        if door is None or door.logo is None:
            return problem(web, request, 404, "not_found_title", "not_found_text", door)
        return Response(
            door.logo, media_type=door.logo_type, headers={"cache-control": "public, max-age=3600"}
        )

    async def step(request: Request) -> Response:
        door = await door_or_404(request, request.path_params["code"])
        if door is None:
            return problem(web, request, 404, "not_found_title", "not_found_text")
        draft = session(request)
        name = request.path_params["step"]
        number = request.path_params.get("n")
        if request.method == "GET":
            if switched := switch_language(request, draft, door):
                return switched
        if draft is None:
            if request.method == "POST":
                return problem(web, request, 403, "expired_title", "expired_text", door)
            draft = web.drafts.start()
        page = journey.page(name, number)
        if page is None:
            return problem(web, request, 404, "not_found_title", "not_found_text", door, draft)
        lang = language_of(draft, door)
        if request.method == "GET":
            moved = journey.allowed(page, draft)
            if moved is not None:
                return redirect(web, request, f"/apply/{door.code}/{moved}", draft)
            context = journey.show(page, draft, door, lang)
            return render(web, request, page.template, door=door, draft=draft, **context)
        try:
            form = await read_form(request)
        except BodyTooLarge:
            return problem(web, request, 413, "too_large_title", "refused_text", door, draft)
        if not web.drafts.csrf_ok(draft, form.get("csrf_token")):
            return problem(web, request, 403, "expired_title", "expired_text", door)
        if form.get("website"):
            return problem(web, request, 400, "refused_title", "refused_text", door, draft)
        if page.name == "check":
            return await send(request, door, draft, lang)
        problems = Problems(lang)
        outcome = journey.take(page, form, draft, door, problems)
        if problems:
            context = journey.show(page, draft, door, lang, form)
            return render(web, request, page.template, door=door, draft=draft, problems=problems, **context)
        return redirect(web, request, f"/apply/{door.code}/{outcome}", draft)

    async def send(request: Request, door: online.Door, draft: Draft, lang: str) -> Response:
        if not web.submissions.allow(client_of(request.scope)):
            return problem(web, request, 429, "too_many_title", "too_many_text", door, draft)
        application = journey.application(draft)
        app = web.app(door.code)
        try:
            receipt = await run_in_threadpool(online.submit, app, application)
        except online.FieldProblem as exc:
            problems = Problems(lang)
            problems.refused(exc.field, exc)
            context = journey.show(journey.page("check", None), draft, door, lang)
            context["error_link"] = lambda name: f"/apply/{door.code}/{journey.page_of(name)}"
            return render(web, request, "check.html", door=door, draft=draft, problems=problems, **context)
        except TriggerError as exc:
            log.warning("an online application to %s was refused: %s", door.code, type(exc).__name__)
            return problem(web, request, 503, "broken_title", "broken_text", door, draft)
        draft.receipt = receipt
        draft.answers, draft.incidents = {}, []
        log.info("online application %s received for partnership %s", receipt.reference, door.code)
        mail = BackgroundTask(online.send_acknowledgement, web.app(door.code), receipt)
        return redirect(web, request, f"/apply/{door.code}/done", draft, background=mail)

    async def done(request: Request) -> Response:
        door = await door_or_404(request, request.path_params["code"])
        draft = session(request)
        if door is None:
            return problem(web, request, 404, "not_found_title", "not_found_text")
        if switched := switch_language(request, draft, door):
            return switched
        if draft is None or draft.receipt is None:
            return redirect(web, request, f"/apply/{door.code}")
        context = journey.confirmation(draft.receipt, language_of(draft, door))
        receipt = draft.receipt
        # the whole link as the applicant will use it: the door's public address, else this server's
        context["link"] = receipt.link or str(request.base_url).rstrip("/") + receipt.link_path
        return render(web, request, "done.html", door=door, draft=draft, **context)

    async def not_found(request: Request, exc) -> Response:
        return problem(web, request, 404, "not_found_title", "not_found_text")

    async def not_allowed(request: Request, exc) -> Response:
        return problem(web, request, 405, "not_found_title", "not_found_text")

    routes = [
        Route("/", home),
        Route("/apply", index),
        Route("/apply/{code}", start),
        Route("/apply/{code}/logo", logo),
        Route("/apply/{code}/done", done),
        Route("/apply/{code}/{step:str}/{n:int}", step, methods=["GET", "POST"]),
        Route("/apply/{code}/{step:str}", step, methods=["GET", "POST"]),
        *takepart.routes(web),  # before the case pages: /case/TOKEN would take /case/appeal
        *casepages.routes(web),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    starlette = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
    guard = Guard(starlette) if posts_per_hour is None else Guard(starlette, posts_per_hour=posts_per_hour)
    return guard
