"""The applicant's private link and their own case page at the door (Starlette's test client over the
test's own database; the officer works through the real command line): `trigger web link` gives a
link once and keeps only its hash; reissued, revoked and expired links stop working and are answered
exactly like a link that never existed; guessing is throttled per client; a token never reaches the
log; the acknowledgement letter and e-mail carry the link when the door has a public address."""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.support.databases import ON_POSTGRES
from tests.support.sql import raw_sql
from tests.support.webdoor import (
    AHEAD,
    Applicant,
    activate,
    open_case,
    reviewed_case,
    statuses,
    victim_answers,
)
from trigger.cases import links
from trigger.errors import NotPermitted
from trigger.store.app import App
from trigger.web.app import create_app

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = "https://apply.example.gov.uk"


@pytest.fixture
def door(db, tmp_path, monkeypatch):
    monkeypatch.setenv("TRIGGER_OUTBOX", str(tmp_path / "outbox"))
    with TestClient(create_app(), follow_redirects=False) as client:
        yield client


@pytest.fixture
def public_door(trigger, tmp_path, monkeypatch):
    """A database whose policy gives the door a public address ([web] base_url)."""
    text = (ROOT / "workflows" / "llr.toml").read_text()
    text = text.replace("# [web]\n# base_url = ", "[web]\nbase_url = ")
    policy = tmp_path / "policy.toml"
    policy.write_text(text)
    trigger("init", "--policy", policy, "--manager-email", "csm@example.gov.uk")
    monkeypatch.setenv("TRIGGER_OUTBOX", str(tmp_path / "outbox"))
    with TestClient(create_app(), follow_redirects=False) as client:
        yield client


def token_of(link: str) -> str:
    return link.rpartition("/case/")[2]


def test_a_link_is_printed_once_opens_its_case_and_is_kept_only_as_a_hash(door, trigger):
    ref = activate(trigger)
    out = trigger("web", "link", ref)
    link = out.stdout.strip()
    assert re.fullmatch(r"/case/[A-Za-z0-9_-]{43}", link)  # 256 random bits
    assert "no public address" in out.stderr
    page = open_case(door, link)
    assert f"Case {ref}" in page and "Deciding whether the threshold for a review is met" in page
    # only the hash is stored; a second link is refused rather than shown again
    stored = hashlib.sha256(token_of(link).encode()).hexdigest()
    assert raw_sql("SELECT token_hash FROM applicant_link") == [(stored,)]
    refused = trigger.fails("web", "link", ref)
    assert "cannot be shown again" in refused.stderr and "--reissue" in refused.stderr
    assert len(raw_sql("SELECT id FROM applicant_link")) == 1


def test_the_token_is_nowhere_in_the_record(door, trigger):
    ref = activate(trigger)
    token = token_of(trigger("web", "link", ref).stdout.strip())
    for (table,) in raw_sql(
        "SELECT name FROM sqlite_master WHERE type = 'table'"
        if not ON_POSTGRES
        else "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    ):
        for row in raw_sql(f"SELECT * FROM {table}"):
            assert token not in repr(row), table
    show = trigger("show", ref, "--json").stdout + trigger("export", ref).stdout
    assert token not in show


def test_reissue_and_revoke_need_a_reason_are_audited_and_stop_the_old_links(door, trigger):
    ref = activate(trigger)
    first = trigger("web", "link", ref).stdout.strip()
    assert "needs --reason" in trigger.fails("web", "link", ref, "--reissue").stderr
    second = trigger("web", "link", ref, "--reissue", "--reason", "the letter was lost").stdout.strip()
    assert first != second
    assert "This link does not work" in door.get(first).text
    assert f"Case {ref}" in open_case(door, second)
    assert "1 link revoked" in trigger("web", "link", ref, "--revoke", "--reason", "phone stolen").stdout
    assert "This link does not work" in door.get(second).text
    assert door.get("/case").status_code == 404  # the visit the link had started ends with it
    events = [(e["event"], e["reason"]) for e in trigger.json("show", ref)["events"] if "link" in e["event"]]
    assert events == [
        ("web_link", None),
        ("web_link", "the letter was lost"),
        ("web_link_revoke", "phone stolen"),
    ]
    assert "no working link" in trigger.fails("web", "link", ref, "--revoke", "--reason", "again").stderr
    assert "--revoke or --reissue" in trigger.fails("web", "link", ref, "--revoke", "--reissue").stderr


def test_unknown_revoked_and_expired_links_are_answered_alike(door, trigger):
    revoked_ref, expired_ref, recent_ref = activate(trigger), activate(trigger), activate(trigger)
    revoked = trigger("web", "link", revoked_ref).stdout.strip()
    trigger("web", "link", revoked_ref, "--revoke", "--reason", "asked")
    expired = trigger("web", "link", expired_ref).stdout.strip()
    recent = trigger("web", "link", recent_ref).stdout.strip()
    # withdrawn longer ago than the policy's 90 days, and yesterday
    trigger("withdraw", expired_ref, "--reason", "moved away", "--on", "2026-03-10")
    trigger("withdraw", recent_ref, "--reason", "moved away")
    answers = []
    for link in (revoked, expired, "/case/" + "x" * 43, "/case/short", "/case/" + "é" * 30):
        r = door.get(link)
        answers.append((r.status_code, r.text, r.headers.get("set-cookie", "").split("=")[0]))
    assert len(set(answers)) == 1 and answers[0][0] == 404
    assert "Your application was withdrawn" in open_case(door, recent)  # ended, but not long ago
    assert "would not work" in trigger.fails("web", "link", expired_ref, "--reissue", "--reason", "x").stderr


@pytest.mark.slow
def test_ten_thousand_guesses_are_refused_and_the_guesser_is_throttled(db, trigger):
    ref = activate(trigger)
    link = trigger("web", "link", ref).stdout.strip()
    door = create_app()
    guesser = ("203.0.113.9", 4000)
    codes = statuses(door, [f"/case/{links.new_token()}" for _ in range(10_000)], guesser)
    assert codes[:20] == [404] * 20 and set(codes[20:]) == {429}
    assert statuses(door, [link], guesser) == [429]  # even the right link, from that client, for now
    with TestClient(door, follow_redirects=False, client=("198.51.100.7", 4000)) as applicant:
        assert f"Case {ref}" in open_case(applicant, link)


def test_the_token_never_reaches_the_log_nor_a_referer(door, trigger, caplog):
    link = trigger("web", "link", activate(trigger)).stdout.strip()
    with caplog.at_level(logging.INFO, logger="trigger.web"):
        opened = door.get(link)
        door.get("/case/" + links.new_token())
    assert opened.headers["referrer-policy"] == "no-referrer"
    assert opened.headers["location"] == "/case"  # the token leaves the address bar at once
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "trigger.web")
    assert token_of(link) not in logged
    assert "GET /case/[link] 303" in logged and "GET /case/[link] 404" in logged
    cookie = opened.headers["set-cookie"]
    assert token_of(link) not in cookie and "HttpOnly" in cookie and "Path=/case" in cookie


def test_the_public_cannot_make_or_revoke_links(db, trigger):
    ref = activate(trigger)
    public = App(actor="applicant (online)", public=True)
    with pytest.raises(NotPermitted):
        links.issue(public, ref)
    with pytest.raises(NotPermitted):
        links.revoke(public, ref, reason="x")


def test_the_acknowledgement_letter_carries_a_working_link_when_the_door_has_an_address(
    public_door, trigger, tmp_path
):
    ref = activate(trigger)
    preview = trigger("letter", ref, "acknowledgement", "--format", "txt", "--preview").stdout
    assert f"{PUBLIC}/case/preview-only-no-link-was-made" in preview
    out = tmp_path / "ack.txt"
    trigger("letter", ref, "acknowledgement", "--format", "txt", "-o", out)
    text = out.read_text()
    (link,) = re.findall(rf"{re.escape(PUBLIC)}/case/[A-Za-z0-9_-]{{43}}", text)
    assert "Keep this link private" in text
    assert f"Case {ref}" in open_case(public_door, link.removeprefix(PUBLIC))
    assert trigger("letter", ref, "--issued", "1").stdout.strip() == text.strip()  # as issued
    events = trigger.json("show", ref)["events"]
    made = [e["detail"].get("by") for e in events if e["event"] == "web_link"]
    assert made == ["the acknowledgement letter"]


def test_without_a_public_address_the_letter_carries_no_link(door, trigger, tmp_path):
    ref = activate(trigger)
    text = trigger("letter", ref, "acknowledgement", "--format", "txt", "--preview").stdout
    assert "/case/" not in text and "private page" not in text
    assert raw_sql("SELECT id FROM applicant_link") == []


def test_an_online_application_gives_its_link_on_the_confirmation_and_by_email(public_door, tmp_path):
    applicant = Applicant(public_door)
    ref = applicant.apply(victim_answers())
    (link,) = re.findall(rf"{re.escape(PUBLIC)}/case/[A-Za-z0-9_-]{{43}}", applicant.page)
    (message,) = (tmp_path / "outbox").glob("*.eml")
    assert link in message.read_text().replace("=\n", "")
    assert f"Case {ref}" in open_case(public_door, link.removeprefix(PUBLIC))


def test_without_a_public_address_the_confirmation_links_to_this_server(door, tmp_path):
    applicant = Applicant(door)
    ref = applicant.apply(victim_answers())
    (path,) = re.findall(r'href="(/case/[A-Za-z0-9_-]{43})"', applicant.page)
    assert f"http://testserver{path}" in applicant.page
    (message,) = (tmp_path / "outbox").glob("*.eml")
    assert "/case/" not in message.read_text()  # an e-mail carries only a public address
    assert f"Case {ref}" in open_case(door, path)


def test_the_case_page_switches_language_and_keeps_it(door, trigger):
    ref = activate(trigger)
    open_case(door, trigger("web", "link", ref).stdout.strip())
    r = door.get("/case?lang=cy")
    assert r.status_code == 303 and r.headers["location"] == "/case"
    welsh = door.get("/case").text
    assert f"Achos {ref}" in welsh and 'lang="cy"' in welsh and "Cawsom eich cais" in welsh


# -- following the case -----------------------------------------------------------------------------------


def test_the_page_gives_the_stage_the_next_step_and_says_when_it_is_late(door, trigger, tmp_path):
    ref = reviewed_case(trigger, outcome=False)
    link = trigger("web", "link", ref).stdout.strip()
    page = open_case(door, link)
    assert "Under review" in page
    assert "Charnwood Borough Council will finish the review and send you its outcome." in page
    assert "This is late: it was due by 7 April 2026." in page  # 28 days after the decision
    assert "We have not written to you about the delay yet" in page
    trigger(
        "letter",
        ref,
        "delay",
        "--format",
        "txt",
        "--until",
        "2026-05-20",
        "--on",
        "2026-04-10",
        "--reason",
        "The housing association's records came late.",
        "-o",
        tmp_path / "delay.txt",
    )
    page = door.get("/case").text
    assert "On 10 April 2026 we wrote to you about the delay." in page
    assert "The housing association&#39;s records came late." in page
    assert "We now expect to do this by 20 May 2026." in page
    history = re.findall(r'<dt class="govuk-summary-list__key">([^<]+)</dt>\s*<dd[^>]*>([^<]+)</dd>', page)
    assert ("10 March 2026", "The threshold was met: your case will be reviewed") in history
    assert ("11 March 2026", "The review started") in history


def test_the_page_names_the_point_of_contact_and_nobody_else(door, trigger):
    ref = reviewed_case(trigger, outcome=True)
    other = reviewed_case(trigger, outcome=False, applicant="Bob Neighbour")
    page = open_case(door, trigger("web", "link", ref).stdout.strip())
    assert "Jo Bloggs" in page and "jo@example.gov.uk" in page and "Single point of contact" in page
    for secret in (
        "Sam Reviewer",  # the reviewer: an officer the letters do not name
        "Pat Hours",  # hours
        "Lives alone",  # the vulnerability noted
        "Internal note",  # an action's progress notes
        "Internal finding",
        "Bob Neighbour",  # another case's applicant
        other,
        "Nothing has changed",  # even their own statement: the page is what a letter says
    ):
        assert secret not in page, secret


def test_the_action_plan_is_shown_once_the_outcome_is_issued(door, trigger):
    before = reviewed_case(trigger, outcome=False)
    after = reviewed_case(trigger, outcome=True)
    assert "Your action plan" not in open_case(door, trigger("web", "link", before).stdout.strip())
    page = open_case(door, trigger("web", "link", after).stdout.strip())
    cards = re.findall(r'<div class="govuk-summary-card app-action">(.*?)</dl>', page, re.S)
    text = [" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in cards]
    assert text == [
        "Action 1 Action Share logs weekly Who Leicestershire Police By 1 April 2026 Progress Late",
        f"Action 2 Action Visit Who EMH Homes By {AHEAD.day} {AHEAD:%B %Y} Progress In progress",
    ]
    assert "Outcome issued" in page


def test_every_letter_downloads_exactly_as_issued_and_only_the_applicants(door, trigger, tmp_path):
    ref = reviewed_case(trigger, outcome=True)
    trigger(
        "letter", ref, "acknowledgement", "--format", "pdf", "-o", tmp_path / "a.pdf", "--on", "2026-03-03"
    )
    trigger("letter", ref, "information_request", "--to", "emh", "--format", "txt", "--on", "2026-03-12")
    trigger("letter", ref, "outcome", "--format", "html", "-o", tmp_path / "o.html", "--on", "2026-03-25")
    page = open_case(door, trigger("web", "link", ref).stdout.strip())
    hrefs = re.findall(r'href="(/case/letters/\d+)"', page)
    assert hrefs == ["/case/letters/3", "/case/letters/1"]  # newest first; not the agency's request
    for href in hrefs:
        got = door.get(href)
        number = href.rpartition("/")[2]
        issued = tmp_path / f"issued-{number}"
        trigger("letter", ref, "--issued", number, "-o", issued)
        assert got.content == issued.read_bytes()  # byte for byte, as the register holds it
        assert got.headers["content-disposition"].startswith(f'attachment; filename="{ref}-0{number}-')
        assert "sandbox" in got.headers["content-security-policy"]
    assert door.get("/case/letters/1").headers["content-type"] == "application/pdf"
    assert door.get("/case/letters/2").status_code == 404  # the information request to EMH Homes
    assert door.get("/case/letters/9").status_code == 404


def test_one_cases_link_never_shows_another_cases_data(door, trigger, tmp_path):
    mine, theirs = (
        reviewed_case(trigger, outcome=False),
        reviewed_case(trigger, outcome=True, applicant="Bob Neighbour"),
    )
    trigger("letter", theirs, "outcome", "--format", "txt", "--on", "2026-03-25", "-o", tmp_path / "o.txt")
    open_case(door, trigger("web", "link", mine).stdout.strip())
    page = door.get("/case").text
    assert mine in page and theirs not in page and "Bob Neighbour" not in page
    assert door.get("/case/letters/1").status_code == 404  # their letter 1 is not mine to have
    assert door.get(f"/case/{theirs}").status_code == 404  # a reference is not a link


def test_a_letter_is_not_given_when_its_stored_copy_was_altered(door, trigger, tmp_path):
    ref = activate(trigger)
    trigger("letter", ref, "acknowledgement", "--format", "txt", "-o", tmp_path / "a.txt")
    open_case(door, trigger("web", "link", ref).stdout.strip())
    assert door.get("/case/letters/1").status_code == 200
    raw_sql("UPDATE letter_copy SET content = :c", c=b"forged")
    assert door.get("/case/letters/1").status_code == 404
