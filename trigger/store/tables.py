"""The tables as plain SQLAlchemy Core `Table`s for the read paths (`show`, `list`): names,
columns and their types only (the models' own types, so values read back alike), each built the first
time it is used (`tables.deadline`), so a command pays only for the tables it reads. GENERATED from
trigger/store/models.py by scripts/read_tables.py; do not edit (a test checks it).
"""

from sqlalchemy import Boolean, Column, Date, DateTime, Float, Integer, LargeBinary, MetaData, Table
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

from trigger.store.sealed import Sealed, SealedBytes

metadata = MetaData()


def _action() -> Table:
    return Table(
        "action",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("case_id", Integer()),
        Column("number", Integer()),
        Column("action", Sealed()),
        Column("owner_agency_id", Integer()),
        Column("due", Date()),
        Column("status", AutoString()),
        Column("rag", AutoString()),
        Column("resources", Sealed()),
        Column("outcome_measure", Sealed()),
        Column("progress", Sealed()),
        Column("jag", Boolean()),
        Column("completed_on", Date()),
        Column("version", Integer()),
    )


def _agency() -> Table:
    return Table(
        "agency",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("code", AutoString()),
        Column("name", AutoString()),
        Column("kind", AutoString()),
        Column("email", AutoString()),
        Column("partnership_id", Integer()),
    )


def _app_user() -> Table:
    return Table(
        "app_user",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("login", AutoString()),
        Column("name", AutoString()),
        Column("role", AutoString()),
        Column("partnership_id", Integer()),
        Column("email", AutoString()),
        Column("created_at", UTCDateTime()),
        Column("disabled_on", Date()),
        Column("disabled_reason", AutoString()),
    )


def _appeal() -> Table:
    return Table(
        "appeal",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("case_id", Integer()),
        Column("against", AutoString()),
        Column("received", Date()),
        Column("grounds", Sealed()),
        Column("detail", Sealed()),
        Column("late_reason", Sealed()),
        Column("decided_on", Date()),
        Column("upheld", Boolean()),
        Column("decided_by", AutoString()),
        Column("reason", Sealed()),
    )


def _applicant_link() -> Table:
    return Table(
        "applicant_link",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("case_id", Integer()),
        Column("token_hash", AutoString()),
        Column("issued_on", Date()),
        Column("issued_for", AutoString()),
        Column("created_at", UTCDateTime()),
        Column("revoked_on", Date()),
    )


def _applicant_notice() -> Table:
    return Table(
        "applicant_notice",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("case_id", Integer()),
        Column("channel", AutoString()),
        Column("stage", AutoString()),
        Column("letters", Integer()),
        Column("language", AutoString()),
        Column("send_on", Date()),
        Column("status", AutoString()),
        Column("claimed_at", UTCDateTime()),
        Column("claimed_by", AutoString()),
        Column("claim_until", UTCDateTime()),
        Column("sent_at", UTCDateTime()),
        Column("attempts", Integer()),
        Column("last_error", AutoString()),
        Column("next_attempt_at", UTCDateTime()),
        Column("first_failed_at", UTCDateTime()),
        Column("failure", AutoString()),
        Column("outbox_file", AutoString()),
        Column("recorded_at", UTCDateTime()),
        Column("created_at", UTCDateTime()),
    )


def _audit_event() -> Table:
    return Table(
        "audit_event",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("seq", Integer()),
        Column("case_id", Integer()),
        Column("reference", AutoString()),
        Column("at", UTCDateTime()),
        Column("on", Date()),
        Column("actor", AutoString()),
        Column("event", AutoString()),
        Column("from_state", AutoString()),
        Column("to_state", AutoString()),
        Column("reason", AutoString()),
        Column("detail", AutoString()),
        Column("prev_hash", AutoString()),
        Column("hash", AutoString()),
        Column("partnership_id", Integer()),
    )


def _audit_head() -> Table:
    return Table(
        "audit_head",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("seq", Integer()),
        Column("last_hash", AutoString()),
    )


def _case_key() -> Table:
    return Table(
        "case_key",
        metadata,
        Column("case_id", Integer(), primary_key=True),
        Column("key", LargeBinary()),
    )


def _case_sequence() -> Table:
    return Table(
        "case_sequence",
        metadata,
        Column("year", Integer(), primary_key=True),
        Column("last", Integer()),
        Column("partnership_id", Integer(), primary_key=True),
    )


def _consultation() -> Table:
    return Table(
        "consultation",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("case_id", Integer()),
        Column("consulted_on", Date()),
        Column("response", Sealed()),
        Column("actor", AutoString()),
        Column("created_at", UTCDateTime()),
    )


def _correction() -> Table:
    return Table(
        "correction",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("case_id", Integer()),
        Column("subject", AutoString()),
        Column("subject_id", Integer()),
        Column("field", AutoString()),
        Column("old_value", Sealed()),
        Column("new_value", Sealed()),
        Column("reason", Sealed()),
        Column("corrected_on", Date()),
        Column("actor", AutoString()),
        Column("created_at", UTCDateTime()),
        Column("audit_seq", Integer()),
    )


def _deadline() -> Table:
    return Table(
        "deadline",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("case_id", Integer()),
        Column("kind", AutoString()),
        Column("action_id", Integer()),
        Column("anchor", AutoString()),
        Column("span", AutoString()),
        Column("due", Date()),
        Column("met_on", Date()),
        Column("not_applicable", Boolean()),
        Column("missed", Boolean()),
    )


def _evidence_request() -> Table:
    return Table(
        "evidence_request",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("case_id", Integer()),
        Column("agency_id", Integer()),
        Column("requested", Date()),
        Column("due", Date()),
        Column("answered", Date()),
        Column("not_held", Boolean()),
        Column("note", Sealed()),
    )


def _finding() -> Table:
    return Table(
        "finding",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("case_id", Integer()),
        Column("category", AutoString()),
        Column("text", Sealed()),
        Column("recorded_on", Date()),
    )


def _hours_entry() -> Table:
    return Table(
        "hours_entry",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("case_id", Integer()),
        Column("agency_id", Integer()),
        Column("person", AutoString()),
        Column("hours", Float()),
        Column("worked_on", Date()),
        Column("note", Sealed()),
        Column("voided_on", Date()),
        Column("void_reason", AutoString()),
    )


def _incident() -> Table:
    return Table(
        "incident",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("case_id", Integer()),
        Column("victim_ref", Sealed()),
        Column("victim_hash", LargeBinary()),
        Column("occurred", Date()),
        Column("reported", Date()),
        Column("agency_id", Integer()),
        Column("agency_ref", AutoString()),
        Column("hate", AutoString()),
        Column("category", AutoString()),
        Column("location", Sealed()),
        Column("description", Sealed()),
        Column("complainant", Sealed()),
        Column("same_as_id", Integer()),
        Column("voided_on", Date()),
        Column("void_reason", AutoString()),
        Column("partnership_id", Integer()),
    )


def _letter() -> Table:
    return Table(
        "letter",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("case_id", Integer()),
        Column("kind", AutoString()),
        Column("issued_on", Date()),
        Column("recipient", Sealed()),
        Column("format", AutoString()),
        Column("content_hash", AutoString()),
        Column("created_at", UTCDateTime()),
        Column("edited", Boolean()),
    )


def _letter_copy() -> Table:
    return Table(
        "letter_copy",
        metadata,
        Column("letter_id", Integer(), primary_key=True),
        Column("content", SealedBytes()),
    )


def _letter_delivery() -> Table:
    return Table(
        "letter_delivery",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("letter_id", Integer()),
        Column("sent_to", Sealed()),
        Column("sent_at", UTCDateTime()),
        Column("message_id", AutoString()),
        Column("via", AutoString()),
        Column("outbox_file", AutoString()),
    )


def _log_key() -> Table:
    return Table(
        "log_key",
        metadata,
        Column("partnership_id", Integer(), primary_key=True),
        Column("month", AutoString(), primary_key=True),
        Column("key", LargeBinary()),
    )


def _match_key() -> Table:
    return Table(
        "match_key",
        metadata,
        Column("partnership_id", Integer(), primary_key=True),
        Column("key", LargeBinary()),
    )


def _meeting() -> Table:
    return Table(
        "meeting",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("case_id", Integer()),
        Column("at", DateTime()),
        Column("held", Boolean()),
        Column("held_on", Date()),
        Column("victim_involvement", AutoString()),
        Column("attendees", Sealed()),
        Column("place", Sealed()),
        Column("link", Sealed()),
        Column("phone", Sealed()),
        Column("reply_by", Date()),
    )


def _partner_notification() -> Table:
    return Table(
        "partner_notification",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("case_id", Integer()),
        Column("agency_id", Integer()),
        Column("notified_on", Date()),
        Column("method", AutoString()),
    )


def _partnership() -> Table:
    return Table(
        "partnership",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("code", AutoString()),
        Column("name", AutoString()),
        Column("policy", AutoString()),
        Column("reference_prefix", AutoString()),
        Column("manager_email", AutoString()),
        Column("created_at", UTCDateTime()),
        Column("name_cy", AutoString()),
        Column("address", AutoString()),
        Column("telephone", AutoString()),
        Column("web", AutoString()),
        Column("logo", LargeBinary()),
        Column("logo_type", AutoString()),
        Column("signatory_name", AutoString()),
        Column("signatory_role", AutoString()),
    )


def _policy_snapshot() -> Table:
    return Table(
        "policy_snapshot",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("name", AutoString()),
        Column("version", AutoString()),
        Column("text", AutoString()),
        Column("stored_at", UTCDateTime()),
    )


def _recommendation() -> Table:
    return Table(
        "recommendation",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("case_id", Integer()),
        Column("agency_id", Integer()),
        Column("text", Sealed()),
        Column("recorded_on", Date()),
        Column("response", AutoString()),
        Column("response_reason", Sealed()),
        Column("responded_on", Date()),
    )


def _reminder() -> Table:
    return Table(
        "reminder",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("deadline_id", Integer()),
        Column("kind", AutoString()),
        Column("recipient", AutoString()),
        Column("send_on", Date()),
        Column("status", AutoString()),
        Column("claimed_at", UTCDateTime()),
        Column("claimed_by", AutoString()),
        Column("sent_at", UTCDateTime()),
        Column("attempts", Integer()),
        Column("last_error", AutoString()),
        Column("claim_until", UTCDateTime()),
        Column("next_attempt_at", UTCDateTime()),
        Column("first_failed_at", UTCDateTime()),
        Column("failure", AutoString()),
        Column("reported_at", UTCDateTime()),
        Column("report_copied_at", UTCDateTime()),
        Column("report_claim_until", UTCDateTime()),
        Column("outbox_file", AutoString()),
    )


def _review_case() -> Table:
    return Table(
        "review_case",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("reference", AutoString()),
        Column("version", Integer()),
        Column("state", AutoString()),
        Column("state_changed", Date()),
        Column("received", Date()),
        Column("channel", AutoString()),
        Column("applicant_name", Sealed()),
        Column("victim_name", Sealed()),
        Column("victim_kind", AutoString()),
        Column("victim_ref", Sealed()),
        Column("victim_hash", LargeBinary()),
        Column("consent_date", Date()),
        Column("consent_method", Sealed()),
        Column("email", Sealed()),
        Column("phone", Sealed()),
        Column("preferred_contact", AutoString()),
        Column("language", AutoString()),
        Column("accessibility", Sealed()),
        Column("address", Sealed()),
        Column("postcode", Sealed()),
        Column("victim_address", Sealed()),
        Column("victim_postcode", Sealed()),
        Column("victim_email", Sealed()),
        Column("victim_phone", Sealed()),
        Column("beat", AutoString()),
        Column("statement", Sealed()),
        Column("vulnerability", Sealed()),
        Column("policy_name", AutoString()),
        Column("policy_version", AutoString()),
        Column("lead_agency_id", Integer()),
        Column("reviewer", AutoString()),
        Column("reviewer_email", AutoString()),
        Column("no_recommendations_reason", Sealed()),
        Column("victim_consulted", Boolean()),
        Column("closure_reason", Sealed()),
        Column("purged", Boolean()),
        Column("created_at", UTCDateTime()),
        Column("updated_at", UTCDateTime()),
        Column("spoc_name", AutoString()),
        Column("spoc_email", AutoString()),
        Column("victim_involvement", AutoString()),
        Column("involvement_on", Date()),
        Column("notices", Boolean()),
        Column("partnership_id", Integer()),
    )


def _setting() -> Table:
    return Table(
        "setting",
        metadata,
        Column("key", AutoString(), primary_key=True),
        Column("value", AutoString()),
    )


def _signposting() -> Table:
    return Table(
        "signposting",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("victim_ref", Sealed()),
        Column("victim_hash", LargeBinary()),
        Column("told_on", Date()),
        Column("how", Sealed()),
        Column("actor", AutoString()),
        Column("created_at", UTCDateTime()),
        Column("partnership_id", Integer()),
    )


def _threshold_decision() -> Table:
    return Table(
        "threshold_decision",
        metadata,
        Column("id", Integer(), primary_key=True),
        Column("case_id", Integer()),
        Column("decided_on", Date()),
        Column("met", Boolean()),
        Column("route", AutoString()),
        Column("rejection_category", AutoString()),
        Column("reason", Sealed()),
        Column("explanation", AutoString()),
        Column("actor", AutoString()),
    )


_BUILD = {
    "action": _action,
    "agency": _agency,
    "app_user": _app_user,
    "appeal": _appeal,
    "applicant_link": _applicant_link,
    "applicant_notice": _applicant_notice,
    "audit_event": _audit_event,
    "audit_head": _audit_head,
    "case_key": _case_key,
    "case_sequence": _case_sequence,
    "consultation": _consultation,
    "correction": _correction,
    "deadline": _deadline,
    "evidence_request": _evidence_request,
    "finding": _finding,
    "hours_entry": _hours_entry,
    "incident": _incident,
    "letter": _letter,
    "letter_copy": _letter_copy,
    "letter_delivery": _letter_delivery,
    "log_key": _log_key,
    "match_key": _match_key,
    "meeting": _meeting,
    "partner_notification": _partner_notification,
    "partnership": _partnership,
    "policy_snapshot": _policy_snapshot,
    "recommendation": _recommendation,
    "reminder": _reminder,
    "review_case": _review_case,
    "setting": _setting,
    "signposting": _signposting,
    "threshold_decision": _threshold_decision,
}


def __getattr__(name: str) -> Table:
    try:
        build = _BUILD[name]
    except KeyError:
        raise AttributeError(f"trigger.store.tables has no table {name!r}") from None
    table = globals()[name] = build()
    return table
