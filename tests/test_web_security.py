"""The applicant's door against the open internet, across all its forms and case pages (Starlette's test
client over the test's own database, and `trigger web serve` in its own process for its log): every
POST the door takes is refused without its form token, with nothing recorded; a form token or a
letter of one case's visit never works in another's; a revoked link shows nothing, not even through
a visit it had started; and an applicant's link never reaches the server's log, nor a Referer.

What the case page tests (test_web_case.py, test_web_take_part.py) already prove is not repeated: ten
thousand guessed links throttled, a form naming another case's reference, a revoked link's form.
"""

from __future__ import annotations

import asyncio
import logging
import re

import httpx
import pytest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from tests.support.browser import Server
from tests.support.webdoor import TOKEN, Applicant, open_case, reviewed_case, victim_answers
from trigger.cases import links
from trigger.web import journey
from trigger.web.app import create_app
from trigger.web.guard import Guard, loggable


@pytest.fixture
def door(db, tmp_path, monkeypatch):
    monkeypatch.setenv("TRIGGER_OUTBOX", str(tmp_path / "outbox"))
    with TestClient(create_app(), follow_redirects=False) as client:
        yield client


def _post_paths(door) -> list[str]:
    """Every path the door takes a POST at (its routes, read from the application itself)."""
    paths = []
    for route in door.app.app.routes:  # the Guard around the Starlette application
        if isinstance(route, Route) and "POST" in (route.methods or ()):
            paths.append(route.path)
    return paths


def _shared_plan_case(trigger, applicant: str, email: str | None = None) -> str:
    """A case under review with its draft plan shared with the applicant (every case form is open)."""
    ref = reviewed_case(trigger, outcome=False, applicant=applicant)
    if email:
        trigger("case", "update", ref, "--email", email, "--reason", "given on the phone")
    trigger("action", "add", ref, "--action", "Visit", "--owner", "emh", "--due", "2027-01-31")
    trigger("consult", ref, "--share-plan")
    return ref


# each case form: what a person would send, and the case state that opens it
CASE_FORMS = {
    "/case/involvement": {"involvement": "attend"},
    "/case/statement": {"written_statement": "words"},
    "/case/plan": {"comment": "words"},
    "/case/notices": {"notices": "off"},
}


def _record(trigger, ref: str) -> dict:
    shown = trigger.json("show", ref)
    return {key: shown[key] for key in ("events", "corrections", "victim_statements", "consultations")}


def test_every_post_the_door_takes_is_refused_without_its_token_and_records_nothing(door, trigger):
    posts = _post_paths(door)
    assert {"/case/involvement", "/case/statement", "/case/plan", "/case/appeal", "/case/notices"} <= set(
        posts
    )
    # the application's steps: a draft half-way through, its answers kept only in the session
    applicant = Applicant(door)
    answers = victim_answers()
    applicant.open()
    applicant.open("who")
    applicant.send("who", answers["who"])
    steps = [name if name != "incident" else "incident/1" for name in journey.ORDER]  # every page
    for step in steps:
        for token in (None, "", "0" * 64, applicant.token[:-1] + "x"):
            data = {"who": "behalf", "applicant": "Mallory", "share_consent": "yes"}
            if token is not None:
                data["csrf_token"] = token
            answer = door.post(f"/apply/main/{step}", data=data)
            assert answer.status_code == 403, (step, token)
    assert trigger.json("list") == []
    applicant.open("name")  # the draft is as it was: who is still the victim, no name taken
    assert "Mallory" not in applicant.page
    assert 'value="victim" checked' in applicant.open("who").text
    # the case's forms, through a visit of the applicant's own case
    ref = _shared_plan_case(trigger, "Ann Example", email="ann@example.org")
    open_case(door, trigger("web", "link", ref).stdout.strip())
    before = _record(trigger, ref)
    real = TOKEN.search(door.get("/case").text).group(1)
    forms = {**CASE_FORMS, "/case/appeal": {"grounds": "facts", "detail": "words"}}
    assert set(forms) == {p for p in posts if p.startswith("/case")}
    for path, answers in forms.items():
        for token in (None, "", "forged", real[:-1] + ("0" if real[-1] != "0" else "1")):
            data = {"reference": ref, **answers} | ({"csrf_token": token} if token is not None else {})
            answer = door.post(path, data=data)
            assert answer.status_code == 403, (path, token)
            assert "could not accept this form" in answer.text
    assert _record(trigger, ref) == before
    # and a form without its visit at all (no cookie): refused alike
    stranger = TestClient(door.app, follow_redirects=False)
    for path, answers in forms.items():
        answer = stranger.post(path, data={"csrf_token": real, "reference": ref, **answers})
        assert answer.status_code in (403, 404), path
    assert _record(trigger, ref) == before


def test_one_visits_form_token_and_letters_never_work_for_another_case(db, trigger, tmp_path, monkeypatch):
    """Two applicants, each at their own page: every form sent with the other visit's token (and each
    case's reference, in turn) is refused, and neither can download the other's letters."""
    monkeypatch.setenv("TRIGGER_OUTBOX", str(tmp_path / "outbox"))
    app = create_app()
    mine = _shared_plan_case(trigger, "Ann Example", email="ann@example.org")
    theirs = _shared_plan_case(trigger, "Bob Neighbour", email="bob@example.org")
    for ref in (mine, theirs):
        trigger("letter", ref, "acknowledgement", "--format", "txt", "-o", tmp_path / f"{ref}.txt")
    with (
        TestClient(app, follow_redirects=False, client=("198.51.100.1", 1)) as ann,
        TestClient(app, follow_redirects=False, client=("198.51.100.2", 1)) as bob,
    ):
        open_case(ann, trigger("web", "link", mine).stdout.strip())
        open_case(bob, trigger("web", "link", theirs).stdout.strip())
        bobs_token = TOKEN.search(bob.get("/case").text).group(1)
        before = {ref: _record(trigger, ref) for ref in (mine, theirs)}
        for path, answers in CASE_FORMS.items():
            for ref in (mine, theirs):
                answer = ann.post(path, data={"csrf_token": bobs_token, "reference": ref, **answers})
                assert answer.status_code == 403, (path, ref)
                assert "Bob Neighbour" not in answer.text and theirs not in answer.text
        assert {ref: _record(trigger, ref) for ref in (mine, theirs)} == before
        # each visit downloads its own letter 1, and that one only
        assert mine.encode() in ann.get("/case/letters/1").content
        assert theirs.encode() in bob.get("/case/letters/1").content
        assert ann.get("/case/letters/2").status_code == 404
        assert theirs not in ann.get("/case").text and mine not in bob.get("/case").text


def test_a_revoked_link_shows_nothing_even_to_the_visit_it_started(door, trigger, tmp_path):
    ref = _shared_plan_case(trigger, "Ann Example")
    trigger("letter", ref, "acknowledgement", "--format", "txt", "-o", tmp_path / "a.txt")
    link = trigger("web", "link", ref).stdout.strip()
    open_case(door, link)
    assert door.get("/case/letters/1").status_code == 200
    trigger("web", "link", ref, "--revoke", "--reason", "phone stolen")
    dead = door.get("/case/" + links.new_token()).text  # a link that never existed
    for path in ("/case", "/case/letters/1", "/case/involvement", "/case/statement", "/case/plan", link):
        answer = door.get(path)
        assert answer.status_code == 404, path
        assert ref not in answer.text and "Ann Example" not in answer.text and "Visit" not in answer.text
        assert answer.content != (tmp_path / "a.txt").read_bytes()
    assert door.get(link).text == dead  # answered as a link that never existed


def test_every_link_on_the_case_pages_stays_on_the_door_and_sends_no_referrer(door, trigger, tmp_path):
    ref = _shared_plan_case(trigger, "Ann Example", email="ann@example.org")
    trigger("letter", ref, "acknowledgement", "--format", "txt", "-o", tmp_path / "a.txt")
    link = trigger("web", "link", ref).stdout.strip()
    opened = door.get(link)
    answers = [opened, door.get("/case/" + links.new_token()), door.get("/case/short")]
    for path in (
        "/case",
        "/case/involvement",
        "/case/statement",
        "/case/plan",
        "/case/letters/1",
        "/case?lang=cy",
    ):
        answers.append(door.get(path))
    for answer in answers:
        assert answer.headers["referrer-policy"] == "no-referrer", answer.url
        page = answer.text if "html" in answer.headers.get("content-type", "") else ""
        for href in re.findall(r'(?:href|src|action)="([^"]*)"', page):
            # nothing to another site: a path of the door, a fragment, or the point of contact's e-mail
            assert href.startswith(("/", "#", "?", "mailto:")) and not href.startswith("//"), href
        assert "referrer" not in page.lower(), answer.url  # no page loosens the header
        assert 'rel="opener"' not in page


def test_the_log_names_no_token_not_even_part_of_one():
    token = links.new_token()
    for path in (
        f"/case/{token}",
        f"/case/{token[:12]}",  # a link cut short when copied from a letter
        f"/case/{token[:3]}",
        f"/case/{token}/more",
        f"/case/{token}%20",
        f"/case/involvement/{token}",  # a page's name typed before the link
        f"/case/letters/{token}",
    ):
        assert token[:3] not in loggable(path).removeprefix("/case/"), path
    for page in (
        "/case",
        "/case/involvement",
        "/case/statement",
        "/case/plan",
        "/case/appeal",
        "/case/notices",
    ):
        assert loggable(page) == page
    assert loggable("/case/letters/2") == "/case/letters/2"
    assert loggable("/apply/main/incident/2") == "/apply/main/incident/2"


@pytest.mark.slow
def test_the_servers_own_log_never_holds_a_token(db, trigger, tmp_path):
    """`trigger web serve` in its own process, its whole log read: links opened, cut short, revoked,
    unknown, with a query, a form sent and a letter downloaded; no token, nor any 8 characters of one."""
    ref = _shared_plan_case(trigger, "Ann Example", email="ann@example.org")
    trigger("letter", ref, "acknowledgement", "--format", "txt", "-o", tmp_path / "a.txt")
    first = trigger("web", "link", ref).stdout.strip()
    link = trigger("web", "link", ref, "--reissue", "--reason", "lost").stdout.strip()
    tokens = [first.rpartition("/")[2], link.rpartition("/")[2]]
    server = Server(tmp_path)
    try:
        with httpx.Client(base_url=server.url, follow_redirects=False, timeout=60) as client:
            assert client.get(link).status_code == 303
            page = client.get("/case").text
            csrf = TOKEN.search(page).group(1)
            answer = client.post(
                "/case/statement", data={"csrf_token": csrf, "reference": ref, "written_statement": "words"}
            )
            assert answer.status_code == 303
            assert client.get("/case/letters/1").status_code == 200
            for path in (first, link[:20], link + "?lang=cy", link + "/x", f"/case/{links.new_token()}"):
                client.get(path)
            client.post(link, data={"csrf_token": csrf})
            trigger("web", "link", ref, "--revoke", "--reason", "phone stolen")
            assert client.get(link).status_code == 404
            assert client.get("/case").status_code == 404
    finally:
        assert server.stop() == 0
    log = server.log_path.read_text()
    assert (
        "GET /case/[link] 303" in log and "GET /case/[link] 404" in log and "POST /case/statement 303" in log
    )
    for token in tokens:
        pieces = {token[i : i + 8] for i in range(len(token) - 7)}
        assert not [p for p in pieces if p in log], "a piece of a token is in the log"
    assert "Traceback" not in log


def test_the_log_times_a_page_to_its_last_byte_and_the_work_after_it_apart(caplog):
    async def after() -> None:
        await asyncio.sleep(0.2)  # an e-mail sent once the applicant has the page

    async def page(request):
        return PlainTextResponse("done", background=BackgroundTask(after))

    door = Guard(Starlette(routes=[Route("/apply/main/done", page)]))
    with caplog.at_level(logging.INFO, logger="trigger.web"), TestClient(door) as client:
        assert client.get("/apply/main/done").text == "done"
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("GET /apply/main/done")]
    found = re.fullmatch(r"GET /apply/main/done 200 ([\d.]+)ms \(then ([\d.]+)ms after it\)", line)
    assert found, line
    assert float(found[2]) >= 200  # the work after the page is named apart, never in the page's time
