"""The Word letter (`--format docx`), built with python-docx from the rendered letter HTML.

Why python-docx over the HTML rather than docxtpl templates: the HTML templates stay the one source
of every letter's wording, in English and Welsh, so a sentence fixed once is fixed in the PDF, the
text, the e-mail and the Word version alike, and a partnership's own HTML templates flow into Word
too. docxtpl would need a second, binary copy of every template that cannot be reviewed in a diff
and drifts from the first. Names are written as text runs, so `A & B <x>` stays exactly that.

The document is meant to be edited before it is sent: real headings (Heading 1 and 2, so Word's
navigation pane and screen readers see the structure), bulleted lists, the action plan as a Word
table whose header row repeats, the Welsh half marked as Welsh (cy-GB) for Word's proofing, the
sign-off kept together, the partnership and the reference in a header on every page, and the page
number in the footer. The document's properties name the letter, the partnership and the language,
never the template it was made from. The same facts give the same bytes.
"""

from __future__ import annotations

import base64
import io
import re
import struct
from datetime import date, datetime

from letters.heavy import import_for_good
from letters.markup import Element, document_language, parse
from trigger.errors import MissingDependency

FONT = "Arial"  # on every council PC; has ŵ and ŷ
INK = (0x1D, 0x35, 0x57)
_SPACE = re.compile(r"\s+")
_BOLD = frozenset({"b", "strong"})
_ITALIC = frozenset({"i", "em"})


def docx_of(html: str, dated: date | None = None) -> bytes:
    """The Word document of a rendered letter; `dated` (the letter's date) stamps its properties, so
    the same letter always gives the same bytes."""
    try:
        import_for_good("docx")
        from docx import Document
    except ModuleNotFoundError as exc:
        if exc.name != "docx":
            raise
        raise MissingDependency(
            "Word letters need python-docx; install the docx extra: pip install 'community-trigger[docx]' "
            "(or use --format html, txt or pdf)"
        ) from None
    from docx.enum.section import WD_ORIENT
    from docx.shared import Mm

    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Mm(20))
    _styles(doc)
    body = parse(html)
    builder = _Builder(doc, body)
    builder.walk(body, lang="cy-GB" if document_language(html) == "cy" else "en-GB")
    _header(doc, body)
    _footer(doc, bilingual=builder.bilingual)
    _properties(doc, html, body, dated or date(2000, 1, 1))
    out = io.BytesIO()
    doc.save(out)
    return _fixed_zip(out.getvalue())


# -- document set-up ---------------------------------------------------------------------------------


def _styles(doc) -> None:
    from docx.shared import Pt, RGBColor

    for name, size, bold, colour in (
        ("Normal", 11, False, None),
        ("Heading 1", 14, True, INK),
        ("Heading 2", 12, True, (0x11, 0x11, 0x11)),
        ("List Bullet", 11, False, None),
        ("Table Grid", 10, False, None),
    ):
        style = doc.styles[name]
        font = style.font
        font.name, font.size, font.bold, font.italic = FONT, Pt(size), bold, False
        font.color.rgb = RGBColor(*colour) if colour else None
        _plain_fonts(style.element)
        if style.type == 1:  # paragraph styles
            fmt = style.paragraph_format
            fmt.space_after = Pt(6 if name != "Heading 1" else 8)
            if name.startswith("Heading"):
                fmt.space_before = Pt(12 if name == "Heading 2" else 0)
                fmt.keep_with_next = True
    _language(doc.styles["Normal"].element, "en-GB")


def _plain_fonts(element) -> None:
    """Drop the theme fonts (Calibri Light in the default headings) so the font set here applies."""
    from docx.oxml.ns import qn

    rpr = element.find(qn("w:rPr"))
    fonts = rpr.find(qn("w:rFonts")) if rpr is not None else None
    if fonts is None:
        return
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attr), FONT)


def _language(element, lang: str) -> None:
    """Mark a run or a style's text as English (en-GB) or Welsh (cy-GB), for Word's proofing tools."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    rpr = element.find(qn("w:rPr"))
    if rpr is None:
        rpr = OxmlElement("w:rPr")
        element.insert(0, rpr) if element.tag == qn("w:r") else element.append(rpr)
    node = rpr.find(qn("w:lang"))
    if node is None:
        node = OxmlElement("w:lang")
        rpr.append(node)
    node.set(qn("w:val"), lang)


def _header(doc, body: Element) -> None:
    """The running header on every page, as the PDF's: the partnership (its Welsh name first in a
    bilingual letter) at the left, the reference at the right."""
    from docx.enum.text import WD_TAB_ALIGNMENT
    from docx.shared import Mm, Pt, RGBColor

    section = doc.sections[0]
    section.different_first_page_header_footer = False
    para = section.header.paragraphs[0]
    para.paragraph_format.tab_stops.add_tab_stop(Mm(170), WD_TAB_ALIGNMENT.RIGHT)
    names = [(n.text(), _lang(n.attrs.get("lang"), "en-GB")) for n in _all_of_class(body, "partnership")]
    pieces: list[tuple[str, str]] = []
    for i, (name, lang) in enumerate(names):
        pieces += [(" / ", "en-GB")] if i else []
        pieces.append((name, lang))
    pieces.append(("\t" + _text_of_class(body, "reference"), "en-GB"))
    for text, lang in pieces:
        run = para.add_run(text)
        run.font.size = Pt(8.5)
        run.font.color.rgb = RGBColor(0x44, 0x44, 0x44)
        _language(run._r, lang)


def _footer(doc, bilingual: bool) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    para = doc.sections[0].footer.paragraphs[0]
    para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    parts: list[tuple[str, str | None]] = []
    if bilingual:
        parts += [("Tudalen ", None), ("", "PAGE"), (" o ", None), ("", "NUMPAGES"), (" / ", None)]
    parts += [("Page ", None), ("", "PAGE"), (" of ", None), ("", "NUMPAGES")]
    for text, field in parts:
        run = _field(para, field) if field else para.add_run(text)
        run.font.size = Pt(8.5)


def _field(para, code: str):
    """A Word field (PAGE, NUMPAGES) showing "1" until Word updates it."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    run = para.add_run()
    for kind, text in (("begin", None), (None, f" {code} "), ("separate", None)):
        if kind:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
        else:
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
    shown = para.add_run("1")
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    shown._r.append(end)
    return shown


def _properties(doc, html: str, body: Element, dated: date) -> None:
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    props = doc.core_properties
    props.title = _SPACE.sub(" ", _unescape(title.group(1))).strip() if title else ""
    names = _all_of_class(body, "partnership")  # a bilingual letter names it in Welsh first
    props.author = props.last_modified_by = names[-1].text() if names else ""
    props.language = "cy-GB" if document_language(html) == "cy" else "en-GB"
    props.created = props.modified = datetime(dated.year, dated.month, dated.day, 9, 0)
    props.revision = 1
    props.comments = props.subject = ""
    props.category = "ASB Case Review letter"
    props.keywords = _text_of_class(body, "reference")
    _application(doc, props.author, props.title)


def _application(doc, partnership: str, title: str) -> None:
    """The extended properties (docProps/app.xml) of this letter, in place of python-docx's template's
    ("Microsoft Macintosh Word", Normal.dotm), and no template thumbnail."""
    from html import escape  # not xml.sax.saxutils: it imports urllib.request, a hundredth of the letter

    package = doc.part.package
    for rel_id, rel in list(package.rels.items()):
        if rel.reltype.endswith("/metadata/thumbnail"):
            del package.rels[rel_id]
    app = next((p for p in package.iter_parts() if p.partname == "/docProps/app.xml"), None)
    if app is None:
        return
    app._blob = (
        "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
        'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
        "<Application>Community Trigger</Application><DocSecurity>0</DocSecurity>"
        '<TitlesOfParts><vt:vector size="1" baseType="lpstr">'
        f"<vt:lpstr>{escape(title, quote=False)}</vt:lpstr></vt:vector></TitlesOfParts>"
        f"<Company>{escape(partnership, quote=False)}</Company>"
        "</Properties>"
    ).encode()


def _unescape(text: str) -> str:
    from html import unescape

    return unescape(text)


def _text_of_class(body: Element, name: str) -> str:
    found = _all_of_class(body, name)
    return found[0].text() if found else ""


def _all_of_class(body: Element, name: str) -> list[Element]:
    out, stack = [], [body]
    while stack:
        node = stack.pop(0)
        if name in node.classes():
            out.append(node)
        stack.extend(node.elements())
    return out


_LOCAL, _CENTRAL, _END = b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06"
_JAN_1980 = struct.pack("<HH", 0, 1 << 5 | 1)  # 00:00 on 1 January 1980, as a zip entry's DOS time and date


def _fixed_zip(data: bytes) -> bytes:
    """The package with every entry stamped 00:00 on 1 January 1980 (python-docx stamps the time of
    saving), where the zip format keeps an entry's time: its local header and its record in the central
    directory (PKWARE's APPNOTE, 4.3.7 and 4.3.12). The compressed bytes are left as python-docx wrote
    them, not inflated and deflated again."""
    out = bytearray(data)
    end = data.rindex(_END)  # the end of central directory record (python-docx writes no comment)
    count, _size, start = struct.unpack_from("<HII", data, end + 10)
    at = start
    for _ in range(count):
        if data[at : at + 4] != _CENTRAL:
            raise ValueError("not a zip file python-docx wrote")
        names, extra, comment = struct.unpack_from("<HHH", data, at + 28)
        (local,) = struct.unpack_from("<I", data, at + 42)
        if data[local : local + 4] != _LOCAL:
            raise ValueError("not a zip file python-docx wrote")
        out[at + 12 : at + 16] = out[local + 10 : local + 14] = _JAN_1980
        at += 46 + names + extra + comment
    return bytes(out)


# -- the letter ----------------------------------------------------------------------------------------


class _Builder:
    def __init__(self, doc, body: Element) -> None:
        self.doc = doc
        self.bilingual = any(s.attrs.get("lang") == "cy" for s in body.find_all("section"))
        self.break_next = False

    def walk(self, node: Element, lang: str) -> None:
        from docx.shared import Pt

        for child in node.elements():
            tag, classes = child.tag, child.classes()
            child_lang = _lang(child.attrs.get("lang"), lang)
            if tag == "header" and "letterhead" in classes:
                self.letterhead(child)
            elif tag == "div" and "head" in classes:
                self.head(child)
            elif tag == "section":
                self.break_next = "second" in classes
                self.walk(child, child_lang)
            elif tag in ("h1", "h2", "h3"):
                para = self.doc.add_heading(level=2 if tag != "h1" else 1)
                self.inline(para, child, child_lang)
            elif tag in ("p", "address"):
                para = self.doc.add_paragraph()
                self.inline(para, child, child_lang, bold="key" in classes)
                if "name" in classes:  # room to sign above the name
                    para.paragraph_format.space_before = Pt(18)
            elif tag in ("ul", "ol"):
                for li in child.find_all("li"):
                    para = self.doc.add_paragraph(style="List Bullet" if tag == "ul" else "List Number")
                    self.inline(para, li, child_lang)
            elif tag == "table":
                self.table(child, child_lang)
            elif tag == "div" and "signoff" in classes:
                start = len(self.doc.paragraphs)
                self.walk(child, child_lang)
                kept = self.doc.paragraphs[start:]
                for para in kept[:-1]:
                    para.paragraph_format.keep_with_next = True
                for para in kept:
                    para.paragraph_format.keep_together = True
            elif tag in ("hr", "img"):
                continue
            else:
                self.walk(child, child_lang)

    # the top of the letter: letterhead, recipient and references

    def letterhead(self, header: Element) -> None:
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.shared import Mm, Pt, RGBColor

        logo = next((img for img in header.find_all("img") if img.attrs.get("src", "")), None)
        image = _data_uri(logo.attrs["src"]) if logo is not None else None
        if image is not None:
            table = self._layout_table(2, widths=(Mm(65), Mm(105)))
            left, right = table.rows[0].cells
            run = left.paragraphs[0].add_run()
            run.add_picture(io.BytesIO(image), height=Mm(20))
            _alt_text(run, logo.attrs.get("alt", "") if logo is not None else "")
        else:
            right = self._layout_table(1, widths=(Mm(170),)).rows[0].cells[0]
        first = True
        for para_el in header.find_all("p"):
            if not para_el.text():
                continue
            para = right.paragraphs[0] if first else right.add_paragraph()
            first = False
            para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            para.paragraph_format.space_after = Pt(2)
            is_name = "partnership" in para_el.classes()
            for run in self.inline(para, para_el, "en-GB", bold=is_name):
                run.font.size = Pt(13 if is_name else 9)
                if is_name:
                    run.font.color.rgb = RGBColor(*INK)
        self.doc.add_paragraph()

    def head(self, block: Element) -> None:
        from docx.shared import Mm, Pt, RGBColor

        table = self._layout_table(2, widths=(Mm(90), Mm(80)))
        left, right = table.rows[0].cells
        to = next((p for p in block.find_all("p") if "to" in p.classes()), None)
        if to is not None:
            self.inline(left.paragraphs[0], to, "en-GB")
        refs = next((t for t in block.find_all("table")), None)
        first = True
        for tr in refs.find_all("tr") if refs is not None else []:
            cells = [c for c in tr.elements() if c.tag in ("th", "td")]
            if len(cells) < 2:
                continue
            para = right.paragraphs[0] if first else right.add_paragraph()
            first = False
            para.paragraph_format.space_after = Pt(3)
            label = para.add_run(cells[0].text() + ": ")
            label.font.size = Pt(9.5)
            label.font.color.rgb = RGBColor(0x44, 0x44, 0x44)
            for run in self.inline(para, cells[1], "en-GB", bold="reference" in cells[1].classes()):
                run.font.size = Pt(9.5)
        self.doc.add_paragraph()

    def _layout_table(self, columns: int, widths):
        table = self.doc.add_table(rows=1, cols=columns)
        table.autofit = False
        for column, cell, width in zip(table.columns, table.rows[0].cells, widths, strict=True):
            column.width = cell.width = width
        return table

    # the action plan

    def table(self, node: Element, lang: str) -> None:
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        rows = node.find_all("tr")
        if not rows:
            return
        width = max(len([c for c in tr.elements() if c.tag in ("td", "th")]) for tr in rows)
        table = self.doc.add_table(rows=0, cols=width)
        table.style = self.doc.styles["Table Grid"]
        table.autofit = False
        widths = _column_widths(width)
        for column, size in zip(table.columns, widths, strict=False):
            column.width = size  # the grid Word and LibreOffice lay the table out by
        for tr in rows:
            cells = [c for c in tr.elements() if c.tag in ("td", "th")]
            row = table.add_row()
            header = bool(cells) and all(c.tag == "th" for c in cells)
            if header:  # repeat the heading row on every page the table runs to
                props = row._tr.get_or_add_trPr()
                repeat = OxmlElement("w:tblHeader")
                repeat.set(qn("w:val"), "true")
                props.append(repeat)
            cant_split = OxmlElement("w:cantSplit")
            row._tr.get_or_add_trPr().append(cant_split)
            for cell, source, size in zip(row.cells, cells, widths, strict=False):
                cell.width = size
                if header:
                    _shade(cell, "E8ECF2")
                self.inline(cell.paragraphs[0], source, lang, bold=header)
        self.doc.add_paragraph().paragraph_format.space_after = 0

    # runs of text

    def inline(self, para, node: Element, lang: str, bold: bool = False) -> list:
        if self.break_next:
            para.paragraph_format.page_break_before = True
            self.break_next = False
        pieces: list[tuple[str, bool, bool] | None] = []  # None is a line break
        _pieces(node, bold, False, pieces)
        runs: list = []
        for piece in _tidy(pieces):
            if piece is None:
                if runs:
                    runs[-1].add_break()
                continue
            text, is_bold, is_italic = piece
            run = para.add_run(text)
            run.bold = is_bold or None
            run.italic = is_italic or None
            _language(run._r, lang)
            runs.append(run)
        return runs


def _pieces(node: Element, bold: bool, italic: bool, out: list) -> None:
    for child in node.children:
        if isinstance(child, str):
            out.append((child, bold, italic))
        elif child.tag == "br":
            out.append(None)
        elif child.tag in ("img", "ul", "ol", "table"):
            continue
        else:
            _pieces(
                child,
                bold or child.tag in _BOLD or "key" in child.classes(),
                italic or child.tag in _ITALIC,
                out,
            )


def _tidy(pieces: list) -> list:
    """Collapse white space as a browser does: one space between words, none at a line's ends."""
    out: list = []
    at_line_start = True
    for piece in pieces:
        if piece is None:
            if out and out[-1] is not None:
                out[-1] = (out[-1][0].rstrip(), *out[-1][1:])
            out.append(None)
            at_line_start = True
            continue
        text = _SPACE.sub(" ", piece[0])
        if at_line_start:
            text = text.lstrip()
        if not text:
            continue
        if out and out[-1] is not None and out[-1][0].endswith(" ") and text.startswith(" "):
            text = text[1:]
        out.append((text, *piece[1:]))
        at_line_start = False
    if out and out[-1] is not None:
        out[-1] = (out[-1][0].rstrip(), *out[-1][1:])
    while out and out[-1] is None:
        out.pop()
    return [p for p in out if p is None or p[0]]


def _column_widths(count: int) -> list:
    """A narrow number column, a wide action column, the rest shared: 170 mm in all (A4, 20 mm margins)."""
    from docx.shared import Mm

    if count == 4:
        return [Mm(14), Mm(82), Mm(46), Mm(28)]
    return [Mm(170 / count)] * count


def _shade(cell, colour: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), colour)
    cell._tc.get_or_add_tcPr().append(shading)


def _lang(value: str | None, inherited: str) -> str:
    if not value:
        return inherited
    return "cy-GB" if value.startswith("cy") else "en-GB"


def _data_uri(src: str) -> bytes | None:
    match = re.match(r"data:image/[\w.+-]+;base64,(.*)", src, re.S)
    return base64.b64decode(match.group(1)) if match else None


def _alt_text(run, text: str) -> None:
    """The picture's description, which screen readers read out (Word's alt text)."""
    from docx.oxml.ns import qn

    for props in run._r.iter(qn("wp:docPr")):
        props.set("descr", text)
        props.set("title", text)
