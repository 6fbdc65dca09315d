"""The e-mails the engine writes about deadlines: a reminder, the report of reminders that could not be
delivered, and the morning digest (docs/architecture.md#sending-mail); and the applicant's notice that
their case changed (docs/operations.md#telling-the-applicant).

Each is a proper `EmailMessage`: `Date`, `Message-ID` (in the From address's domain), `Auto-Submitted:
auto-generated` (RFC 3834, so out-of-office replies are not sent back) and Exchange's
`X-Auto-Response-Suppress`, the configured From, UK long dates
("Friday 8 January 2027") and the next step as a command to run. Personal data stays out: a case is named
by its reference and the victim's initials only; the applicant's notice names nobody at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from zoneinfo import ZoneInfo

from letters.words import plural
from trigger.codes import INVOLVEMENT_LABELS
from trigger.rules.dates import long_date_with_weekday
from trigger.store.mail import domain_of

LONDON = ZoneInfo("Europe/London")

LABELS = {
    "warning": "Deadline approaching",
    "overdue": "Deadline missed",
    "escalation": "Escalation: deadline overdue",
}

# what each deadline asks for, in words, and the command that meets it
_DUTIES = {
    "acknowledge": (
        "acknowledgement",
        "acknowledge the application in writing",
        "trigger letter {ref} acknowledgement --format pdf -o {ref}-acknowledgement.pdf",
    ),
    "threshold_decision": (
        "threshold decision",
        "decide whether the threshold is met (check the complaints first with `trigger check {ref}`)",
        "trigger decide {ref} --met   (or --not-met, or --reject CATEGORY --reason TEXT)",
    ),
    "review": (
        "review and outcome",
        "finish the review and issue the outcome",
        "trigger outcome {ref}",
    ),
    "outcome_letter": (
        "outcome letter",
        "send the applicant the outcome letter",
        "trigger letter {ref} outcome --format pdf -o {ref}-outcome.pdf",
    ),
    "appeal_bundle": (
        "appeal bundle",
        "send the appeal bundle to the independent chair",
        "trigger bundle {ref} -o {ref}-appeal-bundle.zip",
    ),
    "appeal_decision": (
        "appeal decision",
        "have the independent chair decide the appeal",
        "trigger appeal-decision {ref} --upheld|--dismissed --by NAME --reason TEXT",
    ),
    "action": (
        "action {n}",
        "complete action {n} of the action plan (or record its progress)",
        "trigger action update {ref} {n} --status done",
    ),
}


def _moment(when: datetime) -> str:
    """A moment in UK time: `Monday 5 October 2026 at 08:00`."""
    local = when.astimezone(LONDON)
    return f"{long_date_with_weekday(local.date())} at {local:%H:%M}"


def duty(deadline_kind: str, reference: str, action_number: int | None = None) -> tuple[str, str, str]:
    """(what is due, what to do, the command that does it) for a deadline of a case."""
    what, todo, command = _DUTIES.get(
        deadline_kind, (deadline_kind.replace("_", " "), "see the case", "trigger show {ref}")
    )
    n = action_number if action_number is not None else "N"
    return (
        what.format(n=n),
        todo.format(ref=reference, n=n),
        command.format(ref=reference, n=n),
    )


def _plain(value: str) -> bool:
    return value.isascii() and value.isprintable() and len(value) < 900


def _put(msg: EmailMessage, name: str, value: str) -> None:
    """Set a header. A sweep writes thousands of messages, and the email package's header objects cost
    more than all the rest of a message together; a value we formed ourselves from printable ASCII (no
    line break can hide in it) is stored as it is, anything else goes through the full parser."""
    if _plain(value):
        msg.set_raw(name, value)
    else:
        msg[name] = value


def _body(msg: EmailMessage, text: str) -> None:
    # plain 7-bit text when it is ASCII, so the command lines read as they are in any mail client
    if text.isascii():
        _put(msg, "MIME-Version", "1.0")
        _put(msg, "Content-Type", 'text/plain; charset="utf-8"')
        _put(msg, "Content-Transfer-Encoding", "7bit")
        msg.set_payload(text)
    else:
        msg.set_content(text, cte="quoted-printable")


def _headers(msg: EmailMessage, mail_from: str, to: str | None, subject: str, idstring: str) -> EmailMessage:
    _put(msg, "Subject", subject)
    _put(msg, "From", mail_from)
    if to:
        _put(msg, "To", to)
    _put(msg, "Date", format_datetime(datetime.now(UTC)))
    _put(msg, "Message-ID", make_msgid(idstring=idstring, domain=domain_of(mail_from)))
    _put(msg, "Auto-Submitted", "auto-generated")
    # Exchange ignores Auto-Submitted: no out-of-office or auto-replies back; bounces (NDRs) still come
    _put(msg, "X-Auto-Response-Suppress", "OOF, AutoReply")
    return msg


# Header lines up to RFC 5322's hard limit (998), not folded at 78: Python's folder moves a subject of
# 79-90 characters whole onto a continuation line, which some readers then show with a leading space.
POLICY = email_policy.default.clone(max_line_length=998)

_FOOTER = "\n-- \nSent automatically by Community Trigger. Replies to this address may not be read.\n"


@dataclass(frozen=True)
class VictimsVoice:
    """How the victim takes part in the review (2025 guidance), for the reviewer's reminder: their
    chosen involvement and how many statements and comments on the draft plan they gave (counts only;
    their words stay in the case)."""

    involvement: str | None
    statements: int
    comments: int

    def lines(self, reference: str) -> list[str]:
        chosen = INVOLVEMENT_LABELS.get(self.involvement or "", "not yet recorded")
        return [
            f"The victim's chosen involvement in the review meeting: {chosen}.",
            f"Written statements from the victim: {self.statements}; comments on the draft action plan: "
            f"{self.comments} (read them with `trigger show {reference}`).",
        ]


@dataclass(frozen=True)
class ReminderFacts:
    """What one reminder says: the case by reference and initials, the deadline, when it falls due."""

    kind: str  # warning, overdue, escalation
    reference: str
    deadline_kind: str
    due: date
    initials: str
    action_number: int | None = None
    alone: bool = False  # the manager is the only one told: the reviewer has no address
    voice: VictimsVoice | None = None  # a review's reminder: how the victim takes part


def reminder(facts: ReminderFacts, to: str, mail_from: str, idstring: str) -> EmailMessage:
    what, todo, command = duty(facts.deadline_kind, facts.reference, facts.action_number)
    label = LABELS[facts.kind]
    due = long_date_with_weekday(facts.due)
    when = "is due on" if facts.kind == "warning" else "was due on"
    lines = [
        f"{label}.",
        "",
        f"Case: {facts.reference} (victim {facts.initials or 'n/a'})",
        f"Deadline: {what} ({facts.deadline_kind})",
        f"It {when} {due}.",
        "",
        f"Next step: {todo}:",
        "",
        f"    {command}",
        "",
        f"See the whole case with `trigger show {facts.reference}`.",
    ]
    if facts.voice is not None:
        lines += ["", *facts.voice.lines(facts.reference)]
    if facts.kind == "escalation":
        lines[5:5] = ["", "It is still not done, so it comes to you as the manager."]
    if facts.alone:
        lines += [
            "",
            "WARNING: nobody but you has been told of this deadline: the reviewer has no e-mail",
            "address (nor has the lead agency). Give the reviewer an address so that they are told.",
        ]
    msg = EmailMessage(policy=POLICY)
    _body(msg, "\n".join(lines) + "\n" + _FOOTER)
    return _headers(msg, mail_from, to, f"{label}: {facts.reference} {what} due {due}", idstring)


@dataclass(frozen=True)
class Undelivered:
    """A reminder given up on: refused for good, or still failing after a day of trying."""

    reference: str
    kind: str
    deadline_kind: str
    due: date
    recipient: str
    error: str
    refused: bool
    first_failed: datetime | None


def failure_report(items: list[Undelivered], to: str | None, mail_from: str, idstring: str) -> EmailMessage:
    refs = sorted({i.reference for i in items})
    lines = [
        f"{plural(len(items), '{n} deadline reminder', '{n} deadline reminders')} could not be delivered, "
        "so the people below have not been told.",
        "",
    ]
    for i in items:
        what, _todo, _command = duty(i.deadline_kind, i.reference)
        why = (
            "refused by the mail server"
            if i.refused
            else "still failing after a day of retries"
            + (f" (since {_moment(i.first_failed)})" if i.first_failed else "")
        )
        lines += [
            f"- {i.reference}: {LABELS[i.kind].lower()} about {what}, due {long_date_with_weekday(i.due)}",
            f"  to {i.recipient}: {why}",
            f"  last error: {i.error}",
        ]
    lines += [
        "",
        "Next step: tell them yourself, correct the address or the mail settings, then send them again:",
        "",
        *(f"    trigger reminders retry {ref}" for ref in refs),
        "",
        "`trigger reminders status` lists every reminder not yet delivered.",
    ]
    msg = EmailMessage(policy=POLICY)
    _body(msg, "\n".join(lines) + "\n" + _FOOTER)
    subject = (
        f"Reminders not delivered: {len(items)} ({', '.join(refs[:5])}{' ...' if len(refs) > 5 else ''})"
    )
    return _headers(msg, mail_from, to, subject, idstring)


def digest(
    items: list[tuple[str, str, date]], day: date, to: str, mail_from: str, idstring: str
) -> EmailMessage:
    """The morning digest: one recipient's open deadlines overdue or due soon, soonest first."""
    lines = [f"Open deadlines overdue or due soon, as of {long_date_with_weekday(day)}:", ""]
    for ref, kind, due in sorted(items, key=lambda i: (i[2], i[0])):
        what = duty(kind, ref)[0]
        late = "  OVERDUE" if due < day else ""
        lines.append(f"{ref}  {kind:20} due {long_date_with_weekday(due)}{late}   ({what})")
    lines += ["", "`trigger show REF` shows a case and what is due next."]
    msg = EmailMessage(policy=POLICY)
    _body(msg, "\n".join(lines) + "\n" + _FOOTER)
    return _headers(
        msg,
        mail_from,
        to,
        f"Community Trigger deadlines for {long_date_with_weekday(day)}: {len(items)}",
        idstring,
    )


# -- the applicant's notice that their case changed ---------------------------------------------------


@dataclass(frozen=True)
class News:
    """What an applicant's notice says: that the case moved to a new stage and/or that letters were
    issued, never which stage nor what they say (the case page, behind the private link, says that);
    who to ask for a new link; in Welsh first, then English, when `welsh`."""

    reference: str
    moved: bool
    letters: int
    welsh: bool
    partnership: str
    partnership_cy: str | None = None
    telephone: str = ""
    door: str = ""  # the door's public address, "" when it has none


def _what(news: News, welsh: bool) -> str:
    if welsh:
        letters = (
            "rydym wedi anfon llythyr atoch"
            if news.letters == 1
            else f"rydym wedi anfon {news.letters} llythyr atoch"
        )
        moved = "mae eich achos wedi symud i gam newydd"
        joined = " ac "
    else:
        letters = (
            "we have sent you a letter" if news.letters == 1 else f"we have sent you {news.letters} letters"
        )
        moved = "your case has moved to a new stage"
        joined = " and "
    return joined.join(([moved] if news.moved else []) + ([letters] if news.letters else []))


def _news_english(news: News) -> list[str]:
    begins = f" (it begins {news.door.rstrip('/')}/case/)" if news.door else ""
    phone = f" on {news.telephone}" if news.telephone else ""
    return [
        f"There is news about your ASB Case Review, reference {news.reference}: {_what(news, False)}.",
        "",
        "To see it, open your case page with the private link we gave you in your acknowledgement "
        f"letter or email{begins}. The page shows where your case is now, what happens next and the "
        "letters we have sent you.",
        "",
        f"If you have lost your link, contact {news.partnership}{phone} and we will send you a new one.",
        "",
        "For your privacy this message says only that something changed, not what.",
        "",
        'To stop these messages, choose "Stop these messages" on your case page, or tell us.',
    ]


def _news_welsh(news: News) -> list[str]:
    begins = f" (mae'n dechrau gyda {news.door.rstrip('/')}/case/)" if news.door else ""
    phone = f" ar {news.telephone}" if news.telephone else ""
    return [
        f"Mae newyddion am eich Adolygiad Achos, cyfeirnod {news.reference}: {_what(news, True)}.",
        "",
        "I'w weld, agorwch dudalen eich achos gyda'r ddolen breifat a roesom i chi yn eich llythyr neu "
        f"e-bost cydnabod{begins}. Mae'r dudalen yn dangos ble mae eich achos nawr, beth sy'n digwydd "
        "nesaf a'r llythyrau rydym wedi'u hanfon atoch.",
        "",
        f"Os ydych wedi colli eich dolen, cysylltwch â {news.partnership_cy or news.partnership}{phone} a "
        "byddwn yn anfon un newydd atoch.",
        "",
        "Er mwyn eich preifatrwydd, mae'r neges hon yn dweud bod rhywbeth wedi newid yn unig, nid beth.",
        "",
        'I atal y negeseuon hyn, dewiswch "Atal y negeseuon hyn" ar dudalen eich achos, neu dywedwch wrthym.',
    ]


def news_subject(news: News) -> str:
    english = f"News about your ASB Case Review ({news.reference})"
    return f"Newyddion am eich Adolygiad Achos / {english}" if news.welsh else english


def news_text(news: News) -> str:
    """The notice's text: Welsh first, then English, when `welsh` (as the letters)."""
    english = "\n".join(_news_english(news))
    if not news.welsh:
        return english + "\n"
    return "\n".join(_news_welsh(news)) + "\n\n" + "-" * 60 + "\n\n" + english + "\n"


def news_sms(news: News) -> str:
    """The notice as a text message: short, and as bare of details as the e-mail."""
    english = (
        f"News about your ASB Case Review {news.reference}: {_what(news, False)}. See your case page "
        "with the private link from your letter. To stop these texts, use your case page."
    )
    if not news.welsh:
        return english
    welsh = (
        f"Newyddion am eich Adolygiad Achos {news.reference}: {_what(news, True)}. Gwelwch dudalen eich "
        "achos gyda'r ddolen breifat o'ch llythyr. I atal y negeseuon hyn, defnyddiwch dudalen eich achos."
    )
    return f"{welsh}\n\n{english}"


def applicant_notice(news: News, to: str, mail_from: str, idstring: str) -> EmailMessage:
    msg = EmailMessage(policy=POLICY)
    _body(msg, news_text(news) + _FOOTER)
    msg = _headers(msg, mail_from, to, news_subject(news), idstring)
    _put(msg, "Content-Language", "cy, en" if news.welsh else "en")  # RFC 3282: Welsh first
    return msg
