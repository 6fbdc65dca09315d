"""A whole case in a real browser (Playwright driving Debian's Chromium against `trigger web serve`),
in English and in Welsh: the applicant applies online and does everything else at their own case page
(follows it, chooses to attend the meeting, gives a statement, comments on the shared draft plan,
sees the outcome, appeals, sees the appeal's outcome), while the officers work from the command line
(the letters, the threshold decision, the review, the meeting, the outcome, the appeal's decision).

Each step is read back with `trigger show --json`; every letter the applicant downloads from the page
is compared byte for byte with `trigger letter REF --issued N`; axe-core checks the case page in each
state of the case. Not `any_engine`: the page is read from the database the officers write, on both
engines.
"""

from __future__ import annotations

import pytest

from tests.support.browser import (
    PART_WORDS,
    WORDS,
    axe,
    fill_incident,
    follow,
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

    def look(self, state: str, stage: str) -> str:
        """Open the case page again (as the applicant coming back to it); axe-core on it; its text."""
        self.page.goto(self.server.url + "/case")
        assert self.page.locator("html").get_attribute("lang") == self.lang
        assert self.page.locator("#stage").inner_text() == say(f"stage_{stage}", self.lang), state
        axe(self.page, f"whole-{self.lang}-{state}", self.found)
        return self.page.inner_text("main")

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
    """The application, in the browser, in the applicant's language; the reference confirmed."""
    w = WORDS[lang]
    name, language = APPLICANT[lang]
    page.goto(server.url + f"/apply?lang={lang}")
    victim_journey(page, lang, name, f"{lang}@example.org", language)
    fill_incident(page, "Shouting and banging at night", 30, "Leicestershire Police", w["no"], "CAD-2001")
    page.get_by_label(w["no"], exact=True).check()  # another incident? no
    press(page, w["continue"])
    page.get_by_label(w["why"]).fill("Three reports and no one came.")
    press(page, w["continue"])
    press(page, w["continue"])  # no accessibility needs
    page.get_by_label(w["agree"]).check()
    press(page, w["continue"])
    press(page, w["send"])
    assert page.get_by_role("heading", name=w["sent"]).is_visible()
    return reference_of(page)


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_a_whole_case_the_applicant_at_their_page_the_officers_at_the_command_line(
    server, browser, trigger, tmp_path, lang
):
    today = ago(0).isoformat()
    part = PART_WORDS[lang]
    page = new_page(browser)

    # -- the applicant applies online, and follows the link the confirmation gives ----------------------
    ref = _apply(page, server, lang)
    shown = trigger.json("show", ref)
    assert (shown["state"], shown["channel"], shown["language"]) == ("received", "online", lang)
    assert shown["applicant"] == APPLICANT[lang][0]
    assert shown["events"][0]["actor"] == ONLINE
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
    follow(page, "/case/involvement")
    page.locator("#involvement").check()  # the first choice: in person
    press(page, part["continue"])
    assert trigger.json("show", ref)["victim_involvement"] == {
        "choice": "attend",
        "recorded": today,
        "by": ONLINE,
    }
    follow(page, "/case/statement")
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
    assert "Fit a door camera" in case.look("plan-shared", "review")
    follow(page, "/case/plan")
    comment = "A camera will help; please also move the bins."
    page.locator("#comment").fill(comment)
    press(page, part["send"])
    shown = trigger.json("show", ref)
    assert shown["consultations"] == [{"on": today, "response": comment, "by": ONLINE}]
    assert shown["plan_shared"] == [today]
    case.look("plan-commented", "review")

    # -- the meeting is held and the outcome issued -------------------------------------------------------
    trigger("meeting", ref, "--at", f"{today}T09:00", "--held")
    trigger("finding", ref, "--category", "silo_working")
    trigger("recommend", ref, "--to", "police", "--text", "Share reports weekly")
    trigger("outcome", ref)
    trigger("letter", ref, "outcome", "--format", "pdf", "-o", tmp_path / "outcome.pdf")
    assert trigger.json("show", ref)["state"] == "outcome_issued"
    text = case.look("outcome", "outcome")
    assert "Fit a door camera" in text  # the action plan, now the applicant's to follow
    case.download_as_issued(3)

    # -- the applicant appeals against the outcome -------------------------------------------------------
    follow(page, "/case/appeal")
    page.locator("#grounds").check()
    detail = "The review did not look at the housing association's reports."
    page.locator("#detail").fill(detail)
    press(page, part["appeal"])
    shown = trigger.json("show", ref)
    assert shown["state"] == "appealed"
    (appeal,) = shown["appeals"]
    assert (appeal["against"], appeal["received"], appeal["detail"]) == ("outcome", today, detail)
    assert [e["actor"] for e in shown["events"] if e["event"] == "appeal"] == [ONLINE]
    # acknowledged once the answer has gone (the letter is made after the page is sent)
    until(lambda: len(trigger.json("show", ref)["letters"]) == 4, "the appeal acknowledgement")
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
