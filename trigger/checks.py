"""Checks on what people type, in one place, so every command refuses the same bad input the same way
(one line saying what is wrong and how to fix it; nothing written).

Pure: plain values in, the cleaned value out or `InvalidInput` raised; standard library only, so the
policy loader and the command line can use them too (docs/architecture.md#bad-input).

- Text never holds NUL (PostgreSQL cannot store it) or control characters; a name or a code is one
  line, a free text may have line breaks (CRLF becomes LF). Every text has a length limit.
- A reason is words: blank or whitespace-only is refused.
- Names are compared ignoring case, repeated spaces and look-alike forms (`name_key`).
- A year outside 1990-2100 is refused; a number must fit the database's integers.
- An e-mail address passes a simple syntax check (`email`), documented there.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta
from typing import overload

from trigger.errors import InvalidInput

YEAR_MIN, YEAR_MAX = 1990, 2100
FAR_AHEAD = timedelta(days=2 * 366)  # a meeting, a due date: never more than about two years ahead
ID_MAX = 2**31 - 1  # the largest id or number a PostgreSQL INTEGER column holds

NAME_MAX = 200  # a person's or a body's name
CODE_MAX = 32  # an agency code
REF_MAX = 100  # an agency's own reference, a victim's id in a partner system
SHORT_MAX = 1_000  # attendees, an address, consent method, accessibility needs
TEXT_MAX = 10_000  # a statement, a reason, a note, a finding: about four pages
EMAIL_MAX = 254  # RFC 5321

# the bidirectional controls that can make a name display as another ("Trojan Source")
_BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _show(value: str, limit: int = 40) -> str:
    """A value quoted for an error message: short, and with its control characters made visible."""
    shown = value if len(value) <= limit else value[:limit] + "..."
    return repr(shown)


def _bad_character(value: str, multiline: bool) -> str | None:
    """The first character a text must not hold, described; None when every character is fine."""
    for ch in value:
        if ch == "\x00":
            return "a NUL byte (\\x00)"
        if multiline and ch in "\n\t":
            continue
        cat = unicodedata.category(ch)
        if cat == "Cc":
            name = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab", "\x1b": "an escape"}
            return f"{name.get(ch, 'a control character')} ({ch!r})"
        if ch in _BIDI or (not multiline and cat == "Cf"):
            return f"an invisible formatting character (U+{ord(ch):04X})"
        if cat == "Cs":
            return "an unpaired surrogate (the text is not valid Unicode)"
    return None


def text(value: str | None, what: str, *, limit: int = TEXT_MAX, multiline: bool = True) -> str | None:
    """A free text (statement, note, description): None stays None; CRLF becomes LF; NUL, control
    characters (other than line breaks and tabs) and text longer than `limit` are refused."""
    if value is None:
        return None
    if multiline:
        value = value.replace("\r\n", "\n")
    bad = _bad_character(value, multiline)
    if bad:
        where = "" if multiline else "; it must be one line"
        raise InvalidInput(f"{what} contains {bad}{where}; type it again without it", "character")
    if len(value) > limit:
        raise InvalidInput(
            f"{what} is {len(value):,} characters long; the limit is {limit:,} (attach long documents "
            "to the case file instead)",
            "too_long",
            limit,
        )
    return value


@overload
def words(value: str, what: str, *, limit: int = TEXT_MAX) -> str: ...
@overload
def words(value: str | None, what: str, *, limit: int = TEXT_MAX) -> str | None: ...
def words(value: str | None, what: str, *, limit: int = TEXT_MAX) -> str | None:
    """A reason, a detail, a statement: None stays None (the caller decides whether it is required);
    given but blank or whitespace-only is refused. Returned stripped."""
    if value is None:
        return None
    cleaned = text(value, what, limit=limit) or ""
    if not cleaned.strip():
        raise InvalidInput(f"{what} is blank; say it in words", "blank")
    return cleaned.strip()


def required_words(value: str | None, what: str, *, limit: int = TEXT_MAX) -> str:
    """Like `words`, but a missing value is refused too."""
    if value is None or not value.strip():
        raise InvalidInput(f"{what} is required and must be words, not blank", "required")
    return words(value, what, limit=limit)


def name(value: str | None, what: str, *, limit: int = NAME_MAX, required: bool = False) -> str | None:
    """A person's or a body's name: one line, no control or invisible characters, repeated spaces
    collapsed. Blank is None, or refused when `required`."""
    if value is None or not value.strip():
        if required:
            raise InvalidInput(f"{what} is required", "required")
        return None
    text(value, what, limit=limit, multiline=False)
    return " ".join(value.split())


# Cyrillic and Greek letters drawn like Latin ones (after casefolding: each capital's small form too),
# so that a name typed with one of them is still the same name to the eye and to the independence check
_LOOKALIKES = str.maketrans(
    "авеѕіјкмнорстухүһԁԛԝӏαβεζηικμνορτυχ",
    "abesijkmhopctyxyhdqwlabezhikmvoptux",
)


def name_key(value: str | None) -> str:
    """What two names are compared on: compatibility forms folded (NFKC), case and accents ignored,
    letters of other scripts drawn like Latin ones read as those, punctuation and repeated spaces
    ignored. `Sam  Chair`, `sam chair.`, `SAM\u00a0CHAIR` and `Sаm Chair` (a Cyrillic а) are the same
    person."""
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", value or "").casefold())
    letters = (
        " " if unicodedata.category(ch)[0] == "P" else ch
        for ch in folded.translate(_LOOKALIKES)
        if unicodedata.category(ch) != "Mn"
    )
    return " ".join("".join(letters).split())


def same_name(a: str | None, b: str | None) -> bool:
    return bool(name_key(a)) and name_key(a) == name_key(b)


def code(value: str | None, what: str) -> str:
    """An agency code: letters, digits, `.`, `_` and `-`, up to 32 characters. Codes are compared
    ignoring case (`code_key`), so `CBC` and `cbc` are one agency."""
    if value is None or not value.strip():
        raise InvalidInput(f"{what} is required")
    text(value, what, limit=CODE_MAX, multiline=False)
    value = value.strip()
    if not _CODE.fullmatch(value):
        raise InvalidInput(
            f"{what} {_show(value)} is not a code; use letters, digits, '.', '_' or '-' (e.g. cbc, police)"
        )
    return value


def code_key(value: str) -> str:
    return value.strip().casefold()


def reference(value: str | None, what: str, *, limit: int = REF_MAX) -> str | None:
    """A partner's own reference (CAD number, victim id): one line, no control characters."""
    if value is None or not value.strip():
        return None
    text(value, what, limit=limit, multiline=False)
    return value.strip()


# -- e-mail ------------------------------------------------------------------------------------------

# A deliberately simple check of the common form local@domain.tld, not the whole of RFC 5322:
# - the local part: letters, digits and ! # $ % & ' * + / = ? ^ _ ` { | } ~ - and dots, not at either
#   end and never two in a row (no quoted local parts, no comments, no spaces);
# - the domain: two or more dot-separated labels of letters, digits and hyphens (not at a label's
#   ends), each at most 63 characters, the last one letters only (a TLD); no IP literals;
# - at most 64 characters before the @ and 254 in all; never a line break (no header injection).
_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def is_email(value: str) -> bool:
    if len(value) > EMAIL_MAX or value.count("@") != 1:
        return False
    local, domain = value.split("@")
    labels = domain.split(".")
    return (
        0 < len(local) <= 64
        and bool(_LOCAL.fullmatch(local))
        and len(labels) >= 2
        and all(_LABEL.fullmatch(label) for label in labels)
        and labels[-1].isalpha()
        and len(labels[-1]) >= 2
    )


def email(value: str | None, what: str) -> str | None:
    """An e-mail address, or None when not given (blank counts as not given)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    text(value, what, limit=EMAIL_MAX, multiline=False)
    if not is_email(value):
        raise InvalidInput(
            f"{what} {_show(value)} is not an e-mail address; write it as name@example.gov.uk", "format"
        )
    return value


# -- numbers and dates -------------------------------------------------------------------------------


def whole(value: int | None, what: str, *, low: int = 1, high: int = ID_MAX) -> int | None:
    """An id or a number: within the database's integers (and `low`..`high`)."""
    if value is None:
        return None
    if not (low <= value <= high):
        raise InvalidInput(f"{what} {value} is out of range; give a number from {low} to {high}")
    return value


def year_ok(day: date | datetime, what: str) -> date | datetime:
    """A year outside 1990-2100 is a typing mistake (`0001`, `9999`, `1900`), refused with one line."""
    if not (YEAR_MIN <= day.year <= YEAR_MAX):
        raise InvalidInput(
            f"{what} {day.isoformat()}: a year outside {YEAR_MIN}-{YEAR_MAX} is refused; check the date",
            "year",
        )
    return day


def not_far_ahead(day: date, what: str, today: date) -> date:
    """A future date allowed (a meeting, a due date), but not absurdly far ahead."""
    year_ok(day, what)
    if day > today + FAR_AHEAD:
        raise InvalidInput(f"{what} {day.isoformat()} is more than two years ahead; check the date")
    return day
