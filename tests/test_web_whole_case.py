"""A whole case in a real browser (Playwright driving Debian's Chromium against `trigger web serve`),
in English and in Welsh: the applicant applies online as a victim (in Welsh from the door's "Cymraeg"
link) and does everything else at their own case page (follows it, chooses to attend the meeting,
gives a statement, comments on the shared draft plan, sees the outcome, appeals, sees the appeal's
outcome), while the officers work from the command line (the letters, the threshold decision, the
review, the meeting, the outcome, the appeal's decision).

Each step is read back with `trigger show --json`; every letter the applicant downloads from the page
is compared byte for byte with `trigger letter REF --issued N`; the server's log is read for the
applicant's words. axe-core checks the case page in each state of the case at 1280 pixels, and at 320
as well in each the applicant acts in (attending, the plan shared and commented on, the outcome, the
appeal sent; the states of test_web_browser.py's case states at both); each form the applicant sends
from it (involvement, statement, plan, appeal) at 320 and 1280 pixels, and with its mistakes shown at
320. Not `any_engine`: the page is read from the database the officers write, on both engines.
"""

from __future__ import annotations

import pytest

from tests.support.browser import (
    BOTH,
    PART_WORDS,
    WORDS,
    axe,
    fill_incident,
    follow,
    narrow,
    need_chromium,
    new_page,
    press,
    reference_of,
    victim_journey,
)
from tests.support.waiting import until
from tests.support.webdoor import AHEAD, ago
from trigger.web.words import say

pytestmark = pytest.mark.slow
need_chromium()

ONLINE = "applicant (online)"
APPLICANT = {"en": ("Robin Ashworth", "English"), "cy": ("Gwenllian ap Rhys", "Cymraeg")}
# what happened, and why they are unhappy, in the applicant's own language
INCIDENT = {"en": "Shouting and banging at night", "cy": "Sŵn uchel bob nos"}
UNHAPPY = {"en": "Three reports and no one came.", "cy": "Does dim byd wedi newid."}
# the confirmation's promise of the threshold decision, as it starts
DECISION_BY = {"en": "We will tell you by", "cy": "Byddwn yn rhoi gwybod i chi erbyn"}
# the policy's appeal body (LLR), as "What happens next" starts its sentence while the appeal is decided
APPEAL_NEXT = {
    "en": "The independent chair of another Community Safety Partnership",
    "cy": "Bydd cadeirydd annibynnol Partneriaeth Diogelwch Cymunedol arall",
}


class CasePage:
    """The applicant's case page in their browser: looked at again after each step the officers take,
    checked by axe, and its letters downloaded."""

    def __init__(self, page, server, trigger, ref: str, lang: str, folder):
        self.page, self.server, self.trigger, self.ref = page, server, trigger, ref
        self.lang, self.folder = lang, folder
        self.found: list[str] = []

    def look(self, state: str, stage: str, widths: tuple[int, ...] = (1280,), again: bool = True) -> str:
        """Open the case page again (as the applicant coming back to it), or, not `again`, the case page
        a form has just led to (its message of what was sent shown); axe-core on it at `widths`; its
        text."""
        if again:
            self.page.goto(self.server.url + "/case")
        assert self.page.url.partition("?")[0] == self.server.url + "/case"
        assert self.page.locator("html").get_attribute("lang") == self.lang
        assert self.page.locator("#stage").inner_text() == say(f"stage_{stage}", self.lang), state
        axe(self.page, f"whole-{self.lang}-{state}", self.found, widths)
        return self.page.inner_text("main")

    def form(self, href: str, button: str) -> None:
        """Follow the case page's link to a form; axe-core on it at 320 and 1280 pixels, and sent empty
        (at 320, where mistakes crowd most): its mistakes shown GOV.UK style, and checked by axe."""
        follow(self.page, href)
        what = f"whole-{self.lang}-{href.rsplit('/', 1)[1]}"
        axe(self.page, what, self.found, BOTH)
        narrow(self.page)
        press(self.page, button)
        assert self.page.locator(".govuk-error-summary").count() == 1, what
        axe(self.page, f"{what}-errors", self.found)

    def letters(self) -> list[str]:
        return self.page.locator(".app-letters a").evaluate_all("(links) => links.map(a => a.pathname)")

    def download_as_issued(self, number: int) -> None:
        """Download letter `number` from the page: the bytes `trigger letter REF --issued N` gives."""
        with self.page.expect_download() as download:
            self.page.locator(f'.app-letters a[href="/case/letters/{number}"]').click()
        got = self.folder / f"downloaded-{number}"
        download.value.save_as(got)
        issued = self.folder / f"issued-{number}"
        self.trigger("letter", self.ref, "--issued", number, "-o", issued)
        assert got.read_bytes() == issued.read_bytes(), f"letter {number}"


def _apply(page, server, lang: str) -> str:
    """The application, in the browser, in the applicant's language (Welsh chosen with the door's
    "Cymraeg" link); their answers shown back before they send it; the reference confirmed."""
    w = WORDS[lang]
    name, language = APPLICANT[lang]
    page.goto(server.url + "/apply")
    if lang == "cy":
        with page.expect_navigation():
            page.get_by_role("link", name="Cymraeg").click()
    assert page.locator("html").get_attribute("lang") == lang
    victim_journey(page, lang, name, f"{lang}@example.org", language)
    fill_incident(page, INCIDENT[lang], 30, "Leicestershire Police", w["no"], "CAD-2001")
    page.get_by_label(w["no"], exact=True).check()  # another incident? no
    press(page, w["continue"])
    page.get_by_label(w["why"]).fill(UNHAPPY[lang])
    press(page, w["continue"])
    press(page, w["continue"])  # no accessibility needs
    page.get_by_label(w["agree"]).check()
    press(page, w["continue"])
    assert name in page.inner_text("main")
    press(page, w["send"])
    assert page.get_by_role("heading", name=w["sent"]).is_visible()
    assert DECISION_BY[lang] in page.inner_text("main")
    return reference_of(page)


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_a_whole_case_the_applicant_at_their_page_the_officers_at_the_command_line(
    server, browser, trigger, tmp_path, lang
):
    """The applicant's case from the application to the appeal's outcome (the module's docstring)."""
    today = ago(0).isoformat()
    part = PART_WORDS[lang]
    page = new_page(browser)

    # -- the applicant applies online, and follows the link the confirmation gives ----------------------
    ref = _apply(page, server, lang)
    shown = trigger.json("show", ref)
    assert (shown["state"], shown["channel"], shown["language"]) == ("received", "online", lang)
    assert (shown["applicant"], shown["third_party"], shown["statement"]) == (
        APPLICANT[lang][0],
        False,
        UNHAPPY[lang],
    )
    assert [(i["description"], i["agency"], i["agency_ref"]) for i in shown["incidents"]] == [
        (INCIDENT[lang], "police", "CAD-2001")
    ]
    assert shown["events"][0]["actor"] == ONLINE
    assert [c["reference"] for c in trigger.json("list")] == [ref]
    with page.expect_navigation():
        page.locator('main a[href^="/case/"]').click()
    assert page.url == server.url + "/case"  # the token has left the address bar
    case = CasePage(page, server, trigger, ref, lang, tmp_path)
    case.look("received", "threshold")
    assert case.letters() == []

    # -- the officers acknowledge it, decide the threshold is met and start the review ----------------
    trigger("letter", ref, "acknowledgement", "--format", "txt", "-o", tmp_path / "ack.txt")
    trigger("decide", ref, "--met", "--reason", "discretion")
    trigger("letter", ref, "threshold_met", "--format", "html", "-o", tmp_path / "met.html")
    trigger("assign", ref, "--lead", "cbc", "--reviewer", "Sam Reviewer")
    assert trigger.json("show", ref)["state"] == "in_review"
    case.look("in-review", "review")
    assert case.letters() == ["/case/letters/2", "/case/letters/1"]
    case.download_as_issued(1)
    case.download_as_issued(2)

    # -- the applicant chooses to attend the meeting and gives a statement ------------------------------
    case.form("/case/involvement", part["continue"])
    page.locator("#involvement").check()  # the first choice: in person
    press(page, part["continue"])
    assert page.locator(".govuk-notification-banner--success").count() == 1
    case.look("attending", "review", BOTH, again=False)
    assert trigger.json("show", ref)["victim_involvement"] == {
        "choice": "attend",
        "recorded": today,
        "by": ONLINE,
    }
    case.form("/case/statement", part["send"])
    words = "The noise starts at 2am.\nI cannot sleep."
    page.locator("#written_statement").fill(words)
    press(page, part["send"])
    assert trigger.json("show", ref)["victim_statements"] == [{"on": today, "text": words, "by": ONLINE}]
    case.look("taking-part", "review")

    # -- the reviewer shares the draft plan; the applicant comments on it --------------------------------
    trigger(
        "action", "add", ref, "--action", "Fit a door camera", "--owner", "emh", "--due", AHEAD.isoformat()
    )
    trigger("consult", ref, "--share-plan")
    assert "Fit a door camera" in case.look("plan-shared", "review", BOTH)
    case.form("/case/plan", part["send"])
    comment = "A camera will help; please also move the bins."
    page.locator("#comment").fill(comment)
    press(page, part["send"])
    case.look("plan-commented", "review", BOTH, again=False)
    shown = trigger.json("show", ref)
    assert shown["consultations"] == [{"on": today, "response": comment, "by": ONLINE}]
    assert shown["plan_shared"] == [today]

    # -- the meeting is held and the outcome issued -------------------------------------------------------
    trigger("meeting", ref, "--at", f"{today}T09:00", "--held")
    trigger("finding", ref, "--category", "silo_working")
    trigger("recommend", ref, "--to", "police", "--text", "Share reports weekly")
    trigger("outcome", ref)
    trigger("letter", ref, "outcome", "--format", "pdf", "-o", tmp_path / "outcome.pdf")
    assert trigger.json("show", ref)["state"] == "outcome_issued"
    text = case.look("outcome", "outcome", BOTH)
    assert "Fit a door camera" in text  # the action plan, now the applicant's to follow
    case.download_as_issued(3)

    # -- the applicant appeals against the outcome -------------------------------------------------------
    case.form("/case/appeal", part["appeal"])
    page.locator("#grounds").check()
    detail = "The review did not look at the housing association's reports."
    page.locator("#detail").fill(detail)
    press(page, part["appeal"])
    case.look("appeal-sent", "appeal", BOTH, again=False)
    shown = trigger.json("show", ref)
    assert shown["state"] == "appealed"
    (appeal,) = shown["appeals"]
    assert (appeal["against"], appeal["received"], appeal["detail"]) == ("outcome", today, detail)
    assert [e["actor"] for e in shown["events"] if e["event"] == "appeal"] == [ONLINE]
    # acknowledged once the answer has gone (the letter is made after the page is sent)
    until(lambda: len(trigger.json("show", ref)["letters"]) == 4, "the appeal acknowledgement")
    assert trigger.json("show", ref)["letters"][-1]["kind"] == "appeal_acknowledgement"
    text = case.look("appealed", "appeal")
    next_step = page.locator("#next-step p").first.inner_text()
    assert next_step.startswith(APPEAL_NEXT[lang]), next_step
    assert case.letters()[0] == "/case/letters/4"
    case.download_as_issued(4)

    # -- the appeal is decided; the applicant sees its outcome ------------------------------------------
    trigger(
        "appeal-decision",
        ref,
        "--dismissed",
        "--by",
        "Independent chair, Melton CSP",
        "--reason",
        "The review considered every report.",
    )
    trigger("letter", ref, "appeal_outcome", "--format", "txt", "-o", tmp_path / "appeal-outcome.txt")
    shown = trigger.json("show", ref)
    assert shown["state"] == "outcome_issued"
    assert [lt["kind"] for lt in shown["letters"]][-1] == "appeal_outcome"
    case.look("appeal-decided", "outcome")
    assert case.letters()[0] == "/case/letters/5"
    case.download_as_issued(5)
    assert case.found == []
    # the server's log holds none of what the applicant wrote or is called
    log = server.log_path.read_text()
    assert "POST /case/appeal 303" in log
    names = [part for part in APPLICANT[lang][0].split() if len(part) > 2]  # not "ap", as in /apply
    words_given = (*names, f"{lang}@example.org", INCIDENT[lang], UNHAPPY[lang])
    for personal in (*words_given, "2am", "camera will help", "housing association"):
        assert personal not in log, personal
