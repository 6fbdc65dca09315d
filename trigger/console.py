"""What the command line prints: every result a command formats for the terminal, in one place.

A face beside `cli.py` (docs/architecture.md): commands call a use-case and hand its plain data to a
printer here. No SQL and no rules; the engine never imports this module. Same import rule as
`cli.py`: the standard library and click at the top; rich (slow to import) and engine modules on the
first lines of the function that uses them, so `trigger --help` stays fast.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import stat
import sys
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

if TYPE_CHECKING:
    from trigger.cases.retention import Purged
    from trigger.deadlines.reminders import Result
    from trigger.reports.common import Period
    from trigger.rules.policy import Policy
    from trigger.rules.threshold import Explanation
    from trigger.store.db import SchemaState
    from trigger.store.models import ReviewCase

LARGE = 200  # rows beyond which listings are printed plainly (rich's Table took 10 s on 10,000 rows)


def emit_json(data: Any) -> None:
    if isinstance(data, list) and len(data) > LARGE:
        # a long listing: compact, in one call of json's C encoder (indented output forces the
        # pure-Python encoder, 0.4 s on 10,000 cases; `list` must stay near the import floor)
        click.echo(json.dumps(data, default=str, ensure_ascii=False))
        return
    click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def emit_rows(
    rows: list[dict],
    columns: list[str],
    as_json: bool = False,
    as_csv: bool = False,
    title: str | None = None,
) -> None:
    """A listing as JSON, as CSV, or as a table."""
    if as_json:
        emit_json(rows)
        return
    if as_csv:
        from trigger.store import outputs

        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: outputs.csv_cell(cell(row.get(k))) for k in columns})
        click.echo(buf.getvalue(), nl=False)
        return
    if len(rows) > LARGE:
        _plain_table(rows, columns, title)
        return
    import shutil

    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for c in columns:
        table.add_column(c)
    for row in rows:
        table.add_row(*[cell(row.get(c)) for c in columns])
    Console(file=sys.stdout, width=shutil.get_terminal_size((160, 24)).columns).print(table)


def _plain_table(rows: list[dict], columns: list[str], title: str | None = None) -> None:
    """Aligned columns without rich, for long listings: built column by column, with text (most cells)
    taken as it is, because `list` on 10,000 cases must stay near the import floor."""
    texts = [
        [v if type(v) is str else "" if v is None else cell(v) for v in [row.get(c) for row in rows]]
        for c in columns
    ]
    widths = [max(len(c), *map(len, col)) if col else len(c) for c, col in zip(columns, texts, strict=True)]
    fmt = "  ".join(f"{{:{w}}}" for w in widths)
    out = ([title] if title else []) + [fmt.format(*columns).rstrip(), "  ".join("-" * w for w in widths)]
    out += [line.rstrip() for line in map(fmt.format, *texts)]
    click.echo("\n".join(out))


def cell(value: object) -> str:
    """One value as a table or CSV cell shows it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def local_time(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo("Europe/London")).strftime("%Y-%m-%d %H:%M")


def stdout_is_a_file() -> bool:
    """`> figures.csv`: output redirected to a regular file gets the byte-order mark Excel needs."""
    try:
        return stat.S_ISREG(os.fstat(sys.stdout.fileno()).st_mode)
    except (OSError, ValueError, io.UnsupportedOperation):
        return False


@contextlib.contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int | None], None] | None]:
    """A rich progress bar on stderr when it is a terminal, as a function (done, total); None otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn(label),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        console=Console(file=sys.stderr),
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            progress.update(task, completed=done, total=total)

        yield update


# -- a case -----------------------------------------------------------------------------------------


def print_case(d: dict) -> None:
    """`trigger show`: a case's state, threshold, people, letters, deadlines, corrections, timeline."""
    click.echo(
        f"{d['reference']}  {d['state']}  received {d['received']} ({d['channel']})  policy {d['policy']}"
    )
    who = d["applicant"] + (f" for {d['victim']} (consent {d['consent_date']})" if d["third_party"] else "")
    click.echo(f"Applicant: {who}")
    if d["spoc"]["name"]:
        click.echo(f"SPoC: {d['spoc']['name']}" + (f" <{d['spoc']['email']}>" if d["spoc"]["email"] else ""))
    if d["victim_involvement"]["choice"]:
        inv = d["victim_involvement"]
        click.echo(f"Victim's involvement: {inv['choice']} (recorded {inv['recorded']})")
    _print_threshold(d["threshold"])
    if d["lead_agency"]:
        click.echo(f"Lead agency: {d['lead_agency']}; reviewer: {d['reviewer']}")
    void = [i for i in d["incidents"] if i["void"]]
    click.echo(
        f"Complaints: {len(d['incidents']) - len(void)}"
        + (f" (and {len(void)} void)" if void else "")
        + f"; findings: {len(d['findings'])}; "
        f"recommendations: {len(d['recommendations'])}; actions: {len(d['actions'])}; "
        f"hours: {d['hours_total']:g}"
    )
    for i in void:
        click.echo(f"  complaint {i['id']} void since {i['voided_on']}: {i['void_reason']}")
    if d["hours"]:
        click.echo(
            "Hours entries: "
            + "; ".join(
                f"{h['entry']}. {h['date']} {h['person']} ({h['agency']}) {h['hours']:g}"
                + (f" VOID: {h['void_reason']}" if h["void"] else "")
                for h in d["hours"]
            )
        )
    if d["consultations"]:
        click.echo(
            "Plan put to the victim: " + "; ".join(f"{c['on']}: {c['response']}" for c in d["consultations"])
        )
    _print_letters(d["letters"])
    if d["closure_reason"]:
        click.echo(f"Closure reason: {d['closure_reason']}")
    if d["deadlines"]:
        click.echo("Deadlines:")
        for dl in d["deadlines"]:
            click.echo(f"  {dl['kind']:20} due {dl['due']}  {_deadline_status(dl)}")
    if d["corrections"]:
        click.echo("Corrections:")
        for c in d["corrections"]:
            what = c["subject"] + (f" {c['id']}" if c["subject"] in ("incident", "hours") else "")
            click.echo(
                f"  {c['on']}  {what} {c['field']}: {_shown(c['old'])} -> {_shown(c['new'])}  by {c['by']}"
                + (f"  ({c['reason']})" if c["reason"] else "")
            )
    if d.get("reminders_undelivered"):
        click.echo("Reminders not delivered:")
        for r in d["reminders_undelivered"]:
            how = {"failed": "FAILED", "retrying": "retrying", "sending": "being sent"}[r["status"]]
            click.echo(
                f"  {r['kind']:10} {r['deadline']:18} -> {r['recipient']}: {how}"
                + (f" ({r['last_error']})" if r["last_error"] else "")
            )
    _print_timeline(d["events"])


def _print_threshold(t: dict) -> None:
    if not t["decided"]:
        return
    verdict = "met" if t["met"] else "not met"
    if t["by_appeal"]:
        first = t["history"][0]
        was = "met" if first["met"] else ("rejected" if first["rejection_category"] else "not met")
        upheld = t["history"][-1].get("upheld")
        how = "appeal upheld" if upheld else "appeal dismissed, the decision stands"
        click.echo(
            f"Threshold: {verdict} on {t['decided']} ({how}; first decided {was} on {first['decided']})"
        )
    else:
        click.echo(
            f"Threshold: {verdict} on {t['decided']}"
            + (f" ({t['route']})" if t["route"] else "")
            + (f"; rejected as {t['rejection_category']}" if t["rejection_category"] else "")
        )
    if t["since_corrected"]:
        click.echo(f"  Note: {t['since_corrected']}.")


def _print_letters(letters: list[dict]) -> None:
    if not letters:
        return
    click.echo("Letters (the register; `trigger letter REF --issued N -o FILE` gives one back as sent):")
    for lt in letters:
        fixed = ", ".join(dict.fromkeys(c["field"] for c in lt["corrected_since"]))
        click.echo(
            f"  {lt['number']}. {lt['kind']} {lt['issued_on']} ({lt['format']}, sha256 {lt['hash'][:12]})"
            + (" edited, as sent" if lt["edited"] else "")
            + (f" e-mailed to {lt['sent']['to']}" if lt["sent"] else "")
            + (f"  facts since corrected: {fixed}" if fixed else "")
        )


def _print_timeline(events: list[dict]) -> None:
    click.echo("Timeline:")
    for e in events:
        move = f" {e['from'] or ''} -> {e['to']}" if e["to"] and e["from"] != e["to"] else ""
        reason = f"  ({e['reason']})" if e["reason"] else ""
        detail = (
            "  "
            + ", ".join(
                f"{k} {cell(v)}"
                for k, v in e["detail"].items()
                if k in _TIMELINE_KEYS and v not in (None, "", [], False)
            )
            if e.get("detail")
            else ""
        )
        click.echo(f"  {e['at']}  {e['event']:18} {e['actor']}{move}{reason}{detail.rstrip()}")


def _shown(value: object) -> str:
    return "(none)" if value is None else repr(value)


def _deadline_status(dl: dict) -> str:
    """A deadline's status as `show` prints it; the JSON carries the same `status` code."""
    st, met_on = dl["status"], dl["met_on"]
    if st == "met":
        return f"met {met_on}"
    if st == "met_late":
        unit = "working day" if (dl["span"] or "").endswith("wd") else "day"
        n = dl["days_late"]
        return f"met late {met_on} ({n} {unit}{'' if n == 1 else 's'} late)"
    if st == "late_accepted":
        return f"late appeal accepted {met_on}"
    if st in ("overdue", "missed"):
        return st.upper()
    return st.replace("_", " ")


_TIMELINE_KEYS = (
    "agency",
    "incident",
    "category",
    "to",
    "number",
    "status",
    "rag",
    "hours",
    "person",
    "lead",
    "reviewer",
    "route",
    "grounds",
    "against",
    "upheld",
    "by",
    "not_held",
    "channel",
    "kind",
    "recipient",
    "fields",
    "entry",
)


def print_corrected(rows: list[Any], what: str) -> None:
    """What `case update`, `incident update` and `agency update` say after a correction."""
    fields = ", ".join(dict.fromkeys(r.field for r in rows))
    click.echo(f"Corrected {what}: {fields} (old values kept; `trigger show` lists the corrections).")


def print_check(case: ReviewCase, explanation: Explanation, corrected: str | None) -> None:
    """`trigger check`: the verdict, then the explanation."""
    verdict = "MET" if explanation.met else "NOT MET"
    click.echo(
        f"{case.reference}: threshold {verdict}"
        + (f" ({explanation.route} route)" if explanation.route else "")
    )
    click.echo()
    click.echo(explanation.text())
    if corrected:
        click.echo()
        click.echo(f"Note: {corrected}.")


def print_chronology(data: dict) -> None:
    """`trigger export REF`: the chronology, then the documents as issued."""
    case = data["case"]
    click.echo(f"Chronology of {case['reference']} ({case['state']}), received {case['received']}")
    for item in data["chronology"]:
        click.echo(f"{item['date']}  {item['kind']:24} {item['summary']}")
    if data["documents"]:
        click.echo("Documents as issued (`trigger export REF -o FILE.zip` writes them out):")
        for d in data["documents"]:
            click.echo(
                f"  {d['number']}. {d['issued_on']} {d['kind']} ({d['format']}) sha256 {d['sha256']}"
                + ("" if d["as_issued"] else "  (no intact copy held)")
            )


# -- the partnership's settings -----------------------------------------------------------------------


def policy_data(p: Policy) -> dict:
    """`trigger policy show --json`: a policy's rules and timescales as plain data."""
    return {
        "name": p.name,
        "title": p.title,
        "area": p.area,
        "nation": p.nation,
        "version": p.version,
        "effective": p.effective.isoformat(),
        "threshold": {
            "qualifying_complaints": p.qualifying_complaints,
            "hate_route": p.hate_route,
            "community_route": p.community_route,
            "community_individuals": p.community_individuals,
            "stricter_caveats": list(p.stricter_caveats),
        },
        "timescales": {k: str(v) for k, v in p.timescales.items()},
        "appeal": {"body": p.appeal_body, "grounds": p.appeal_grounds},
        "reminders": {"warn_before": str(p.warn_before), "escalate_after": str(p.escalate_after)},
        "retention_years": p.retention_years,
        "hourly_rate": p.hourly_rate,
        "agencies": [a.__dict__ for a in p.agencies],
    }


def print_policy(p: Policy) -> None:
    """`trigger policy show`: the threshold, the timescales and the appeal route."""
    click.echo(f"{p.title} ({p.name} {p.version}, {p.nation}, effective {p.effective})")
    click.echo(
        f"Threshold: {p.qualifying_complaints} qualifying complaints"
        + (", or one hate incident" if p.hate_route else "")
        + (f", or {p.community_individuals} people about the same problem" if p.community_route else "")
    )
    for kind, span in p.timescales.items():
        click.echo(f"  {kind:20} {span.describe()}")
    click.echo(f"Appeals: {p.appeal_body}")
    for ground, text in p.appeal_grounds.items():
        click.echo(f"  {ground}: {text}")


def print_schema_state(state: SchemaState) -> None:
    """`trigger db current`: the revision the database is at, and the one this trigger ships."""
    have = "no migrations applied" if state.current is None else (", ".join(state.current) or "empty")
    verdict = (
        "up to date"
        if state.up_to_date
        else ("newer than this trigger" if state.ahead else "behind: run `trigger db upgrade`")
    )
    click.echo(f"current: {have}\nhead:    {', '.join(state.heads)}\n{verdict}")


# -- complaints -------------------------------------------------------------------------------------


SCAN_COLUMNS = ["list", "victim_id", "reports", "qualifying", "first_report", "last_report", "told_on"]


def print_scan(found: dict) -> None:
    """`trigger scan`: what each list means and what to do, then the victims on it."""
    click.echo(f"Scan as of {found['as_of']}: reports from {found['window_start']} (six months).")
    a, b = len(found["second_report"]), len(found["meets_threshold"])
    told = sum(1 for r in found["second_report"] if r["told"])
    click.echo(
        f"(a) {a} {'victim' if a == 1 else 'victims'} made a second report within six months; "
        "tell them about the ASB Case Review (2025 guidance)"
        + (f"; {told} already told (told_on; record with `trigger signpost`)." if told else ".")
    )
    click.echo(
        f"(b) {b} {'victim meets' if b == 1 else 'victims meet'} the threshold with no open case; "
        "signpost them to the ASB Case Review."
    )
    rows = found["second_report"] + found["meets_threshold"]
    if rows:
        emit_rows(rows, SCAN_COLUMNS)


# -- deadlines and reminders --------------------------------------------------------------------------


def print_reminder_run(result: Result, dry_run: bool) -> None:
    """`trigger reminders run`: what was due, what was sent, and what was not (on stderr)."""
    for item in result.due:
        click.echo(
            f"{'would send' if dry_run else 'due'} {item.kind:10} {item.reference} {item.deadline_kind} "
            f"due {item.due.isoformat()} -> {item.recipient}"
        )
    for line in result.warnings:
        click.echo(f"warning: {line}", err=True)
    if dry_run:
        click.echo(f"{len(result.due)} reminder(s) due; nothing sent (dry run).")
        return
    others = result.skipped + result.lost
    click.echo(
        f"Sent {len(result.sent)}, not sent {len(result.failed)} (kept and retried), "
        f"given up {len(result.gave_up)}, cancelled {len(result.cancelled)}"
        + (f", taken by another runner {others}" if others else "")
        + (f" via {result.channel}." if result.channel else ".")
    )
    if result.stopped:
        click.echo(f"Stopped early; {result.released} claimed reminder(s) given back.")
    for rid, error, retry_at in result.failed:
        click.echo(f"reminder {rid} not sent: {error}; kept, next attempt {local_time(retry_at)}", err=True)
    for rid, error, because in result.gave_up:
        why = "refused for good" if because == "refused" else "still failing after a day"
        click.echo(f"reminder {rid} given up ({why}): {error}", err=True)
    if result.reported:
        click.echo(
            f"Reported {result.reported} undelivered reminder(s) to the manager via {result.reported_via}."
        )
    if result.report_error:
        click.echo(f"warning: {result.report_error}", err=True)


def print_reminder_status(data: dict) -> None:
    """`trigger reminders status`: counts by state, then every reminder not delivered and why."""
    click.echo("Reminders: " + ", ".join(f"{k} {v}" for k, v in data["counts"].items()) + ".")
    rows = data["undelivered"]
    if not rows:
        click.echo("Every reminder due has been delivered.")
        return
    click.echo("Not delivered:")
    for r in rows:
        if r["status"] == "failed":
            how = (
                "FAILED, refused for good" if r["because"] == "refused" else "FAILED after a day of retries"
            ) + ("; manager told" if r["reported"] else "; manager not yet told")
        elif r["status"] == "retrying":
            when = local_time(datetime.fromisoformat(r["next_attempt"])) if r["next_attempt"] else "now"
            how = f"retrying ({r['attempts']} attempt(s)), next {when}"
        else:
            how = "being sent now"
        click.echo(
            f"  {r['reference']}  {r['kind']:10} {r['deadline']:18} due {r['due']} -> {r['recipient']}: {how}"
        )
        if r["last_error"]:
            click.echo(f"      last error: {r['last_error']}")
    if any(r["status"] == "failed" for r in rows):
        click.echo("Put failed ones back with `trigger reminders retry [REF]`.")


# -- reports and records ------------------------------------------------------------------------------


def print_annual(rows: list[dict], period: Period, suppressed: bool) -> None:
    """`trigger report annual`: the return as a table of section, measure and value."""
    emit_rows(
        rows,
        ["section", "measure", "value"],
        title=f"ASB case reviews {period.label} ({period.start} to {period.end})"
        + (", small numbers suppressed" if suppressed else ""),
    )


def print_hours_report(data: dict, as_csv: bool) -> None:
    """`trigger report hours`: hours and cost by case, agency and person, then the totals."""
    rows = (
        [
            {"by": "case", "who": r["reference"], "hours": r["hours"], "cost": r["cost"]}
            for r in data["by_case"]
        ]
        + [
            {"by": "agency", "who": r["agency"], "hours": r["hours"], "cost": r["cost"]}
            for r in data["by_agency"]
        ]
        + [
            {"by": "person", "who": f"{r['person']} ({r['agency']})", "hours": r["hours"], "cost": r["cost"]}
            for r in data["by_person"]
        ]
    )
    emit_rows(rows, ["by", "who", "hours", "cost"], as_csv=as_csv, title="Review hours")
    if as_csv:
        return
    longest = data["longest_review"]
    click.echo(
        f"Total {data['total_hours']:g} hours, £{data['total_cost']:,.2f} "
        f"at £{data['hourly_rate']:g}/hour; "
        f"{data['cases']} reviews, mean {data['mean_hours_per_review'] or 0:g} hours"
        + (f", longest {longest['reference']} ({longest['hours']:g} hours)." if longest else ".")
    )


def purged_imports(result: Purged, closed_before: date, dry_run: bool) -> str:
    """`trigger purge`: the line about the imported incident rows."""
    return (
        f"{'Would remove' if dry_run else 'Removed'} {result.imported_incidents} imported incident row(s) "
        f"reported before {closed_before.isoformat()}."
    )


def print_purge(result: Purged, closed_before: date, dry_run: bool) -> None:
    """`trigger purge`: how many cases, the imported rows, then each case purged."""
    verb = "Would purge" if dry_run else "Purged"
    click.echo(
        f"{verb} personal data of {len(result.cases)} case(s) closed before {closed_before.isoformat()}."
    )
    click.echo(purged_imports(result, closed_before, dry_run))
    for r in result.cases:
        click.echo(
            f"  {r['reference']}  {r['state']} {r['closed']}  victim {r['victim_initials']}  "
            f"{r['incidents']} complaints, {r['letters']} letters"
        )
