"""The applicant's own case page, opened by their private link (docs/operations.md#the-applicants-link):

    /case/TOKEN                opens the link: starts a visit (`follow`) and goes to /case, so the
                               token leaves the address bar; an unknown, revoked or expired link gets
                               the same page; links that open nothing are counted per client (429)
    /case                      the case: its stage and the day each stage was reached, what happens
                               next (who, by when, and when late what was said of the delay), the
                               point of contact, the letters sent and the action plan
    /case/letters/N            register entry N, exactly as issued (a download)
    /case/notices              (POST) turn the e-mails about the case off or on again
                               (docs/operations.md#telling-the-applicant)

What the page shows is read by `trigger.read.applicant` for the case the link opens; no SQL and no
rule here, only words.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from babel.dates import format_date, format_time
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from letters.words import OTHER_HELP
from trigger.cases import corrections, links
from trigger.codes import LETTER_TITLES
from trigger.read import applicant
from trigger.web.follow import COOKIE, Visit
from trigger.web.guard import BodyTooLarge, client_of, plain_page
from trigger.web.pages import Web, problem, read_form, redirect, render
from trigger.web.words import LANGUAGES, TEXT, say, sentence

HOME = "/case"
# what the page confirms after one of the applicant's forms was recorded (`trigger.web.takepart`)
DONE = {
    "involvement": ("done_involvement", None),
    "statement": ("done_statement", None),
    "comment": ("done_comment", None),
    "appeal": ("done_appeal", "done_appeal_text"),
}
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "html": "text/html; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
}


def day(value: date | None, language: str) -> str:
    if value is None:
        return ""
    return format_date(value, "d MMMM y", locale="cy" if language == "cy" else "en_GB")


def plan_words(actions: tuple[applicant.PlanAction, ...], lang: str) -> list[dict[str, Any]]:
    """Each action of a plan as the page says it: who, by when and how far it has got."""
    cy = lang == "cy"
    return [
        {
            "number": a.number,
            "action": a.action,
            "who": a.owner_cy if cy else a.owner,
            "due": day(a.due, lang),
            "progress": say("progress_late", lang)
            if a.late
            else (
                say("progress_done_on", lang, date=day(a.completed_on, lang))
                if a.status == "done" and a.completed_on
                else say(f"progress_{a.status}", lang)
            ),
            "tag": "red"
            if a.late
            else {"done": "green", "in_progress": "blue", "dropped": "grey"}.get(a.status, "grey"),
        }
        for a in actions
    ]


def part_words(page: applicant.CasePage, lang: str) -> dict[str, Any]:
    """What the page says of the applicant's part in the review while it runs (how they will take part
    in the meeting, their statements, the draft plan shared with them) and of an appeal open to them."""
    part, appeal = page.taking_part, page.appeal
    out: dict[str, Any] = {"part": None, "appeal_open": None}
    if part is not None:
        meeting = say("part_meeting_none", lang)
        if part.meeting_at is not None:
            when = part.meeting_at
            meeting = (
                say("part_meeting_held", lang, date=day(when.date(), lang))
                if part.meeting_held
                else say(
                    "part_meeting_at",
                    lang,
                    date=day(when.date(), lang),
                    time=format_time(when.time(), "HH:mm", locale="cy" if lang == "cy" else "en_GB"),
                )
            )
        out["part"] = {
            "how": say(f"involvement_{part.involvement}", lang) if part.involvement else None,
            "meeting": meeting,
            "held": part.meeting_held,
            "statements": [say("part_statement_on", lang, date=day(d, lang)) for d in part.statements],
            "shared": day(part.plan_shared, lang) if part.plan_shared else None,
            "draft": plan_words(part.draft_plan, lang),
            "commented": say("draft_commented", lang, dates=", ".join(day(d, lang) for d in part.comments))
            if part.comments
            else None,
        }
    if appeal is not None:
        key = "appeal_open_late" if appeal.late else f"appeal_open_{appeal.against}"
        out["appeal_open"] = say(key, lang, date=day(appeal.last_day, lang))
    return out


def words_of(page: applicant.CasePage, lang: str) -> dict[str, Any]:
    """What the case page says, in the applicant's language: the engine decided it all (`page`)."""
    cy = lang == "cy"
    step = page.next_step
    next_step = None
    if step is not None:
        delay = step.delay
        dated = step.due is not None and not step.late  # a late step's day is in its warning
        key = f"next_{step.what}" + ("" if dated or f"next_{step.what}_nodate" not in TEXT else "_nodate")
        next_step = {
            "text": sentence(
                say(key, lang, name=step.name_cy if cy else step.name, date=day(step.due, lang))
            ),
            "late": say("late_text", lang, date=day(step.due, lang)) if step.late else None,
            "delay_said": say("delay_said", lang, date=day(delay.written_on, lang)) if delay else None,
            "delay_reason": delay.reason if delay else None,
            "delay_until": say("delay_until", lang, date=day(delay.until, lang))
            if delay and delay.until
            else None,
        }
    contact = page.contact
    letters_ = [
        {
            "href": f"{HOME}/letters/{entry.number}",
            "title": LETTER_TITLES[entry.kind][1 if cy else 0],
            "format": say(f"format_{entry.format}", lang),
            "sent": day(entry.issued_on, lang),
        }
        for entry in reversed(page.letters)
    ]
    plan = plan_words(page.plan, lang)
    return {
        "stage_text": say(f"stage_{page.stage}", lang),
        "history": [
            {"date": day(m.on, lang), "text": say(f"moved_{m.state}", lang)} for m in reversed(page.history)
        ],
        "next_step": next_step,
        "contact": {
            "name": contact.name if contact.person else say("poc_team", lang),
            "role": (contact.role_cy if cy else contact.role) if contact.person else None,
            "email": contact.email,
            "telephone": contact.telephone,
            "partnership": contact.partnership,
            "address": contact.address,
        },
        "letters": letters_,
        "plan": plan,
        # once there is an outcome (or the case closed), where else to turn, as the letters say it
        "other_help": OTHER_HELP[lang] if page.stage in ("outcome", "closed") else None,
        **part_words(page, lang),
    }


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


async def render_case(
    web: Web, request: Request, template: str, visit: Visit, page: applicant.CasePage, **context: Any
) -> Response:
    """A page of the applicant's case, in their language, with their partnership's name and letterhead
    and the visit's form token."""
    door = await run_in_threadpool(web.door, page.partnership or None)
    return render(
        web,
        request,
        template,
        door=door,
        draft=None,
        lang=visit.language or page.language,
        csrf=web.visits.csrf(visit),
        start_url=HOME,
        service_key="case_service",
        page=page,
        **context,
    )


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
        return await render_case(
            web,
            request,
            "case.html",
            visit,
            page,
            done=DONE.get(request.query_params.get("done", "")),
            **words_of(page, visit.language or page.language),
        )

    async def letter(request: Request) -> Response:
        visit = visit_of(request)
        if visit is None:
            return closed_link(web, request)
        number = request.path_params["n"]
        copy = await run_in_threadpool(applicant.letter_copy, web.app(None), visit.link, number)
        if copy is None:
            return problem(
                web,
                request,
                404,
                "not_found_title",
                "not_found_text",
                start_url=HOME,
                service_key="case_service",
            )
        name = f"{copy.reference}-{copy.number:02d}-{copy.issued_on.isoformat()}-{copy.kind}.{copy.format}"
        return Response(
            copy.content,
            media_type=MEDIA_TYPES[copy.format],
            headers={
                # saved, never shown as a page of the door; and if opened, with nothing allowed to run
                "content-disposition": f'attachment; filename="{name}"',
                "content-security-policy": "default-src 'none'; sandbox",
                "cache-control": "no-store",
            },
        )

    async def notices(request: Request) -> Response:
        visit = visit_of(request)
        try:
            form = await read_form(request)
        except BodyTooLarge:
            return problem(web, request, 413, "too_large_title", "refused_text", start_url=HOME)
        if not web.visits.csrf_ok(visit, form.get("csrf_token")):
            return problem(
                web, request, 403, "expired_title", "expired_text", start_url=HOME, service_key="case_service"
            )
        assert visit is not None  # csrf_ok holds only for a visit
        wanted = form.get("notices")
        if wanted not in ("on", "off"):
            return problem(web, request, 400, "refused_title", "refused_text", start_url=HOME)
        done = await run_in_threadpool(corrections.notices_online, web.app(None), visit.link, wanted == "on")
        if done is None:
            return closed_link(web, request)
        return redirect(web, request, HOME + "#notices")

    return [
        Route(HOME, home),
        Route(HOME + "/notices", notices, methods=["POST"]),
        Route(HOME + "/letters/{n:int}", letter),
        Route(HOME + "/{token:str}", open_link),
    ]
