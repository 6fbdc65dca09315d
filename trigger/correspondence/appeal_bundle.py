"""The appeal bundle (`trigger bundle REF`): the papers the independent chair reads, as one zip kept in
the case's register like a letter.

It holds the report form (the threshold reasoning first: which complaints counted, which did not,
and why, as the decision recorded it), the chronology, a summary of the meeting's minutes, every
letter as issued (the bytes the register keeps, checked against their sha256), the outcome and
action plan, and the appeal in the appellant's own words (docs/procedure.md#appeals).
"""

from __future__ import annotations

import hashlib
import io
import textwrap
import zipfile
from datetime import UTC, date, datetime
from typing import Any

from sqlmodel import Session, col, select

from letters.words import plural, quoted
from trigger import checks
from trigger.cases import complaints, decisions
from trigger.codes import FINDING_LABELS, INVOLVEMENT_LABELS
from trigger.correspondence.eligibility import appeals_of
from trigger.correspondence.register import Issued, issued_documents, place, register_number, stage
from trigger.errors import GuardRefused, Retry
from trigger.read import views
from trigger.read.chronology import chronology_text
from trigger.rules.policy import Policy
from trigger.store.access import BUNDLE, needs
from trigger.store.app import App
from trigger.store.models import Letter, LetterCopy, Meeting, ReviewCase, row_id
from trigger.store.outputs import Target, zip_files
from trigger.store.unit import Work, case_policy, changing, find_case, last_event, on_for_change, retried

View = dict[str, Any]  # the case as `views.case_view` gives it


@retried
@needs(BUNDLE)
def make(
    app: App,
    reference: str,
    *,
    on: date | None = None,
    recipient: str | None = None,
    output: Target | None = None,
) -> Issued:
    """The appeal bundle (LLR: report form, minutes, chronology, result letters, outcome report and
    action plan, to the independent chair within one working day; docs/procedure.md#appeals), recorded in the
    register as an `appeal_bundle` letter, its bytes kept like every letter's. The letters in it are
    the documents as issued (a PDF is the PDF), and it carries the appellant's own words.

    Written to `output` in the same steps as `letter`: built from a snapshot outside any transaction,
    staged in a temporary file, then recorded and put in place in one short transaction (built again
    if the case changed meanwhile)."""
    recipient = checks.name(recipient, "--to")
    with app.read() as s:
        case = find_case(s, reference)
        on = on_for_change(case, on)
        pol = case_policy(s, case)
        if not appeals_of(s, case):
            raise GuardRefused(
                f"{case.reference} has no appeal; an appeal bundle is made once an appeal is lodged"
            )
        seen = (case.version, last_event(s, row_id(case)))
        content = _bundle_content(s, case, pol)
    digest = hashlib.sha256(content).hexdigest()
    to = recipient or pol.appeal_body
    consequence = "the bundle was not recorded"
    staged = stage(output, content, consequence)
    try:
        with changing(app, reference, pol) as w:
            w.lock()
            if (w.case.version, last_event(w.session, row_id(w.case))) != seen:
                raise Retry(
                    f"{w.case.reference} was changed while the bundle was being made; run the command again"
                )
            issued = _register(w, Issued(content, "appeal_bundle", "zip", to, on, digest, None))
            if staged is not None:
                w.before_commit.append(lambda: place(staged, consequence))
    except BaseException:
        if staged is not None:
            staged.discard()
        raise
    return issued


def _register(w: Work, issued: Issued) -> Issued:
    """The bundle in the case's register with its bytes, and its audit event (how many files it holds)."""
    row = Letter(
        case_id=row_id(w.case),
        kind=issued.kind,
        issued_on=issued.issued_on,
        recipient=issued.recipient,
        format=issued.format,
        content_hash=issued.content_hash,
    )
    w.session.add(row)
    w.session.flush()
    w.session.add(LetterCopy(letter_id=row_id(row), content=issued.content))
    detail = {"letter": row.id, "files": _files_in(issued.content), "hash": issued.content_hash}
    w.record("appeal_bundle", issued.issued_on, detail=detail)
    issued.letter_id = row.id
    issued.number = register_number(w.session, w.case, row_id(row))
    return issued


def _files_in(content: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        return len(zf.namelist())


def _bundle_content(s: Session, case: ReviewCase, pol: Policy) -> bytes:
    now = datetime.now(UTC)
    view = views.case_view(s, case)
    files = [
        ("01-report-form.txt", _report_form(view, _reasoning(s, case, pol, view)).encode(), now),
        ("02-chronology.txt", chronology_text(s, case).encode(), now),
        ("03-meeting-minutes-summary.txt", _minutes(s, case, view).encode(), now),
    ]
    letters, index = _letters(s, case)
    files += letters
    files.append(("04-letters/index.txt", ("\n".join(index) + "\n").encode(), now))
    files.append(("05-outcome-and-action-plan.txt", _outcome_and_plan(view).encode(), now))
    files.append(("06-the-appeal.txt", _appeal_papers(view, pol).encode(), now))
    return zip_files(files)


def _letters(s: Session, case: ReviewCase) -> tuple[list[tuple[str, bytes, datetime]], list[str]]:
    """Every letter in the register as issued, and the lines of their index."""
    files = []
    index = ["Letters issued, as issued (the bytes the register keeps; sha256 checked):"]
    for doc in issued_documents(s, case):
        lt = doc["row"]
        name = f"04-letters/{doc['name']}"
        if doc["content"] is not None:
            files.append((name, doc["content"], lt.created_at))
            state = "as issued" if doc["intact"] else "STORED COPY DOES NOT MATCH ITS SHA256"
            if lt.edited:
                state += " (the edited version recorded as sent)"
        else:
            state = "no copy kept; only its sha256 is held"
        index.append(
            f"  {name}: entry {doc['number']}, issued {lt.issued_on} as {lt.format} to {lt.recipient}, "
            f"sha256 {lt.content_hash}; {state}"
        )
    return files, index


def _reasoning(s: Session, case: ReviewCase, pol: Policy, view: View) -> list[str]:
    """The threshold reasoning the chair reads first: the decision, each complaint counted or not and
    why, the local routes, and the explanation in full, from the decision's own record (s.104(4);
    docs/procedure.md#appeals)."""
    standing = decisions.standing(s, case)
    if standing.original is None:
        return ["Threshold reasoning: the threshold has not been decided."]
    explained = complaints.as_decided(s, case, pol, standing)
    first = standing.original
    incidents = {i["id"]: i for i in view["incidents"]}

    def complaint(v: dict) -> str:
        i = incidents.get(v["id"])
        said = f"  #{v['id']}"
        if i is not None:
            said += f" occurred {i['occurred']}, reported {i['reported']} to {i['agency']}"
        return said

    found = "met" if first.met else "not met"
    if first.route:
        found += f" ({first.route} route)"
    lines = [
        f"Threshold reasoning, as recorded with the decision of {first.decided_on}: {found}.",
    ]
    if not first.explanation:
        lines.append(
            "  (No reasoning was recorded with the decision: this is the check as the complaints are now.)"
        )
    if first.reason:
        lines.append("  " + quoted(first.reason, "The reason recorded with the decision"))
    counted, excluded = explained.get("counted", []), explained.get("excluded", [])
    total = len(counted) + len(excluded)
    lines.append(
        f"Counted: {plural(len(counted), '{n} complaint', '{n} complaints')} of {total}, "
        f"against a threshold of {explained.get('statutory_required', pol.qualifying_complaints)}:"
    )
    lines += [complaint(v) for v in counted] or ["  none"]
    lines.append("Not counted, and why:")
    lines += [
        f"{complaint(v)}: {v['reason']}" + (f" ({v['detail']})" if v.get("detail") else "") for v in excluded
    ] or ["  none"]
    for v in explained.get("void", []):
        lines.append(f"{complaint(v)}: void, not counted: {v['reason']}")
    for route, said in explained.get("routes", {}).items():
        if route != "statutory":
            lines.append(f"Local {route} route: {said}")
    if explained.get("text"):
        lines += [
            "In full:",
            *textwrap.wrap(explained["text"], 100, initial_indent="  ", subsequent_indent="  "),
        ]
    return lines


def _report_form(view: View, reasoning: list[str]) -> str:
    t = view["threshold"]
    lines = [
        f"ASB Case Review report form: {view['reference']}",
        "",
        *reasoning,
        "",
        f"Received: {view['received']} ({view['channel']})",
        f"Applicant: {view['applicant']}"
        + (f" for {view['victim']} (consent {view['consent_date']})" if view["third_party"] else ""),
        f"State: {view['state']}",
        f"Policy: {view['policy']}",
        f"Statement of dissatisfaction: {view['statement']}",
        f"Threshold: {'met' if t['met'] else 'not met'} on {t['decided']}"
        if t["decided"]
        else "Threshold: not decided",
        f"Lead agency: {view['lead_agency'] or '-'}; reviewer: {view['reviewer'] or '-'}",
        f"Review hours: {view['hours_total']:g}",
        "",
        "Complaints:",
    ]
    for i in view["incidents"]:
        lines.append(
            f"  #{i['id']} occurred {i['occurred']}, reported {i['reported']} to {i['agency']}"
            + (f" (hate: {i['hate']})" if i["hate"] else "")
            + (f" (same as #{i['same_as']})" if i["same_as"] else "")
        )
    lines += ["", "Appeals:"]
    for a in view["appeals"]:
        lines += _appeal_lines(a)
    if view["corrections"]:
        lines += ["", "Corrections (old value -> new value, reason):"]
        for c in view["corrections"]:
            lines.append(
                f"  {c['on']} {c['subject']} {c['field']}: {c['old']!r} -> {c['new']!r} by {c['by']}"
                + (f" ({c['reason']})" if c["reason"] else "")
            )
    return "\n".join(lines) + "\n"


def _appeal_lines(a: dict[str, Any]) -> list[str]:
    """One appeal on the report form."""
    return [
        f"  against the {a['against']}: received {a['received']}, grounds {a['grounds']}"
        + (f" (late, accepted: {a['late_reason']})" if a["late_reason"] else "")
        + (
            f", decided {a['decided_on']} ({'upheld' if a['upheld'] else 'dismissed'})"
            if a["decided_on"]
            else ", not yet decided"
        ),
        f"    In the appellant's own words: {a['detail'] or '(no words recorded)'}",
    ]


def _appeal_papers(view: View, pol: Policy) -> str:
    """The appeal as the appellant made it: the ground and their own words (`appeal --detail`)."""
    lines = [f"The appeal: {view['reference']}", ""]
    for n, a in enumerate(view["appeals"], start=1):
        lines += [
            f"Appeal {n}, against the {a['against']}, received {a['received']}",
            f"Ground: {a['grounds']}: {pol.appeal_grounds.get(a['grounds'], a['grounds'])}",
            "In the appellant's own words:",
            f"  {a['detail']}" if a["detail"] else "  (no words of the appellant were recorded)",
        ]
        if a["late_reason"]:
            lines.append(f"Lodged after the window; accepted because: {a['late_reason']}")
        if a["decided_on"]:
            lines.append(
                f"Decided {a['decided_on']} by {a['decided_by']}: {'upheld' if a['upheld'] else 'dismissed'}"
                f" ({a['reason']})"
            )
        lines.append("")
    return "\n".join(lines)


def _minutes(session: Session, case: ReviewCase, view: View) -> str:
    rows = session.exec(select(Meeting).where(Meeting.case_id == case.id).order_by(col(Meeting.id))).all()
    lines = [f"Review meeting minutes summary: {view['reference']}", ""]
    if not rows:
        lines.append("No review meeting was recorded.")
    for m in rows:
        lines.append(
            f"Meeting {m.at.isoformat(timespec='minutes')}: {'held' if m.held else 'scheduled, not held'}"
        )
        lines.append(f"  Attendees: {m.attendees or 'not recorded'}")
        lines.append(
            f"  Victim's involvement: {INVOLVEMENT_LABELS.get(m.victim_involvement or '', 'not recorded')}"
        )
    lines += ["", *_victims_voice(view), "", "Findings:"]
    lines += [
        f"  - {FINDING_LABELS.get(f['category'], f['category'])}" + (f": {f['text']}" if f["text"] else "")
        for f in view["findings"]
    ] or ["  none"]
    lines += ["", "Recommendations:"]
    lines += [
        f"  - to {r['to']}: {r['text']}" + (f" [{r['response']}]" if r["response"] else "")
        for r in view["recommendations"]
    ] or ["  none"]
    return "\n".join(lines) + "\n"


def _victims_voice(view: View) -> list[str]:
    """How the victim took part (2025 guidance): their chosen involvement, their written statements and
    what they said of the draft action plan, each with who recorded it (an officer, or the applicant
    at their own case page)."""
    inv = view["victim_involvement"]
    lines = ["The victim's part in the review:"]
    if inv["choice"]:
        by = f", by {inv['by']}" if inv["by"] else ""
        label = INVOLVEMENT_LABELS.get(inv["choice"], inv["choice"])
        lines.append(f"  Chosen involvement: {label} (recorded {inv['recorded']}{by})")
    else:
        lines.append("  Chosen involvement: not recorded")
    for st in view["victim_statements"]:
        lines.append(f"  Written statement ({st['on']}, by {st['by']}): {st['text']}")
    for day in view["plan_shared"]:
        lines.append(f"  Draft action plan shared with the applicant: {day}")
    for c in view["consultations"]:
        lines.append(f"  On the draft action plan ({c['on']}, by {c['by']}): {c['response']}")
    return lines


def _outcome_and_plan(view: View) -> str:
    issued = [e["at"] for e in view["events"] if e["event"] == "issue_outcome"]
    lines = [
        f"Outcome and action plan: {view['reference']}",
        "",
        f"Outcome issued: {issued[-1] if issued else 'no outcome was issued'}",
        "",
        "No. | Key action | Lead agency | Due | Status | RAG | Progress",
    ]
    for a in view["actions"]:
        progress = (a["progress"] or "").replace("\n", " / ")
        lines.append(
            f"{a['number']} | {a['action']} | {a['owner']} | {a['due']} | {a['status']} | "
            f"{a['rag'] or '-'} | {progress}"
        )
    if not view["actions"]:
        lines.append("(no actions)")
    return "\n".join(lines) + "\n"
