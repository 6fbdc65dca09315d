"""Welsh letters: under a Welsh policy, or for an applicant who asked for Welsh under any policy, every
kind is the whole letter in Welsh and then the whole letter in English, from one set of facts; the
coded terms come from the glossary beside the templates, the dates and numbers from Babel."""

from __future__ import annotations

import pytest

from letters.glossary import GLOSSARY_FILE, shipped, welsh
from letters.render import plural
from tests.support.letters import applicant_case, invite, pdf_text
from trigger.codes import (
    ACTION_STATUS_LABELS,
    FINDING_LABELS,
    HATE_STRANDS,
    INVOLVEMENT_LABELS,
    REJECTION_CATEGORIES,
)
from trigger.rules import policy as policies
from trigger.rules.threshold import CAVEAT_TEXT

pytestmark = pytest.mark.any_engine  # the letters' Welsh: the same on any database


def flat(text: str) -> str:
    return " ".join(text.split())


def halves(text: str, greeting_cy: str, greeting_en: str) -> tuple[str, str]:
    """The Welsh letter and the English letter, checking the Welsh comes first."""
    welsh_at, english_at = text.index(greeting_cy), text.index(greeting_en)
    assert welsh_at < english_at, "the Welsh letter comes first"
    return flat(text[welsh_at:english_at]), flat(text[english_at:])


# what each kind says, in Welsh and in English, for the case walked below (Gwent: Welsh bank holidays)
EXPECTED = {
    "acknowledgement": (
        ["Cawsom y cais ar 2 Mawrth 2026.", "erbyn 16 Mawrth 2026 a yw'r trothwy ar gyfer adolygiad"],
        ["We received it on 2 March 2026.", "by 16 March 2026 whether the threshold for a review is met."],
    ),
    "information_request": (
        ["Atebwch erbyn 10 Mawrth 2026.", "Atodlen 4 i Ddeddf Ymddygiad Gwrthgymdeithasol"],
        ["Please reply by 10 March 2026.", "Schedule 4, paragraph 7"],
    ),
    "threshold_met": (
        [
            "Ar 5 Mawrth 2026 gwnaethom benderfynu bod y trothwy",
            "Gwnaethoch ddigon o gwynion cymwys i gyrraedd y trothwy cyfreithiol.",
            "Ein nod yw cwblhau'r adolygiad erbyn 20 Ebrill 2026.",
        ],
        ["On 5 March 2026 we decided that the threshold", "finish the review by 20 April 2026."],
    ),
    "meeting_invitation": (
        [
            "Cynhelir y cyfarfod ar 20 Mawrth 2026 am 10:00.",
            "Dywedoch wrthym yr hoffech ddod i'r cyfarfod yn bersonol.",
            "Cyngor Dinas Casnewydd sy'n arwain yr adolygiad.",
        ],
        ["The meeting is on 20 March 2026 at 10:00.", "would like to come to the meeting in person."],
    ),
    "delay": (
        [
            "Ni fyddwn yn gallu cwblhau eich adolygiad erbyn 20 Ebrill 2026",
            "Rydym bellach yn disgwyl cwblhau eich adolygiad erbyn 1 Mai 2026.",
        ],
        ["We will not be able to finish your review by 20 April 2026", "finish your review by 1 May 2026."],
    ),
    "outcome": (
        [
            "Cyhoeddwyd y canlyniad ar 23 Mawrth 2026.",
            "Roedd yr asiantaethau'n gweithio ar wahân i'w gilydd.",
            "Heddlu Gwent: Share ASB reports weekly.",
            "Cartrefi Dinas Casnewydd",
            "29 Mai 2026",
            "Gallwch apelio os ydych yn credu, yn yr adolygiad:",
            "nad ystyriwyd gwybodaeth ffeithiol berthnasol",
            "Y diwrnod olaf i apelio yw 22 Ebrill 2026.",
            "Mae hynny 20 diwrnod gwaith ar ôl y penderfyniad hwn.",
        ],
        [
            "Agencies worked in silos.",
            "Newport City Homes",
            "29 May 2026",
            "The last day to appeal is 22 April 2026.",
        ],
    ),
    "appeal_acknowledgement": (
        [
            "Cawsom eich apêl yn erbyn canlyniad yr adolygiad ar 1 Ebrill 2026.",
            "Rydych yn credu, yn yr adolygiad, nad ystyriwyd gwybodaeth ffeithiol berthnasol.",
            "Swyddfa Comisiynydd yr Heddlu a Throseddu Gwent",
        ],
        [
            "We received your appeal against the outcome of the review on 1 April 2026.",
            "You believe that, in the review, relevant factual information was not considered.",
        ],
    ),
    "appeal_outcome": (
        [
            "Mae eich apêl wedi'i gwrthod. Mae'r penderfyniad yn sefyll.",
            "Mae'r penderfyniad hwn yn derfynol.",
        ],
        ["Your appeal is not upheld. The decision stands.", "This decision is final."],
    ),
    "closure": (
        [
            "Gwnaethom gau eich Adolygiad Achos Ymddygiad Gwrthgymdeithasol ar 26 Mai 2026.",
            "Roedd 2 o gamau yn y cynllun gweithredu.",
            "wedi'i gwblhau",
        ],
        ["We closed your ASB Case Review on 26 May 2026.", "The action plan had 2 actions."],
    ),
}


def walk_every_kind(t, render) -> dict[str, str]:
    """Take a Welsh applicant's case through every stage, rendering each kind when the case allows it."""
    t("init", "--policy", "wales", "--manager-email", "asb@example.gov.uk")
    ref = applicant_case(t, welsh=True)
    got = {"acknowledgement": render(ref, "acknowledgement", "--on", "2026-03-03")}
    t("evidence", ref, "--agency", "newport_homes", "--requested", "2026-03-03", "--due", "2026-03-10")
    got["information_request"] = render(
        ref, "information_request", "--to", "newport_homes", "--on", "2026-03-03"
    )
    t("decide", ref, "--met", "--on", "2026-03-05")
    got["threshold_met"] = render(ref, "threshold_met", "--on", "2026-03-05")
    t("assign", ref, "--lead", "ncc", "--reviewer", "Sam Reviewer", "--on", "2026-03-06")
    invite(t, ref)
    got["meeting_invitation"] = render(ref, "meeting_invitation", "--on", "2026-03-09")
    got["delay"] = render(ref, "delay", "--until", "2026-05-01", "--on", "2026-03-10")
    t("meeting", ref, "--at", "2026-03-20T10:00", "--held", "--on", "2026-03-20")
    t(
        "finding",
        ref,
        "--category",
        "silo_working",
        "--text",
        "Reports were never shared.",
        "--on",
        "2026-03-20",
    )
    t("recommend", ref, "--to", "police", "--text", "Share ASB reports weekly.", "--on", "2026-03-20")
    for action, owner, due in (
        ("Joint visit to the perpetrator's address", "police", "2026-04-30"),
        ("Install CCTV at the block entrance", "newport_homes", "2026-05-29"),
    ):
        t("action", "add", ref, "--action", action, "--owner", owner, "--due", due, "--on", "2026-03-20")
    t("outcome", ref, "--on", "2026-03-23")
    got["outcome"] = render(ref, "outcome", "--on", "2026-03-24")
    t("appeal", ref, "--received", "2026-04-01", "--grounds", "facts", "--on", "2026-04-01")
    got["appeal_acknowledgement"] = render(ref, "appeal_acknowledgement", "--on", "2026-04-01")
    t(
        "appeal-decision",
        ref,
        "--dismissed",
        "--by",
        "Chair of Torfaen CSP",
        "--reason",
        "Every report was seen.",
        "--on",
        "2026-04-20",
    )
    got["appeal_outcome"] = render(ref, "appeal_outcome", "--on", "2026-04-20")
    for n in ("1", "2"):
        t("action", "update", ref, n, "--status", "done", "--on", "2026-05-20")
    t("close", ref, "--reason", "Every action of the plan is done.", "--on", "2026-05-26")
    got["closure"] = render(ref, "closure", "--on", "2026-05-26")
    return got


def check(kind: str, text: str) -> None:
    greeting = ("Annwyl Cartrefi Dinas Casnewydd,", "Dear Newport City Homes,")
    if kind != "information_request":
        greeting = ("Annwyl Siân Llŷr,", "Dear Siân Llŷr,")
    cymraeg, english = halves(text, *greeting)
    says_cy, says_en = EXPECTED[kind]
    for fact in says_cy:
        assert fact in cymraeg, f"{kind}: {fact!r} not in the Welsh letter"
    for fact in says_en:
        assert fact in english, f"{kind}: {fact!r} not in the English letter"
    assert "Yn gywir," in cymraeg and "Yours sincerely," in english  # each half signs off


def test_every_kind_is_the_whole_letter_in_welsh_then_in_english(trigger):
    def render(ref, kind, *args):
        return trigger("letter", ref, kind, "--format", "txt", "--preview", *args).stdout

    got = walk_every_kind(trigger, render)
    assert set(got) == set(EXPECTED)
    for kind, text in got.items():
        check(kind, text)


@pytest.mark.slow
def test_every_kind_in_welsh_and_english_in_the_pdf(trigger, tmp_path):
    def render(ref, kind, *args):
        out = tmp_path / f"{kind}.pdf"
        trigger("letter", ref, kind, "--format", "pdf", "-o", out, *args)
        return pdf_text(out)

    got = walk_every_kind(trigger, render)
    for kind, text in got.items():
        check(kind, text)
        assert "Tudalen 1 o" in text and "/ Page 1 of" in text
    # the action-plan table, with its headings, in both languages
    assert "Rhif Cam gweithredu Asiantaeth gyfrifol Erbyn" in flat(got["outcome"])
    assert "No. Action Agency responsible Due by" in flat(got["outcome"])


def test_language_cy_under_an_english_policy_gives_the_same_bilingual_letter(db):
    ref = applicant_case(db, welsh=True)
    db("decide", ref, "--met", "--on", "2026-03-05")
    text = db("letter", ref, "threshold_met", "--format", "txt", "--preview", "--on", "2026-03-05").stdout
    cymraeg, english = halves(text, "Annwyl Siân Llŷr,", "Dear Siân Llŷr,")
    assert "Ar 5 Mawrth 2026 gwnaethom benderfynu bod y trothwy" in cymraeg
    assert "Ein nod yw cwblhau'r adolygiad erbyn 2 Ebrill 2026." in cymraeg  # LLR: 28 days
    assert "We aim to finish the review by 2 April 2026." in english


def test_an_english_applicant_under_an_english_policy_gets_english_only(db, case):
    text = db("letter", case, "acknowledgement", "--format", "txt", "--preview", "--on", "2026-03-03").stdout
    assert "Annwyl" not in text and "Cyfeirnod" not in text and "Dear Ann Example," in text


def custom_policy(tmp_path, extra: str = "") -> str:
    """The LLR preset with a ground of appeal of its own (not in the shipped glossary)."""
    from workflows import PRESETS_DIR

    text = (PRESETS_DIR / "llr.toml").read_text()
    text = text.replace('version = "2022.02"', 'version = "2022.02-own"').replace(
        'name = "llr"', 'name = "own"'
    )
    text = text.replace(
        'facts = "relevant factual information was not considered"',
        'facts = "relevant factual information was not considered"\n'
        'hate = "a hate incident was not recognised as one"',
    )
    path = tmp_path / "own.toml"
    path.write_text(text + extra)
    return str(path)


def test_a_term_the_glossary_lacks_is_refused_by_name_never_printed_in_english(trigger, tmp_path):
    trigger("init", "--policy", custom_policy(tmp_path))
    ref = applicant_case(trigger, welsh=True, complaints=1)
    trigger("decide", ref, "--not-met", "--on", "2026-03-10")
    result = trigger.fails("letter", ref, "threshold_not_met", "--format", "txt", "--on", "2026-03-10")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "no Welsh for 'a hate incident was not recognised as one'" in result.stderr
    assert "[glossary]" in result.stderr
    assert trigger.json("show", ref)["letters"] == []


def test_the_policy_glossary_gives_the_partnerships_own_terms_in_welsh(trigger, tmp_path):
    extra = (
        '\n[glossary]\n"a hate incident was not recognised as one" = '
        '"nad adnabuwyd digwyddiad casineb fel un"\n'
    )
    trigger("init", "--policy", custom_policy(tmp_path, extra))
    ref = applicant_case(trigger, welsh=True, complaints=1)
    trigger("decide", ref, "--not-met", "--on", "2026-03-10")
    text = trigger("letter", ref, "threshold_not_met", "--format", "txt", "--on", "2026-03-10").stdout
    cymraeg, english = halves(text, "Annwyl Siân Llŷr,", "Dear Siân Llŷr,")
    assert "nad adnabuwyd digwyddiad casineb fel un" in cymraeg
    assert "a hate incident was not recognised as one" in english


def test_a_partnership_template_without_welsh_is_refused_for_a_bilingual_letter(trigger, tmp_path):
    folder = tmp_path / "ours"
    folder.mkdir()
    (folder / "acknowledgement.html").write_text(
        "{% extends '_base.html' %}"
        "{% block body %}<p>Received {{ case.received|longdate }}.</p>{% endblock %}"
    )
    trigger("init", "--policy", "wales")
    ref = applicant_case(trigger, welsh=True)
    result = trigger.fails("letter", ref, "acknowledgement", "--templates", folder, "--on", "2026-03-03")
    assert "the acknowledgement template has no Welsh text" in result.stderr
    assert trigger.json("show", ref)["letters"] == []


def test_the_glossary_has_welsh_for_every_code_a_letter_prints():
    needed = [
        *FINDING_LABELS.values(),
        *INVOLVEMENT_LABELS.values(),
        *ACTION_STATUS_LABELS.values(),
        *REJECTION_CATEGORIES,
        *(strand.replace("_", " ") for strand in HATE_STRANDS),
        *CAVEAT_TEXT.values(),
        "outcome of the review",
        "threshold decision",
        "Single point of contact",
    ]
    for name in policies.preset_names():
        pol = policies.load(name)
        needed += [pol.appeal_body, *pol.appeal_grounds.values(), pol.manager_name]
    missing = []
    for term in needed:
        try:
            welsh(term)
        except Exception:  # noqa: BLE001 - collect every missing term, not just the first
            missing.append(term)
    assert missing == [], f"add these to {GLOSSARY_FILE.name}: {missing}"
    assert len(shipped()) >= len(set(needed))


def test_every_glossary_entry_says_where_its_welsh_comes_from():
    import tomllib

    entries = tomllib.loads(GLOSSARY_FILE.read_text(encoding="utf-8"))["term"]
    assert entries and all(e["source"].strip() and e["use"].strip() for e in entries)


@pytest.mark.parametrize(
    "n, en, cy",
    [
        (1, "1 action", "un cam"),
        (2, "2 actions", "2 o gamau"),
        (3, "3 actions", "3 o gamau"),
        (1234, "1,234 actions", "1,234 o gamau"),
    ],
)
def test_counts_take_the_plural_babel_gives_for_each_language(n, en, cy):
    assert plural(n, "{n} action", "{n} actions") == en
    assert plural(n, "un cam", "{n} o gamau", "cy") == cy


def test_the_letter_date_is_in_both_languages_at_the_top(trigger):
    trigger("init", "--policy", "wales")
    ref = applicant_case(trigger, welsh=True)
    text = trigger(
        "letter", ref, "acknowledgement", "--format", "txt", "--preview", "--on", "2026-03-03"
    ).stdout
    top = text[: text.index("Annwyl")]
    assert "Dyddiad / Date: 3 Mawrth 2026, 3 March 2026" in top
    assert "Cyfeirnod / Reference: CT-2026-0001" in top


def test_the_local_routes_are_explained_in_welsh_too(trigger, tmp_path):
    """A hate complaint a stricter local rule sets aside, and a community route not reached: the
    explanation the English letter gives, given in Welsh as well."""
    from workflows import PRESETS_DIR

    text = (PRESETS_DIR / "wales.toml").read_text().replace('version = "2026.1"', 'version = "2026.1-strict"')
    text = text.replace("community_route = false", "community_route = true")
    text = text.replace("stricter_caveats = []", 'stricter_caveats = ["report_within_7_days"]')
    policy = tmp_path / "strict.toml"
    policy.write_text(text)
    trigger("init", "--policy", policy)
    ref = applicant_case(trigger, welsh=True, complaints=0)
    trigger(
        "incident",
        "add",
        ref,
        "--occurred",
        "2026-02-01",
        "--reported",
        "2026-02-11",
        "--agency",
        "police",
        "--hate",
        "race",
        "--on",
        "2026-03-03",
    )
    trigger("decide", ref, "--not-met", "--on", "2026-03-10")
    letter = trigger("letter", ref, "threshold_not_met", "--format", "txt", "--on", "2026-03-10").stdout
    cymraeg, english = halves(letter, "Annwyl Siân Llŷr,", "Dear Siân Llŷr,")
    assert (
        "Mae cwyn 1 yn adroddiad cymwys am ddigwyddiad casineb (hil), ond mae rheol leol sy'n llymach na'r "
        "Ddeddf (rhaid rhoi gwybod am bob digwyddiad o fewn 7 diwrnod) yn ei rhoi o'r neilltu" in cymraeg
    )
    assert (
        "Nid oes cwyn gymwys yn cyfrif; mae angen 3 o bobl wahanol am yr un digwyddiad ar gyfer y llwybr "
        "cymunedol lleol." in cymraeg
    )
    assert "each incident must be reported within 7 days (stricter than the Act) sets it aside" in english
    # the set-aside complaint counts for no route
    assert (
        "No qualifying complaint counts for the local community route, which needs 3 different people to "
        "complain about the same incident within six months." in english
    )
