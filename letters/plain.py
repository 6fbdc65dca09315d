"""The plain-text letter, built from the rendered HTML (the one source of the wording).

Headings, paragraphs and list items become blocks separated by a blank line; the reference table
becomes "Label: value" lines; the action-plan table becomes one numbered item per row with its
other columns as "Heading: value" lines; the English half of a bilingual letter starts after a rule.
Used for `--format txt` and for the body of a letter sent by e-mail.
"""

from __future__ import annotations

from letters.markup import Element, parse

RULE = "-" * 60
INDENT = "     "


def text_of(html: str) -> str:
    blocks: list[str] = []
    _walk(parse(html), blocks)
    return "\n\n".join(b for b in blocks if b.strip()) + "\n"


def _walk(node: Element, blocks: list[str]) -> None:
    for child in node.elements():
        tag = child.tag
        if tag in ("h1", "h2", "h3", "h4", "p", "address"):
            blocks.append(child.text())
        elif tag in ("ul", "ol"):
            blocks.append("\n".join(_item(li, n, tag) for n, li in enumerate(child.find_all("li"), 1)))
        elif tag == "table":
            blocks.append(_table(child))
        elif tag == "hr" or tag == "img":
            continue
        else:
            if tag == "section" and "second" in child.classes():
                blocks.append(RULE)
            _walk(child, blocks)


def _item(li: Element, n: int, list_tag: str) -> str:
    lines = li.text().split("\n")
    mark = f"  {n}. " if list_tag == "ol" else "  - "
    return mark + ("\n" + " " * len(mark)).join(lines)


def _rows(table: Element) -> tuple[list[str], list[list[str]]]:
    headers: list[str] = []
    rows: list[list[str]] = []
    for tr in table.find_all("tr"):
        cells = [c for c in tr.elements() if c.tag in ("td", "th")]
        texts = [c.text().replace("\n", ", ") for c in cells]
        if cells and all(c.tag == "th" for c in cells) and not headers:
            headers = texts
        else:
            rows.append(texts)
    return headers, rows


def _table(table: Element) -> str:
    headers, rows = _rows(table)
    if not headers:  # a two-column list of labels and values (the reference block)
        return "\n".join(": ".join(r) for r in rows)
    out = []
    for row in rows:
        first = f"  {row[0]}. {row[1]}" if len(row) > 1 else f"  {row[0]}"
        out.append(first)
        out.extend(f"{INDENT}{h}: {v}" for h, v in zip(headers[2:], row[2:], strict=False))
    return "\n".join(out)
