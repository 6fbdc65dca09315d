"""Letters that leave the engine: `letter --send` e-mails the PDF (to a real SMTP server on loopback,
or to the outbox) and records the delivery; `letter --record FILE` registers the edited version that
was actually sent, so the register holds exactly what went out."""

from __future__ import annotations

import hashlib
import socket
import threading
import zipfile
from email import message_from_bytes
from email import policy as email_policy

import docx
import pytest
from aiosmtpd.controller import Controller

from tests.support.letters import applicant_case, pdf_text


class Inbox:
    """An SMTP handler that keeps the messages it accepts; `refuse` answers RCPT for that address 550."""

    def __init__(self, refuse: str | None = None):
        self.messages: list = []
        self.envelopes: list = []
        self.refuse = refuse
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.messages.append(message_from_bytes(envelope.content, policy=email_policy.default))
        return "250 OK"


def free_port() -> int:
    # aiosmtpd's Controller cannot take port=0 (it probes the port when it starts)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(monkeypatch):
    started = []

    def start(refuse: str | None = None) -> Inbox:
        inbox, port = Inbox(refuse), free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        started.append(controller)
        monkeypatch.setenv("TRIGGER_SMTP_URL", f"smtp://127.0.0.1:{port}")
        monkeypatch.setenv("TRIGGER_MAIL_FROM", "asb@charnwood.gov.uk")
        return inbox

    yield start
    for controller in started:
        controller.stop()


def parts(msg) -> tuple[str, list]:
    body = msg.get_body(preferencelist=("plain",)).get_content()
    return body, list(msg.iter_attachments())


# -- sending -------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_send_emails_the_pdf_with_the_letter_as_text_and_records_the_delivery(db, smtp):
    inbox = smtp()
    ref = applicant_case(db)
    result = db("letter", ref, "acknowledgement", "--send", "--on", "2026-03-03")
    assert len(inbox.messages) == 1
    msg = inbox.messages[0]
    assert inbox.envelopes[0] == ("asb@charnwood.gov.uk", ["ann@example.org"])
    assert msg["To"] == "ann@example.org" and msg["From"] == "asb@charnwood.gov.uk"
    assert msg["Subject"] == "Your application for an ASB Case Review (CT-2026-0001)"
    assert msg["Date"] and msg["Message-ID"].endswith("@charnwood.gov.uk>")
    assert msg["Content-Language"] == "en"
    body, attachments = parts(msg)
    assert "Dear Ann Example," in body and "We received it on 2 March 2026." in body
    assert [a.get_filename() for a in attachments] == ["CT-2026-0001-acknowledgement.pdf"]
    assert attachments[0].get_content_type() == "application/pdf"
    pdf = attachments[0].get_content()
    assert "We received it on 2 March 2026." in " ".join(pdf_text(pdf).split())
    # the register holds the PDF that went out, and where and when it went
    letter = db.json("show", ref)["letters"][-1]
    assert letter["format"] == "pdf" and letter["hash"] == hashlib.sha256(pdf).hexdigest()
    assert letter["sent"]["to"] == "ann@example.org" and letter["sent"]["message_id"] == msg["Message-ID"]
    assert letter["sent"]["at"]
    assert "to ann@example.org (smtp 127.0.0.1:" in result.stdout and msg["Message-ID"] in result.stdout
    # the audit trail has the letter, without the address
    event = db.json("show", ref)["events"][-1]
    assert event["event"] == "letter" and "ann@example.org" not in str(event)


@pytest.mark.slow
def test_a_welsh_letter_is_sent_bilingual(trigger, smtp):
    inbox = smtp()
    trigger("init", "--policy", "wales")
    ref = applicant_case(trigger, welsh=True)
    trigger("letter", ref, "acknowledgement", "--send", "--on", "2026-03-03")
    msg = inbox.messages[0]
    assert msg["Subject"] == (
        "Eich cais am Adolygiad Achos Ymddygiad Gwrthgymdeithasol / "
        "Your application for an ASB Case Review (CT-2026-0001)"
    )
    assert msg["Content-Language"] == "cy, en"
    body, _ = parts(msg)
    assert body.index("Annwyl Siân Llŷr,") < body.index("Dear Siân Llŷr,")


@pytest.mark.slow
def test_without_an_smtp_server_the_letter_goes_to_the_outbox(db, tmp_path, monkeypatch):
    monkeypatch.setenv("TRIGGER_OUTBOX", str(tmp_path / "outbox"))
    ref = applicant_case(db)
    result = db("letter", ref, "acknowledgement", "--send", "--on", "2026-03-03")
    files = list((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 1 and "outbox" in result.stdout
    raw = files[0].read_bytes()
    assert b"\r\n" in raw and raw.count(b"\r\n") == raw.count(b"\n")
    msg = message_from_bytes(raw, policy=email_policy.default)
    assert msg["To"] == "ann@example.org"
    _, attachments = parts(msg)
    assert attachments[0].get_filename() == "CT-2026-0001-acknowledgement.pdf"
    sent = db.json("show", ref)["letters"][-1]["sent"]
    assert sent["to"] == "ann@example.org" and sent["message_id"] == msg["Message-ID"]


def test_send_is_refused_when_the_applicant_has_no_email(db, smtp, tmp_path):
    inbox = smtp()
    ref = applicant_case(db, email=None)
    result = db.fails("letter", ref, "acknowledgement", "--send", "--on", "2026-03-03")
    assert "the applicant has no e-mail address on record" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert inbox.messages == [] and db.json("show", ref)["letters"] == []


@pytest.mark.slow
def test_a_send_the_server_refuses_records_nothing(db, smtp):
    smtp(refuse="ann@example.org")
    ref = applicant_case(db)
    result = db.fails("letter", ref, "acknowledgement", "--send", "--on", "2026-03-03")
    assert "could not send the acknowledgement letter to ann@example.org" in result.stderr
    assert "nothing was recorded" in result.stderr and "Traceback" not in result.stderr
    assert db.json("show", ref)["letters"] == []


@pytest.mark.slow
def test_an_information_request_is_sent_to_the_agency(db, smtp):
    inbox = smtp()
    db(
        "agency",
        "add",
        "rha",
        "--name",
        "Rutland Homes",
        "--kind",
        "housing",
        "--email",
        "asb@rutlandhomes.example",
    )
    ref = applicant_case(db)
    db("evidence", ref, "--agency", "rha", "--requested", "2026-03-03", "--due", "2026-03-10")
    db("letter", ref, "information_request", "--to", "rha", "--send", "--on", "2026-03-03")
    assert inbox.messages[0]["To"] == "asb@rutlandhomes.example"


@pytest.mark.parametrize(
    "args, says",
    [
        (["--send", "--preview"], "--preview and --send contradict each other"),
        (["--send", "--format", "docx"], "--send attaches the letter as a PDF"),
        (["--record", "x.pdf", "--format", "pdf"], "--record and --format contradict each other"),
    ],
)
def test_contradictory_options_are_refused(db, case, args, says):
    result = db.fails("letter", case, "acknowledgement", *args)
    assert says in result.stderr and result.stderr.count("\n") == 1
    assert db.json("show", case)["letters"] == []


# -- recording the edited version actually sent ----------------------------------------------------------


def test_record_registers_the_edited_word_file_as_sent(db, tmp_path):
    ref = applicant_case(db)
    draft = tmp_path / "draft.docx"
    db("letter", ref, "acknowledgement", "--format", "docx", "-o", draft, "--preview", "--on", "2026-03-03")
    edited = docx.Document(str(draft))
    edited.add_paragraph("PS: the officer added this line before sending.")
    sent = tmp_path / "sent.docx"
    edited.save(str(sent))
    result = db("letter", ref, "acknowledgement", "--record", sent, "--on", "2026-03-04")
    assert "Recorded the acknowledgement letter sent on CT-2026-0001 as register entry 1" in result.stdout
    letter = db.json("show", ref)["letters"][-1]
    assert letter["format"] == "docx" and letter["edited"] is True and letter["issued_on"] == "2026-03-04"
    assert letter["hash"] == hashlib.sha256(sent.read_bytes()).hexdigest()
    event = db.json("show", ref)["events"][-1]
    assert event["event"] == "letter"
    back = tmp_path / "back.docx"
    db("letter", ref, "--issued", "1", "-o", back)
    assert back.read_bytes() == sent.read_bytes()  # the register gives back the edited file itself
    assert "-o FILE.docx" in db.fails("letter", ref, "--issued", "1").stderr
    # the appeal bundle carries the edited bytes exactly
    db("decide", ref, "--met", "--on", "2026-03-05")
    db("assign", ref, "--lead", "cbc", "--reviewer", "Sam", "--on", "2026-03-06")
    db("meeting", ref, "--at", "2026-03-20T10:00", "--held", "--on", "2026-03-20")
    db("finding", ref, "--category", "other", "--text", "x", "--on", "2026-03-20")
    db("outcome", ref, "--no-recommendations", "Nothing to add.", "--on", "2026-03-23")
    db("appeal", ref, "--received", "2026-03-25", "--grounds", "facts", "--on", "2026-03-25")
    bundle = tmp_path / "bundle.zip"
    db("bundle", ref, "-o", bundle, "--on", "2026-03-26")
    with zipfile.ZipFile(bundle) as zf:
        assert zf.read("04-letters/01-2026-03-04-acknowledgement.docx") == sent.read_bytes()
        assert "the edited version recorded as sent" in zf.read("04-letters/index.txt").decode()


def test_record_takes_a_pdf_and_keeps_its_bytes(db, tmp_path):
    ref = applicant_case(db)
    sent = tmp_path / "signed.pdf"
    sent.write_bytes(b"%PDF-1.7\n% a scanned, signed copy\n")
    db("letter", ref, "acknowledgement", "--record", sent, "--on", "2026-03-03")
    letter = db.json("show", ref)["letters"][-1]
    assert letter["format"] == "pdf" and letter["hash"] == hashlib.sha256(sent.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "name, content, says",
    [
        ("sent.rtf", b"{\\rtf1}", "record the letter from a .pdf, .docx, .html or .txt file"),
        ("empty.pdf", b"", "is empty"),
        ("fake.pdf", b"not a pdf", "is not a PDF"),
        ("fake.docx", b"not a zip", "is not a Word document"),
        ("latin.txt", "Siân".encode("latin-1"), "is not UTF-8 text"),
    ],
)
def test_record_refuses_a_file_that_is_not_the_letter_it_claims(db, case, tmp_path, name, content, says):
    path = tmp_path / name
    path.write_bytes(content)
    result = db.fails("letter", case, "acknowledgement", "--record", path, "--on", "2026-03-03")
    assert says in result.stderr and result.stderr.count("\n") == 1
    assert db.json("show", case)["letters"] == []


def test_record_refuses_a_missing_file_and_a_kind_the_case_cannot_have(db, case, tmp_path):
    assert (
        "no such file" in db.fails("letter", case, "acknowledgement", "--record", tmp_path / "x.pdf").stderr
    )
    sent = tmp_path / "closure.pdf"
    sent.write_bytes(b"%PDF-1.7\n")
    result = db.fails("letter", case, "closure", "--record", sent, "--on", "2026-03-03")
    assert "cannot record the closure letter" in result.stderr and "not closed" in result.stderr
    assert db.json("show", case)["letters"] == []


def test_a_recorded_letter_shows_as_edited(db, case, tmp_path):
    sent = tmp_path / "sent.html"
    sent.write_text("<p>Dear Ann Example, our edited words.</p>", encoding="utf-8")
    db("letter", case, "acknowledgement", "--record", sent, "--on", "2026-03-03")
    shown = db("show", case).stdout
    assert "1. acknowledgement 2026-03-03 (html, sha256" in shown and "edited, as sent" in shown
    assert db("letter", case, "--issued", "1").stdout == sent.read_text(encoding="utf-8")


@pytest.mark.slow
def test_send_with_record_sends_the_edited_pdf_and_registers_it(db, smtp, tmp_path):
    inbox = smtp()
    ref = applicant_case(db)
    draft = tmp_path / "draft.pdf"
    db("letter", ref, "acknowledgement", "--format", "pdf", "-o", draft, "--preview", "--on", "2026-03-03")
    edited = draft.read_bytes() + b"\n% signed by hand and scanned\n"
    signed = tmp_path / "signed.pdf"
    signed.write_bytes(edited)
    db("letter", ref, "acknowledgement", "--record", signed, "--send", "--on", "2026-03-03")
    body, attachments = parts(inbox.messages[0])
    assert attachments[0].get_content() == edited
    assert "Please find attached our letter about your ASB Case Review (reference CT-2026-0001)" in body
    letter = db.json("show", ref)["letters"][-1]
    assert letter["edited"] is True and letter["hash"] == hashlib.sha256(edited).hexdigest()
    assert letter["sent"]["message_id"] == inbox.messages[0]["Message-ID"]
    word = tmp_path / "sent.docx"
    word.write_bytes(zipfile_bytes())
    refused = db.fails("letter", ref, "acknowledgement", "--record", word, "--send", "--on", "2026-03-03")
    assert "only a PDF is sent by e-mail" in refused.stderr


def zipfile_bytes() -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def test_send_under_smtp_needs_a_from_address_and_a_real_recipient(db, smtp, monkeypatch):
    inbox = smtp()
    monkeypatch.delenv("TRIGGER_MAIL_FROM")
    ref = applicant_case(db)
    result = db.fails("letter", ref, "acknowledgement", "--send", "--on", "2026-03-03")
    assert "TRIGGER_MAIL_FROM is not set" in result.stderr and result.stderr.count("\n") == 1
    # an address that is not one never reaches the record, so no letter can be sent to it
    with pytest.raises(AssertionError, match="'ann at example dot org' is not an e-mail address"):
        applicant_case(db, email="ann at example dot org")
    assert inbox.messages == []
    assert db.json("show", ref)["letters"] == []
