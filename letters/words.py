"""The words a person reads: a date written out (CLDR's long date, in English and Welsh), how many of
a thing (CLDR's plural rules) and how a person's own typed words enter a letter (a lead-in, quotation
marks, end punctuation).

Letters, reports and the command line count and quote through these two, so that no message says
"1 reviews" and no typed reason is pasted into a letter as a bare fragment.
"""

from __future__ import annotations

import re
from datetime import date

# Where else a person can turn, said at the end of the letters that end a stage (a threshold not met,
# a rejection, a closure, an appeal's outcome) and on the case page once it has an outcome: the
# Home Office's routes (agencies' complaints, then the Ombudsman) and help while it goes on.
OTHER_HELP: dict[str, tuple[str, tuple[str, ...]]] = {
    "en": (
        "Other help",
        (
            "Keep reporting anti-social behaviour. In an emergency call 999. "
            "Otherwise call 101 or report it online.",
            "Victim Support can help you, whether or not you report to the police: www.victimsupport.org.uk.",
            "If you are unhappy with how one agency dealt with you, you can use that agency's complaints "
            "procedure, and then the Ombudsman.",
        ),
    ),
    "cy": (
        "Help arall",
        (
            "Daliwch ati i roi gwybod am ymddygiad gwrthgymdeithasol. Mewn argyfwng, ffoniwch 999. "
            "Fel arall, ffoniwch 101 neu rhowch wybod ar-lein.",
            "Gall Cymorth i Ddioddefwyr eich helpu, p'un a ydych yn rhoi gwybod i'r heddlu ai peidio: "
            "www.victimsupport.org.uk.",
            "Os nad ydych yn fodlon ar y ffordd y deliodd un asiantaeth â chi, gallwch ddefnyddio "
            "gweithdrefn gwyno'r asiantaeth honno, ac yna'r Ombwdsmon.",
        ),
    ),
}

# CLDR's month names (the format context's wide names) for en_GB and cy, the ones Babel gives (a test
# holds them equal): a letter, a notice and the command line write a date without loading Babel.
MONTHS = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "cy": (
        "Ionawr",
        "Chwefror",
        "Mawrth",
        "Ebrill",
        "Mai",
        "Mehefin",
        "Gorffennaf",
        "Awst",
        "Medi",
        "Hydref",
        "Tachwedd",
        "Rhagfyr",
    ),
}


def long_date(day: date, language: str = "en") -> str:
    """`2026-03-02` -> `2 March 2026`: CLDR's long date for en_GB and cy, "d MMMM y" in both (GOV.UK
    style: no weekday, no ordinal, no comma); with `language="cy"`, `2 Mawrth 2026` (any other
    language: English)."""
    return f"{day.day} {MONTHS['cy' if language == 'cy' else 'en'][day.month - 1]} {day.year}"


_QUOTES = "\"'“”‘’«»"
_ENDS = ".!?…"


def number(n, lang: str = "en") -> str:
    """`1234` -> `1,234`: the number as CLDR writes it in the language (its decimal pattern
    `#,##0.###`)."""
    if lang != "cy" and isinstance(n, int):
        return f"{n:,}"  # en_GB's pattern for a whole number, without loading Babel
    from babel.numbers import format_decimal  # imported here: only a letter or a Welsh count needs Babel

    return format_decimal(n, locale="cy" if lang == "cy" else "en_GB")


def plural(n, one: str, other: str, lang: str = "en") -> str:
    """`plural(3, "{n} action", "{n} actions")` -> `3 actions`: the form CLDR's plural rule picks for
    the language ("one" or any other category), with the number formatted for it. A Welsh letter
    writes its other form as "{n} o ..." (with the soft mutation), which suits every number but one."""
    if lang == "cy" or not isinstance(n, int):
        from babel import Locale

        category = Locale.parse("cy" if lang == "cy" else "en_GB").plural_form(n)
    else:
        # CLDR's English rule, "one: i = 1 and v = 0", for a whole number: the command line's
        # `check` and listings count in English without loading Babel
        category = "one" if n == 1 else "other"
    return (one if category == "one" else other).replace("{n}", number(n, lang))


def quoted(words, lead: str) -> str:
    """`quoted("Only one complaint within the time limits", "The reason recorded")` ->
    `The reason recorded: “Only one complaint within the time limits.”`: a person's words as they
    typed them, inside quotation marks (GOV.UK style: double, curly), ended as a sentence, after a
    lead-in that says whose words they are. Quotation marks the person typed round the whole are
    dropped, not doubled; the words themselves are never changed."""
    text = re.sub(r"\s+", " ", str(words or "")).strip()
    while len(text) >= 2 and text[0] in _QUOTES and text[-1] in _QUOTES:
        text = text[1:-1].strip()
    if not text:
        return ""
    if text[-1] not in _ENDS:
        text += "."
    return f"{lead.rstrip(': ')}: “{text}”"
