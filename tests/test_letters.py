"""Letters through the real command line: every kind carries the case's own facts, the register
records what was issued (and not what was previewed), the state refuses letters it cannot support,
PDFs keep Welsh letters and dashes (checked by extracting the text), and overrides run in the sandbox."""

from __future__ import annotations

import hashlib
import io
import tempfile
import zipfile
from datetime import date

import pypdf
import pytest
from hypothesis import given
from hypothesis import strategies as st

from letters.render import dyddiad, longdate
from tests.support.letters import invite
from trigger.rules.dates import MONTHS, long_date


def review_to_outcome(db, ref):
    """Carry the `case` fixture (three qualifying police complaints) through to an issued outcome."""
    db("decide", ref, "--met", "--on", "2026-03-05")
    db("assign", ref, "--lead", "cbc", "--reviewer", "Sam Reviewer", "--on", "2026-03-06")
    invite(db, ref)
    db("meeting", ref, "--at", "2026-03-20T10:00", "--held", "--on", "2026-03-20")
    db(
        "finding",
        ref,
        "--category",
        "silo_working",
        "--text",
        "Police and council reports were never shared.",
        "--on",
        "2026-03-20",
    )
    db(
        "recommend",
        ref,
        "--to",
        "police",
        "--text",
        "Share ASB reports with the council every week.",
        "--on",
        "2026-03-20",
    )
    db(
        "action",
        "add",
        ref,
        "--action",
        "Joint visit to the perpetrator's address",
        "--owner",
        "police",
        "--due",
        "2026-04-30",
        "--on",
        "2026-03-20",
    )
    db(
        "action",
        "add",
        ref,
        "--action",
        "Install CCTV at the block entrance",
        "--owner",
        "emh",
        "--due",
        "2026-05-29",
        "--on",
        "2026-03-20",
    )
    db("outcome", ref, "--victim-consulted", "--on", "2026-03-23")


def not_met_case(db, applicant="Bob Example", agencies=("emh", "cbc"), **extra):
    args = [
        "activate",
        "--applicant",
        applicant,
        "--received",
        "2026-03-02",
        "--channel",
        "phone",
        "--statement",
        "Ignored",
    ]
    for k, v in extra.items():
        args += [f"--{k.replace('_', '-')}", v]
    ref = db.json(*args)["reference"]
    first = db.json(
        "incident",
        "add",
        ref,
        "--occurred",
        "2026-02-01",
        "--reported",
        "2026-02-02",
        "--agency",
        agencies[0],
        "--on",
        "2026-03-03",
    )["id"]
    late = db.json(
        "incident",
        "add",
        ref,
        "--occurred",
        "2025-12-01",
        "--reported",
        "2026-01-20",
        "--agency",
        agencies[1],
        "--on",
        "2026-03-03",
    )["id"]
    return ref, first, late


def letter(db, ref, kind, *args):
    return db("letter", ref, kind, "--format", "txt", *args).stdout


# -- every kind, with its facts --------------------------------------------------------------------


def test_every_kind_carries_the_cases_facts(db, case):
    ack = letter(db, case, "acknowledgement", "--on", "2026-03-03")
    assert ack.index("Reference: CT-2026-0001") < ack.index("Dear Ann Example")  # the reference at the top
    assert "Your contact: Community Safety Manager, csm@example.gov.uk" in ack
    assert "We received it on 2 March 2026" in ack
    assert "by 16 March 2026 whether the threshold" in ack  # 14 days after receipt (LLR)
    assert "Dear Ann Example," in ack

    db("evidence", case, "--agency", "emh", "--requested", "2026-03-03", "--due", "2026-03-10")
    info = letter(db, case, "information_request", "--to", "emh", "--on", "2026-03-03")
    assert "Dear EMH Homes," in info and "Please reply by 10 March 2026." in info
    assert "Schedule 4, paragraph 7" in info

    review_to_outcome(db, case)
    met = letter(db, case, "threshold_met", "--on", "2026-03-05")
    assert "On 5 March 2026 we decided that the threshold for an ASB Case Review is met." in met
    assert "Charnwood Borough Council will lead the review. Your reviewer is Sam Reviewer." in met
    assert "finish the review by 2 April 2026" in met  # 28 days after the decision

    invite = letter(db, case, "meeting_invitation", "--on", "2026-03-09")
    assert "The meeting is on 20 March 2026 at 10:00." in invite
    assert "come to the meeting in person" in invite
    assert "outcome of the review by 27 March 2026" in invite  # 5 working days after the meeting

    outcome = letter(db, case, "outcome", "--on", "2026-03-24")
    for fact in (
        "We issued the outcome on 23 March 2026",
        "Agencies worked in silos.",
        "Police and council reports were never shared.",
        "To Leicestershire Police: Share ASB reports with the council every week.",
        "Joint visit to the perpetrator's address",
        "Agency responsible: EMH Homes",
        "Due by: 29 May 2026",
        "The last day to appeal is 22 April 2026.",
        "Your appeal will be decided by the independent chair of another Community Safety Partnership in "
        "Leicester, Leicestershire and Rutland, never the chair of your local partnership.",
        "You can appeal if you believe that, in the review:",
    ):
        assert fact in outcome, fact

    db("appeal", case, "--received", "2026-04-01", "--grounds", "facts", "--on", "2026-04-01")
    ack_appeal = letter(db, case, "appeal_acknowledgement", "--on", "2026-04-01")
    assert "We received your appeal against the outcome of the review on 1 April 2026." in ack_appeal
    assert "You believe that, in the review, relevant factual information was not considered." in ack_appeal
    assert "decision by 1 May 2026" in ack_appeal  # 20 working days, over Easter 2026

    delay = letter(db, case, "delay", "--until", "2026-05-15", "--on", "2026-04-02")
    assert "We will not be able to decide your appeal by 1 May 2026" in delay
    assert "We now expect to decide your appeal by 15 May 2026." in delay

    db(
        "appeal-decision",
        case,
        "--dismissed",
        "--by",
        "Alex Chair",
        "--reason",
        "The review considered every report.",
        "--on",
        "2026-04-20",
    )
    decided = letter(db, case, "appeal_outcome", "--on", "2026-04-20")
    assert (
        "On 20 April 2026 Alex Chair, the independent chair of another Community Safety Partnership in "
        "Leicester, Leicestershire and Rutland, decided your appeal"
    ) in " ".join(decided.split())
    assert (
        "Your appeal is not upheld. The decision stands." in decided and "This decision is final." in decided
    )

    db("action", "update", case, "1", "--status", "done", "--on", "2026-04-25")
    db("action", "update", case, "2", "--status", "done", "--on", "2026-05-20")
    db("close", case, "--reason", "Every action of the plan is done.", "--on", "2026-05-26")
    closure = letter(db, case, "closure", "--on", "2026-05-26")
    assert "We closed your ASB Case Review on 26 May 2026." in closure
    assert "Every action of the plan is done." in closure


def test_outcome_letter_html_has_the_action_plan_table(db, case):
    review_to_outcome(db, case)
    html = db("letter", case, "outcome", "--on", "2026-03-24").stdout
    assert "<th>Action</th><th>Agency responsible</th><th>Due by</th>" in html
    assert (
        "<tr><td>2</td><td>Install CCTV at the block entrance</td><td>EMH Homes</td>"
        '<td class="date">29 May 2026</td></tr>'
    ) in html
    assert "The last day to appeal is 22 April 2026." in html


def test_threshold_not_met_quotes_the_explanation_signposting_and_appeal(db):
    ref, first, late = not_met_case(db)
    db("decide", ref, "--not-met", "--on", "2026-03-10")
    text = letter(db, ref, "threshold_not_met", "--on", "2026-03-10")
    assert "On 10 March 2026 we decided that the threshold for an ASB Case Review is not met." in text
    assert "The threshold is 3 qualifying complaints." in text
    assert (
        f"Complaint {first}: behaviour on 1 February 2026, reported to EMH Homes on 2 February 2026." in text
    )
    assert (
        f"Complaint {late}: behaviour on 1 December 2025, reported to Charnwood Borough Council on "
        "20 January 2026. It does not count: reported 50 days after the behaviour; the limit is one month."
        in text
    )
    assert "Victim Support" in text and "complaints procedure" in text  # signposting
    # no review took place: the grounds are framed by the decision, not by "the review"
    assert "You can appeal if you believe that, when we made this decision:" in text
    assert "a relevant process, policy or protocol was not considered" in text
    assert "the review failed" not in text and "in the review" not in text
    assert "The last day to appeal is 9 April 2026." in text  # 20 working days after 10 March, over Easter


def test_the_appeal_window_comes_from_the_cases_deadline_row_when_there_is_one(db, tmp_path):
    ref, _, _ = not_met_case(db)
    db("decide", ref, "--not-met", "--on", "2026-03-10")
    import os

    from sqlmodel import Session, create_engine, select

    from trigger.store.models import Deadline, ReviewCase

    engine = create_engine(os.environ["TRIGGER_DB"])
    with Session(engine) as s:
        case_id = s.exec(select(ReviewCase.id).where(ReviewCase.reference == ref)).one()
        s.add(Deadline(case_id=case_id, kind="appeal_window", due=date(2026, 4, 14), span="20wd"))
        s.commit()
    engine.dispose()
    assert "The last day to appeal is 14 April 2026." in letter(
        db, ref, "threshold_not_met", "--on", "2026-03-10"
    )


def test_rejection_letter_gives_category_reason_and_appeal(db):
    ref, _, _ = not_met_case(db)
    db(
        "decide",
        ref,
        "--reject",
        "vexatious",
        "--reason",
        "The same complaint was made 40 times in a week.",
        "--on",
        "2026-03-10",
    )
    text = letter(db, ref, "rejection", "--on", "2026-03-11")
    assert "We found the application to be vexatious." in text
    assert "The same complaint was made 40 times in a week." in text
    assert "The last day to appeal is 9 April 2026." in text
    db.fails("letter", ref, "threshold_not_met", "--preview")


# -- the register -------------------------------------------------------------------------------------


def test_issuing_records_the_letter_and_preview_records_nothing(db, case):
    before = db.json("show", case)
    preview = db("letter", case, "acknowledgement", "--preview", "--on", "2026-03-03")
    assert "We received it on 2 March 2026" in preview.stdout
    after_preview = db.json("show", case)
    assert after_preview["letters"] == [] and len(after_preview["events"]) == len(before["events"])

    issued = db("letter", case, "acknowledgement", "--format", "txt", "--on", "2026-03-03")
    shown = db.json("show", case)
    assert shown["letters"] == [
        {
            "number": 1,
            "kind": "acknowledgement",
            "issued_on": "2026-03-03",
            "recipient": "Ann Example",
            "format": "txt",
            "hash": hashlib.sha256(issued.stdout.encode()).hexdigest(),
            "corrected_since": [],
            "edited": False,
            "sent": None,
        }
    ]
    event = shown["events"][-1]
    assert event["event"] == "letter" and event["at"] == "2026-03-03" and event["actor"] == "tester"


def test_a_letter_written_to_a_file_is_the_one_hashed(db, case, tmp_path):
    out = tmp_path / "ack.html"
    db("letter", case, "acknowledgement", "-o", out, "--on", "2026-03-03")
    assert db.json("show", case)["letters"][0]["hash"] == hashlib.sha256(out.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "kind, says",
    [
        ("outcome", "has no outcome yet (it is received)"),
        ("threshold_met", "has no threshold decision yet"),
        ("threshold_not_met", "has no threshold decision yet"),
        ("rejection", "has no threshold decision yet"),
        ("appeal_acknowledgement", "has no appeal"),
        ("appeal_outcome", "has no decided appeal"),
        ("meeting_invitation", "has no review meeting"),
        ("closure", "is received, not closed"),
    ],
)
def test_a_letter_the_state_does_not_support_is_refused(db, case, kind, says):
    result = db.fails("letter", case, kind, "--on", "2026-03-03")
    assert says in result.stderr and "Traceback" not in result.stderr
    assert db.json("show", case)["letters"] == []


def test_threshold_met_letter_is_refused_for_a_not_met_decision(db):
    ref, _, _ = not_met_case(db)
    db("decide", ref, "--not-met", "--on", "2026-03-10")
    assert "send threshold_not_met" in db.fails("letter", ref, "threshold_met").stderr
    assert (
        "cannot be dated before it"
        in db.fails("letter", ref, "threshold_not_met", "--on", "2026-03-09").stderr
    )


def test_information_request_needs_the_agency_and_its_request(db, case):
    assert "--to AGENCY" in db.fails("letter", case, "information_request").stderr
    assert (
        "no evidence request to police"
        in db.fails("letter", case, "information_request", "--to", "police").stderr
    )
    assert (
        "no agency with code 'nope'" in db.fails("letter", case, "information_request", "--to", "nope").stderr
    )


def test_pdf_needs_an_output_file(db, case):
    result = db.fails("letter", case, "acknowledgement", "--format", "pdf")
    assert "-o FILE.pdf" in result.stderr
    assert db.json("show", case)["letters"] == []


def test_html_is_escaped_and_text_is_not(db):
    ref = db.json(
        "activate",
        "--applicant",
        "A & B <x>",
        "--received",
        "2026-03-02",
        "--channel",
        "online",
        "--statement",
        "Nothing changed",
    )["reference"]
    html = db("letter", ref, "acknowledgement", "--preview", "--on", "2026-03-03").stdout
    assert "Dear A &amp; B &lt;x&gt;," in html and "<x>" not in html
    assert "Dear A & B <x>," in letter(db, ref, "acknowledgement", "--preview", "--on", "2026-03-03")


# -- PDF and Welsh ----------------------------------------------------------------------------------------


def pdf_text(path) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(str(path)).pages)


def welsh_case(trigger):
    trigger("init", "--policy", "wales")
    ref, _first, _late = not_met_case(
        trigger,
        applicant="Siân Llŷr",
        agencies=("newport_homes", "ncc"),
        language="cy",
        address="Tŷ'r Ŵyl, 3 Heol y Dŵr, Casnewydd",
        postcode="NP20 9ZZ",
    )
    trigger(
        "decide",
        ref,
        "--not-met",
        "--reason",
        "Only one complaint counts — two more are needed.",
        "--on",
        "2026-03-10",
    )
    return ref


@pytest.mark.any_engine
@pytest.mark.slow
def test_pdf_keeps_welsh_letters_and_the_em_dash(trigger, tmp_path):
    ref = welsh_case(trigger)
    out = tmp_path / "letter.pdf"
    trigger("letter", ref, "threshold_not_met", "--format", "pdf", "-o", out, "--on", "2026-03-10")
    assert out.read_bytes().startswith(b"%PDF")
    text = pdf_text(out)
    for fact in (
        "Siân Llŷr",
        "Tŷ'r Ŵyl",
        "Heol y Dŵr",
        "The reason recorded with the decision: “Only one complaint counts — two more are needed.”",
        "Safer Gwent Community Safety Partnership",
        "Tudalen 1 o 4 / Page 1 of 4",
        "Annwyl Siân Llŷr",
        "Y diwrnod olaf i apelio yw 9 Ebrill 2026",
        "The last day to appeal is 9 April 2026.",
    ):
        assert fact in " ".join(text.split()), fact
    assert trigger.json("show", ref)["letters"][0]["kind"] == "threshold_not_met"


@pytest.mark.any_engine
@pytest.mark.slow
def test_english_pdf_has_letterhead_and_page_numbers(db, case, tmp_path):
    review_to_outcome(db, case)
    out = tmp_path / "outcome.pdf"
    db("letter", case, "outcome", "--format", "pdf", "-o", out, "--on", "2026-03-24")
    text = pdf_text(out)
    assert "Leicester, Leicestershire and Rutland Community Safety" in text
    assert "Page 1 of 2" in text and "Page 2 of 2" in text
    assert "Install CCTV at the block entrance EMH Homes 29 May 2026" in text


def test_welsh_policy_gives_bilingual_letters_welsh_first(trigger):
    ref = welsh_case(trigger)
    text = letter(trigger, ref, "threshold_not_met", "--on", "2026-03-10")
    assert "Cyfeirnod / Reference: CT-2026-0001" in text
    assert "Dyddiad / Date: 10 Mawrth 2026, 10 March 2026" in text
    welsh, english = text.index("Annwyl Siân Llŷr,"), text.index("Dear Siân Llŷr,")
    assert welsh < english
    cymraeg = text[welsh:english]
    assert "Ar 10 Mawrth 2026 gwnaethom benderfynu nad yw'r trothwy" in cymraeg and "Yn gywir," in cymraeg
    # the whole letter in Welsh, not a summary: the reasons, the signposting and the appeal route
    assert "Gwnaethom gyfrif un gŵyn:" in cymraeg and "Nid yw'r gŵyn hon yn cyfrif:" in cymraeg
    assert "rhoddwyd gwybod amdano 50 diwrnod ar ôl yr ymddygiad, a'r terfyn yw mis." in cymraeg
    assert "Help arall" in cymraeg and "Cymorth i Ddioddefwyr" in cymraeg
    assert "Swyddfa Comisiynydd yr Heddlu a Throseddu Gwent" in cymraeg
    assert "nad ystyriwyd proses, polisi na phrotocol perthnasol" in cymraeg
    # 20 working days in Wales: Easter Monday 6 April 2026 is a bank holiday
    assert "Y diwrnod olaf i apelio yw 9 Ebrill 2026." in cymraeg
    assert "The last day to appeal is 9 April 2026." in text[english:]


def test_every_letter_under_a_welsh_policy_is_bilingual_whatever_the_applicants_language(trigger):
    trigger("init", "--policy", "wales")
    ref, _, _ = not_met_case(trigger, agencies=("newport_homes", "ncc"))
    text = letter(trigger, ref, "acknowledgement", "--preview", "--on", "2026-03-03")
    assert text.index("Annwyl Bob Example,") < text.index("Dear Bob Example,")
    assert "erbyn 16 Mawrth 2026 a yw'r trothwy" in text  # Gwent: 10 working days
    assert "by 16 March 2026 whether the threshold" in text


def test_richmond_preset_has_its_own_timescales(trigger):
    trigger("init", "--policy", "richmond")
    ref, _, _ = not_met_case(trigger, agencies=("rhp", "lbrut"))
    text = letter(trigger, ref, "acknowledgement", "--preview", "--on", "2026-03-03")
    assert "Richmond Community Safety Partnership" in text
    assert "by 31 March 2026 whether the threshold" in text  # 21 working days after 2 March


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)))
def test_dates_read_back_in_english_and_welsh(day):
    en, cy = longdate(day), dyddiad(day)
    assert en == f"{day.day} {day:%B} {day.year}"
    assert cy == f"{day.day} {MONTHS['cy'][day.month - 1]} {day.year}"
    assert (long_date(day), long_date(day, "cy")) == (en, cy)  # the engine's own text writes them alike


# -- partnership templates ------------------------------------------------------------------------------


def test_override_renders_in_the_sandbox_and_blocks_escapes(db, case, tmp_path):
    folder = tmp_path / "ours"
    folder.mkdir()
    (folder / "acknowledgement.txt").write_text(
        "Our own words for {{ reference }}, due "
        "{{ next_step.due|longdate }}, received {{ case.received|longdate }}."
    )
    text = db(
        "letter",
        case,
        "acknowledgement",
        "--format",
        "txt",
        "--templates",
        folder,
        "--preview",
        "--on",
        "2026-03-03",
    ).stdout
    assert "Our own words for CT-2026-0001, due 16 March 2026, received 2 March 2026." in text

    (folder / "acknowledgement.txt").write_text("{{ ''.__class__.__mro__ }}")
    result = db.fails(
        "letter", case, "acknowledgement", "--format", "txt", "--templates", folder, "--on", "2026-03-03"
    )
    assert "object" not in result.stdout and "Traceback" not in result.stderr
    assert "acknowledgement.txt: refused by the template sandbox" in result.stderr
    assert db.json("show", case)["letters"] == []


def test_a_broken_override_is_one_clear_line(db, case, tmp_path):
    folder = tmp_path / "ours"
    folder.mkdir()
    (folder / "closure.txt").write_text("{% if %}")
    (folder / "acknowledgement.txt").write_text("Hello {{ victim.nam }}")
    result = db.fails(
        "letter", case, "acknowledgement", "--templates", folder, "--format", "txt", "--preview"
    )
    assert (
        result.stderr.strip().count("\n") == 0
        and "unknown field 'victim.nam'" in result.stderr
        and "Traceback" not in result.stderr
    )


def test_letters_check_lists_unknown_missing_and_broken(trigger, tmp_path):
    folder = tmp_path / "ours"
    folder.mkdir()
    (folder / "outcome.html").write_text(
        "{% extends '_base.html' %}{% block body %}{{ victim.nam }}"
        "{% for a in outcome.actions %}{{ a.owner }} {{ a.colour }}{% endfor %}{% endblock %}"
    )
    (folder / "closure.txt").write_text("{% if %}")
    result = trigger.fails("letters", "check", folder)
    out = result.stdout
    assert "outcome.html: unknown field 'victim.nam'" in out
    assert "outcome.html: unknown field 'outcome.actions[].colour'" in out
    assert "outcome.html: missing required field 'outcome.findings'" in out
    assert "outcome.html: missing required field 'appeal_route.last_day'" in out
    assert "closure.txt: line 1: does not parse" in out
    assert "Traceback" not in result.stderr


def test_letters_check_passes_the_shipped_templates(trigger):
    from letters.render import TEMPLATES_DIR

    assert "every template is fine" in trigger("letters", "check", TEMPLATES_DIR).stdout


# -- the appeal bundle ------------------------------------------------------------------------------------


def test_bundle_is_refused_without_an_appeal(db, case, tmp_path):
    result = db.fails("bundle", case, "-o", tmp_path / "b.zip")
    assert "has no appeal" in result.stderr
    assert not (tmp_path / "b.zip").exists()


def test_bundle_holds_the_appeal_papers_and_is_registered(db, case, tmp_path):
    review_to_outcome(db, case)
    issued = db("letter", case, "outcome", "--format", "txt", "--on", "2026-03-24").stdout
    db("appeal", case, "--received", "2026-04-01", "--grounds", "process", "--on", "2026-04-01")
    out = tmp_path / "bundle.zip"
    db("bundle", case, "-o", out, "--on", "2026-04-02")
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as zf:
        names = zf.namelist()
        assert names == [
            "01-report-form.txt",
            "02-chronology.txt",
            "03-meeting-minutes-summary.txt",
            "04-letters/01-2026-03-24-outcome.txt",
            "04-letters/index.txt",
            "05-outcome-and-action-plan.txt",
            "06-the-appeal.txt",
        ]
        assert zf.read("04-letters/01-2026-03-24-outcome.txt").decode() == issued
        assert "as issued" in zf.read("04-letters/index.txt").decode()
        assert "issue_outcome" in zf.read("02-chronology.txt").decode()
        assert (
            "Police and council reports were never shared."
            in zf.read("03-meeting-minutes-summary.txt").decode()
        )
        plan = zf.read("05-outcome-and-action-plan.txt").decode()
        assert "Install CCTV at the block entrance | emh | 2026-05-29 | open" in plan
        assert "Five reports and nothing has changed" in zf.read("01-report-form.txt").decode()
    register = db.json("show", case)["letters"]
    assert register[-1]["kind"] == "appeal_bundle" and register[-1]["issued_on"] == "2026-04-02"
    assert register[-1]["hash"] == hashlib.sha256(out.read_bytes()).hexdigest()


def test_policy_key_templates_points_at_the_partnerships_folder(trigger, tmp_path):
    from workflows import PRESETS_DIR

    folder = tmp_path / "ours"
    folder.mkdir()
    (folder / "_base.html").write_text(
        "<p>OUR LETTERHEAD</p><p>{{ reference }}</p>{% block body %}{% endblock %}"
    )
    text = (PRESETS_DIR / "llr.toml").read_text().replace('version = "2022.02"', 'version = "2022.02-ours"')
    policy = tmp_path / "ours.toml"
    policy.write_text(text.replace("closures = []", f'closures = []\ntemplates = "{folder}"'))
    trigger("init", "--policy", policy)
    ref, _, _ = not_met_case(trigger)
    out = letter(trigger, ref, "acknowledgement", "--preview", "--on", "2026-03-03")
    assert out.startswith("OUR LETTERHEAD\n\nCT-2026-0001\n") and "We received it on 2 March 2026" in out


def test_letters_check_flags_an_unknown_top_level_field_and_fields_lists_the_context(trigger, tmp_path):
    folder = tmp_path / "ours"
    folder.mkdir()
    (folder / "_footer.html").write_text("{{ perpetrator_name }}")
    assert (
        "_footer.html: unknown field 'perpetrator_name'" in trigger.fails("letters", "check", folder).stdout
    )
    fields = trigger("letters", "fields").stdout.splitlines()
    assert "appeal_route.last_day" in fields and "outcome.actions[].owner" in fields


# -- wording a recipient reads (regressions) ---------------------------------------------------------------


def closed_after(db, how: str) -> str:
    ref, _, _ = not_met_case(db)
    if how == "rejected":
        db(
            "decide",
            ref,
            "--reject",
            "vexatious",
            "--reason",
            "Forty reports in a week.",
            "--on",
            "2026-03-10",
        )
    else:
        db("decide", ref, "--not-met", "--on", "2026-03-10")
    db("close", ref, "--reason", "The appeal window passed without an appeal.", "--on", "2026-04-20")
    return letter(db, ref, "closure", "--on", "2026-04-20")


def test_a_refused_application_is_closed_as_an_application_not_as_a_review(db):
    text = closed_after(db, "rejected")
    assert "Your application for an ASB Case Review is closed" in text
    assert (
        "We closed your application for an ASB Case Review on 20 April 2026. We refused the application on "
        "10 March 2026, so no review took place." in text
    )
    assert "We closed your ASB Case Review" not in text and "Your ASB Case Review is closed" not in text
    assert "met again" not in text


def test_an_application_below_the_threshold_is_closed_as_an_application(db):
    text = closed_after(db, "not_met")
    assert (
        "We closed your application for an ASB Case Review on 20 April 2026. The threshold for a review "
        "was not met, so no review took place." in text
    )
    assert "We closed your ASB Case Review" not in text


def test_the_rejection_letter_says_what_allows_it_in_plain_words(db):
    ref, _, _ = not_met_case(db)
    db("decide", ref, "--reject", "frivolous", "--reason", "A joke application.", "--on", "2026-03-10")
    text = letter(db, ref, "rejection", "--on", "2026-03-10")
    assert "Our procedure allows us to refuse an application for this reason." in text
    assert "The law allows" not in text and 'recorded as "threshold not met"' not in text
    assert "You can appeal if you believe that, when we made this decision:" in text


def test_the_delay_letter_gives_the_new_date_and_why(db, case):
    result = db.fails("letter", case, "delay", "--on", "2026-03-10")
    assert "a delay letter gives the applicant the new date: add --until DATE" in result.stderr
    result = db.fails("letter", case, "delay", "--until", "2026-03-12", "--on", "2026-03-10")
    assert "--until 2026-03-12 is not after 2026-03-16, the day the step was due" in result.stderr
    assert (
        "belong to a delay letter"
        in db.fails("letter", case, "acknowledgement", "--until", "2026-04-01").stderr
    )
    text = letter(
        db,
        case,
        "delay",
        "--until",
        "2026-03-27",
        "--reason",
        "Two agencies have not replied yet.",
        "--on",
        "2026-03-10",
    )
    assert "We will not be able to decide whether the threshold for a review is met by 16 March 2026" in text
    assert "The reason we recorded: “Two agencies have not replied yet.”" in text
    assert "We now expect to decide whether the threshold for a review is met by 27 March 2026." in text
    assert db.json("show", case)["letters"][-1]["kind"] == "delay"


@pytest.mark.any_engine
def test_counts_are_proper_plurals_never_an_s_in_brackets(db, case):
    review_to_outcome(db, case)
    db(
        "action",
        "update",
        case,
        "2",
        "--status",
        "dropped",
        "--note",
        "The landlord sold the block.",
        "--on",
        "2026-04-25",
    )
    db("action", "update", case, "1", "--status", "done", "--on", "2026-04-25")
    db("close", case, "--force", "--reason", "The plan is finished.", "--on", "2026-05-26")
    closure = letter(db, case, "closure", "--on", "2026-05-26")
    assert "The action plan had 1 action. This is how each one ended:" in closure
    assert "Status: done" in closure
    for kind in ("outcome", "closure"):
        assert "(s)" not in letter(db, case, kind, "--preview", "--on", "2026-05-26")
    ref, _, _ = not_met_case(db)
    db("decide", ref, "--not-met", "--on", "2026-03-10")
    text = letter(db, ref, "threshold_not_met", "--on", "2026-03-10")
    assert "The threshold is 3 qualifying complaints." in text and "We counted 1 complaint:" in text


def test_the_appeal_body_reads_naturally(db, case):
    review_to_outcome(db, case)
    db("appeal", case, "--received", "2026-04-01", "--grounds", "process", "--on", "2026-04-01")
    text = letter(db, case, "appeal_acknowledgement", "--on", "2026-04-01")
    assert (
        "Your appeal will be decided by the independent chair of another Community Safety Partnership in "
        "Leicester, Leicestershire and Rutland, never the chair of your local partnership. "
        "They have not been involved in your case." in text
    )
    assert "independent partnership Community Safety Partnership" not in text


def test_a_ground_open_only_against_a_threshold_decision_is_not_offered_against_an_outcome(trigger):
    trigger("init", "--policy", "richmond")
    ref, _, _ = not_met_case(trigger, agencies=("rhp", "lbrut"))
    trigger("decide", ref, "--not-met", "--on", "2026-03-10")
    assert "the threshold was wrongly decided not met" in letter(
        trigger, ref, "threshold_not_met", "--on", "2026-03-10"
    )

    ref = trigger.json(
        "activate",
        "--applicant",
        "Cat Example",
        "--received",
        "2026-03-02",
        "--channel",
        "online",
        "--statement",
        "Nothing changed",
    )["reference"]
    for occurred, reported in (
        ("2026-01-10", "2026-01-12"),
        ("2026-01-20", "2026-01-21"),
        ("2026-02-03", "2026-02-04"),
    ):
        trigger(
            "incident",
            "add",
            ref,
            "--occurred",
            occurred,
            "--reported",
            reported,
            "--agency",
            "rhp",
            "--on",
            "2026-03-03",
        )
    trigger("decide", ref, "--met", "--on", "2026-03-05")
    trigger("assign", ref, "--lead", "lbrut", "--reviewer", "Sam", "--on", "2026-03-06")
    trigger("meeting", ref, "--at", "2026-03-20T10:00", "--held", "--on", "2026-03-20")
    trigger("finding", ref, "--category", "other", "--text", "x", "--on", "2026-03-20")
    trigger("outcome", ref, "--no-recommendations", "Nothing to add.", "--on", "2026-03-23")
    outcome = letter(trigger, ref, "outcome", "--on", "2026-03-23")
    assert "You can appeal if you believe that, in the review:" in outcome
    assert "wrongly decided not met" not in outcome
    refused = trigger.fails(
        "appeal", ref, "--received", "2026-03-25", "--grounds", "threshold", "--on", "2026-03-25"
    )
    assert "'threshold' is not a ground of appeal" in refused.stderr


# -- words a person reads -----------------------------------------------------------------------------


@pytest.mark.any_engine
def test_one_complaint_is_counted_as_one_and_typed_words_are_quoted_in_both_languages(trigger):
    trigger("init", "--policy", "wales")
    ref = trigger.json(
        "activate",
        *("--applicant", "Siân Llŷr", "--received", "2026-03-02", "--channel", "phone"),
        *("--statement", "Ignored", "--language", "cy"),
    )["reference"]
    trigger(
        "incident",
        "add",
        ref,
        *("--occurred", "2026-02-01", "--reported", "2026-02-02", "--agency", "ncc", "--hate", "race"),
        *("--on", "2026-03-03"),
    )
    checked = " ".join(trigger("check", ref).stdout.split())
    assert "One complaint is recorded and it qualifies (complaint 1); the threshold under section " in checked
    assert "104(4) is 3 qualifying complaints." in checked and "Of the 1 complaint" not in checked
    trigger("decide", ref, "--met", "--on", "2026-03-05")
    met = " ".join(letter(trigger, ref, "threshold_met", "--on", "2026-03-05").split())
    assert "Your complaint was about a hate incident, which meets our local threshold." in met
    assert "Roedd eich cwyn am ddigwyddiad casineb, ac mae hynny'n cyrraedd ein trothwy lleol." in met
    assert "One of your complaints" not in met and "un o'ch cwynion" not in met
    trigger("assign", ref, "--lead", "ncc", "--reviewer", "Sam Reviewer", "--on", "2026-03-06")
    trigger("hours", ref, *("--agency", "ncc", "--person", "R", "--hours", "1", "--date", "2026-03-08"))
    assert "1 review, mean 1 hour" in trigger("report", "hours").stdout
    typed = ("--reason", "  two agencies have not replied yet  ")
    delay = letter(trigger, ref, "delay", "--preview", "--until", "2026-06-30", *typed, "--on", "2026-05-20")
    delay = " ".join(delay.split())
    assert "The reason we recorded: “two agencies have not replied yet.”" in delay
    assert "Y rheswm a gofnodwyd gennym: “two agencies have not replied yet.”" in delay


def test_the_appeal_outcome_names_the_deciders_role_and_body_in_both_languages(trigger):
    ref = welsh_case(trigger)
    trigger("appeal", ref, "--received", "2026-03-20", "--grounds", "facts", "--on", "2026-03-20")
    trigger(
        "appeal-decision",
        ref,
        *("--dismissed", "--by", "Alex Chair", "--reason", "every report was considered"),
        *("--on", "2026-04-01"),
    )
    text = " ".join(letter(trigger, ref, "appeal_outcome", "--on", "2026-04-01").split())
    assert (
        "On 1 April 2026 Alex Chair, for the Office of the Police and Crime Commissioner for Gwent, "
        "decided your appeal against the threshold decision."
    ) in text
    assert (
        "Y sawl a wnaeth y penderfyniad oedd Alex Chair, ar ran Swyddfa Comisiynydd yr Heddlu a "
        "Throseddu Gwent."
    ) in text
    assert "The reason recorded with the decision: “every report was considered.”" in text


def test_the_chairs_report_form_gives_the_threshold_reasoning_first(db, tmp_path):
    ref, first, late = not_met_case(db)
    db("decide", ref, "--not-met", "--reason", "only one complaint in time", "--on", "2026-03-10")
    db("appeal", ref, "--received", "2026-03-20", "--grounds", "facts", "--on", "2026-03-20")
    out = tmp_path / "bundle.zip"
    db("bundle", ref, "-o", out, "--on", "2026-03-20")
    with zipfile.ZipFile(out) as zf:
        form = zf.read("01-report-form.txt").decode()
    assert form.index(
        "Threshold reasoning, as recorded with the decision of 2026-03-10: not met."
    ) < form.index("Received: 2026-03-02")
    assert "  The reason recorded with the decision: “only one complaint in time.”" in form
    assert (
        "Counted: 1 complaint of 2, against a threshold of 3:\n"
        f"  #{first} occurred 2026-02-01, reported 2026-02-02 to emh\n"
        "Not counted, and why:\n"
        f"  #{late} occurred 2025-12-01, reported 2026-01-20 to cbc: reported 50 days after the behaviour; "
        "the limit is one month (the month beginning with 1 December 2025 ended on 31 December 2025)\n"
    ) in form
    assert "Local hate route: No qualifying complaint is about a hate incident" in form
    assert "In full: The application was made on 2 March 2026." in " ".join(form.split())


def test_a_compiled_template_is_used_until_its_text_changes(tmp_path, monkeypatch):
    from letters import render

    shipped, temp = tmp_path / "templates", tmp_path / "tmp"
    shipped.mkdir()
    temp.mkdir()
    monkeypatch.setattr(render, "TEMPLATES_DIR", shipped)
    monkeypatch.setattr(tempfile, "tempdir", str(temp))

    def letter() -> str:  # each command starts with a fresh environment
        monkeypatch.setattr(render, "_default_env", None)
        return render.environment().get_template("note.html").render(name="Ann")

    (shipped / "note.html").write_text("Dear {{ name }}")
    assert letter() == "Dear Ann"
    [folder] = temp.iterdir()  # Jinja's private folder for this user, with the compiled template
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    assert len(list(folder.iterdir())) == 1
    assert letter() == "Dear Ann"
    (shipped / "note.html").write_text("Dyma {{ name }}")  # edited: compiled again
    assert letter() == "Dyma Ann"
