"""The applicant takes part in their own case at its page (Starlette's test client over the test's own
database; the officer works through the real command line): how they will take part in the review
meeting, a written statement, comments on the draft action plan the reviewer shared, and an appeal,
each recorded as the officer's command records it (actor "applicant (online)") and read back with
`trigger show --json`, `export`, the chair's bundle and the reviewer's reminder. Mistakes are shown
GOV.UK style with nothing recorded; a form without its token, for another case, or through a revoked
link records nothing."""

from __future__ import annotations

import re
import zipfile
from datetime import date

import pytest
from starlette.testclient import TestClient

from tests.support.webdoor import TOKEN, Applicant, activate, open_case, reviewed_case
from trigger.cases import applicant as taking_part
from trigger.errors import NotPermitted
from trigger.store.app import App
from trigger.web.app import create_app

ONLINE = "applicant (online)"


def today() -> str:
    """The day the door records (read when asked: a run may pass midnight)."""
    return date.today().isoformat()


@pytest.fixture
def door(db, tmp_path, monkeypatch):
    monkeypatch.setenv("TRIGGER_OUTBOX", str(tmp_path / "outbox"))
    with TestClient(create_app(), follow_redirects=False) as client:
        yield client


def form_token(client, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    return TOKEN.search(page.text).group(1)


def post(client, path: str, ref: str, **answers):
    return client.post(path, data={"csrf_token": form_token(client, path), "reference": ref, **answers})


def errors_of(html: str) -> list[str]:
    return Applicant.errors_of(html)


@pytest.fixture
def reviewed(db, snapshot) -> str:
    """A case under review (`reviewed_case`), built once per test process and copied for each test;
    a test names it before `door`, so the copy is made before its door opens."""
    return snapshot("take-part-reviewed", lambda: reviewed_case(db, outcome=False))


@pytest.fixture
def concluded(db, snapshot) -> str:
    """A case whose outcome was issued on 25 March 2026 (`reviewed_case`), built as `reviewed` is."""
    return snapshot("take-part-concluded", lambda: reviewed_case(db, outcome=True))


def under_review(trigger, door, ref: str) -> str:
    """The case under review (`reviewed`) with its applicant at their page (the client holds the visit)."""
    open_case(door, trigger("web", "link", ref).stdout.strip())
    return ref


# -- taking part in the review ------------------------------------------------------------------------


def test_the_applicant_chooses_how_to_take_part_as_case_update_records_it(reviewed, door, trigger):
    ref = under_review(trigger, door, reviewed)
    page = door.get("/case").text
    assert "Take part in the review" in page and "You have not told us yet" in page
    assert f'<input type="hidden" name="reference" value="{ref}">' in door.get("/case/involvement").text
    answer = post(door, "/case/involvement", ref, involvement="attend")
    assert answer.status_code == 303 and answer.headers["location"] == "/case?done=involvement"
    page = door.get("/case?done=involvement").text
    assert "We have recorded how you will take part" in page
    assert "I will come to the meeting in person" in page
    shown = trigger.json("show", ref)
    assert shown["victim_involvement"] == {"choice": "attend", "recorded": today(), "by": ONLINE}
    (fix,) = [c for c in shown["corrections"] if c["field"] == "involvement"]
    assert (fix["old"], fix["new"], fix["by"]) == (None, "attend", ONLINE)
    assert "chosen by the applicant at their case page" in fix["reason"]
    post(door, "/case/involvement", ref, involvement="virtual")  # changeable, as by the officer
    assert trigger.json("show", ref)["victim_involvement"]["choice"] == "virtual"
    assert f"Victim's involvement: virtual (recorded {today()}), by {ONLINE}" in trigger("show", ref).stdout


def test_a_written_statement_is_recorded_until_the_meeting_is_held(reviewed, door, trigger):
    ref = under_review(trigger, door, reviewed)
    words = "The noise starts at 2am.\nI have not slept properly since March."
    assert post(door, "/case/statement", ref, written_statement=words).status_code == 303
    shown = trigger.json("show", ref)
    assert shown["victim_statements"] == [{"on": today(), "text": words, "by": ONLINE}]
    assert "Given on" in door.get("/case").text
    assert "victim_statement by applicant (online): The noise starts at 2am." in trigger("export", ref).stdout
    trigger("meeting", ref, "--at", f"{today()}T09:00", "--held")
    page = door.get("/case").text
    assert "The review meeting has been held" in page and 'href="/case/statement"' not in page
    assert door.get("/case/statement").headers["location"] == "/case"
    late = post_with(door, "/case/statement", ref, written_statement="One more thing")
    assert late.status_code == 409 and "This can no longer be done here" in late.text
    assert len(trigger.json("show", ref)["victim_statements"]) == 1
    refused = trigger.fails("victim-statement", ref, "--text", "later words")
    assert "was held on" in refused.stderr


def post_with(client, path: str, ref: str, **answers):
    """POST with the token of the case page itself (the form page may no longer be offered)."""
    token = TOKEN.search(client.get("/case").text)
    token = token.group(1) if token else form_token(client, "/case/involvement")
    return client.post(path, data={"csrf_token": token, "reference": ref, **answers})


def test_the_draft_plan_is_shown_once_shared_and_the_applicants_comment_is_a_consultation(
    reviewed, door, trigger
):
    ref = under_review(trigger, door, reviewed)
    trigger("action", "add", ref, "--action", "Fit a door camera", "--owner", "emh", "--due", "2027-01-31")
    assert "Your draft action plan" not in door.get("/case").text
    assert door.get("/case/plan").headers["location"] == "/case"  # not shared yet
    assert "is shared with the applicant" in trigger("consult", ref, "--share-plan").stdout
    page = door.get("/case").text
    assert "Your draft action plan" in page and "Fit a door camera" in page
    assert "Comment on the draft action plan" in page
    words = "A camera will help, but the landlord should also move the bins."
    assert post(door, "/case/plan", ref, comment=words).status_code == 303
    shown = trigger.json("show", ref)
    assert shown["consultations"] == [{"on": today(), "response": words, "by": ONLINE}]
    assert shown["plan_shared"] == [today()]
    assert "You sent comments on" in door.get("/case").text
    # the outcome sees the plan as put to the victim: no warning
    trigger("meeting", ref, "--at", f"{today()}T09:00", "--held")
    trigger("finding", ref, "--category", "silo_working")
    trigger("recommend", ref, "--to", "police", "--text", "Share reports weekly")
    issued = trigger("outcome", ref)
    assert "was not put to the victim" not in issued.stderr


def test_mistakes_are_shown_gov_uk_style_and_nothing_is_recorded(reviewed, door, trigger):
    ref = under_review(trigger, door, reviewed)
    trigger("action", "add", ref, "--action", "Visit", "--owner", "emh", "--due", "2027-01-31")
    trigger("consult", ref, "--share-plan")
    before = trigger.json("show", ref)
    cases = [
        ("/case/involvement", {}, ["Select how you want to take part in the review meeting"]),
        (
            "/case/involvement",
            {"involvement": "dance"},
            ["Select how you want to take part in the review meeting"],
        ),
        ("/case/statement", {"written_statement": "   "}, ["Enter what you want the review meeting to know"]),
        (
            "/case/statement",
            {"written_statement": "x" * 10_001},
            ["Your statement must be 10,000 characters or fewer"],
        ),
        ("/case/plan", {"comment": ""}, ["Enter what you think of the draft action plan"]),
        (
            "/case/plan",
            {"comment": "bad \x00 byte"},
            ["Your comments must not include special characters, such as line breaks or hidden characters"],
        ),
    ]
    for path, answers, expected in cases:
        answer = post(door, path, ref, **answers)
        assert answer.status_code == 200, path
        assert errors_of(answer.text) == expected, (path, answers)
        assert "There is a problem" in answer.text and answer.text.count("govuk-error-summary__list") == 1
    after = trigger.json("show", ref)
    for key in ("victim_involvement", "victim_statements", "consultations", "corrections", "events"):
        assert after[key] == before[key], key


def test_a_form_in_welsh_is_answered_in_welsh(reviewed, door, trigger):
    ref = under_review(trigger, door, reviewed)
    door.get("/case?lang=cy")
    page = door.get("/case").text
    assert "Cymryd rhan yn yr adolygiad" in page
    answer = post(door, "/case/involvement", ref)
    assert errors_of(answer.text) == ["Dewiswch sut rydych am gymryd rhan yng nghyfarfod yr adolygiad"]
    assert "Mae problem wedi codi" in answer.text
    post(door, "/case/involvement", ref, involvement="virtual")
    assert "Byddaf yn ymuno â'r cyfarfod ar-lein" in door.get("/case").text.replace("&#39;", "'")


def test_a_post_without_its_token_is_refused_and_records_nothing(reviewed, door, trigger):
    ref = under_review(trigger, door, reviewed)
    before = trigger.json("show", ref)["events"]
    for path, answers in (
        ("/case/involvement", {"involvement": "attend"}),
        ("/case/statement", {"written_statement": "words"}),
    ):
        real = form_token(door, "/case/involvement")
        for token in (None, "forged", real[:-1] + ("0" if real[-1] != "0" else "1")):
            data = {"reference": ref, **answers} | ({"csrf_token": token} if token else {})
            answer = door.post(path, data=data)
            assert answer.status_code == 403, (path, token)
    assert trigger.json("show", ref)["events"] == before


def _shared(trigger, applicant: str) -> str:
    ref = reviewed_case(trigger, outcome=False, applicant=applicant)
    trigger("action", "add", ref, "--action", "Visit", "--owner", "emh", "--due", "2027-01-31")
    trigger("consult", ref, "--share-plan")
    return ref


def _appealable(trigger, applicant: str) -> str:
    ref = activate(trigger, applicant=applicant)
    trigger("decide", ref, "--not-met", "--reason", "Only one complaint")
    return ref


FORMS = {
    "/case/involvement": (_shared, {"involvement": "attend"}),
    "/case/statement": (_shared, {"written_statement": "words"}),
    "/case/plan": (_shared, {"comment": "words"}),
    "/case/appeal": (_appealable, {"grounds": "facts", "detail": "words"}),
}


@pytest.fixture
def pairs(db, snapshot) -> dict[str, list[str]]:
    """For each kind of case a form is for, two such cases, Ann Example's and Bob Neighbour's (built once
    per test process and copied for each test)."""

    def build() -> dict[str, list[str]]:
        return {
            make.__name__: [make(db, "Ann Example"), make(db, "Bob Neighbour")]
            for make in dict.fromkeys(make for make, _ in FORMS.values())
        }

    return snapshot("take-part-pairs", build)


@pytest.mark.parametrize("path", list(FORMS))
def test_a_form_naming_another_case_records_nothing_and_says_nothing_of_it(pairs, door, trigger, path):
    make, answers = FORMS[path]
    mine, theirs = pairs[make.__name__]
    assert trigger.json("show", theirs)["applicant"] == "Bob Neighbour"
    open_case(door, trigger("web", "link", mine).stdout.strip())
    before = {ref: trigger.json("show", ref)["events"] for ref in (mine, theirs)}
    answer = post(door, path, theirs, **answers)
    assert answer.status_code == 404 and "This link does not work" in answer.text
    assert theirs not in answer.text and "Bob Neighbour" not in answer.text
    assert {ref: trigger.json("show", ref)["events"] for ref in (mine, theirs)} == before
    assert door.get("/case").status_code == 404  # the visit ends with the refusal


def test_a_revoked_link_records_nothing(reviewed, door, trigger):
    ref = under_review(trigger, door, reviewed)
    token = form_token(door, "/case/statement")
    trigger("web", "link", ref, "--revoke", "--reason", "phone stolen")
    before = trigger.json("show", ref)["events"]
    answer = door.post(
        "/case/statement", data={"csrf_token": token, "reference": ref, "written_statement": "words"}
    )
    assert answer.status_code == 404 and "This link does not work" in answer.text
    assert trigger.json("show", ref)["events"] == before


def test_forms_are_limited_per_link(reviewed, trigger, tmp_path, monkeypatch):
    monkeypatch.setattr("trigger.web.takepart.FORMS_PER_LINK", 3)
    with TestClient(create_app(), follow_redirects=False) as door:
        ref = under_review(trigger, door, reviewed)
        codes = [
            post(door, "/case/statement", ref, written_statement=f"part {n}").status_code for n in range(4)
        ]
    assert codes == [303, 303, 303, 429]
    assert len(trigger.json("show", ref)["victim_statements"]) == 3


def test_the_public_cannot_call_an_officers_command_directly(db, trigger):
    ref = activate(trigger)
    from trigger.cases import duties

    with pytest.raises(NotPermitted):
        duties.victim_statement(App(actor=ONLINE, public=True), ref, on=None, text="words")
    with pytest.raises(taking_part.NotYours):
        taking_part.give_statement(App(actor=ONLINE, public=True), 999, ref, "words")


def test_the_bundle_and_the_reviewers_reminder_carry_the_applicants_part(reviewed, door, trigger, tmp_path):
    ref = under_review(trigger, door, reviewed)
    trigger("action", "add", ref, "--action", "Visit", "--owner", "emh", "--due", "2027-01-31")
    trigger("consult", ref, "--share-plan")
    post(door, "/case/involvement", ref, involvement="statement")
    post(door, "/case/statement", ref, written_statement="My own words for the panel")
    post(door, "/case/plan", ref, comment="My view of the plan")
    trigger("reminders", "run")  # the review is overdue: its reminder goes out
    outbox = "\n".join(p.read_text() for p in (tmp_path / "outbox").glob("*.eml"))
    assert "The victim's chosen involvement in the review meeting: send a written statement" in outbox
    assert "Written statements from the victim: 1; comments on the draft action plan: 1" in outbox
    assert "My own words" not in outbox  # counts only: the words stay in the case
    trigger("meeting", ref, "--at", f"{today()}T09:00", "--held")
    trigger("finding", ref, "--category", "silo_working")
    trigger("recommend", ref, "--to", "police", "--text", "Share reports weekly")
    trigger("outcome", ref)
    trigger("appeal", ref, "--received", today(), "--grounds", "facts", "--detail", "The plan is too thin")
    minutes = _bundle_minutes(trigger, tmp_path, ref)
    assert f"Written statement ({today()}, by {ONLINE}): My own words for the panel" in minutes
    assert f"On the draft action plan ({today()}, by {ONLINE}): My view of the plan" in minutes
    assert f"Chosen involvement: send a written statement (recorded {today()}, by {ONLINE})" in minutes


def _bundle_minutes(trigger, tmp_path, ref) -> str:
    out = tmp_path / f"{ref}-bundle.zip"
    trigger("bundle", ref, "-o", out)
    with zipfile.ZipFile(out) as zf:
        return zf.read("03-meeting-minutes-summary.txt").decode()


# -- appealing ------------------------------------------------------------------------------------------


def not_met_today(trigger, door) -> str:
    ref = activate(trigger)
    trigger("decide", ref, "--not-met", "--reason", "Only one complaint in six months")
    open_case(door, trigger("web", "link", ref).stdout.strip())
    return ref


def test_an_appeal_inside_the_window_is_lodged_as_trigger_appeal_and_acknowledged(door, trigger, tmp_path):
    ref = not_met_today(trigger, door)
    page = door.get("/case").text
    assert "you can appeal until" in page
    form = door.get("/case/appeal").text
    assert "Appeal against our decision on the threshold" in form
    assert "A relevant process, policy or protocol was not considered" in form
    assert "Why is your appeal late?" not in form
    words = "You did not count the reports I made to the housing association."
    answer = post(door, "/case/appeal", ref, grounds="facts", detail=words)
    assert answer.status_code == 303 and answer.headers["location"] == "/case?done=appeal"
    shown = trigger.json("show", ref)
    assert shown["state"] == "appealed"
    (appeal,) = shown["appeals"]
    assert (appeal["against"], appeal["received"], appeal["grounds"], appeal["detail"]) == (
        "threshold",
        today(),
        "facts",
        words,
    )
    assert appeal["late_reason"] is None
    moved = [e for e in shown["events"] if e["event"] == "appeal"]
    assert moved[0]["actor"] == ONLINE and moved[0]["to"] == "appealed"
    # acknowledged by letter (in the register, downloadable from the page) and by e-mail? no address
    assert [lt["kind"] for lt in shown["letters"]] == ["appeal_acknowledgement"]
    page = door.get("/case?done=appeal").text
    assert "We have received your appeal" in page and "Your appeal has been acknowledged" not in page
    # what happens next starts with the policy's appeal body, a capital to start the sentence
    assert '<p class="govuk-body">The independent chair of another Community Safety Partnership' in page
    assert "/case/letters/1" in page
    assert door.get("/case/appeal").headers["location"] == "/case"  # one appeal: no longer offered
    # the chair's bundle carries the applicant's own words
    out = tmp_path / "bundle.zip"
    trigger("bundle", ref, "-o", out)
    with zipfile.ZipFile(out) as zf:
        papers = zf.read("06-the-appeal.txt").decode()
    assert f"In the appellant's own words:\n  {words}" in papers


def test_an_appeal_made_online_is_emailed_when_the_applicant_gave_an_address(door, trigger, tmp_path):
    ref = activate(trigger)
    trigger("case", "update", ref, "--email", "ann@example.org", "--reason", "given")
    trigger("decide", ref, "--not-met", "--reason", "Only one complaint")
    open_case(door, trigger("web", "link", ref).stdout.strip())
    assert post(door, "/case/appeal", ref, grounds="process", detail="My words").status_code == 303
    (letter,) = trigger.json("show", ref)["letters"]
    assert letter["kind"] == "appeal_acknowledgement" and letter["sent"]["to"] == "ann@example.org"
    messages = [p.read_text() for p in (tmp_path / "outbox").glob("*.eml")]
    assert any("ann@example.org" in m and ref in m for m in messages)
    # the letter's e-mail is the news: no "your case has moved" seconds after it
    trigger("reminders", "run")
    outbox = [p.read_text() for p in (tmp_path / "outbox").glob("*.eml")]
    to_ann = [m for m in outbox if "ann@example.org" in m]
    assert len(to_ann) == 1 and "Your appeal" in to_ann[0], to_ann


def test_after_the_window_the_appeal_needs_a_reason_for_lateness(concluded, door, trigger):
    ref = concluded  # outcome issued on 25 March 2026: the window is past
    open_case(door, trigger("web", "link", ref).stdout.strip())
    form = door.get("/case/appeal").text
    assert "Appeal against the outcome of the review" in form and "Why is your appeal late?" in form
    assert "The time to appeal ended on" in form
    answer = post(door, "/case/appeal", ref, grounds="facts", detail="My words")
    assert errors_of(answer.text) == ["Enter why your appeal is late"]
    answer = post(door, "/case/appeal", ref)
    assert errors_of(answer.text) == [
        "Select why you are appealing",
        "Enter why you are appealing, in your own words",
        "Enter why your appeal is late",
    ]
    assert trigger.json("show", ref)["state"] == "outcome_issued"
    post(door, "/case/appeal", ref, grounds="facts", detail="My words", late_reason="I was in hospital")
    (appeal,) = trigger.json("show", ref)["appeals"]
    assert (appeal["against"], appeal["late_reason"]) == ("outcome", "I was in hospital")


def test_an_appeal_is_offered_only_where_trigger_appeal_takes_one(reviewed, door, trigger):
    ref = under_review(trigger, door, reviewed)
    page = door.get("/case").text
    assert "Appeal against the decision" not in page
    assert 'id="other-help"' not in page  # a review still going on: nothing to turn elsewhere for yet
    assert door.get("/case/appeal").headers["location"] == "/case"
    answer = post_with(door, "/case/appeal", ref, grounds="facts", detail="words")
    assert answer.status_code == 409
    assert trigger.json("show", ref)["appeals"] == []


def test_an_outcome_confirmed_on_appeal_is_not_offered_for_appeal_again(concluded, door, trigger):
    ref = concluded
    trigger("appeal", ref, "--received", "2026-12-01", "--grounds", "facts", "--late-reason", "away")
    trigger("appeal-decision", ref, "--dismissed", "--by", "Chair of Melton CSP", "--reason", "no new facts")
    assert trigger.json("show", ref)["state"] == "outcome_issued"
    open_case(door, trigger("web", "link", ref).stdout.strip())
    page = door.get("/case").text
    assert "Appeal against the decision" not in page
    assert door.get("/case/appeal").headers["location"] == "/case"  # and the engine refuses: test_decisions
    # the history tells the appeal's decision, not a second sending of the outcome
    assert "Your appeal was not upheld" in page and page.count("We sent you the outcome of the review") == 1
    # where else to turn, now that the review and its appeal are over, as the letters say it
    assert '<h2 class="govuk-heading-m" id="other-help">Other help</h2>' in page
    assert "use that agency&#39;s complaints procedure, and then the Ombudsman." in page
    door.get("/case?lang=cy")  # the switch sets the language, then the page
    welsh = door.get("/case").text
    assert '<h2 class="govuk-heading-m" id="other-help">Help arall</h2>' in welsh
    assert "gweithdrefn gwyno&#39;r asiantaeth honno, ac yna&#39;r Ombwdsmon." in welsh


def test_an_application_withdrawn_while_its_appeal_waits_says_withdrawn_not_dismissed(door, trigger):
    ref = not_met_today(trigger, door)
    trigger("appeal", ref, "--received", today(), "--grounds", "facts", "--detail", "You missed my reports")
    trigger("withdraw", ref, "--reason", "The applicant has moved away")
    page = door.get("/case").text
    assert "Your application was withdrawn" in page
    assert "Your appeal was not upheld" not in page and "Your appeal was upheld" not in page


def test_a_ground_the_policy_does_not_list_is_refused(door, trigger):
    ref = not_met_today(trigger, door)
    answer = post(door, "/case/appeal", ref, grounds="threshold", detail="words")
    assert errors_of(answer.text) == ["Select why you are appealing"]
    assert trigger.json("show", ref)["appeals"] == []
    assert re.search(r'id="grounds-error"', answer.text)
