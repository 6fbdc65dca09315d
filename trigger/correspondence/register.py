"""Issuing letters and the register of letters issued: a letter rendered from its context with the
partnership's templates (or the shipped ones), its bytes and sha256 kept with its audit event, its
number in the case's register, and a copy given back exactly as it was sent.

How a letter is written so that the register never holds one that was not:
docs/architecture.md#files-the-engine-writes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from letters.check import check_folder
from letters.make import render
from letters.render import LetterError
from trigger import checks
from trigger.cases import links
from trigger.codes import LETTER_FORMATS, LETTER_KINDS
from trigger.correspondence.context import context
from trigger.correspondence.eligibility import refusal
from trigger.errors import GuardRefused, InvalidInput, NotFound, Retry
from trigger.rules.policy import Policy
from trigger.store import models
from trigger.store.access import LETTERS, READ_CASE, needs
from trigger.store.app import App
from trigger.store.models import Letter, ReviewCase, row_id
from trigger.store.outputs import OutputError, Staged, Target
from trigger.store.unit import Work, case_policy, changing, find_case, on_for_change, retried


@dataclass
class Issued:
    content: bytes
    kind: str
    format: str
    recipient: str
    issued_on: date
    content_hash: str
    letter_id: int | None  # None for a preview
    number: int | None = None  # the case's register entry (as `show` numbers them)


# -- templates ------------------------------------------------------------------------------------------


def templates_for(pol: Policy, templates: str | None) -> str | None:
    """The template folder a letter is rendered from: `--templates`, else the policy's, else the shipped."""
    return templates or pol.templates or None


def check_templates(folder: str) -> list[str]:
    """`trigger letters check DIR`: one line per problem; empty when the folder is fine."""
    try:
        return [str(p) for p in check_folder(folder)]
    except LetterError as exc:
        raise NotFound(str(exc)) from None


def _render(kind: str, ctx: dict[str, Any], fmt: str, templates: str | None, terms: dict[str, str]) -> bytes:
    try:
        return render(kind, ctx, fmt, templates, terms)
    except LetterError as exc:
        raise InvalidInput(str(exc)) from None


# -- issuing a letter -------------------------------------------------------------------------------------


@retried
@needs(LETTERS)
def letter(
    app: App,
    reference: str,
    kind: str,
    *,
    fmt: str = "html",
    on: date | None = None,
    recipient: str | None = None,
    preview: bool = False,
    templates: str | None = None,
    until: date | None = None,
    reason: str | None = None,
    output: Target | None = None,
) -> Issued:
    """Render a letter and write it to `output`; unless previewing, record it in the register with its
    audit event (the deadlines it meets refreshed with it). `until` and `reason` are a delay letter's
    new date and why. Recorded only when it happened (docs/architecture.md#files-the-engine-writes):

    1. the letter's facts are read from a snapshot, and it is rendered outside any transaction, so a
       slow PDF or a partner's template never keeps other users waiting;
    2. the bytes go to a temporary file beside the target (a full disk, a missing folder or a refused
       permission stops here, with nothing recorded);
    3. a short write transaction re-reads the facts: if the case changed while the letter was
       rendered, it is rendered again from the case as it now is; else the register row and the audit
       event are written, the file is renamed into place, and the transaction commits. If the commit
       fails, the file is taken away again."""
    _check_kind_and_format(kind, fmt)
    facts = letter_facts(kind, until, reason)
    recipient = checks.name(recipient, "--to")
    with app.read() as session:
        case = find_case(session, reference)
        on = on_for_change(case, on)
        pol = case_policy(session, case)
        facts = link_facts(session, case, kind, facts, preview=preview)
        ctx = _letter_context(session, case, pol, kind, fmt, on, recipient, facts)
    issued = _rendered(ctx, kind, fmt, on, pol, templates)
    consequence = "the letter was not written" if preview else "the letter was not recorded"
    staged = stage(output, issued.content, consequence)
    if preview:
        place(staged, consequence)
        return issued
    try:
        with changing(app, reference, pol) as w:
            w.lock()
            if _letter_context(w.session, w.case, w.policy, kind, fmt, on, recipient, facts) != ctx:
                raise Retry(
                    f"{w.case.reference} changed while the letter was being rendered; run the command again"
                )
            register(w, issued, facts=facts)
            keep_link(w, facts, on)
            if staged is not None:
                w.before_commit.append(lambda: place(staged, consequence))
    except BaseException:
        if staged is not None:
            staged.discard()
        raise
    return issued


def letter_facts(kind: str, until: date | None, reason: str | None) -> dict[str, Any]:
    """What the officer gives with a letter: a delay letter must give the new date
    (docs/procedure.md#informing-the-applicant)."""
    if kind != "delay":
        if until is not None or reason:
            raise InvalidInput("--until and --reason belong to a delay letter; leave them out for a " + kind)
        return {}
    if until is None:
        raise InvalidInput(
            "a delay letter gives the applicant the new date: add --until DATE (when you now expect "
            "to finish the step), and --reason TEXT to say why"
        )
    return {"until": until.isoformat(), "reason": (reason or "").strip() or None}


def prepare(
    session: Session,
    case: ReviewCase,
    pol: Policy,
    kind: str,
    fmt: str,
    on: date,
    recipient: str | None,
    templates: str | None,
    facts: dict[str, Any] | None = None,
) -> Issued:
    """Check the case supports the letter on that day, gather its facts and render it (nothing written)."""
    ctx = _letter_context(session, case, pol, kind, fmt, on, recipient, facts)
    return _rendered(ctx, kind, fmt, on, pol, templates)


def _check_kind_and_format(kind: str, fmt: str) -> None:
    if kind not in LETTER_KINDS:
        raise InvalidInput(f"{kind!r} is not a letter kind; use one of {', '.join(LETTER_KINDS)}")
    if fmt not in LETTER_FORMATS:
        raise InvalidInput(f"{fmt!r} is not a letter format; use one of {', '.join(LETTER_FORMATS)}")


def _letter_context(
    session: Session,
    case: ReviewCase,
    pol: Policy,
    kind: str,
    fmt: str,
    on: date,
    recipient: str | None,
    facts: dict[str, Any] | None = None,
) -> dict[str, Any]:
    reason = refusal(session, case, kind, on)
    if reason:
        raise GuardRefused(f"cannot issue the {kind} letter: {reason}")
    ctx = context(session, case, pol, kind, on, recipient, fmt, facts)
    if kind == "delay":
        _check_delay(ctx, on)
    return ctx


def _check_delay(ctx: dict[str, Any], on: date) -> None:
    delay = ctx["delay"]
    until = date.fromisoformat(delay["until"])
    due = date.fromisoformat(delay["due"])
    if until <= due:
        raise InvalidInput(
            f"--until {until} is not after {due}, the day the step was due; give the new, later date"
        )
    if until < on:
        raise InvalidInput(f"--until {until} is before the letter's date {on}; give a date still to come")


def _rendered(
    ctx: dict[str, Any], kind: str, fmt: str, on: date, pol: Policy, templates: str | None
) -> Issued:
    content = _render(kind, ctx, fmt, templates_for(pol, templates), pol.glossary)
    return Issued(content, kind, fmt, ctx["recipient"]["name"], on, hashlib.sha256(content).hexdigest(), None)


def stage(output: Target | None, content: bytes, consequence: str) -> Staged | None:
    """The bytes in a temporary file beside `output` (None for no output); a failure says what it means
    for the register (`consequence`)."""
    if output is None:
        return None
    try:
        return output.stage(content)
    except OutputError as exc:
        raise OutputError(f"{exc}; {consequence}") from None


def place(staged: Staged | None, consequence: str) -> None:
    """Put the staged file in place: the last step before the register's transaction commits."""
    if staged is None:
        return
    try:
        staged.place()
    except OutputError as exc:
        raise OutputError(f"{exc}; {consequence}") from None


# -- the register ---------------------------------------------------------------------------------------


PREVIEW_TOKEN = "preview-only-no-link-was-made"  # a preview shows where the link goes, not a working one


def link_facts(
    session: Session, case: ReviewCase, kind: str, facts: dict[str, Any], *, preview: bool = False
) -> dict[str, Any]:
    """An acknowledgement carries the applicant's private link to their case page when the
    partnership's door has a public address (`[web] base_url`): a new link for each letter issued
    (`keep_link` stores its hash when the letter is registered), none in a preview."""
    if kind != "acknowledgement":
        return facts
    base = links.door_policy(session, case).web_base_url
    if not base:
        return facts
    return {**facts, "link": links.address(base, PREVIEW_TOKEN if preview else links.new_token())}


def keep_link(w: Work, facts: dict[str, Any], on: date) -> None:
    """Store (as its hash) the link the letter being registered carries, with its audit event."""
    if not facts.get("link"):
        return
    row = links.keep(w, links.token_in(facts["link"]), links.BY_LETTER, on)
    w.record("web_link", on, detail={"link": row.id, "replaced": [], "by": links.BY_LETTER})


def register(w: Work, issued: Issued, *, edited: bool = False, facts: dict[str, Any] | None = None) -> Letter:
    """Add the letter to the register, with its bytes, and its audit event (no personal data; a delay
    letter's new date and reason, sealed with the event, are what the applicant's page says of the
    delay)."""
    row = Letter(
        case_id=row_id(w.case),
        kind=issued.kind,
        issued_on=issued.issued_on,
        recipient=issued.recipient,
        format=issued.format,
        content_hash=issued.content_hash,
        edited=edited,
    )
    w.session.add(row)
    w.session.flush()
    w.session.add(models.LetterCopy(letter_id=row_id(row), content=issued.content))  # exactly what was sent
    detail: dict[str, Any] = {
        "letter": row.id,
        "kind": issued.kind,
        "format": issued.format,
        "hash": issued.content_hash,
    }
    if edited:
        detail["edited"] = True
    if issued.kind == "delay" and facts:
        detail["until"], detail["reason"] = facts.get("until"), facts.get("reason")
    # the recipient stays in the register row; the audit log carries no personal data
    w.record("letter", issued.issued_on, detail=detail)
    issued.letter_id = row.id
    issued.number = register_number(w.session, w.case, row_id(row))
    return row


def register_number(session: Session, case: ReviewCase, letter_id: int) -> int:
    """A letter's entry number in its case's register (1, 2, 3 in the order issued)."""
    return session.exec(
        select(func.count()).select_from(Letter).where(Letter.case_id == case.id, col(Letter.id) <= letter_id)
    ).one()


def _entries(session: Session, case: ReviewCase) -> list[Letter]:
    return list(session.exec(select(Letter).where(Letter.case_id == case.id).order_by(col(Letter.id))))


@needs(READ_CASE)
def issued_copy(app: App, reference: str, number: int) -> Issued:
    """`trigger letter REF --issued N`: register entry N of the case (as `show` numbers them), exactly
    as it was sent; refused when the stored bytes no longer match the hash recorded at issue."""
    with app.read() as session:
        case = find_case(session, reference)
        rows = _entries(session, case)
        if not 1 <= number <= len(rows):
            listed = f"1 to {len(rows)}" if rows else "none yet"
            raise NotFound(
                f"{case.reference} has no register entry {number} (entries: {listed}; `trigger show "
                f"{case.reference}` lists them)"
            )
        row = rows[number - 1]
        copy = session.get(models.LetterCopy, row.id)
        if copy is None:
            raise NotFound(
                f"entry {number} of {case.reference} ({row.kind}, {row.issued_on}) has no stored copy "
                f"(purged, or issued before copies were kept); its sha256 was {row.content_hash}"
            )
        content = bytes(copy.content)
        if hashlib.sha256(content).hexdigest() != row.content_hash:
            raise GuardRefused(
                f"the stored copy of entry {number} of {case.reference} does not match the sha256 recorded "
                "when it was issued; it has been altered"
            )
        return Issued(
            content, row.kind, row.format, row.recipient, row.issued_on, row.content_hash, row.id, number
        )


def issued_documents(
    session: Session, case: ReviewCase, *, exclude_bundles: bool = True
) -> list[dict[str, Any]]:
    """Every document in the case's register with the bytes that were sent (None when no copy is kept)
    and whether they still match the sha256 recorded at issue; for the bundle and the export."""
    out = []
    for n, lt in enumerate(_entries(session, case), start=1):
        if exclude_bundles and lt.kind == "appeal_bundle":
            continue
        copy = session.get(models.LetterCopy, lt.id)
        content = bytes(copy.content) if copy is not None else None
        out.append(
            {
                "number": n,
                "row": lt,
                "content": content,
                "intact": content is not None and hashlib.sha256(content).hexdigest() == lt.content_hash,
                "name": f"{n:02d}-{lt.issued_on.isoformat()}-{lt.kind}.{lt.format}",
            }
        )
    return out
