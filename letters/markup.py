"""The rendered letter HTML as a small tree, for the plain-text and Word versions.

The HTML a template renders is the one source of a letter's wording: the PDF is that HTML printed,
and the text and Word versions are built by walking this tree, so a sentence fixed once is fixed in
every format. Standard library only (`html.parser`); `<head>`, `<style>` and `<script>` are dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = frozenset({"br", "img", "hr", "meta", "link", "input", "col", "wbr"})
SKIP = frozenset({"head", "style", "script", "title"})
_SPACE = re.compile(r"\s+")


@dataclass
class Element:
    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Element | str] = field(default_factory=list)

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def elements(self) -> list[Element]:
        return [c for c in self.children if isinstance(c, Element)]

    def find_all(self, tag: str) -> list[Element]:
        found = []
        for child in self.elements():
            if child.tag == tag:
                found.append(child)
            found.extend(child.find_all(tag))
        return found

    def text(self) -> str:
        """The text inside, whitespace collapsed as a browser would, `<br>` as a line break."""
        return "\n".join(_SPACE.sub(" ", line).strip() for line in self._raw().split("\n")).strip()

    def _raw(self) -> str:
        out = []
        for child in self.children:
            if isinstance(child, str):
                out.append(child.replace("\n", " "))
            elif child.tag == "br":
                out.append("\n")
            else:
                out.append(child._raw())
        return "".join(out)


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("root")
        self.stack = [self.root]
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIP:
            self.skipping += 1
            return
        if self.skipping:
            return
        node = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        if tag in SKIP or self.skipping:
            return
        self.stack[-1].children.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag):
        if tag in SKIP:
            self.skipping = max(0, self.skipping - 1)
            return
        if self.skipping or tag in VOID:
            return
        # close up to the matching open tag; a stray end tag is ignored
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        if not self.skipping and data:
            self.stack[-1].children.append(data)


def parse(html: str) -> Element:
    """The document's `<body>` (or the whole fragment when there is none)."""
    builder = _Builder()
    builder.feed(html)
    builder.close()
    bodies = builder.root.find_all("body")
    return bodies[0] if bodies else builder.root


def document_language(html: str) -> str:
    match = re.search(r"<html[^>]*\blang=\"([a-zA-Z-]+)\"", html)
    return match.group(1) if match else "en"
