"""The applicant's forms at their case page (one question a page, GOV.UK Design System patterns):

    /case/involvement     how they will take part in the review meeting (while the review runs)
    /case/statement       a written statement for the meeting (until it is held)
    /case/plan            the draft action plan the reviewer shared, and their comments on it
    /case/appeal          an appeal: the policy's ground, their own words, and after the window why
                          it is late (while `trigger appeal` would take one)

Each is recorded by `trigger.cases.applicant`, through the use-case the officer's command calls. Every
POST carries the visit's form token and the case's reference: a missing or wrong token is refused
(403), a reference that is not the case the visit's link opens, or a link revoked since, records
nothing and gets the dead-link page. Forms are counted per link as well as per client (429).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from trigger.cases import applicant as taking_part
from trigger.correspondence import dispatch
from trigger.errors import TriggerError
from trigger.read import applicant
from trigger.web import casepages
from trigger.web.follow import Visit
from trigger.web.forms import Problems, text, wording
from trigger.web.guard import BodyTooLarge, RateLimit, log
from trigger.web.pages import Web, problem, read_form, redirect
from trigger.web.words import say

HOME = casepages.HOME
FORMS_PER_LINK = 30  # forms one link may send in an hour: a person's few answers, not a flood
INVOLVEMENT = ("attend", "virtual", "representative", "statement", "none")


def day(value, lang: str) -> str:
    return casepages.day(value, lang)


def routes(web: Web) -> list[Route]:
    forms_per_link = RateLimit(FORMS_PER_LINK)

    async def visit_and_page(request: Request) -> tuple[Visit, applicant.CasePage] | Response:
        visit = web.visits.find(request.cookies.get(casepages.COOKIE))
        if visit is None:
            return casepages.closed_link(web, request)
        page = await run_in_threadpool(applicant.case_page, web.app(None), visit.link)
        if page is None:
            return casepages.closed_link(web, request)
        return visit, page

    async def show(
        request: Request,
        visit: Visit,
        page: applicant.CasePage,
        template: str,
        problems: Problems | None = None,
        values: dict | None = None,
        **context: Any,
    ) -> Response:
        return await casepages.render_case(
            web,
            request,
            template,
            visit,
            page,
            lang_href=request.url.path,
            back=HOME,
            problems=problems,
            values=values or {},
            **context,
        )

    def closed(request: Request, lang: str) -> Response:
        return problem(
            web,
            request,
            409,
            "part_closed_title",
            "part_closed_text",
            lang=lang,
            start_url=HOME,
            service_key="case_service",
            lang_href=HOME,
            again=False,
            back=HOME,
        )

    def form_page(
        template: str,
        open_now: Callable[[applicant.CasePage], bool],
        take: Callable[[Web, Visit, applicant.CasePage, Any], Any],
        done: str,
        context: Callable[[applicant.CasePage, str], dict] = lambda page, lang: {},
        after: Callable[[Web, Visit], BackgroundTask | None] = lambda web, visit: None,
    ):
        async def handle(request: Request) -> Response:
            found = await visit_and_page(request)
            if isinstance(found, Response):
                return found
            visit, page = found
            lang = visit.language or page.language
            if request.method == "GET":
                wanted = request.query_params.get("lang")
                if wanted is not None:
                    if wanted in ("en", "cy"):
                        visit = visit.speaking(wanted)
                    response = redirect(web, request, request.url.path)
                    casepages.keep(web, request, response, visit)
                    return response
                if not open_now(page):
                    return redirect(web, request, HOME)
                return await show(request, visit, page, template, **context(page, lang))

            def refusal(status: int, title: str, text_key: str) -> Response:
                return problem(web, request, status, title, text_key, lang=lang, start_url=HOME)

            try:
                form = await read_form(request)
            except BodyTooLarge:
                return problem(
                    web, request, 413, "too_large_title", "refused_text", lang=lang, start_url=HOME
                )
            if not web.visits.csrf_ok(visit, form.get("csrf_token")):
                return refusal(403, "expired_title", "expired_text")
            if form.get("website"):
                return refusal(400, "refused_title", "refused_text")
            if not forms_per_link.allow(f"link-{visit.link}"):
                return problem(
                    web, request, 429, "too_many_title", "too_many_text", lang=lang, start_url=HOME
                )
            if not open_now(page):
                return closed(request, lang)
            try:
                await run_in_threadpool(take, web, visit, page, form)
            except taking_part.NotYours:
                log.warning("a case form was refused: it was not for the case its link opens")
                return casepages.closed_link(web, request)
            except taking_part.Refused as exc:
                problems = Problems(lang)
                for name, kind, limit in exc.refusals:
                    problems.add(name, wording(name, kind, lang, limit))
                values = {key: form.get(key) for key in form.keys() if key not in ("csrf_token", "website")}
                return await show(request, visit, page, template, problems, values, **context(page, lang))
            except TriggerError as exc:
                log.info("a case form could not be taken now: %s", type(exc).__name__)
                return closed(request, lang)
            log.info("the applicant's %s was recorded", done)
            return redirect(web, request, f"{HOME}?done={done}", background=after(web, visit))

        return handle

    def involvement(web: Web, visit: Visit, page: applicant.CasePage, form) -> None:
        taking_part.choose_involvement(
            web.app(None), visit.link, text(form, "reference"), text(form, "involvement")
        )

    def statement(web: Web, visit: Visit, page: applicant.CasePage, form) -> None:
        taking_part.give_statement(
            web.app(None), visit.link, text(form, "reference"), text(form, "written_statement")
        )

    def comment(web: Web, visit: Visit, page: applicant.CasePage, form) -> None:
        taking_part.comment_on_plan(web.app(None), visit.link, text(form, "reference"), text(form, "comment"))

    def appeal(web: Web, visit: Visit, page: applicant.CasePage, form) -> None:
        taking_part.appeal(
            web.app(None),
            visit.link,
            text(form, "reference"),
            text(form, "grounds"),
            text(form, "detail"),
            text(form, "late_reason"),
        )

    def involvement_context(page: applicant.CasePage, lang: str) -> dict:
        current = page.taking_part.involvement if page.taking_part else None
        return {
            "choices": [
                {
                    "value": code,
                    "text": say(f"involvement_{code}", lang),
                    "hint": {"text": say("involvement_representative_hint", lang)}
                    if code == "representative"
                    else None,
                    "checked": code == current,
                }
                for code in INVOLVEMENT
            ]
        }

    def plan_context(page: applicant.CasePage, lang: str) -> dict:
        return casepages.part_words(page, lang)

    def appeal_context(page: applicant.CasePage, lang: str) -> dict:
        a = page.appeal
        if a is None:
            return {}
        return {
            "against": a.against,
            "late": a.late,
            "last_day": day(a.last_day, lang),
            "grounds": [(g.code, g.text_cy if lang == "cy" else g.text) for g in a.grounds],
        }

    def acknowledge(web: Web, visit: Visit) -> BackgroundTask:
        return BackgroundTask(dispatch.acknowledge_online_appeal, web.app(None), visit.link)

    def part_open(page: applicant.CasePage) -> bool:
        return page.taking_part is not None

    def statement_open(page: applicant.CasePage) -> bool:
        return page.taking_part is not None and not page.taking_part.meeting_held

    def plan_open(page: applicant.CasePage) -> bool:
        return page.taking_part is not None and page.taking_part.plan_shared is not None

    def appeal_open(page: applicant.CasePage) -> bool:
        return page.appeal is not None

    methods = ["GET", "POST"]
    return [
        Route(
            HOME + "/involvement",
            form_page("case_involvement.html", part_open, involvement, "involvement", involvement_context),
            methods=methods,
        ),
        Route(
            HOME + "/statement",
            form_page("case_statement.html", statement_open, statement, "statement"),
            methods=methods,
        ),
        Route(
            HOME + "/plan",
            form_page("case_plan.html", plan_open, comment, "comment", plan_context),
            methods=methods,
        ),
        Route(
            HOME + "/appeal",
            form_page("case_appeal.html", appeal_open, appeal, "appeal", appeal_context, acknowledge),
            methods=methods,
        ),
    ]
