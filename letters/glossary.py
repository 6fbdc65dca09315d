"""The glossary kept beside the templates (`templates/glossary.toml`): English term -> Welsh term.

A bilingual letter renders each coded term (finding categories, appeal grounds and bodies, the
victim's involvement, action statuses, rejection categories) through `welsh()`, which refuses a term
it does not know, naming it and where to add it: a Welsh letter never silently carries English
where a term was expected. Proper names go through `welsh_name()`, which keeps the English name
when there is no Welsh one. A policy's own `[glossary]` is read on top of the shipped file.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

GLOSSARY_FILE = Path(__file__).resolve().parent / "templates" / "glossary.toml"


class GlossaryError(Exception):
    """A term a Welsh letter needs that the glossary lacks, or a glossary file that is wrong."""


@lru_cache(maxsize=1)
def shipped() -> dict[str, str]:
    """The shipped glossary as {English: Welsh}; every entry must have en, cy, use and source."""
    try:
        data = tomllib.loads(GLOSSARY_FILE.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise GlossaryError(f"{GLOSSARY_FILE}: {exc}") from None
    terms: dict[str, str] = {}
    for n, entry in enumerate(data.get("term", []), start=1):
        missing = [k for k in ("en", "cy", "use", "source") if not str(entry.get(k, "")).strip()]
        if missing:
            raise GlossaryError(f"{GLOSSARY_FILE}: term {n}: missing {', '.join(missing)}")
        if entry["en"] in terms:
            raise GlossaryError(f"{GLOSSARY_FILE}: term {n}: {entry['en']!r} is listed twice")
        terms[entry["en"]] = entry["cy"]
    return terms


def welsh(term: str, extra: dict[str, str] | None = None) -> str:
    """The Welsh for a coded term; GlossaryError when neither the policy nor the glossary has it."""
    if term is None:
        raise GlossaryError("a Welsh letter asked for the Welsh of an empty term")
    key = str(term)
    if extra and key in extra:
        return extra[key]
    terms = shipped()
    if key in terms:
        return terms[key]
    raise GlossaryError(
        f"no Welsh for {key!r}: add it to the policy's [glossary] table "
        f'("{key}" = "...") or to letters/templates/glossary.toml'
    )


def welsh_name(name: str | None, extra: dict[str, str] | None = None) -> str:
    """The Welsh form of a proper name (an agency, the partnership), else the name as it is."""
    if not name:
        return name or ""
    if extra and name in extra:
        return extra[name]
    return shipped().get(name, name)
