"""A small OpenDocument spreadsheet (.ods) writer: standard library only.

odfpy, the usual library, has had no release since 2020, and a spreadsheet of plain rows needs only
four XML files in a zip (OpenDocument 1.2: the `mimetype` entry first and uncompressed, a manifest,
the content, and the metadata). Numbers are written as floats, flags as booleans, so a spreadsheet
sums and filters them without conversion.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"
NS = (
    'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
    'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
    'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
    'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
    'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
    'xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/"'
)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # characters XML 1.0 cannot carry


class Sheet:
    """A named table: a bold header row (unless `header` is false, when the first column is bold)."""

    def __init__(self, name: str, columns: list[str], widths_cm=(), header: bool = True):
        self.name, self.columns, self.widths_cm, self.header = name, columns, list(widths_cm), header
        self.rows: list[list] = []


def _text(value: str) -> str:
    return escape(_NOT_XML.sub("", value))


def _cell(value, style: str = "") -> str:
    attr = f' table:style-name="{style}"' if style else ""
    if value is None or value == "":
        return f"<table:table-cell{attr}/>"
    if isinstance(value, bool):
        shown = "TRUE" if value else "FALSE"
        return (
            f'<table:table-cell{attr} office:value-type="boolean" '
            f'office:boolean-value="{str(value).lower()}">'
            f"<text:p>{shown}</text:p></table:table-cell>"
        )
    if isinstance(value, int | float):
        number = repr(float(value)) if isinstance(value, float) else str(value)
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        return (
            f'<table:table-cell{attr} office:value-type="float" office:value="{number}">'
            f"<text:p>{shown}</text:p></table:table-cell>"
        )
    return (
        f'<table:table-cell{attr} office:value-type="string">'
        f"<text:p>{_text(str(value))}</text:p></table:table-cell>"
    )


def _content(sheets: list[Sheet]) -> str:
    styles = [
        '<style:style style:name="bold" style:family="table-cell">'
        '<style:text-properties fo:font-weight="bold"/></style:style>'
    ]
    body = []
    for s_i, sheet in enumerate(sheets):
        columns = []
        for c_i, width in enumerate(sheet.widths_cm):
            name = f"co{s_i}_{c_i}"
            styles.append(
                f'<style:style style:name="{name}" style:family="table-column">'
                f'<style:table-column-properties style:column-width="{width}cm"/></style:style>'
            )
            columns.append(f'<table:table-column table:style-name="{name}"/>')
        rows = []
        if sheet.header:
            rows.append(
                "<table:table-row>" + "".join(_cell(c, "bold") for c in sheet.columns) + "</table:table-row>"
            )
        for row in sheet.rows:
            first = [_cell(row[0], "bold" if not sheet.header else "")] if row else []
            rows.append(
                "<table:table-row>" + "".join(first + [_cell(v) for v in row[1:]]) + "</table:table-row>"
            )
        name = quoteattr(_NOT_XML.sub("", sheet.name))
        body.append(f"<table:table table:name={name}>{''.join(columns)}{''.join(rows)}</table:table>")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<office:document-content {NS} office:version="1.2">'
        f"<office:automatic-styles>{''.join(styles)}</office:automatic-styles>"
        f"<office:body><office:spreadsheet>{''.join(body)}</office:spreadsheet></office:body>"
        "</office:document-content>"
    )


def _meta(title: str) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<office:document-meta {NS} office:version="1.2"><office:meta>'
        f"<meta:generator>Community Trigger</meta:generator><dc:title>{_text(title)}</dc:title>"
        f"<meta:creation-date>{now}</meta:creation-date></office:meta></office:document-meta>"
    )


MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" '
    'manifest:version="1.2">'
    f'<manifest:file-entry manifest:full-path="/" manifest:version="1.2" manifest:media-type="{MIMETYPE}"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    '<manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)


def spreadsheet(sheets: list[Sheet], title: str = "") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), MIMETYPE, compress_type=zipfile.ZIP_STORED)  # first, stored
        z.writestr("META-INF/manifest.xml", MANIFEST, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("content.xml", _content(sheets), compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("meta.xml", _meta(title), compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()
