"""Applying online: the applicant's own door to the engine (docs/architecture.md#the-applicants-door).

A member of the public (or someone applying for them) fills in the online form; `submit` then creates
the case exactly as `trigger activate --channel online` would, with its complaints, the victim's consent
and the language, in one transaction with their audit events, recorded by "applicant (online)". Every
field is checked by the checks the command line uses (`moves.check_field`, `complaints.checked_complaint`),
so the form and the command line refuse the same things. Nothing is written before the applicant sends
the whole application.

The web face (`trigger.web`) holds no rule: it asks this module what a door shows (`door`), checks each
page's answers here, and hands the whole application to `submit`.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy import func
from sqlmodel import col, select

from trigger.cases import complaints, links, moves
from trigger.codes import HATE_STRANDS, VICTIM_KINDS
from trigger.errors import InvalidInput, NotFound
from trigger.rules import policy as policies
from trigger.rules.calendar import Span
from trigger.rules.dates import long_date
from trigger.store import mail, schedule
from trigger.store.access import APPLY, needs
from trigger.store.app import App, retried, today
from trigger.store.models import Agency, Deadline, Partnership, Setting
from trigger.store.partnerships import heading
from trigger.store.unit import Work, find_agency, policy_of_new_case

ACTOR = "applicant (online)"
CHANNEL = "online"
MAX_COMPLAINTS = 20  # incidents in one application: enough for any history, bounded for the form
WHO = ("victim", "behalf", "business", "community_group")  # who applies, as the form asks it
CONSENT_METHODS = ("writing", "email", "phone", "in_person")
PREFERRED = ("email", "phone", "letter")
# how each way of giving consent is recorded on the case (the officers' language)
CONSENT_RECORDED = {
    "writing": "in writing (stated online)",
    "email": "by e-mail (stated online)",
    "phone": "by phone (stated online)",
    "in_person": "in person (stated online)",
    "representative": "applies as the organisation's authorised representative (stated online)",
}

log = logging.getLogger(__name__)


class FieldProblem(InvalidInput):
    """An answer the form must ask again: which field, and the engine's refusal of it."""

    def __init__(self, field_name: str, refusal: InvalidInput):
        super().__init__(str(refusal), refusal.problem, refusal.limit)
        self.field = field_name


# -- what a door shows ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Door:
    """One partnership's door: its name, its letterhead, its agencies to choose from and its
    timescales; `welsh_first` under a Welsh policy."""

    code: str
    name: str
    welsh_first: bool
    agencies: tuple[tuple[str, str], ...]
    hate_route: bool
    timescales: dict[str, Span]
    address: tuple[str, ...] = ()
    telephone: str = ""
    web: str = ""
    logo: bytes | None = field(default=None, repr=False)
    logo_type: str = ""


def _door(session, row: Partnership, app: App) -> Door:
    pol = policies.load(row.policy) if not app.policy_override else policies.load(app.policy_override)
    agencies = session.exec(
        select(Agency.code, Agency.name).where(Agency.partnership_id == row.id).order_by(Agency.name)
    ).all()
    own = heading(session, pol, row.id)  # the partnership's letterhead, else its policy's
    head = own.letterhead
    logo_type, logo = head.logo_image if head.logo_image is not None else ("", None)
    return Door(
        code=row.code,
        name=own.name,
        welsh_first=pol.nation == "wales",
        agencies=tuple((a.code, a.name) for a in agencies),
        hate_route=pol.hate_route,
        timescales=dict(pol.timescales),
        address=head.address,
        telephone=head.telephone,
        web=head.web,
        logo=logo,
        logo_type=logo_type,
    )


@needs(APPLY)
def doors(app: App) -> list[Door]:
    """Every partnership's door, by name (a county's several, or the database's one)."""
    with app.read() as session:
        rows = session.exec(select(Partnership).order_by(Partnership.name)).all()
        return [_door(session, row, app) for row in rows]


@needs(APPLY)
def door(app: App, code: str | None) -> Door:
    """The door of the partnership `code`, or of the database's only partnership when None."""
    with app.read() as session:
        if code is None:
            rows = session.exec(select(Partnership)).all()
            if len(rows) != 1:
                raise NotFound("this database holds several partnerships; choose one")
            return _door(session, rows[0], app)
        row = session.exec(select(Partnership).where(func.lower(Partnership.code) == code.lower())).first()
        if row is None:
            raise NotFound(f"no partnership {code!r}")
        return _door(session, row, app)


@retried
@needs(APPLY)
def web_keys(app: App) -> tuple[bytes, bytes]:
    """The door's session key and form key: made once, at random, and kept in the database's settings,
    so that every process serving the door (and a restart) signs and checks alike."""
    keys = []
    with app.write() as session:
        for name in ("web.session_key", "web.csrf_key"):
            row = session.get(Setting, name)
            if row is None:
                row = Setting(key=name, value=secrets.token_hex(32))
                session.add(row)
            keys.append(bytes.fromhex(row.value))
    return keys[0], keys[1]


# -- checking the answers, page by page ----------------------------------------------------------------


def check_field(name: str, value):
    """One answer checked as `trigger activate` checks its option (`FieldProblem` names the field)."""
    try:
        return moves.check_field(name, value)
    except InvalidInput as exc:
        raise FieldProblem(name, exc) from None


def check_choice(name: str, value: str | None, choices: tuple[str, ...]) -> str:
    if not value:
        raise FieldProblem(name, InvalidInput(f"{name} is required", "required"))
    if value not in choices:
        raise FieldProblem(name, InvalidInput(f"{value!r} is not one of {', '.join(choices)}", "format"))
    return value


def check_consent(consent_date: date | None) -> date:
    """The victim's consent to this application, given on `consent_date` (gov.uk guidance)."""
    try:
        return moves.check_consent(consent_date, today())
    except InvalidInput as exc:
        raise FieldProblem("consent_date", exc) from None


def check_contact(
    preferred: str | None, email: str | None, phone: str | None, address: str | None, postcode: str | None
) -> str:
    """The way the applicant wants to be contacted, and the detail it needs given."""
    preferred = check_choice("preferred_contact", preferred, PREFERRED)
    needed = {"email": ("email", email), "phone": ("phone", phone), "letter": ("address", address)}
    name, value = needed[preferred]
    if not (value or "").strip():
        refusal = InvalidInput(f"{name} is required to be contacted by {preferred}", "required")
        raise FieldProblem(name, refusal)
    if preferred == "letter" and not (postcode or "").strip():
        raise FieldProblem("postcode", InvalidInput("a postcode is required for letters", "required"))
    return preferred


@dataclass(frozen=True)
class Complaint:
    """One incident as the applicant describes it: when it happened, when and to whom it was reported,
    the agency's reference if they have one, and whether they think it was motivated by hate."""

    occurred: date
    reported: date
    agency: str
    description: str
    agency_ref: str | None = None
    hate: str | None = None


def check_complaint(door_: Door, complaint: Complaint) -> Complaint:
    """An incident checked as `trigger incident add` checks it, and its agency one of the door's."""
    if not (complaint.description or "").strip():
        raise FieldProblem("description", InvalidInput("the description is required", "required"))
    if complaint.agency not in {code for code, _name in door_.agencies}:
        raise FieldProblem("agency", InvalidInput("choose the agency it was reported to", "required"))
    if complaint.hate is not None and complaint.hate not in HATE_STRANDS:
        raise FieldProblem("hate", InvalidInput("not a hate strand", "format"))
    _checked_complaint(complaint)
    return complaint


def _checked_complaint(complaint: Complaint) -> None:
    """`trigger incident add`'s checks of one incident; a refusal names the answer it is about."""
    try:
        complaints.checked_complaint(
            occurred=complaint.occurred,
            reported=complaint.reported,
            agency_ref=complaint.agency_ref,
            description=complaint.description,
            hate=complaint.hate,
        )
    except InvalidInput as exc:
        where = str(exc).split(" ", 1)[0]
        field_name = {"--occurred": "occurred", "--agency-ref": "agency_ref", "--description": "description"}
        raise FieldProblem(field_name.get(where, "reported"), exc) from None


# -- sending the application ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Application:
    """A whole application as the applicant sends it."""

    who: str
    applicant: str
    statement: str
    preferred_contact: str
    language: str
    share_consent: bool
    complaints: tuple[Complaint, ...]
    victim: str | None = None
    victim_address: str | None = None  # the person applied for: their own address (a copy goes there)
    victim_postcode: str | None = None
    consent_date: date | None = None
    consent_method: str | None = None
    email: str | None = None
    phone: str | None = None
    address: str | None = None
    postcode: str | None = None
    accessibility: str | None = None


@dataclass(frozen=True)
class Receipt:
    """What the applicant is told once the case exists: its reference and the dates ahead."""

    reference: str
    received: date
    language: str
    email: str | None
    partnership: str
    acknowledge_by: date | None
    decision_by: date | None
    review_span: Span
    # the applicant's private link to their case page (`trigger.cases.links`): shown on the confirmation
    # and carried by the e-mail when the door has a public address; kept in the database as a hash only
    token: str = field(default="", repr=False)
    base_url: str = ""

    @property
    def link_path(self) -> str:
        return links.address("", self.token)

    @property
    def link(self) -> str | None:
        """The whole link, when the door has a public address."""
        return links.address(self.base_url, self.token) if self.base_url and self.token else None


def _victim_kind(who: str) -> str:
    return who if who in VICTIM_KINDS else "individual"


def _consent(application: Application) -> tuple[str | None, date | None, str | None]:
    """(victim, consent date, how consent was given) as the case records them."""
    if application.who == "victim":
        return None, None, None
    if application.who == "behalf":
        method = CONSENT_RECORDED.get(application.consent_method or "")
        return application.victim, application.consent_date, method
    # a business or a community group is the victim; the person applying speaks for it
    return application.victim, today(), CONSENT_RECORDED["representative"]


@retried
@needs(APPLY)
def submit(app: App, application: Application) -> Receipt:
    """Create the case of an online application with its complaints, in one transaction with their
    audit events (s.104(1)), to be passed to the relevant bodies (s.104(3): `trigger share`); nothing
    at all when any answer is refused."""
    check_choice("who", application.who, WHO)
    if not application.share_consent:
        raise FieldProblem("share_consent", InvalidInput("consent to share is required", "required"))
    if not application.complaints:
        raise FieldProblem("complaints", InvalidInput("at least one incident is required", "required"))
    if len(application.complaints) > MAX_COMPLAINTS:
        raise FieldProblem("complaints", InvalidInput(f"at most {MAX_COMPLAINTS} incidents", "too_long"))
    received = today()
    victim, consent_date, consent_method = _consent(application)
    if application.who != "victim" and not (victim or "").strip():
        raise FieldProblem("victim", InvalidInput("the victim's name is required", "required"))
    if application.who != "victim" and not moves.third_party(application.applicant, victim or ""):
        # the victim named must be someone other than the applicant (else: apply as the victim)
        raise FieldProblem("victim", InvalidInput("the victim named is the applicant", "same"))
    if application.who == "behalf":
        check_choice("consent_method", application.consent_method, CONSENT_METHODS)
        check_consent(consent_date)
    check_contact(
        application.preferred_contact,
        application.email,
        application.phone,
        application.address,
        application.postcode,
    )
    fields = {}
    for name, value in (
        ("applicant", application.applicant),
        ("statement", application.statement),
        ("victim", victim),
        ("consent_method", consent_method),
        ("address", application.address),
        ("postcode", application.postcode),
        ("victim_address", application.victim_address if application.who == "behalf" else None),
        ("victim_postcode", application.victim_postcode if application.who == "behalf" else None),
        ("email", application.email),
        ("phone", application.phone),
        ("accessibility", application.accessibility),
        ("language", application.language),
    ):
        fields[name] = check_field(name, value)
    for complaint in application.complaints:
        _checked_complaint(complaint)
    checked = moves.checked_application(
        received=received,
        consent_date=consent_date,
        channel=CHANNEL,
        victim_kind=_victim_kind(application.who),
        preferred_contact=application.preferred_contact,
        **fields,
    )
    policy = policy_of_new_case(app)
    with app.write() as session:
        case, pol = moves.open_case(
            app,
            session,
            **checked,
            detail={"consent_to_share": True, "applied_as": application.who},
            policy=policy,
        )
        session.info["case_partnership"] = case.partnership_id
        work = Work(session, case, pol, app.actor)
        for complaint in application.complaints:
            agency = find_agency(session, complaint.agency)
            agency_ref, description = complaint.agency_ref, complaint.description.strip()
            if agency_ref and complaints.reference_taken(session, agency, agency_ref):
                # a reference already on record (an imported log, an earlier incident) is kept in
                # the applicant's words: the applicant is never refused for quoting it
                description = f"{description}\n\nReference given by the applicant: {agency_ref}"
                agency_ref = None
            complaints.record_complaint(
                work,
                agency,
                received,
                occurred=complaint.occurred,
                reported=complaint.reported,
                agency_ref=agency_ref,
                hate=complaint.hate,
                description=description,
                complainant=None,
                category=None,
            )
        token = links.new_token()
        link = links.keep(work, token, links.BY_APPLICATION, received)
        by = links.BY_APPLICATION
        work.record("web_link", received, detail={"link": link.id, "replaced": [], "by": by})
        base_url = links.door_policy(session, case).web_base_url
        schedule.refresh(session, case, pol)
        session.flush()
        due = dict(
            session.exec(
                select(col(Deadline.kind), col(Deadline.due)).where(
                    Deadline.case_id == case.id, col(Deadline.kind).in_(("acknowledge", "threshold_decision"))
                )
            ).all()
        )
        name = heading(session, pol, case.partnership_id).name
    return Receipt(
        reference=case.reference,
        received=received,
        language=case.language,
        email=case.email,
        partnership=name,
        acknowledge_by=due.get("acknowledge"),
        decision_by=due.get("threshold_decision"),
        review_span=pol.timescales["review"],
        token=token,
        base_url=base_url,
    )


# -- the acknowledgement e-mail ------------------------------------------------------------------------


def _day(day: date | None, language: str) -> str:
    return long_date(day, language) if day is not None else "-"


def acknowledgement(receipt: Receipt, to: str, mail_from: str) -> EmailMessage:
    """The e-mail that tells the applicant their application arrived: the reference and the next
    dates, nothing about the incidents (an e-mail may be read by others)."""
    english = (
        f"Thank you for your application for an ASB Case Review to {receipt.partnership}.\n\n"
        f"Your reference is {receipt.reference}. Please quote it when you contact us.\n\n"
        "What happens next\n\n"
        f"- We will write to you by {_day(receipt.acknowledge_by, 'en')} to acknowledge your application.\n"
        f"- We will tell you by {_day(receipt.decision_by, 'en')} whether the threshold for a review "
        "is met.\n"
        f"- If it is met, the review will be finished within {receipt.review_span.describe()} of that "
        "decision.\n\n"
        + (
            "You can follow your case, and take part in the review, on your own private page:\n\n"
            f"{receipt.link}\n\nKeep this link private: anyone who has it can see your case.\n\n"
            if receipt.link
            else ""
        )
        + "In an emergency call 999. Otherwise call 101 or report online.\n"
    )
    text = english
    subject = f"Your application for an ASB Case Review ({receipt.reference})"
    if receipt.language == "cy":
        span = receipt.review_span
        span_cy = f"{span.count} {'diwrnod gwaith' if span.unit == 'wd' else 'diwrnod'}"
        welsh = (
            f"Diolch am eich cais am Adolygiad Achos Ymddygiad Gwrthgymdeithasol i {receipt.partnership}.\n\n"
            f"Eich cyfeirnod yw {receipt.reference}. Nodwch y cyfeirnod hwn pan fyddwch yn cysylltu â ni.\n\n"
            "Beth sy'n digwydd nesaf\n\n"
            f"- Byddwn yn ysgrifennu atoch erbyn {_day(receipt.acknowledge_by, 'cy')} i gydnabod eich cais.\n"
            f"- Byddwn yn rhoi gwybod i chi erbyn {_day(receipt.decision_by, 'cy')} a yw'r trothwy ar gyfer "
            "adolygiad wedi'i gyrraedd.\n"
            f"- Os yw wedi'i gyrraedd, bydd yr adolygiad wedi'i orffen o fewn {span_cy} i'r penderfyniad "
            "hwnnw.\n\n"
            + (
                "Gallwch ddilyn eich achos, a chymryd rhan yn yr adolygiad, ar eich tudalen breifat eich "
                f"hun:\n\n{receipt.link}\n\nCadwch y ddolen hon yn breifat: gall unrhyw un sydd â hi weld "
                "eich achos.\n\n"
                if receipt.link
                else ""
            )
            + "Mewn argyfwng, ffoniwch 999. Fel arall, ffoniwch 101 neu rhowch wybod ar-lein.\n"
        )
        text = f"{welsh}\n{'-' * 60}\n\n{english}"
        subject = f"Eich cais am Adolygiad Achos / {subject}"
    msg = EmailMessage(policy=email_policy.default.clone(max_line_length=998))  # subjects stay on one line
    msg["Subject"] = subject
    msg["From"] = mail_from
    msg["To"] = to
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain=mail.domain_of(mail_from))
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(text + "\n-- \nSent automatically by Community Trigger. Replies may not be read.\n")
    msg["Content-Language"] = "cy, en-GB" if receipt.language == "cy" else "en-GB"  # after the content
    return msg


def send_acknowledgement(app: App, receipt: Receipt) -> bool:
    """E-mail the acknowledgement when the applicant gave an address, by SMTP or to the outbox
    (`trigger.store.mail`). A failure is logged by reference only; the case stands, and its
    acknowledgement deadline still asks the manager to write."""
    if not receipt.email:
        return False
    try:
        channel = mail.transport(app)
        try:
            message = acknowledgement(receipt, receipt.email, mail.sender())
            channel.send(message, f"online-{receipt.reference}")
        finally:
            channel.close()
    except (smtplib.SMTPException, OSError, mail.MailError, mail.BadAddress, InvalidInput) as exc:
        log.warning(
            "the acknowledgement e-mail of %s was not sent: %s", receipt.reference, type(exc).__name__
        )
        return False
    log.info("acknowledgement e-mail of %s sent by %s", receipt.reference, channel.describe())
    return True
