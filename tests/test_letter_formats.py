"""The letter as a person receives it: a tagged PDF in the bundled fonts only, with the letterhead,
the logo and a named signatory, the sign-off never alone on a page; and the same letter as an
editable Word document, read back with python-docx."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile

import docx
import pypdf
import pytest

from tests.support.letters import (
    applicant_case,
    laid_out_pages,
    letterhead_policy,
    pdf_pages,
    pdf_text,
    to_outcome,
)

pytestmark = pytest.mark.any_engine  # a letter's layout, fonts and Word file: the same on any database

BUNDLED = re.compile(r"^/?[A-Z]{6}\+Letter-Sans(-Bold)?(-Italic|-Oblique)?$")


def fonts_of(data: bytes) -> set[str]:
    names = set()
    for page in pypdf.PdfReader(io.BytesIO(data)).pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for font in fonts.values():
            font = font.get_object()
            names.add(str(font["/BaseFont"]))
            for descendant in font.get("/DescendantFonts", []):
                names.add(str(descendant.get_object()["/BaseFont"]))
    return names


# -- PDF ---------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["llr", "wales"])
def test_the_pdf_is_tagged_and_uses_only_the_bundled_fonts(trigger, tmp_path, policy):
    trigger("init", "--policy", policy)
    ref = applicant_case(trigger, welsh=policy == "wales")
    out = tmp_path / "ack.pdf"
    trigger("letter", ref, "acknowledgement", "--format", "pdf", "-o", out, "--on", "2026-03-03")
    reader = pypdf.PdfReader(str(out))
    catalog = reader.trailer["/Root"]
    assert "/StructTreeRoot" in catalog and bool(catalog["/MarkInfo"]["/Marked"])  # tagged: PDF/UA
    assert catalog["/Lang"] == ("cy" if policy == "wales" else "en")
    names = fonts_of(out.read_bytes())
    assert names and all(BUNDLED.match(n) for n in names), names  # no system font crept in
    # PDF/UA: each header cell carries its scope (Matterhorn 15-003): the reference block heads rows
    scopes = [str(e["/A"]["/Scope"]) for e in structure(catalog["/StructTreeRoot"]) if e["/S"] == "/TH"]
    assert scopes and set(scopes) == {"/Row"}, scopes
    # the running header and "Page N of M" are pagination artifacts, on every page
    for number, page in enumerate(reader.pages, start=1):
        operations = pypdf.generic.ContentStream(page.get_contents(), reader).operations
        artifacts = [
            args[1] for args, op in operations if op == b"BDC" and args[0] == "/Artifact" and len(args) > 1
        ]
        assert len(artifacts) == (1 if number == 1 else 3), number  # page 1 shows the letterhead instead
        assert all(a["/Type"] == "/Pagination" for a in artifacts)
    # each part tagged with its own language: a bilingual letter's English part is English
    parts = [str(e["/Lang"]) for e in structure(catalog["/StructTreeRoot"]) if e["/S"] == "/Sect"]
    assert parts[0] == ("cy" if policy == "wales" else "en") and parts[-1] == "en", parts
    assert parts == sorted(parts), parts  # the Welsh part first, then the English (each maybe split by pages)


def structure(node):
    """Every structure element below a node of the structure tree."""
    kids = node.get("/K", [])
    for kid in kids if isinstance(kids, list) else [kids]:
        kid = kid.get_object() if hasattr(kid, "get_object") else kid
        if isinstance(kid, dict) and "/S" in kid:
            yield kid
            yield from structure(kid)


@pytest.mark.slow
def test_without_harfbuzz_subset_the_fonts_are_subset_by_fonttools(monkeypatch):
    # the PDF path imports fontTools' subsetter only when WeasyPrint falls back to it
    from letters import render

    html = '<html lang="cy"><p>Ŵyr ŷd — <b>bold</b> <i>italic</i></p></html>'
    with_harfbuzz = render.pdf(html)
    import weasyprint.pdf.fonts

    harfbuzz = weasyprint.pdf.fonts.harfbuzz_subset  # None on a host without libharfbuzz-subset0
    monkeypatch.setattr(weasyprint.pdf.fonts, "harfbuzz_subset", None)
    with_fonttools = render.pdf(html)
    if harfbuzz is not None:
        assert with_fonttools != with_harfbuzz  # the other subsetter was used
    for data in (with_harfbuzz, with_fonttools):
        assert "Ŵyr ŷd — bold italic" in pdf_text(data)
        names = fonts_of(data)
        assert names and all(BUNDLED.match(n) for n in names), names


@pytest.mark.slow
def test_letterhead_logo_address_and_a_named_signatory(trigger, tmp_path):
    trigger("init", "--policy", letterhead_policy(tmp_path), "--manager-email", "asb@charnwood.gov.uk")
    ref = applicant_case(trigger)
    html = trigger("letter", ref, "acknowledgement", "--preview", "--on", "2026-03-03").stdout
    assert 'src="data:image/png;base64,' in html and 'alt="Charnwood Community Safety Partnership"' in html
    out = tmp_path / "ack.pdf"
    trigger("letter", ref, "acknowledgement", "--format", "pdf", "-o", out, "--on", "2026-03-03")
    page = pdf_pages(out)[0]
    top = page[: page.index("Dear Ann Example")]
    for line in ("Community Safety Team", "Southfield Road", "Loughborough LE11 2TX", "01509 263151"):
        assert line in top, line
    assert top.count("Charnwood Community Safety Partnership") == 1  # the partnership once at the top
    assert "Your single point of contact is Priya Shah, Community Safety Manager." in " ".join(page.split())
    signoff = page[page.index("Yours sincerely") :]
    assert "Priya Shah" in signoff and "Community Safety Manager" in signoff
    images = list(pypdf.PdfReader(str(out)).pages[0]["/Resources"]["/XObject"].values())
    assert images, "the logo is in the PDF"


def test_a_missing_logo_is_refused_when_the_policy_is_loaded(trigger, tmp_path):
    path = letterhead_policy(tmp_path)
    (tmp_path / "logo.png").unlink()
    result = trigger.fails("init", "--policy", path)
    assert "letterhead.logo: no such file" in result.stderr and "Traceback" not in result.stderr


def test_a_logo_that_is_not_an_image_the_letters_can_carry_is_refused(trigger, tmp_path):
    path = letterhead_policy(tmp_path)
    (tmp_path / "logo.svg").write_text("<svg/>")
    with open(path) as f:
        text = f.read().replace('logo = "logo.png"', 'logo = "logo.svg"')
    with open(path, "w") as f:
        f.write(text)
    result = trigger.fails("init", "--policy", path)
    assert "letterhead.logo" in result.stderr and "not a PNG, JPEG or GIF" in result.stderr


def test_without_a_signatory_or_named_spoc_the_letter_says_contact_us(db, case):
    text = db("letter", case, "acknowledgement", "--format", "txt", "--preview", "--on", "2026-03-03").stdout
    assert "please contact us at csm@example.gov.uk and quote CT-2026-0001" in text
    assert "We will keep you updated on your case." in text


@pytest.mark.slow
def test_the_sign_off_is_never_alone_on_a_page(db, tmp_path):
    """Lengthen a finding a little at a time, so the letter's end falls at every point of a page; the
    page of the PDF that holds "Yours sincerely" must also hold the end of the letter's body. The pages
    are read from the layout the PDF is written from (`laid_out_pages`: the letter's HTML, laid out as
    `--format pdf` lays it out), not from twenty-one PDFs written and parsed back; the other tests here
    read the written PDF."""
    ref = applicant_case(db)
    to_outcome(db, ref, lead="cbc", housing="emh")
    out = tmp_path / "outcome.html"
    words = "The council and the police never compared the reports they held about the same address."
    lonely = []
    for n in range(1, 22):
        db("finding", ref, "--category", "other", "--text", words, "--on", "2026-03-23")
        db(
            "letter",
            ref,
            "outcome",
            "--format",
            "html",
            "-o",
            out,
            "--preview",
            "--on",
            "2026-03-24",
            "--force",
        )
        pages = laid_out_pages(out)
        last = next(p for p in pages if "Yours sincerely" in p)
        before = last[: last.index("If you have any questions")]
        body = re.sub(
            r"Page \d+ of \d+|Leicester, Leicestershire and Rutland Community Safety Partnership|CT-2026-\d+",
            "",
            before,
        )
        if not body.strip():
            lonely.append((n, len(pages)))
    assert lonely == [], f"the sign-off stood alone on its page (findings, pages): {lonely}"


# -- Word ---------------------------------------------------------------------------------------------


def docx_text(path) -> list[str]:
    return [p.text for p in docx.Document(str(path)).paragraphs if p.text.strip()]


def test_docx_is_the_same_letter_editable_in_word(db, tmp_path):
    case = applicant_case(db)
    to_outcome(db, case, lead="cbc", housing="emh")
    out = tmp_path / "outcome.docx"
    db("letter", case, "outcome", "--format", "docx", "-o", out, "--on", "2026-03-24")
    document = docx.Document(str(out))
    paragraphs = [p for p in document.paragraphs if p.text.strip()]
    texts = [p.text for p in paragraphs]
    assert "The outcome of your ASB Case Review" in texts and "Dear Ann Example," in texts
    heading = paragraphs[texts.index("The outcome of your ASB Case Review")]
    assert heading.style.name == "Heading 1"
    assert paragraphs[texts.index("What the review found")].style.name == "Heading 2"
    assert "Agencies worked in silos. Finding 1." in texts
    assert "The last day to appeal is 22 April 2026." in texts
    bullets = [p.text for p in paragraphs if p.style.name == "List Bullet"]
    assert "To Leicestershire Police: Share ASB reports weekly." in bullets
    plan = [[c.text for c in row.cells] for row in document.tables[-1].rows]
    assert plan == [
        ["No.", "Action", "Agency responsible", "Due by"],
        ["1", "Joint visit to the perpetrator's address", "Leicestershire Police", "30 April 2026"],
        ["2", "Install CCTV at the block entrance", "EMH Homes", "29 May 2026"],
    ]
    top = [c.text for c in document.tables[1].rows[0].cells]
    assert (
        top[0] == "Ann Example\n1 High Street\nLoughborough\nLE11 1AA" and "Reference: CT-2026-0001" in top[1]
    )
    assert document.core_properties.title == "The outcome of your ASB Case Review (CT-2026-0001)"
    # the register holds the Word file's own bytes
    letters = db.json("show", case)["letters"]
    assert letters[-1]["format"] == "docx"
    assert letters[-1]["hash"] == hashlib.sha256(out.read_bytes()).hexdigest()


def test_a_bilingual_docx_is_welsh_first_marked_welsh_and_english_starts_a_page(trigger, tmp_path):
    trigger("init", "--policy", "wales")
    ref = applicant_case(trigger, welsh=True)
    out = tmp_path / "ack.docx"
    trigger(
        "letter", ref, "acknowledgement", "--format", "docx", "-o", out, "--preview", "--on", "2026-03-03"
    )
    document = docx.Document(str(out))
    paragraphs = [p for p in document.paragraphs if p.text.strip()]
    texts = [p.text for p in paragraphs]
    welsh, english = texts.index("Annwyl Siân Llŷr,"), texts.index("Dear Siân Llŷr,")
    assert welsh < english
    english_title = paragraphs[english - 1]
    assert english_title.text == "Your application for an ASB Case Review"
    assert english_title.paragraph_format.page_break_before is True
    w_lang = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}lang"
    w_val = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}val"

    def language(paragraph) -> str:
        return paragraph.runs[0]._r.find(f".//{w_lang}").get(w_val)

    assert language(paragraphs[welsh]) == "cy-GB" and language(paragraphs[english]) == "en-GB"
    assert "Cawsom y cais ar 2 Mawrth 2026." in " ".join(texts[welsh:english])
    assert any("Tudalen" in p.text for p in document.sections[0].footer.paragraphs)
    # the running header on every page, and properties naming the partnership, the letter, the language
    section = document.sections[0]
    assert not section.different_first_page_header_footer
    assert section.header.paragraphs[0].text.endswith(f"Safer Gwent Community Safety Partnership\t{ref}")
    props = document.core_properties
    assert props.author == "Safer Gwent Community Safety Partnership" and props.language == "cy-GB"
    assert props.title.endswith(f"Your application for an ASB Case Review ({ref})")
    with zipfile.ZipFile(out) as zf:
        assert "docProps/thumbnail.jpeg" not in zf.namelist()
        app = zf.read("docProps/app.xml").decode()
    assert "<Application>Community Trigger</Application>" in app and "Macintosh" not in app
    assert "<Company>Safer Gwent Community Safety Partnership</Company>" in app


def test_docx_needs_a_file_and_keeps_names_exactly(db, tmp_path):
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
    result = db.fails("letter", ref, "acknowledgement", "--format", "docx")
    assert "-o FILE.docx" in result.stderr and db.json("show", ref)["letters"] == []
    out = tmp_path / "ack.docx"
    db("letter", ref, "acknowledgement", "--format", "docx", "-o", out, "--on", "2026-03-03")
    assert "Dear A & B <x>," in docx_text(out)


def test_the_same_letter_gives_the_same_word_bytes(db, case, tmp_path):
    first, second = tmp_path / "a.docx", tmp_path / "b.docx"
    for out in (first, second):
        db(
            "letter",
            case,
            "acknowledgement",
            "--format",
            "docx",
            "-o",
            out,
            "--preview",
            "--on",
            "2026-03-03",
        )
    assert first.read_bytes() == second.read_bytes()


def test_plain_text_keeps_the_action_plan_readable(db, case):
    to_outcome(db, case, lead="cbc", housing="emh")
    text = db("letter", case, "outcome", "--format", "txt", "--preview", "--on", "2026-03-24").stdout
    assert (
        "  2. Install CCTV at the block entrance\n"
        "     Agency responsible: EMH Homes\n"
        "     Due by: 29 May 2026" in text
    )
    assert "<" not in text and "&amp;" not in text
