"""Anchors of the audit chain kept in a folder, taken without anyone having to remember
(docs/operations.md#audit-anchors).

`trigger audit anchor`, `reminders serve` (once a day), `report annual --publish` and `purge` each keep
an anchor (the chain's head: its sequence and hash, and the time) in the anchor folder:
`TRIGGER_ANCHOR_DIR`, else the policy's `anchor_folder` (relative to the policy file), else `anchors` in
the data directory; the folder is private to its owner (0700) and each file too (0600), written once
and never replaced. `trigger audit verify` checks the newest anchor of its database kept there without
being told, so a log cut back after it, or a history written again before it, is found. An anchor can
also be e-mailed to the manager (`audit anchor --mail`), so that a copy lives outside the machine.

An anchor names its database by a digest of where it is (`audit.database_id`: the SQLite file's full
path, or the PostgreSQL server, database and options; never a login), so one folder can hold the
anchors of several databases.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

from sqlalchemy import select

from trigger.errors import InvalidInput, TriggerError
from trigger.rules.policy import Policy
from trigger.settings import data_dir
from trigger.store import access, audit, mail
from trigger.store import tables as t
from trigger.store.app import App
from trigger.store.partnerships import managers
from trigger.store.unit import default_policy

ENV = "TRIGGER_ANCHOR_DIR"
PREFIX = "audit-anchor-"


def folder(policy: Policy | None) -> Path:
    """Where anchors are kept: TRIGGER_ANCHOR_DIR, the policy's `anchor_folder`, or the data directory's."""
    given = os.environ.get(ENV, "").strip()
    if given:
        return Path(given).expanduser()
    if policy is not None and policy.anchor_folder.strip():
        path = Path(policy.anchor_folder.strip()).expanduser()
        if not path.is_absolute() and policy.path and Path(policy.path).is_file():
            path = Path(policy.path).resolve().parent / path
        return path
    return data_dir() / "anchors"


@dataclass(frozen=True)
class Kept:
    path: Path
    anchor: dict


def _policy(app: App) -> Policy | None:
    """The policy in hand (--policy, the partnership's); None for an admin of a county who named no
    partnership (the chain is the whole database's, not one partnership's)."""
    with app.read() as session:
        try:
            return default_policy(app, session)
        except InvalidInput:
            return None


def _private_folder(where: Path) -> None:
    made = not where.exists()
    try:
        where.mkdir(mode=0o700, parents=True, exist_ok=True)
        if made:
            os.chmod(where, 0o700)
    except OSError as exc:
        raise InvalidInput(f"cannot make the anchor folder {where}: {exc.strerror or exc}") from None
    if not where.is_dir():
        raise InvalidInput(f"the anchor folder {where} is not a folder; check {ENV} or the policy")


@access.needs(access.AUDIT)
def keep(app: App, why: str, anchor: dict | None = None) -> Kept:
    """Take an anchor (`audit.take_anchor`: refused while the chain is broken) and keep it in the anchor
    folder, in a file of its own created once (an anchor already kept for this head is left as it is)."""
    anchor = dict(anchor or audit.take_anchor(app))
    anchor["taken_by"] = why
    where = folder(_policy(app))
    _private_folder(where)
    stamp = str(anchor["at"]).replace(":", "").replace("-", "")
    path = where / f"{PREFIX}{anchor['seq']:010d}-{stamp}.json"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return Kept(path, anchor)
    except OSError as exc:
        raise InvalidInput(f"cannot keep the anchor in {where}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(audit.anchor_json(anchor))
    return Kept(path, anchor)


def keep_quietly(app: App, why: str, daily: bool = False) -> tuple[Kept | None, str | None]:
    """`keep` for the commands that anchor on the side (`purge`, `report annual --publish`, and
    `reminders serve` with `daily`: one a day at most): (what was kept, None), (None, None) when the
    day's anchor is kept already, or (None, why not) for a warning; their own work stands either way."""
    try:
        return (keep_daily(app) if daily else keep(app, why)), None
    except TriggerError as exc:
        return None, f"no audit anchor was kept: {exc}"


def _read(path: Path) -> dict | None:
    try:
        with open(path, "rb") as fh:
            data = json.loads(fh.read(audit.ANCHOR_MAX_BYTES).decode("utf-8-sig"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _ours(data: dict, ident: str, first: str | None) -> bool:
    if "database_id" in data:
        return data["database_id"] == ident
    return first is not None and data.get("first_hash") == first  # an anchor taken before ids


@access.needs(access.AUDIT)
def newest(app: App) -> audit.Anchor | None:
    """The newest anchor of this database kept in the anchor folder (the highest event), if any."""
    where = folder(_policy(app))
    if not where.is_dir():
        return None
    with app.read() as session:
        ev = t.audit_event
        first = session.execute(select(ev.c.hash).where(ev.c.seq == 1)).scalar()
    ident = audit.database_id(app.url)
    for path in sorted(where.glob(f"{PREFIX}*.json"), reverse=True):
        data = _read(path)
        if data is None or not _ours(data, ident, first):
            continue
        try:
            anchor = audit.read_anchor(str(path))
        except InvalidInput:
            continue
        return audit.Anchor(anchor.seq, anchor.hash, anchor.at, str(path), kept=True)
    return None


@access.needs(access.AUDIT)
def verify(app: App, given: list[audit.Anchor]) -> tuple[audit.Verification, list[audit.Anchor]]:
    """`trigger audit verify`: the chain, the anchors given and the newest kept in the anchor folder, and
    the tables against the log. Returns the result and the anchors it ran through."""
    kept = newest(app)
    anchors = list(given)
    if kept is not None and all((a.seq, a.hash) != (kept.seq, kept.hash) for a in given):
        anchors.append(kept)
    return audit.verify_through(app, anchors), anchors


@access.needs(access.AUDIT)
def keep_daily(app: App, now: datetime | None = None) -> Kept | None:
    """`reminders serve`'s daily anchor: one a day (UTC), and only when the chain has grown since the
    newest kept; None when none was due."""
    now = now or datetime.now(UTC)
    last = newest(app)
    with app.read() as session:
        head = audit.head_anchor(session)
    if head is None:
        return None
    if last is not None and (last.seq == head["seq"] or (last.at or "")[:10] == now.date().isoformat()):
        return None
    return keep(app, "reminders serve")


# -- sending one to the manager -----------------------------------------------------------------------------


def _message(anchor: dict, to: list[str], mail_from: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = mail_from
    msg["To"] = ", ".join(to)
    msg["Subject"] = f"Audit anchor: event {anchor['seq']} of the Community Trigger log ({anchor['at']})"
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(idstring=f"anchor-{anchor['seq']}", domain=mail.domain_of(mail_from))
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(
        "This is the head of the audit log of the Community Trigger database "
        f"({anchor['database']}) at {anchor['at']}: event {anchor['seq']}, hash {anchor['hash']}.\n\n"
        "Keep this message (or its attachment) somewhere the database's users cannot change. "
        "`trigger audit verify --anchor FILE` with the attachment fails if the history up to this "
        "event was ever written again or cut back.\n"
    )
    msg.add_attachment(
        audit.anchor_json(anchor),
        maintype="application",
        subtype="json",
        filename=f"{PREFIX}{anchor['seq']}.json",
    )
    return msg


@access.needs(access.AUDIT)
def send(app: App, anchor: dict) -> tuple[list[str], str]:
    """E-mail an anchor to the manager (each partnership's, in a county) through the engine's mail (SMTP,
    or the outbox folder when no server is set). Returns (the addresses, the channel)."""
    with app.read() as session:
        to = sorted({a for a in managers(session, app.policy_override).values() if a})
    if not to:
        raise InvalidInput(
            "no manager address to send the anchor to: give one with `trigger init --manager-email ADDR`"
        )
    channel = mail.transport(app)
    try:
        name = f"{PREFIX}{anchor['seq']}-{str(anchor['at']).replace(':', '')}"
        channel.send(_message(anchor, to, channel.mail_from), name)
    except (OSError, mail.MailError, mail.BadAddress, mail.Refused) as exc:
        raise InvalidInput(
            f"could not send the anchor to {', '.join(to)} by {channel.describe()}: {mail.classify(exc).text}"
        ) from None
    finally:
        channel.close()
    return to, channel.describe()
