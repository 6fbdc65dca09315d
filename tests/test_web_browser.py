"""The applicant's door in a real browser: Playwright driving Debian's Chromium against `trigger web
serve` on loopback, as an applicant would use it: someone applying on a victim's behalf (in English and
in Welsh, its mistakes shown and corrected), one by keyboard alone; each read back with `trigger show
--json`. axe-core checks every page of the application, in English and Welsh, at 320 and 1280 pixels
wide, as it first shows, and at 320 pixels with its mistakes shown; and the applicant's case page in
the states the whole case (test_web_whole_case.py, where a victim applies and then takes part and
appeals, in both languages) does not reach. The server's log is read for personal data, and it stops
cleanly on SIGTERM.

Run once (any_engine): what the browser sees does not depend on the database, which the page tests
(test_web.py) run on both engines. Set TRIGGER_SCREENSHOTS=FOLDER to keep a PNG of every page
(tests/support/browser.py).
"""

from __future__ import annotations

import pytest

from tests.support.browser import (
    BOTH,
    WORDS,
    axe,
    fill_incident,
    narrow,
    need_chromium,
    new_page,
    press,
    reference_of,
    victim_journey,
)
from tests.support.webdoor import AHEAD, activate, ago, reviewed_case
from trigger.web.words import say

pytestmark = [pytest.mark.any_engine, pytest.mark.slow]
need_chromium()


def _tab_to(page, selector: str, most: int = 80) -> None:
    """Press Tab until the element `selector` has the focus (as a keyboard user moves through a page)."""
    target = page.locator(selector).first.element_handle()
    for _ in range(most):
        page.keyboard.press("Tab")
        if page.evaluate("(el) => document.activeElement === el", target):
            return
    raise AssertionError(f"{selector} cannot be reached with the keyboard")


def test_the_whole_application_by_keyboard_alone(server, browser, trigger):
    page = new_page(browser)
    page.goto(server.url + "/apply")
    keys = page.keyboard
    _tab_to(page, "a.govuk-button--start")
    keys.press("Enter")
    page.wait_for_url("**/who")
    _tab_to(page, "#who")
    keys.press("Space")
    _tab_to(page, "button.govuk-button")
    keys.press("Enter")
    page.wait_for_url("**/name")
    _tab_to(page, "#applicant")
    keys.type("Kim Keyboard")
    keys.press("Enter")
    page.wait_for_url("**/contact")
    _tab_to(page, "#preferred_contact")
    keys.press("Space")
    _tab_to(page, "#email")
    keys.type("kim@example.org")
    keys.press("Enter")
    page.wait_for_url("**/language")
    _tab_to(page, "#language")
    keys.press("Space")
    keys.press("Enter")
    page.wait_for_url("**/incident/1")
    _tab_to(page, "#description")
    keys.type("Loud music every night")
    for name, day in (("occurred", ago(15)), ("reported", ago(14))):
        _tab_to(page, f"#{name}-day")
        keys.type(str(day.day))
        keys.press("Tab")
        keys.type(str(day.month))
        keys.press("Tab")
        keys.type(str(day.year))
    _tab_to(page, "#agency")
    keys.press("Space")
    _tab_to(page, "#hate")
    keys.press("Space")
    _tab_to(page, "button.govuk-button")
    keys.press("Enter")
    page.wait_for_url("**/incidents")
    _tab_to(page, "#another")  # a group of radios is one stop; the arrow keys choose within it
    keys.press("ArrowDown")
    assert page.locator("#another-2").is_checked()
    _tab_to(page, "button.govuk-button")
    keys.press("Enter")
    page.wait_for_url("**/statement")
    _tab_to(page, "#statement")
    keys.type("Nothing happened after I reported it.")
    _tab_to(page, "button.govuk-button")
    keys.press("Enter")
    page.wait_for_url("**/accessibility")
    _tab_to(page, "button.govuk-button")
    keys.press("Enter")
    page.wait_for_url("**/share")
    _tab_to(page, "#share_consent")
    keys.press("Space")
    _tab_to(page, "button.govuk-button")
    keys.press("Enter")
    page.wait_for_url("**/check")
    _tab_to(page, "main button.govuk-button")
    keys.press("Enter")
    page.wait_for_url("**/done")
    case = trigger.json("show", reference_of(page))
    assert (
        case["applicant"] == "Kim Keyboard"
        and case["incidents"][0]["description"] == "Loud music every night"
    )


# -- axe-core on every page -----------------------------------------------------------------------------


def _empty_submit(page, lang: str, what: str, found: list) -> None:
    """The page sent empty: its mistakes shown, checked at 320 pixels (the narrowest, where they crowd
    most)."""
    narrow(page)
    press(page, WORDS[lang]["continue"])
    assert page.locator(".govuk-error-summary").count() == 1, what
    axe(page, f"{what}-errors", found)


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_someone_applies_for_a_victim_and_every_page_passes_axe_at_320_and_1280_pixels(
    server, browser, trigger, lang
):
    """A councillor applies on behalf of a victim, with their consent (by phone), letters to the
    councillor's address and a copy to the victim's, in the window 320 pixels wide but where axe
    widens it: each page checked as it first shows at 320 and at 1280 pixels (the window resized on
    the page), and with its mistakes shown at 320, each mistake named in the summary at the top
    (whose link takes you to the answer), the answers kept as typed, and corrected; their name changed
    from the check page; the application read back with `trigger show`. (A victim's own application,
    in English and in Welsh: test_web_whole_case.py.)"""
    found: list[str] = []
    page = new_page(browser, 320)
    w = WORDS[lang]

    def look(name: str, mistakes: bool = True) -> None:
        axe(page, f"{lang}-{name}", found, BOTH)
        if mistakes:
            _empty_submit(page, lang, f"{lang}-{name}", found)

    page.goto(server.url + f"/apply?lang={lang}")
    look("start", mistakes=False)
    press(page, w["start"])
    look("who")
    summary = page.locator(".govuk-error-summary")
    assert page.title().startswith(say("error_prefix", lang))
    summary.get_by_role("link", name=say("err_who_required", lang)).click()  # takes you to the answer
    assert page.evaluate("document.activeElement.id") == "who"
    page.locator("#who-2").check()  # someone else: the victim and consent pages too
    press(page, w["continue"])
    look("victim")
    page.locator("#victim").fill("Morgan Price")
    page.locator("#victim_address").fill("7 Park Road, Loughborough")
    page.locator("#victim_postcode").fill("LE11 2HQ")
    press(page, w["continue"])
    look("consent")
    page.locator("#consent_method-3").check()  # by phone
    for part, value in zip(("day", "month", "year"), (ago(2).day, ago(2).month, ago(2).year), strict=True):
        page.locator(f"#consent_date-{part}").fill(str(value))
    press(page, w["continue"])
    look("name")
    page.locator("#applicant").fill("Councillor Jean Hale")
    press(page, w["continue"])
    look("contact")
    page.locator("#preferred_contact").check()  # by email, mistyped
    page.locator("#email").fill("jean@")
    press(page, w["continue"])
    assert say("err_email_format", lang) in summary.inner_text()
    page.locator("#email").fill("")
    page.locator("#preferred_contact-3").check()  # by letter after all
    page.locator("#address").fill("Council House, 1 Town Square")
    page.locator("#postcode").fill("LE1 1AA")
    press(page, w["continue"])
    look("language", mistakes=False)
    page.locator("#language-2" if lang == "cy" else "#language").check()
    press(page, w["continue"])
    look("incident")
    page.locator("#description").fill("Threats shouted in the street")
    for part, value in zip(("day", "month", "year"), (31, 2, 2026), strict=True):
        page.locator(f"#occurred-{part}").fill(str(value))
    press(page, w["continue"])
    errors = summary.inner_text()
    assert say("err_date_real", lang, label=say("label_occurred", lang)) in errors
    assert say("err_reported_required", lang) in errors
    assert page.locator("#description").input_value() == "Threats shouted in the street"  # kept as typed
    fill_incident(
        page, "Threats shouted in the street", 12, "Charnwood Borough Council", say("hate_disability", lang)
    )
    look("incidents")
    page.locator("#another-2").check()
    press(page, w["continue"])
    look("statement")
    assert say("err_statement_required", lang) in summary.inner_text()
    page.locator("#statement").fill("The council did not call back.")
    press(page, w["continue"])
    look("accessibility", mistakes=False)
    page.get_by_label(w["needs"]).fill("Large print letters")
    press(page, w["continue"])
    look("share")
    assert say("err_share_consent_required", lang) in summary.inner_text()
    page.locator("#share_consent").check()
    press(page, w["continue"])
    look("check", mistakes=False)
    with page.expect_navigation():
        page.locator('main a[href$="/name"]').click()  # "Change" by their name
    page.locator("#applicant").fill("Councillor Jean M. Hale")
    press(page, w["continue"])
    assert page.get_by_role("heading", name=say("check_title", lang)).is_visible()
    press(page, w["send"])
    assert page.get_by_role("heading", name=w["sent"]).is_visible()
    look("done", mistakes=False)
    case = trigger.json("show", reference_of(page))
    assert (case["applicant"], case["victim"], case["third_party"], case["language"]) == (
        "Councillor Jean M. Hale",
        "Morgan Price",
        True,
        lang,
    )
    assert case["consent_date"] == ago(2).isoformat()
    # each keeps their own address: letters to the councillor's, a copy to Morgan Price's
    assert case["applicant_contact"]["address"] == "Council House, 1 Town Square"
    assert (case["victim_contact"]["address"], case["victim_contact"]["postcode"]) == (
        "7 Park Road, Loughborough",
        "LE11 2HQ",
    )
    assert [(i["agency"], i["hate"]) for i in case["incidents"]] == [("cbc", "disability")]
    page.goto(server.url + "/apply/main/no-such-page")
    look("not-found", mistakes=False)
    assert found == []


def test_the_server_log_holds_no_personal_data_and_sigterm_stops_it_cleanly(own_server, browser):
    server = own_server
    page = new_page(browser)
    page.goto(server.url + "/apply")
    w = victim_journey(page, "en", "Zebedee Quartermain", "zebedee.q@example.org", "English")
    fill_incident(page, "Xylophone thrown at window", 8, "EMH Homes", "No", "REF-ZQ-77")
    page.get_by_label("No", exact=True).check()
    press(page, w["continue"])
    page.get_by_label(w["why"]).fill("Quibbling neighbours ignored")
    press(page, w["continue"])
    press(page, w["continue"])
    page.get_by_label(w["agree"]).check()
    press(page, w["continue"])
    press(page, w["send"])
    ref = reference_of(page)
    page.context.close()
    assert server.stop() == 0
    log = server.log_path.read_text()
    assert ref in log and "POST /apply/main/check 303" in log and "has stopped" in log
    for personal in ("Zebedee", "Quartermain", "zebedee.q", "Xylophone", "REF-ZQ-77", "Quibbling"):
        assert personal not in log, personal
    # the client's address neither (the only address is the one the server listens on)
    assert [line for line in log.splitlines() if "127.0.0.1" in line and "listening on" not in line] == []
    assert "Traceback" not in log


# -- the applicant's own case page ----------------------------------------------------------------------


def _states(trigger, tmp_path) -> dict[str, str]:
    """A case in each state the page shows differently: received; under review, late, with a delay
    letter; outcome issued, with its action plan and letters. Their references."""
    received = activate(trigger, applicant="Robin Ashworth", received=ago(6).isoformat())
    late = reviewed_case(trigger, outcome=False)
    trigger(
        "letter",
        late,
        "delay",
        "--format",
        "txt",
        "--until",
        AHEAD.isoformat(),
        "--on",
        "2026-04-10",
        "--reason",
        "The housing association's records came late.",
        "-o",
        tmp_path / "delay.txt",
    )
    outcome = reviewed_case(trigger, outcome=True)
    trigger(
        "letter",
        outcome,
        "acknowledgement",
        "--format",
        "txt",
        "--on",
        "2026-03-03",
        "-o",
        tmp_path / "a.txt",
    )
    trigger("letter", outcome, "outcome", "--format", "txt", "--on", "2026-03-25", "-o", tmp_path / "o.txt")
    # e-mails about the case: on for one, turned off for another (docs/operations.md#telling-the-applicant)
    trigger("case", "update", outcome, "--email", "ann@example.org", "--reason", "given on the phone")
    trigger(
        "case", "update", received, "--email", "robin@example.org", "--notices", "off", "--reason", "asked"
    )
    return {"received": received, "late": late, "outcome": outcome}


@pytest.fixture
def case_states(db, snapshot, tmp_path) -> dict[str, str]:
    """`_states`, built once per test process and copied for each test (before its server starts)."""
    return snapshot(f"case-states-{ago(0)}", lambda: _states(db, tmp_path))


@pytest.mark.parametrize("lang", ["en", "cy"])
def test_the_case_page_passes_axe_in_every_state_at_320_and_1280_pixels(
    case_states, server, browser, trigger, lang
):
    """Each state's page opened by its link, and checked at 320 and 1280 pixels (the window resized
    on the page); and the page of a dead link."""
    found: list[str] = []
    for state, ref in case_states.items():
        page = new_page(browser, 320)
        page.goto(server.url + trigger("web", "link", ref).stdout.strip())
        assert page.url == server.url + "/case"  # the token has left the address bar
        if lang == "cy":
            with page.expect_navigation():
                page.get_by_role("link", name="Cymraeg").click()
        assert (
            page.get_by_role("heading", level=1).inner_text().startswith({"en": "Case", "cy": "Achos"}[lang])
        )
        axe(page, f"{lang}-case-{state}", found, BOTH)
    page = new_page(browser, 320)
    page.goto(server.url + "/case/" + "x" * 43 + (f"?lang={lang}" if lang == "cy" else ""))
    axe(page, f"{lang}-dead-link", found, BOTH)
    assert found == []


def test_the_applicant_stops_the_emails_about_their_case_with_the_button(server, browser, trigger):
    ref = activate(trigger)
    trigger("case", "update", ref, "--email", "ann@example.org", "--reason", "given on the phone")
    page = new_page(browser)
    page.goto(server.url + trigger("web", "link", ref).stdout.strip())
    with page.expect_navigation():
        page.get_by_role("button", name="Stop these messages").click()
    assert page.url == server.url + "/case#notices"
    assert "You asked us not to email you" in page.locator("#notices + p").inner_text()
    assert page.get_by_role("button", name="Start these messages again").is_visible()
    assert [c["by"] for c in trigger.json("show", ref)["corrections"]] == ["tester", "applicant (online)"]


def test_a_letter_downloads_from_the_page_as_issued(server, browser, trigger, tmp_path):
    ref = reviewed_case(trigger, outcome=True)
    trigger("letter", ref, "outcome", "--format", "pdf", "--on", "2026-03-25", "-o", tmp_path / "o.pdf")
    page = new_page(browser)
    page.goto(server.url + trigger("web", "link", ref).stdout.strip())
    with page.expect_download() as download:
        page.get_by_role("link", name="The outcome of your ASB Case Review").click()
    saved = tmp_path / "downloaded.pdf"
    download.value.save_as(saved)
    trigger("letter", ref, "--issued", "1", "-o", tmp_path / "issued.pdf")
    assert saved.read_bytes() == (tmp_path / "issued.pdf").read_bytes()


def test_chromium_sends_no_referer_from_any_case_page(server, browser, trigger, tmp_path):
    """The browser itself, told by the door: no request it makes from a case page carries a Referer,
    not even from the page of a dead link, which is shown at the link's own address."""
    ref = reviewed_case(trigger, outcome=True)
    trigger("letter", ref, "outcome", "--format", "txt", "--on", "2026-03-25", "-o", tmp_path / "o.txt")
    other = activate(trigger)
    dead = trigger("web", "link", other).stdout.strip()
    trigger("web", "link", other, "--revoke", "--reason", "lost")
    page = new_page(browser)
    sent: list[tuple[str, str | None]] = []
    page.on("request", lambda request: sent.append((request.url, request.headers.get("referer"))))
    page.goto(server.url + dead)  # its page loads the door's stylesheets and script from the link's address
    assert page.get_by_role("heading", level=1).inner_text() == "This link does not work"
    page.goto(server.url + trigger("web", "link", ref).stdout.strip())
    with page.expect_download():
        page.locator('a[href="/case/letters/1"]').click()
    with page.expect_navigation():
        page.get_by_role("link", name="Cymraeg").click()
    assert len(sent) > 6 and any("/static/" in url for url, _ in sent)
    assert [(url, referer) for url, referer in sent if referer] == []
    page.context.close()  # and the listener with it: the next test's page is a new context's
