"""Cases for the letter tests, built through the real command line: one walk through every letter kind,
for an English and for a Welsh applicant."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf

from tests.support.cases import THREE_COMPLAINTS, add_complaints
from workflows import PRESETS_DIR

# an 8 x 4 pixel PNG (a logo for the letterhead tests)
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000080000000408020000003cafe9a70000001449444154789c63"
    "94350d67c00698b08a92250100426c00b1ce344b9e0000000049454e44ae426082"
)


def pdf_text(source) -> str:
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def pdf_pages(source) -> list[str]:
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def letterhead_policy(tmp_path, *, signatory: bool = True) -> str:
    """The LLR policy as Charnwood's, with a letterhead: logo (`PNG`), address, telephone, web."""
    (tmp_path / "logo.png").write_bytes(PNG)
    text = (PRESETS_DIR / "llr.toml").read_text()
    text = text.replace('version = "2022.02"', 'version = "2022.02-charnwood"').replace(
        'name = "llr"', 'name = "charnwood"'
    )
    text = text.replace(
        "closures = []", 'closures = []\npartnership = "Charnwood Community Safety Partnership"'
    )
    text += (
        '\n[letterhead]\nlogo = "logo.png"\n'
        'address = ["Community Safety Team", "Southfield Road", "Loughborough LE11 2TX"]\n'
        'telephone = "01509 263151"\nweb = "www.charnwood.gov.uk/asb"\n'
    )
    if signatory:
        text += '[letterhead.signatory]\nname = "Priya Shah"\nrole = "Community Safety Manager"\n'
    path = tmp_path / "charnwood.toml"
    path.write_text(text)
    return str(path)


def applicant_case(
    t, *, welsh: bool = False, email: str | None = "ann@example.org", complaints: int = 3, **extra
) -> str:
    """A case received on 2 March 2026 with (by default three) qualifying police complaints."""
    args = [
        "activate",
        "--applicant",
        "Siân Llŷr" if welsh else "Ann Example",
        "--received",
        "2026-03-02",
        "--channel",
        "online",
        "--statement",
        "Five reports and nothing has changed",
        "--address",
        "Tŷ'r Ŵyl, 3 Heol y Dŵr, Casnewydd" if welsh else "1 High Street, Loughborough",
        "--postcode",
        "NP20 9ZZ" if welsh else "LE11 1AA",
    ]
    if email:
        args += ["--email", email]
    if welsh:
        args += ["--language", "cy"]
    for key, value in extra.items():
        args += [f"--{key.replace('_', '-')}", value]
    ref = t.json(*args)["reference"]
    add_complaints(t, ref, THREE_COMPLAINTS[:complaints], on="2026-03-03")
    return ref


def invite(t, ref: str) -> None:
    """The review meeting on 20 March 2026 at a town hall, the applicant to attend, invited on 9 March."""
    t(
        "meeting",
        ref,
        "--at",
        "2026-03-20T10:00",
        "--victim-involvement",
        "attend",
        "--on",
        "2026-03-09",
        "--place",
        "Loughborough Town Hall, Market Place",
    )


def to_outcome(t, ref: str, *, lead: str, housing: str, findings: int = 1) -> None:
    """Decide, assign, hold the meeting, record findings, a recommendation and two actions, issue the
    outcome on 23 March 2026."""
    t("decide", ref, "--met", "--on", "2026-03-05")
    t("assign", ref, "--lead", lead, "--reviewer", "Sam Reviewer", "--on", "2026-03-06")
    invite(t, ref)
    t("meeting", ref, "--at", "2026-03-20T10:00", "--held", "--on", "2026-03-20")
    categories = ("silo_working", "vulnerability_missed", "powers_underused")
    for n in range(findings):
        t(
            "finding",
            ref,
            "--category",
            categories[n % 3],
            "--text",
            f"Finding {n + 1}.",
            "--on",
            "2026-03-20",
        )
    t("recommend", ref, "--to", "police", "--text", "Share ASB reports weekly.", "--on", "2026-03-20")
    for action, owner, due in (
        ("Joint visit to the perpetrator's address", "police", "2026-04-30"),
        ("Install CCTV at the block entrance", housing, "2026-05-29"),
    ):
        t("action", "add", ref, "--action", action, "--owner", owner, "--due", due, "--on", "2026-03-20")
    t("outcome", ref, "--victim-consulted", "--on", "2026-03-23")


def laid_out_pages(html_file) -> list[str]:
    """The text of each page of the PDF that `trigger letter --format pdf` makes of the letter `trigger
    letter --format html` wrote to `html_file`, read from the layout the PDF is written from
    (`letters.render.layout`: the same pages and lines), without writing the file and parsing it back.
    A line is its words as laid out, the page's margin boxes (the running header, the page numbers)
    among them."""
    from weasyprint.formatting_structure import boxes

    from letters import render

    html = Path(html_file).read_text(encoding="utf-8").replace(f"{render.CONTENT_POLICY}\n", "", 1)

    def lines(box, out: list[str]) -> list[str]:
        if isinstance(box, boxes.LineBox):
            out.append("".join(b.text for b in box.descendants() if isinstance(b, boxes.TextBox)))
        else:
            for child in getattr(box, "children", ()):
                lines(child, out)
        return out

    return ["\n".join(lines(page._page_box, [])) for page in render.layout(html).pages]
