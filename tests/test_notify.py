"""GOV.UK Notify as a delivery channel, against a contract server on loopback (tests/support/notify.py)
that checks our requests as Notify documents them: a letter by e-mail, by text message and by post,
each in the register with Notify's id; reminders through Notify, retried through its rate limit and
errors, refused for good on a 400, and never sent twice when an answer is lost."""

from __future__ import annotations

import base64

import pytest

from tests.support import notify as contract
from tests.support.letters import applicant_case, pdf_text
from tests.support.mailservers import MANAGER, make_cases
from workflows import PRESETS_DIR

pytestmark = pytest.mark.slow  # real processes and a real HTTP server


@pytest.fixture
def notify(monkeypatch):
    state, server = contract.serve()
    monkeypatch.setenv("TRIGGER_NOTIFY_API_KEY", contract.API_KEY)
    monkeypatch.setenv("TRIGGER_NOTIFY_URL", state.url)
    monkeypatch.delenv("TRIGGER_SMTP_URL", raising=False)
    yield state
    server.shutdown()
    server.server_close()


def notify_policy(tmp_path) -> str:
    """The LLR policy with the Notify templates a service would have set up."""
    text = (PRESETS_DIR / "llr.toml").read_text().replace('version = "2022.02"', 'version = "2022.02-notify"')
    text += (
        f'\n[notify]\nemail_template = "{contract.EMAIL_TEMPLATE}"\n'
        f'sms_template = "{contract.SMS_TEMPLATE}"\nreminder_template = "{contract.REMINDER_TEMPLATE}"\n'
    )
    path = tmp_path / "notify.toml"
    path.write_text(text)
    return str(path)


@pytest.fixture
def notifying(trigger, notify, tmp_path):
    trigger("init", "--policy", notify_policy(tmp_path), "--manager-email", MANAGER)
    return trigger


def test_a_letter_goes_by_email_text_and_post_and_the_register_shows_each_with_notifys_id(notifying, notify):
    ref = applicant_case(notifying, phone="07700 900123")
    by_email = notifying("letter", ref, "acknowledgement", "--send", "--on", "2026-03-03").stdout
    by_text = notifying(
        "letter", ref, "acknowledgement", "--send", "--by", "sms", "--on", "2026-03-03"
    ).stdout
    by_post = notifying(
        "letter", ref, "acknowledgement", "--send", "--by", "post", "--on", "2026-03-03"
    ).stdout
    [email], [sms], [letter] = notify.of("email"), notify.of("sms"), notify.of("letter")

    assert email["email_address"] == "ann@example.org" and email["template_id"] == contract.EMAIL_TEMPLATE
    given = email["personalisation"]
    assert given["subject"] == f"Your application for an ASB Case Review ({ref})"
    assert "Dear Ann Example," in given["body"]
    attached = base64.b64decode(given["link_to_file"]["file"])
    assert given["link_to_file"]["filename"] == f"{ref}-acknowledgement.pdf"
    assert "We received it on 2 March 2026." in " ".join(pdf_text(attached).split())

    assert sms["phone_number"] == "07700 900123" and sms["template_id"] == contract.SMS_TEMPLATE
    assert sms["personalisation"] == {"reference": ref, "title": "Your application for an ASB Case Review"}
    posted = base64.b64decode(letter["content"])
    assert letter["postage"] == "second" and "Dear Ann Example," in pdf_text(posted)

    register = notifying.json("show", ref)["letters"]
    sent = [entry["sent"] for entry in register[-3:]]
    assert [s["message_id"] for s in sent] == [email["id"], sms["id"], letter["id"]]
    assert [s["to"] for s in sent] == [
        "ann@example.org",
        "07700 900123",
        "post: 1 High Street, Loughborough, LE11 1AA",
    ]
    assert f"(GOV.UK Notify at {notify.url}, Notify id {email['id']})" in by_email
    assert f"GOV.UK Notify at {notify.url}, sms, Notify id {sms['id']}" in by_text
    assert f"GOV.UK Notify at {notify.url}, post, Notify id {letter['id']}" in by_post
    # each carries the letter's own reference, so a send whose answer was lost is found, not repeated
    assert [n["reference"] for n in (email, sms, letter)] == [
        f"trigger-{ref}-acknowledgement-{by}-{entry['hash'][:16]}"
        for by, entry in zip(("email", "sms", "post"), register[-3:], strict=True)
    ]


def test_a_message_notify_refuses_is_not_recorded_and_says_why_in_one_line(notifying, notify):
    ref = applicant_case(notifying, phone="12345")
    before = notifying.json("show", ref)["letters"]
    failed = notifying.fails("letter", ref, "acknowledgement", "--send", "--by", "sms", "--on", "2026-03-03")
    assert failed.stderr.count("\n") == 1 and "Traceback" not in failed.stderr
    assert "GOV.UK Notify answered 400: ValidationError: phone_number Not a UK mobile number" in failed.stderr
    assert "nothing was recorded" in failed.stderr
    assert notifying.json("show", ref)["letters"] == before and notify.sent == []


def test_sms_and_post_need_notify(trigger, monkeypatch):
    monkeypatch.delenv("TRIGGER_NOTIFY_API_KEY", raising=False)
    trigger("init", "--policy", "llr")
    ref = applicant_case(trigger)
    failed = trigger.fails("letter", ref, "acknowledgement", "--send", "--by", "post")
    assert "--by post goes through GOV.UK Notify: set TRIGGER_NOTIFY_API_KEY" in failed.stderr


def test_a_key_notify_does_not_know_is_refused_by_the_contract_and_kept_for_retry(
    notifying, notify, monkeypatch
):
    make_cases(notifying, 1)
    wrong = contract.API_KEY[:-36] + "00000000-0000-4000-8000-000000000000"
    monkeypatch.setenv("TRIGGER_NOTIFY_API_KEY", wrong)
    out = notifying.json("reminders", "run", "--now", "2027-01-08T08:00")
    assert out["sent"] == 0 and len(out["failed"]) == 4
    assert {f["error"] for f in out["failed"]} == {
        "GOV.UK Notify answered 403: AuthError: Invalid token: API key not found"
    }
    monkeypatch.setenv("TRIGGER_NOTIFY_API_KEY", contract.API_KEY)
    assert notifying.json("reminders", "run", "--now", "2027-01-08T08:05")["sent"] == 4
    assert len(notify.of("email")) == 4


def test_reminders_go_through_notify_once_each_through_its_rate_limit_errors_and_a_lost_answer(
    notifying, notify, monkeypatch
):
    make_cases(notifying, 2)  # 8 reminders due
    notify.rate_limit = 9  # a look-up and a send each: four go, then 429 RateLimitError
    out = notifying.json("reminders", "run", "--now", "2027-01-08T08:00")
    assert out["sent"] == 4 and len(out["failed"]) == 4
    assert {f["error"].split(":")[0] for f in out["failed"]} == {"GOV.UK Notify answered 429"}
    notify.rate_limit, notify.requests = 3000, []
    notify.fail_next = [500]
    out = notifying.json("reminders", "run", "--now", "2027-01-08T08:05")
    assert out["sent"] == 3 and [f["error"] for f in out["failed"]] == [
        "GOV.UK Notify answered 500: Exception: Internal server error"
    ]
    # the last one: Notify takes it but its answer comes after our time limit
    monkeypatch.setenv("TRIGGER_SMTP_TIMEOUT", "1")
    notify.answer_late = True
    out = notifying.json("reminders", "run", "--now", "2027-01-08T08:10")
    assert out["sent"] == 0 and "did not answer" in out["failed"][0]["error"]
    out = notifying.json("reminders", "run", "--now", "2027-01-08T09:00")
    assert out["sent"] == 1  # found by its reference: marked sent, not sent again
    sent = notify.of("email")
    assert len(sent) == 8 and len({n["reference"] for n in sent}) == 8  # each once, none lost
    assert {n["template_id"] for n in sent} == {contract.REMINDER_TEMPLATE}
    assert all(set(n["personalisation"]) == {"subject", "body"} for n in sent)
    assert notifying.json("reminders", "status")["undelivered"] == []


def test_a_reminder_notify_refuses_for_good_is_given_up_at_once_not_retried(notifying, notify):
    notify.team_only = {"someone.else@example.gov.uk"}  # a team key: the manager is not in the team
    make_cases(notifying, 1)
    out = notifying.json("reminders", "run", "--now", "2027-01-08T08:00")
    assert out["sent"] == 0 and len(out["gave_up"]) == 4 and out["failed"] == []
    assert {g["because"] for g in out["gave_up"]} == {"refused"}
    assert (
        "BadRequestError: Can't send to this recipient using a team-only API key"
        in out["gave_up"][0]["error"]
    )
    assert notify.of("email") == []


def test_reminders_given_up_are_reported_to_the_manager_through_notify(notifying, notify):
    make_cases(notifying, 1)  # 4 reminders due, all to the manager
    for now in ("2027-01-08T08:00", "2027-01-09T08:00"):  # Notify failing for a day: given up
        notify.fail_next = [500] * 4
        out = notifying.json("reminders", "run", "--now", now)
    assert len(out["gave_up"]) == 4 and {g["because"] for g in out["gave_up"]} == {"expired"}
    assert out["reported"] == 4 and out["reported_via"].startswith("GOV.UK Notify")
    [report] = [n for n in notify.of("email") if n["personalisation"]["subject"].startswith("Reminders not")]
    assert (
        report["email_address"] == MANAGER
        and "still failing after a day" in report["personalisation"]["body"]
    )
