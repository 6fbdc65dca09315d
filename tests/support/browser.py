"""The applicant's door in a real browser, for the browser tests: `trigger web serve` in its own process
(`Server`; the `server` fixture in conftest.py), Playwright driving Debian's Chromium (`CHROME`, through
the `browser` fixture; no browser download exists here), the applicant's steps as a person takes them
(`press`, `fill_incident`, `victim_journey`...) and axe-core on a page (`axe`). Set TRIGGER_SCREENSHOTS=FOLDER
to keep a PNG of every page checked.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.forks import spawn
from tests.support.waiting import HANG
from tests.support.webdoor import ago

# Debian's headless shell (apt-get install chromium-headless-shell) when it is there: the same Blink as
# chromium's, without the browser window's machinery that headless chromium still runs (a third less
# CPU over the browser tests); chromium itself otherwise
CHROMIUM = shutil.which("chromium-headless-shell") or shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = os.environ.get("TRIGGER_SCREENSHOTS")


def need_chromium() -> None:
    """Skip the calling test module unless Playwright and Debian's Chromium are both installed."""
    pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            "Debian's chromium is not installed (apt-get install chromium-headless-shell)",
            allow_module_level=True,
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`trigger web serve` in its own process (`env` added to this one's), its output and log kept."""

    def __init__(self, tmp_path: Path, env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.db_path: Path | None = None  # the database file it serves, when the test keeps it
        self.log_path = tmp_path / "serve.log"
        self.log = open(self.log_path, "w")  # closed in stop()
        env = {**os.environ, "TRIGGER_OUTBOX": str(tmp_path / "outbox"), **(env or {})}
        # forked from the test process's engine launcher (a fresh interpreter spent half a second importing)
        self.proc = spawn(
            ["cli.py", "web", "serve", "--port", str(self.port)], env=env, stdout=self.log, stderr=self.log
        )
        deadline = time.monotonic() + HANG
        while True:
            try:
                urllib.request.urlopen(self.url + "/apply", timeout=5).read()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the server did not start:\n{self.log_path.read_text()}") from None
                time.sleep(0.2)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=HANG)
        self.log.close()
        return code


class Tab:
    """Chromium's one tab for a test module. A new browser context for every page started a renderer
    process of its own for each, most of a page's CPU; a test asks `new_page` instead, which hands this
    tab back as a new visitor opens it: no cookies (so no session, no case), an empty page, the window
    as wide as asked. A test that closes the page's context (`page.context.close()`: to drop its
    connections, or the listeners it put on the page) gets a new context at its next `new_page`."""

    def __init__(self, chromium):
        self.chromium = chromium
        self.page = None

    def open(self, width: int):
        if self.page is None or self.page.is_closed():
            context = self.chromium.new_context(viewport={"width": width, "height": 900})
            context.set_default_timeout(HANG * 1000)  # waits for a page or an element end only on a hang
            self.page = context.new_page()
        else:
            self.page.goto("about:blank")
            self.page.context.clear_cookies()
            self.page.set_viewport_size({"width": width, "height": 900})
        return self.page

    def leave(self) -> None:
        """Leave the tab empty (the test's page left running keeps Chromium busy)."""
        if self.page is not None and not self.page.is_closed():
            self.page.goto("about:blank")


class Chrome:
    """Debian's Chromium under Playwright, one for the test process, started by the first browser test
    (`tab`) and closed after the last of a run of them (`close`, from conftest.py's
    `pytest_runtest_teardown`): a launch, its Playwright driver's and its first pages' (their scripts
    and styles parsed afresh), was a second of CPU for each test module that had one of its own."""

    def __init__(self):
        self._playwright = None
        self._chromium = None
        self._tab: Tab | None = None

    def tab(self) -> Tab:
        if self._tab is None:
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
            self._chromium = self._playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            self._tab = Tab(self._chromium)
        return self._tab

    def close(self) -> None:
        if self._tab is not None:
            self._chromium.close()
            self._playwright.stop()
            self._playwright = self._chromium = self._tab = None


CHROME = Chrome()  # the test process's


def new_page(browser: Tab, width: int = 1280):
    """The tab, as a new visitor opens it, `width` CSS pixels wide."""
    return browser.open(width)


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def fill_date(page, legend: str, day) -> None:
    group = page.get_by_role("group", name=legend)
    group.get_by_label({"en": "Day", "cy": "Diwrnod"}[page.locator("html").get_attribute("lang")]).fill(
        str(day.day)
    )
    group.locator("input").nth(1).fill(str(day.month))
    group.locator("input").nth(2).fill(str(day.year))


def fill_incident(page, text: str, days: int, agency: str, hate: str, ref: str = "") -> None:
    lang = page.locator("html").get_attribute("lang")
    w = WORDS[lang]
    page.get_by_label(w["what"]).fill(text)
    fill_date(page, w["when"], ago(days))
    fill_date(page, w["reported"], ago(days - 1))
    page.get_by_role("group", name=w["to"]).get_by_label(agency).check()
    if ref:
        page.get_by_label(w["ref"]).fill(ref)
    page.get_by_role("group", name=w["hate"]).get_by_label(hate, exact=True).check()
    press(page, w["continue"])


WORDS = {
    "en": {
        "start": "Start now",
        "continue": "Continue",
        "me": "Me: I have experienced the anti-social behaviour",
        "someone": "Someone else: I am applying for them with their permission",
        "name": "What is your full name?",
        "by_email": "By email",
        "email": "Email address",
        "english": "English",
        "what": "What happened?",
        "when": "When did it happen?",
        "reported": "When did you report it?",
        "to": "Who did you report it to?",
        "ref": "Reference number (optional)",
        "hate": "Do you think it was motivated by hate?",
        "no": "No",
        "why": "Why are you unhappy with the response to your reports?",
        "needs": "Do you have any accessibility needs? (optional)",
        "agree": "I agree to this information being shared with the partner agencies for this review",
        "send": "Accept and send",
        "sent": "Application sent",
    },
    "cy": {
        "start": "Dechrau nawr",
        "continue": "Parhau",
        "me": "Fi: rwyf wedi profi'r ymddygiad gwrthgymdeithasol",
        "name": "Beth yw eich enw llawn?",
        "by_email": "Drwy e-bost",
        "email": "Cyfeiriad e-bost",
        "welsh": "Cymraeg",
        "what": "Beth ddigwyddodd?",
        "when": "Pryd digwyddodd hyn?",
        "reported": "Pryd rhoesoch wybod amdano?",
        "to": "I bwy y rhoesoch wybod amdano?",
        "ref": "Cyfeirnod (dewisol)",
        "hate": "Ydych chi'n credu mai casineb oedd y cymhelliad?",
        "no": "Nac ydw",
        "why": "Pam ydych chi'n anhapus â'r ymateb i'ch adroddiadau?",
        "needs": "Oes gennych unrhyw anghenion hygyrchedd? (dewisol)",
        "agree": (
            "Rwy'n cytuno i'r wybodaeth hon gael ei rhannu â'r asiantaethau partner ar gyfer yr adolygiad hwn"
        ),
        "send": "Derbyn ac anfon",
        "sent": "Cais wedi'i anfon",
    },
}


def reference_of(page) -> str:
    return page.locator(".app-reference").inner_text().strip()


def victim_journey(page, lang: str, name: str, email: str, language_choice: str) -> str:
    w = WORDS[lang]
    press(page, w["start"])
    page.get_by_label(w["me"]).check()
    press(page, w["continue"])
    page.get_by_label(w["name"]).fill(name)
    press(page, w["continue"])
    page.get_by_label(w["by_email"]).check()
    page.get_by_label(w["email"]).fill(email)
    press(page, w["continue"])
    page.get_by_label(language_choice, exact=True).check()
    press(page, w["continue"])
    return w


def press(page, name: str) -> None:
    """Press a form's button and wait for the page it leads to: a click alone returns before the
    answer arrives, and on a busy machine the next look would still see the old page."""
    with page.expect_navigation():
        page.get_by_role("button", name=name).click()


BOTH = (320, 1280)  # the narrowest window WCAG asks to work in, and a desktop's


# axe's violations, only what a finding says: the whole result (every rule that passed, with its nodes)
# crossing to Python cost as much as the run itself; and the page's width once axe is done, for the
# reflow check, in the same call (one round trip to the page fewer for each width)
VIOLATIONS = """axe.run({resultTypes: ['violations']}).then(results => ({
    violations: results.violations.map(v => (
        {id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map(n => n.target)})),
    wide: document.documentElement.scrollWidth}))"""


def axe(page, what: str, found: list, widths: tuple[int, ...] = ()) -> None:
    """axe-core on the page as it stands, at each of `widths` in turn (the window resized on the same
    page: its state, and its form posts, made once), or at the window's own width; and at each, WCAG 1.4.10
    reflow. axe's script goes into the page once, for all the widths."""
    from axe_playwright_python.base import AXE_SCRIPT

    if not page.evaluate("typeof window.axe === 'object' && typeof window.axe.run === 'function'"):
        page.evaluate(AXE_SCRIPT)
    now = page.viewport_size["width"]
    for width in sorted(widths or (now,), key=lambda w: w != now):  # the window's own width first
        if width != page.viewport_size["width"]:
            page.set_viewport_size({"width": width, "height": page.viewport_size["height"]})
        tag = f"{what}-{width}" if widths else what
        checked = page.evaluate(VIOLATIONS)
        for v in checked["violations"]:
            found.append(f"{tag}: {v['id']} ({v['impact']}) {v['help']} {v['targets']}")
        # WCAG 1.4.10 reflow: at 320 CSS pixels (a 1280-pixel screen zoomed to 400%, so 200% as well)
        # nothing needs scrolling sideways
        if checked["wide"] > width:
            found.append(f"{tag}: {checked['wide']} pixels wide in a {width}-pixel window")
        shot(page, tag)


def narrow(page) -> None:
    """The window at 320 pixels, where a page's mistakes crowd most."""
    if page.viewport_size["width"] != 320:
        page.set_viewport_size({"width": 320, "height": page.viewport_size["height"]})


PART_WORDS = {
    "en": {"continue": "Continue", "send": "Send", "appeal": "Send your appeal", "case": "Case"},
    "cy": {"continue": "Parhau", "send": "Anfon", "appeal": "Anfon eich apêl", "case": "Achos"},
}


def follow(page, href: str) -> None:
    with page.expect_navigation():
        page.locator(f'main a[href="{href}"]').first.click()
