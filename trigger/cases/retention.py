"""Retention (docs/procedure.md#retention): Review-Retain-Delete of personal data after the policy's
`retention_years` (LLR: 6 years, from the partnership papers on the Sentinel case system).

A purge blanks the personal data of cases closed or withdrawn before a date, and every free text tied
to them (closure and decision reasons, findings, recommendations, actions, notes), and keeps
everything the published figures and the audit chain rest on: dates, states, channels, decisions,
agencies, counts. Imported incident rows (partners' logs, kept only for `trigger scan`) reported
before the same date are deleted. Audit rows are never touched: the reasons and details of a case's
events are sealed under the case's key (`trigger.store.seal`), and the purge deletes the key, in the same
transaction, so the chain still verifies while the text is gone (docs/operations.md#erasure). With a key
store (`trigger.store.keystore`) the keys are deleted there, after every other change of the purge is
written and just before its commit: no purged case's key is ever left behind, and should the commit
then fail, the cases stay unpurged without their keys until the purge is run again. Each purge also
deletes there the keys of the partnership's cases and months purged before that the store holds again
(a copy of it restored from before that purge), with an audit event (`purge_keys`).

After the commit, the space the old values took is cleaned too: on PostgreSQL a `VACUUM FULL` of the
tables touched rewrites them (a plain VACUUM leaves the old bytes in the table file until the space is
reused); on SQLite every connection runs with `secure_delete` (freed space is zeroed) and the purge
ends with a WAL checkpoint that empties the WAL. The case's letters and reminders waiting in the
outbox folder are overwritten and removed.
"""

from __future__ import annotations

import glob
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parseaddr, parsedate_to_datetime

from sqlalchemy import delete, func, select, update
from sqlmodel import Session, SQLModel, col

from trigger.errors import GuardRefused
from trigger.rules.calendar import add_months
from trigger.store import access, anchors, audit, keystore, mail
from trigger.store import tables as t
from trigger.store.access import PURGE, needs
from trigger.store.app import App, today
from trigger.store.models import (
    Action,
    Appeal,
    ApplicantNotice,
    CaseKey,
    Consultation,
    Correction,
    Deadline,
    EvidenceRequest,
    Finding,
    HoursEntry,
    Incident,
    Letter,
    LetterCopy,
    LetterDelivery,
    LogKey,
    Meeting,
    Recommendation,
    Reminder,
    ReviewCase,
    Signposting,
    ThresholdDecision,
    row_id,
)
from trigger.store.sealed import sealed_event
from trigger.store.unit import case_policy, default_policy, retried
from workflows.machine import TERMINAL

PURGED = "[purged]"
# the case's own personal fields: names, contact, address, statement, vulnerability, accessibility
CASE_FIELDS = {
    "applicant_name": PURGED,
    "victim_name": PURGED,
    "statement": PURGED,
    "victim_ref": None,
    "victim_hash": None,
    "consent_method": None,
    "email": None,
    "phone": None,
    "preferred_contact": None,
    "accessibility": None,
    "address": None,
    "postcode": None,
    "victim_address": None,
    "victim_postcode": None,
    "victim_email": None,
    "victim_phone": None,
    "vulnerability": None,
    "spoc_email": None,
    "closure_reason": PURGED,
    "no_recommendations_reason": None,
}
# free text in the case's other rows: (table, {column: value}); the audit chain is never touched
ROW_FIELDS = (
    (
        Incident,
        {"description": None, "location": None, "complainant": None, "victim_ref": None, "victim_hash": None},
    ),
    (Letter, {"recipient": PURGED}),
    (Meeting, {"attendees": None, "place": None, "link": None, "phone": None}),
    (Appeal, {"grounds": PURGED, "detail": None, "late_reason": None, "reason": None}),
    (HoursEntry, {"note": None}),
    (EvidenceRequest, {"note": None}),
    (ThresholdDecision, {"reason": None}),
    (Finding, {"text": None}),
    (Recommendation, {"text": PURGED, "response_reason": None}),
    (Action, {"action": PURGED, "progress": None, "resources": None, "outcome_measure": None}),
    # corrections keep which field changed, when and by whom; the values and reasons go
    (Correction, {"old_value": None, "new_value": None, "reason": PURGED}),
    (Consultation, {"response": PURGED}),
)


def _table(model: type[SQLModel]) -> str:
    name = model.__tablename__  # sqlmodel types it as a name or a function making one; a table has the name
    assert isinstance(name, str)
    return name


TABLES = [
    "review_case",
    "letter_copy",
    "letter_delivery",
    "signposting",
    "case_key",
    "log_key",
    *(_table(model) for model, _ in ROW_FIELDS),
]


@dataclass(frozen=True)
class OutboxMessage:
    """A purged case's message that may be in the outbox: the file recorded when it was written, or
    (written before outbox names were unique, or never recorded: the online acknowledgement) the name
    or glob it would have, with what its headers must say for it to be this case's and not another
    database's: (header, value, how), `how` being "is" (an address: its address part), "has" (the
    header contains the value) or "near" (Date: from a minute before the ISO moment to an hour after)."""

    name: str
    must: tuple[tuple[str, str, str], ...] = ()
    glob: bool = False


@dataclass
class Purged:
    cases: list[dict] = field(default_factory=list)
    imported_incidents: int = 0  # imported incident rows deleted (or, dry run, that would be)
    warnings: list[str] = field(default_factory=list)
    outbox: list[OutboxMessage] = field(default_factory=list)  # the purged cases' messages
    # keys a purge deleted before, found again in the key store (a restored copy) and deleted now
    stray_keys: dict[str, list[str]] = field(default_factory=dict)


# a message found by its old name is the case's only if its Date header falls this near the moment
# the engine recorded (a minute before, for clocks and rounding; an hour after, for a long sweep)
LATE_BY = (timedelta(minutes=1), timedelta(hours=1))
SNAPSHOT_WAIT = 60.0  # seconds to wait for older transactions before rewriting the tables


def latest_allowed(retention_years: int, on: date | None = None) -> date:
    """The latest --closed-before a policy allows: today less the retention period."""
    return add_months(on or today(), -12 * retention_years)


def candidates(session: Session, closed_before: date, partnership_id: int | None = None) -> list[ReviewCase]:
    """Closed and withdrawn cases whose personal data is due to go (of one partnership, when given)."""
    ours = [] if partnership_id is None else [col(ReviewCase.partnership_id) == partnership_id]
    return list(
        session.scalars(
            select(ReviewCase)
            .where(
                *ours,
                col(ReviewCase.state).in_(TERMINAL),
                col(ReviewCase.state_changed) < closed_before,
                col(ReviewCase.purged).is_(False),
            )
            .order_by(col(ReviewCase.reference))
        )
    )


@retried
@needs(PURGE)
def purge(app: App, closed_before: date, *, dry_run: bool = False) -> Purged:
    """Remove the personal data of cases closed or withdrawn before `closed_before`, and the imported
    incident rows reported before it; one transaction, one audit event per case and one for the
    imported rows. Returns what was (or, with dry_run, would be) purged."""
    result = Purged()
    store = None
    purged: list[int] = []
    with app.write() as session:
        pid = access.acting_partnership(session)  # a partnership purges its own cases, under its policy
        pol = default_policy(app, session, pid)
        limit = latest_allowed(pol.retention_years)
        if closed_before > limit:
            raise GuardRefused(
                f"--closed-before {closed_before.isoformat()} is too recent: "
                f"policy {pol.name} keeps case records "
                f"for {pol.retention_years} years, so the latest date allowed today is {limit.isoformat()}"
            )
        dialect = session.connection().dialect.name
        xid = None
        if dialect == "postgresql" and not dry_run:
            xid = session.connection().exec_driver_sql("SELECT pg_current_xact_id()::text::bigint").scalar()
        for case in candidates(session, closed_before, pid):
            case_pol = case_policy(session, case)
            # a case started under a policy with a longer retention keeps its data for that longer period
            if case.state_changed >= latest_allowed(case_pol.retention_years):
                continue
            result.cases.append(_purge_case(session, case, app.actor, dry_run, result.outbox))
            purged.append(row_id(case))
        result.imported_incidents = _purge_imported(session, closed_before, app.actor, dry_run, pid)
        if dry_run:
            session.rollback()
        else:
            store = keystore.checked(session.connection())
            if store is not None:
                # the key store's keys go last before the commit, once every change above is written:
                # committed there first, so no purged case's key is ever left behind; should this
                # commit then fail, the cases stay unpurged without their keys, and a rerun ends it
                stray, reached, months = _stray_keys(session, store, pid, set(purged))
                if stray or months:
                    result.stray_keys = {"cases": sorted(stray.values()), "months": months}
                    detail = {"case_keys": result.stray_keys["cases"], "month_keys": months}
                    audit.record(
                        session,
                        None,
                        "purge_keys",
                        actor=app.actor,
                        on=today(),
                        detail=detail,
                        partnership_id=pid,
                    )
                session.flush()
                store.delete("case_key", [(case_id,) for case_id in [*purged, *stray]])
                store.delete_months(pid, max(closed_before.isoformat()[:7], reached))
    if not dry_run and store is not None and (purged or result.stray_keys):
        result.warnings += [w for w in [store.reclaim()] if w]
    if not dry_run and (result.cases or result.imported_incidents):
        result.warnings += reclaim(app, xid)
        # the chain's head after the purge, kept outside the database (docs/operations.md#audit-anchors)
        _kept, why_not = anchors.keep_quietly(app, "purge")
        result.warnings += [why_not] if why_not else []
    if not dry_run and result.outbox:
        try:
            discard(mail.Outbox(mail.outbox_dir()), result.outbox)
        except OSError as exc:
            result.warnings.append(f"the purged cases' messages could not be removed from the outbox: {exc}")
    return result


def _stray_keys(
    session: Session, store: keystore.Store, pid: int, now: set[int]
) -> tuple[dict[int, str], str, list[str]]:
    """The keys a purge of the partnership deleted before and the key store holds again (a copy of the
    store restored from before that purge, or a move interrupted and a purge run without the store):
    {case id: reference} of its purged cases (but those sealed again since their purge); the month
    (YYYY-MM) its purges of imported rows reached; and the keys of months before it held again."""
    held = {ident[0] for ident in store.held("case_key")} - now
    rc, ev = t.review_case, t.audit_event
    stray: dict[int, str] = {}
    if held:
        p = ev.alias("purge_event")
        last = select(func.max(p.c.seq)).where(p.c.case_id == rc.c.id, p.c.event == "purge")
        sealed_since = (
            select(ev.c.seq)
            .where(
                ev.c.case_id == rc.c.id,
                ev.c.seq > last.scalar_subquery(),
                sealed_event(ev),
            )
            .exists()
        )
        query = select(rc.c.id, rc.c.reference).where(rc.c.partnership_id == pid, rc.c.purged, ~sealed_since)
        stray = {cid: ref for cid, ref in session.execute(query) if cid in held}
    reached = ""
    purges = select(ev.c.detail).where(ev.c.event == "purge_imported", ev.c.partnership_id == pid)
    for (detail,) in session.execute(purges):
        if detail and detail.startswith("{"):
            reached = max(reached, str(json.loads(detail).get("before", ""))[:7])
    months = sorted(m for of, m in store.held("log_key") if of == pid and m < reached)
    return stray, reached, months


def discard(outbox: mail.Outbox, messages: list[OutboxMessage]) -> int:
    """Overwrite and remove the purged cases' messages from the outbox: the files recorded, and those
    found by name whose headers say they are the case's own (another database's file of the same name
    is left alone). Returns how many files went."""
    names = []
    for m in messages:
        for name in outbox.names(m.name) if m.glob else [m.name]:
            if not m.must or _says(outbox.read(name), m.must):
                names.append(name)
    return outbox.discard(names)


def _says(msg, must: tuple[tuple[str, str, str], ...]) -> bool:
    if msg is None:
        return False
    for header, wanted, how in must:
        value = str(msg.get(header) or "").strip()
        if how == "is":
            ok = bool(wanted) and parseaddr(value)[1].lower() == parseaddr(wanted)[1].lower()
        elif how == "has":
            ok = bool(wanted) and wanted in value
        else:
            try:
                moment = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return False
            at = datetime.fromisoformat(wanted)
            ok = moment.tzinfo is not None and at - LATE_BY[0] <= moment <= at + LATE_BY[1]
        if not ok:
            return False
    return True


def _purge_imported(session: Session, before: date, actor: str, dry_run: bool, partnership_id: int) -> int:
    """The partnership's imported incident rows (no case) reported before `before`, with their
    corrections, and its record of victims told about the Case Review before it (by their id in the
    partners' systems): deleted, with one audit event. Returns the number of incident rows."""
    old = (
        col(Incident.case_id).is_(None),
        col(Incident.reported) < before,
        col(Incident.partnership_id) == partnership_id,
    )
    count = session.scalar(select(func.count()).select_from(Incident).where(*old)) or 0
    told = (col(Signposting.told_on) < before) & (col(Signposting.partnership_id) == partnership_id)
    signposted = session.scalar(select(func.count()).select_from(Signposting).where(told)) or 0
    if (count or signposted) and not dry_run:
        # the corrections of those rows first: they hold what the rows said (docs/architecture.md#corrections)
        # (one by one, few: the purge's event carries each as deleted, as `audit verify` expects)
        gone = select(col(Incident.id)).where(*old)
        corrected = (col(Correction.case_id).is_(None), col(Correction.subject) == "incident")
        for row in session.scalars(
            select(Correction).where(*corrected, col(Correction.subject_id).in_(gone))
        ):
            session.delete(row)
        session.flush()
        session.execute(delete(Incident).where(*old))
        session.execute(delete(Signposting).where(told))
    if not dry_run:
        # the keys of the months whose rows are gone, and with them every copy of those rows' text
        months = (col(LogKey.partnership_id) == partnership_id) & (col(LogKey.month) < before.isoformat()[:7])
        session.execute(delete(LogKey).where(months))
    if (count or signposted) and not dry_run:
        audit.record(
            session,
            None,
            "purge_imported",
            actor=actor,
            on=today(),
            detail={"incidents": count, "signposted": signposted, "before": before.isoformat()},
            partnership_id=partnership_id,
        )
    return count


# sessions that began before the purge committed (an older snapshot, or a transaction older than
# it): the VACUUM's horizon is the oldest of them, and any row deleted after it is kept as "recently
# dead" and copied into the rewritten table
_OLDER_SESSIONS = """
SELECT count(*) FROM pg_stat_activity
WHERE (datname = current_database() OR datname IS NULL) AND pid <> pg_backend_pid()
  AND (age(backend_xmin) >= %(since)s OR age(backend_xid) >= %(since)s)
"""
_SINCE = "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint - %(xid)s"


def reclaim(app: App, xid: int | None, tables: list[str] = TABLES) -> list[str]:
    """After the commit, outside any transaction: make the old bytes of `tables` unreadable from the
    files. Returns warnings for the user (none when all went well)."""
    engine = app.engine
    warnings = []
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            deadline = time.monotonic() + SNAPSHOT_WAIT
            while (
                xid is not None
                and conn.exec_driver_sql(
                    _OLDER_SESSIONS, {"since": conn.exec_driver_sql(_SINCE, {"xid": xid}).scalar()}
                ).scalar()
            ):
                if time.monotonic() > deadline:
                    warnings.append(
                        "a transaction older than the purge is still open, so the old rows may stay in the "
                        "table files until `VACUUM FULL` is run again after it has finished"
                    )
                    break
                time.sleep(0.1)
            # only the tables' owner may VACUUM them (a county's people act under their own logins,
            # docs/architecture.md#what-the-server-enforces): anyone else is told who must
            owner = conn.exec_driver_sql(
                "SELECT pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relname = 'review_case' "
                "AND NOT pg_has_role(c.relowner, 'MEMBER') "
                "AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
            ).scalar()
            if owner is not None:
                warnings.append(
                    f"the purged text may stay in the table files until the tables' owner ({owner}) runs "
                    f"`VACUUM (FULL) {', '.join(tables)}`; this login may not"
                )
                return warnings
            # a plain VACUUM only marks the space reusable; FULL rewrites each table and its indexes
            conn.exec_driver_sql("VACUUM (FULL) " + ", ".join(tables))
        elif engine.dialect.name == "sqlite":
            # every page the purge changed goes into the file (zeroed where freed: secure_delete, set on
            # every connection) and the WAL, which still holds the pages as they were, is emptied
            busy = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
            if busy is not None and busy[0]:
                warnings.append(
                    "another program (a `reminders serve`?) was reading the database, so the old rows may "
                    "stay in its WAL file until the last program using the database closes it"
                )
    return warnings


def _outbox_messages(session: Session, case: ReviewCase) -> list[OutboxMessage]:
    """The messages about the case that may wait in the outbox: the files recorded as written; and, by
    the names of old (one name per letter or reminder, shared by every database writing to the folder),
    only those whose headers are the case's own: a letter's Message-ID, or a reminder's recipient,
    reference and the hour it was sent."""
    found: list[OutboxMessage] = []
    sent = (
        select(
            col(LetterDelivery.outbox_file),
            col(LetterDelivery.message_id),
            col(LetterDelivery.via),
            col(Letter.id),
            col(Letter.kind),
        )
        .join(Letter, col(Letter.id) == col(LetterDelivery.letter_id))
        .where(col(Letter.case_id) == case.id)
    )
    for file, message_id, via, letter_id, kind in session.execute(sent):
        if file:
            found.append(OutboxMessage(file))
        elif via.startswith("outbox"):
            found.append(OutboxMessage(f"letter-{letter_id}-{kind}.eml", (("Message-ID", message_id, "is"),)))
    reminders = (
        select(
            col(Reminder.id),
            col(Reminder.kind),
            col(Reminder.recipient),
            col(Reminder.sent_at),
            col(Reminder.outbox_file),
        )
        .join(Deadline, col(Deadline.id) == col(Reminder.deadline_id))
        .where(col(Deadline.case_id) == case.id)
    )
    for rid, kind, recipient, sent_at, file in session.execute(reminders):
        if file:
            found.append(OutboxMessage(file))
        elif sent_at is not None:
            must: tuple[tuple[str, str, str], ...] = (
                ("To", recipient, "is"),
                ("Message-ID", f".reminder-{rid}-{kind}@", "has"),
                ("Subject", f" {case.reference} ", "has"),
                ("Date", _utc(sent_at), "near"),
            )
            found.append(OutboxMessage(f"{rid}-{kind}.eml", must))
    told = select(col(ApplicantNotice.outbox_file)).where(
        col(ApplicantNotice.case_id) == case.id, col(ApplicantNotice.outbox_file).is_not(None)
    )
    found += [OutboxMessage(file) for file in session.execute(told).scalars() if file]
    if case.email:  # the online acknowledgement (`trigger.cases.online`), to the address it went to
        must = (
            ("To", case.email, "is"),
            ("Subject", f"({case.reference})", "has"),
            ("Date", _utc(case.created_at), "near"),
        )
        name = mail.Outbox.safe_name(f"online-{case.reference}")
        found += [
            OutboxMessage(f"{glob.escape(name)}-*.eml", must, glob=True),
            OutboxMessage(f"{name}.eml", must),
        ]
    return found


def _utc(moment: datetime) -> str:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _purge_case(
    session: Session, case: ReviewCase, actor: str, dry_run: bool, outbox: list[OutboxMessage]
) -> dict:
    initials = "".join(w[0] for w in case.victim_name.split() if w[:1].isalpha()).upper()[:3]
    incidents = session.scalar(
        select(func.count()).select_from(Incident).where(col(Incident.case_id) == case.id)
    )
    letters = session.scalar(select(func.count()).select_from(Letter).where(col(Letter.case_id) == case.id))
    summary = {
        "reference": case.reference,
        "state": case.state,
        "closed": case.state_changed.isoformat(),
        "victim_initials": initials,
        "incidents": incidents,
        "letters": letters,
    }
    if dry_run:
        return summary
    outbox += _outbox_messages(session, case)  # read before the address and the rows are blanked
    for name, value in CASE_FIELDS.items():
        setattr(case, name, value)
    case.purged = True
    session.add(case)
    for model, values in ROW_FIELDS:
        session.execute(update(model).where(col(model.case_id) == case.id).values(**values))
    # the exact bytes of the letters sent are personal data through and through: the register keeps
    # each letter's kind, date and sha256 only
    letter_ids = select(col(Letter.id)).where(col(Letter.case_id) == case.id)
    session.execute(delete(LetterCopy).where(col(LetterCopy.letter_id).in_(letter_ids)))
    # and the addresses the letters were e-mailed to
    session.execute(
        update(LetterDelivery).where(col(LetterDelivery.letter_id).in_(letter_ids)).values(sent_to=PURGED)
    )
    # the key goes, and with it every reason and detail of the case's audit events (the chain stays)
    session.execute(delete(CaseKey).where(col(CaseKey.case_id) == case.id))
    session.flush()
    audit.record(
        session,
        case,
        "purge",
        sealed=False,  # what was purged (field names only), readable after the key is gone
        actor=actor,
        on=today(),
        detail={
            "fields": [
                *sorted(CASE_FIELDS),
                *(f"{_table(model)}.{column}" for model, values in ROW_FIELDS for column in sorted(values)),
                "letter copies",
                "outbox messages",
                "audit reasons and details (the case's key)",
            ]
        },
    )
    return summary
