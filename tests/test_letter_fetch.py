"""Letters fetch nothing (docs/architecture.md#letters-fetch-nothing): a partnership's own template that
points at a local file or a web address gets nothing from it, in the PDF, the Word document or the
HTML, while the letter itself and the policy's logo still print; `letters check` names each such
reference with its file and line before a letter goes out.

Everything here is real: the command line, the sandbox's child process, WeasyPrint, a file holding a
secret and an HTTP server on loopback that records every request it gets."""

from __future__ import annotations

import base64
import http.server
import io
import secrets
import threading
import zipfile
from pathlib import Path
from urllib.parse import quote

import pypdf
import pytest
from pypdf.generic import IndirectObject, StreamObject

from tests.support.letters import applicant_case, letterhead_policy

pytestmark = pytest.mark.any_engine  # what a letter fetches does not depend on the database

SHIPPED = Path(__file__).resolve().parent.parent / "letters" / "templates"

# the template: each reference a line of its own, so `letters check` can be held to its line numbers
HOSTILE = """{% extends "_base.html" %}
{% block body %}
<link rel="attachment" href="FILE_TXT" title="records">
<link rel="attachment" href="glossary.toml">
<link rel="stylesheet" href="HTTP/sheet.css">
<style>
@import "HTTP/imported.css";
p.note { background-image: url("FILE_SVG"); }
{% include "_extra.css" %}
</style>
<p class="note">We have received your application {{ reference }} of {{ case.received|longdate }}; \
we will tell you by {{ next_step.due|longdate }} whether the threshold is met.</p>
<img src="FILE_SVG" alt="records">
<img src="HTTP/picture.svg" alt="picture">
<a rel="attachment" href="FILE_TXT">records</a>
<object data="FILE_SVG"></object>
{% endblock %}
"""
EXTRA_CSS = 'p.note { border-image: url("HTTP/border.svg") 30; }\n'
REFERENCES = [  # (file, what letters check must name on that line)
    ("acknowledgement.html", '<link href="FILE_TXT">'),
    ("acknowledgement.html", '<link href="glossary.toml">'),
    ("acknowledgement.html", '<link href="HTTP/sheet.css">'),
    ("acknowledgement.html", '@import "HTTP/imported.css"'),
    ("acknowledgement.html", 'url("FILE_SVG")'),
    ("acknowledgement.html", '<img src="FILE_SVG">'),
    ("acknowledgement.html", '<img src="HTTP/picture.svg">'),
    ("acknowledgement.html", '<a href="FILE_TXT">'),
    ("acknowledgement.html", '<object data="FILE_SVG">'),
    ("_extra.css", 'url("HTTP/border.svg")'),
]


class Recorder(http.server.BaseHTTPRequestHandler):
    """Answers every GET with an SVG that prints the secret, and remembers the request."""

    def do_GET(self):
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        body = self.server.svg  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "image/svg+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _svg(secret: str) -> bytes:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="40">'
        f'<text x="0" y="30" font-size="20">{secret}</text></svg>'
    ).encode()


@pytest.fixture
def secret() -> str:
    return f"SECRET-{secrets.token_hex(8)}"


@pytest.fixture
def web(secret):
    """An HTTP server on loopback: its base URL, and the list of paths it was asked for."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.requests = []  # type: ignore[attr-defined]
    server.svg = _svg(secret)  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.requests  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def hostile(tmp_path, secret, web):
    """A partnership's template folder pointing at a local file that holds the secret (as text and as
    an SVG that would print it) and at the web server; the texts with the addresses filled in."""
    private = tmp_path / "private"
    private.mkdir()
    (private / "records.txt").write_text(f"{secret}\n")
    (private / "records.svg").write_bytes(_svg(secret))
    base, _requests = web

    def filled(text: str) -> str:
        return (
            text.replace("FILE_TXT", (private / "records.txt").as_uri())
            .replace("FILE_SVG", (private / "records.svg").as_uri())
            .replace("HTTP", base)
        )

    folder = tmp_path / "ours"
    folder.mkdir()
    (folder / "acknowledgement.html").write_text(filled(HOSTILE))
    (folder / "_extra.css").write_text(filled(EXTRA_CSS))
    return folder, filled


@pytest.fixture
def letterhead_case(trigger, tmp_path):
    trigger("init", "--policy", letterhead_policy(tmp_path), "--manager-email", "asb@charnwood.gov.uk")
    return applicant_case(trigger)


def every_stream(path: Path) -> list[bytes]:
    """Every stream in the PDF, decoded: page contents, images, fonts and embedded files alike."""
    reader = pypdf.PdfReader(path)
    out = []
    for generation, numbers in reader.xref.items():
        for number in numbers:
            obj = reader.get_object(IndirectObject(number, generation, reader))
            if isinstance(obj, StreamObject):
                out.append(obj.get_data())
    return out


def images_of(page) -> list:
    xobjects = page["/Resources"].get_object().get("/XObject", {})
    return [x.get_object() for x in xobjects.values() if x.get_object()["/Subtype"] == "/Image"]


@pytest.mark.slow
def test_a_pdf_from_a_hostile_template_fetches_nothing_yet_keeps_the_letter_and_logo(
    trigger, letterhead_case, hostile, web, secret, tmp_path
):
    folder, _ = hostile
    _, requests = web
    out = tmp_path / "ack.pdf"
    trigger(
        *("letter", letterhead_case, "acknowledgement", "--templates", folder),
        *("--format", "pdf", "-o", out, "--on", "2026-03-03"),
    )
    reader = pypdf.PdfReader(out)
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert f"We have received your application {letterhead_case} of 2 March 2026" in text
    assert "Charnwood Community Safety Partnership" in text
    assert secret not in text
    assert not list(reader.attachments), "nothing is embedded in the PDF"
    assert not any(secret.encode() in data for data in every_stream(out))
    annotations = [a.get_object() for page in reader.pages for a in page.get("/Annots", [])]
    assert not [a for a in annotations if a["/Subtype"] == "/FileAttachment"]
    assert requests == [], "the web server was asked for nothing"
    logo = images_of(reader.pages[0])
    assert [(image["/Width"], image["/Height"]) for image in logo] == [(8, 4)], "the policy's logo, alone"


@pytest.mark.slow
def test_the_word_and_html_letters_from_a_hostile_template_fetch_nothing(
    trigger, letterhead_case, hostile, web, secret, tmp_path
):
    folder, _ = hostile
    _, requests = web
    word = tmp_path / "ack.docx"
    trigger(
        *("letter", letterhead_case, "acknowledgement", "--templates", folder),
        *("--format", "docx", "-o", word, "--on", "2026-03-03"),
    )
    with zipfile.ZipFile(word) as docx:
        parts = {name: docx.read(name) for name in docx.namelist()}
    assert not any(secret.encode() in data for data in parts.values())
    assert any(name.startswith("word/media/") for name in parts), "the logo is in the Word letter"
    assert b"We have received your application" in parts["word/document.xml"]

    html = trigger(
        *("letter", letterhead_case, "acknowledgement", "--templates", folder),
        *("--format", "html", "--on", "2026-03-03", "--preview"),
    ).stdout
    policy = html.index('<meta http-equiv="Content-Security-Policy"')
    assert policy < html.index("<html") and policy < html.index("<link") and policy < html.index("<img")
    assert "default-src 'none'; img-src data:;" in html
    assert 'src="data:image/png;base64,' in html  # the logo, which the policy allows
    assert requests == []


def test_letters_check_names_each_reference_outside_the_letter_with_its_line(trigger, hostile):
    folder, filled = hostile
    result = trigger.fails("letters", "check", folder)
    out = result.stdout
    sources = {"acknowledgement.html": filled(HOSTILE), "_extra.css": filled(EXTRA_CSS)}
    for name, what in REFERENCES:
        what = filled(what)
        address = what.split('"')[1]
        tag = what.split()[0] if what.startswith("<") else what  # `<img`, or the CSS as written
        line = next(
            i for i, text in enumerate(sources[name].splitlines(), 1) if address in text and tag in text
        )
        assert f"{name}: line {line}: {what} points outside the letter" in out, (name, what)
    assert out.count("points outside the letter") == len(REFERENCES)
    assert f"{len(REFERENCES)} problems in {folder}" in result.stderr and "Traceback" not in result.stderr


def test_letters_check_accepts_the_logo_data_uris_and_links_within_the_letter(trigger, tmp_path):
    folder = tmp_path / "ours"
    folder.mkdir()
    for name in ("_base.html", "acknowledgement.html"):  # _base.html prints the policy's logo
        (folder / name).write_text((SHIPPED / name).read_text())
    (folder / "_note.html").write_text(
        '<p id="top"><a href="#top">top</a> <a href="mailto:asb@example.gov.uk">mail</a>\n'
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt=""></p>\n'
    )
    result = trigger("letters", "check", folder)
    assert "every template is fine" in result.stdout, result.stdout


def test_a_reference_hidden_by_a_jinja_statement_or_spread_over_lines_is_still_named(trigger, tmp_path):
    folder = tmp_path / "ours"
    folder.mkdir()
    (folder / "_part.html").write_text(
        '<p>\n<img {% if reference %}src="file:///etc/passwd"{% endif %}\n     alt="x">\n'
        '<object\n  data="ftp://example.org/x"></object>\n'
        '{# <img src="file:///only/a/comment"> #}\n'
        '<meta http-equiv="refresh" content="0; url=https://example.org/?{{ reference }}">\n'
        '<p style="background-image: attr(data-x url)" data-x="file:///etc/passwd">x</p>\n'
    )
    out = trigger.fails("letters", "check", folder).stdout
    assert '_part.html: line 2: <img src="file:///etc/passwd">' in out
    assert '_part.html: line 5: <object data="ftp://example.org/x">' in out
    assert "_part.html: line 7: <meta content=" in out
    assert "_part.html: line 8: attr(data-x url) points outside the letter" in out
    assert "comment" not in out


def test_a_refused_reference_in_a_pdf_leaves_the_letter_whole(tmp_path, secret):
    """The fetcher itself: a file: URL in an image and an attachment gives nothing, nor does one
    inside a data: SVG or a data: stylesheet; a data: image still prints, in the bundled fonts."""
    from letters.render import pdf

    marker = tmp_path / "m.svg"
    marker.write_bytes(_svg(secret))
    nested = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="80">'
        f'<image href="{marker.as_uri()}" width="400" height="40"/><text x="0" y="70">Outer</text></svg>'
    )
    sheet = quote(f'@import "{marker.as_uri()}"; p {{ color: #222 }}')
    data = pdf(
        f'<html lang="en"><head><link rel="attachment" href="{marker.as_uri()}">'
        f'<link rel="stylesheet" href="data:text/css,{sheet}"></head><body>'
        f'<p>Hello ŵ ŷ</p><img src="{marker.as_uri()}" alt="">'
        f'<img alt="" src="data:image/svg+xml;base64,{base64.b64encode(nested.encode()).decode()}">'
        '<img alt="" src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4'
        '2mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="></body></html>'
    )
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = reader.pages[0].extract_text()
    assert "Hello ŵ ŷ" in text and "Outer" in text and secret not in text
    assert not list(reader.attachments)
    assert len(images_of(reader.pages[0])) == 1
    fonts = reader.pages[0]["/Resources"]["/Font"]  # the bundled faces were served (an SVG has its own)
    assert any("Letter-Sans" in str(f.get_object()["/BaseFont"]) for f in fonts.values())
