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
import re
import shutil
import stat
import sys
import textwrap
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

import click

from letters.words import plural

# The two forms of the things the command line counts (letters.words.plural picks one).
_CASES = ("{n} case", "{n} cases")
_CLAIMED = ("{n} claimed reminder", "{n} claimed reminders")
_UNDELIVERED = ("{n} undelivered reminder", "{n} undelivered reminders")
_IMPORTED_ROWS = ("{n} imported incident row", "{n} imported incident rows")
_DIFFERENCES = ("{n} difference", "{n} differences")

if TYPE_CHECKING:
    from trigger.cases.retention import Purged
    from trigger.deadlines.reminders import Result
    from trigger.reports.common import Period
    from trigger.rules.policy import Policy
    from trigger.rules.threshold import Explanation
    from trigger.store.audit import Anchor, Verification
    from trigger.store.db import SchemaState
    from trigger.store.models import ReviewCase

LARGE = 200  # rows beyond which a listing's JSON is printed compact


def emit_json(data: Any) -> None:
    if isinstance(data, list) and len(data) > LARGE:
        # a long listing: compact, in one call of json's C encoder (indented output forces the
        # pure-Python encoder, 0.4 s on 10,000 cases; `list` must stay near the import floor)
        click.echo(json.dumps(data, default=str, ensure_ascii=False))
        return
    click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


class Listing(NamedTuple):
    """A listing's columns, in order (the JSON's keys and the CSV's columns too), and how a table fits
    them to the screen: a column in `wrap` (running text, names, codes) wraps onto more lines at
    spaces and after `_ - , . / @`; every other column (a reference, a date, a number) is never cut
    or wrapped; the columns in `drop` are left out, in that order (those with nothing in them
    first), while the table is wider than the screen. Headers wrap after `_`. `--wide` shows every
    column in full."""

    columns: tuple[str, ...]
    wrap: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()

    def only(self, columns: list[str]) -> Listing:
        return Listing(
            tuple(columns),
            tuple(c for c in self.wrap if c in columns),
            tuple(c for c in self.drop if c in columns),
        )

    def wide_help(self) -> str:
        """`--wide`'s help: what a narrow screen leaves out, in order."""
        if not self.drop:
            return "Show every column in full, however narrow the screen."
        left_out = ", then ".join(self.drop)
        return f"Show every column in full (a narrow screen leaves out {left_out}; an empty one first)."


# Every listing's columns. What a narrow screen leaves out first is what matters least to the person
# reading: the reference, the dates and what is overdue stay.
CASES = Listing(
    ("reference", "state", "received", "lead_agency", "reviewer", "next_deadline", "next_due", "overdue"),
    wrap=("state", "reviewer", "next_deadline", "overdue"),
    drop=("lead_agency", "next_deadline", "reviewer", "received"),
)
ACTIONS = Listing(
    ("reference", "number", "action", "owner", "due", "status", "rag", "overdue", "days_overdue"),
    wrap=("action", "status"),
    drop=("overdue", "rag", "owner", "status"),
)
USERS = Listing(
    ("login", "name", "role", "partnership", "email", "disabled_on", "disabled_reason"),
    wrap=("name", "email", "disabled_reason"),
    drop=("disabled_reason", "disabled_on", "email", "partnership"),
)
PARTNERSHIPS = Listing(
    ("code", "name", "policy", "reference_prefix", "manager_email", "cases", "agencies", "users"),
    wrap=("name", "policy", "manager_email"),
    drop=("manager_email", "agencies", "users", "policy"),
)
AGENCIES = Listing(
    ("code", "name", "kind", "email", "partnership"), wrap=("name", "email"), drop=("email", "kind")
)
POLICIES = Listing(("name", "version", "nation", "area"), wrap=("area",))
SCAN = Listing(
    ("list", "victim_id", "reports", "qualifying", "first_report", "last_report", "told_on"),
    wrap=("list",),
    drop=("reports", "qualifying"),
)
DEADLINE_PERFORMANCE = Listing(
    (
        "kind",
        "deadlines",
        "met_on_time",
        "met_late",
        "missed",
        "overdue",
        "open",
        "not_applicable",
        "passed",
        "late_accepted",
        "on_time_share",
        "median_days_taken",
        "median_days_from_due",
    ),
    wrap=("kind",),
    drop=("not_applicable", "passed", "late_accepted", "median_days_from_due", "open", "deadlines"),
)
HOLIDAYS = Listing(("date", "weekday", "name"), wrap=("name",))
HOURS = Listing(("by", "who", "hours", "cost"), wrap=("who",))
ANNUAL = Listing(("section", "measure", "value"), wrap=("section", "measure"))
PURGED = Listing(("reference", "state", "closed", "victim_initials", "incidents", "letters"))


def emit_rows(
    rows: list[dict],
    listing: Listing,
    as_json: bool = False,
    as_csv: bool = False,
    wide: bool = False,
    title: str | None = None,
) -> None:
    """A listing as JSON, as CSV, or as a table fitted to the screen."""
    if as_json:
        emit_json(rows)
    elif as_csv:
        from trigger.store import outputs

        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=listing.columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: outputs.csv_cell(cell(row.get(k))) for k in listing.columns})
        click.echo(buf.getvalue(), nl=False)
    else:
        click.echo("\n".join(table_lines(rows, listing, None if wide else screen_width(), title)))


GAP = 2  # spaces between columns
LONGEST_PART = 20  # a longer word in a wrapping column may be folded
NARROWEST = 8  # a wrapping column folds its words down to this width before lines run off the screen
_PARTS = re.compile(r"[^\s_,./@-]*[_,./@-]+|[^\s_,./@-]+|\s+")  # a space, or a word up to a break after it
_HEAD_PARTS = re.compile(r"[^_]*_+|[^_]+")


def screen_width() -> int | None:
    """The width to fit a table to: COLUMNS when set, else the terminal's; None when the output goes
    to a file or a pipe (every column, nothing wrapped)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def say(text: str, indent: str = "") -> None:
    """A line of prose, wrapped at spaces to the screen (a file or a pipe gets it whole); `indent`
    before each of its lines."""
    width = screen_width()
    lines = (
        textwrap.wrap(
            text,
            width,
            initial_indent=indent,
            subsequent_indent=indent + "  " if indent else "",  # a hanging indent under a label
            break_long_words=False,
            break_on_hyphens=False,
        )
        if width
        else [indent + text]
    )
    click.echo("\n".join(lines))


def table_lines(rows: list[dict], listing: Listing, width: int | None, title: str | None = None) -> list[str]:
    """The table's lines: the columns that fit `width` (None: all, unwrapped), headers, a rule, rows.
    Built column by column, with text (most cells) taken as it is: `list` on 10,000 cases must stay
    near the import floor."""
    texts = {
        c: [v if type(v) is str else "" if v is None else cell(v) for v in [row.get(c) for row in rows]]
        for c in listing.columns
    }
    full = {c: max(len(c), *map(len, col)) if col else len(c) for c, col in texts.items()}
    least = {c: _least(c, col, c in listing.wrap) for c, col in texts.items()}
    shown = list(listing.columns)
    if width is not None and _span([full[c] for c in shown]) > width:
        # a column with nothing in it goes before any text is wrapped; then the others, in order
        shown = [c for c in shown if c not in listing.drop or any(texts[c])]
        for column in [c for c in listing.drop if c in shown]:
            if _span([least[c] for c in shown]) <= width:
                break
            shown.remove(column)
    widths = {c: full[c] for c in shown}
    if width is not None:
        # headers wrap first (one more line, once), then the text, then words fold
        _narrow(widths, {c: max([_head(c), *map(len, texts[c])]) for c in shown}, width)
        _narrow(widths, least, width)
        folded = {c: max(_head(c), NARROWEST) if c in listing.wrap else least[c] for c in shown}
        _narrow(widths, {c: min(least[c], folded[c]) for c in shown}, width)
    columns = [widths[c] for c in shown]
    out = [title] if title else []
    out += _cells_lines([_wrap(c, widths[c], _HEAD_PARTS) for c in shown], columns, head=True)
    out.append((" " * GAP).join("-" * w for w in columns))
    if all(widths[c] == full[c] for c in shown):
        fmt = (" " * GAP).join(f"{{:{w}}}" for w in columns)
        out += [line.rstrip() for line in map(fmt.format, *[texts[c] for c in shown])]
    else:
        for i in range(len(rows)):
            out += _cells_lines([_wrap(texts[c][i], widths[c]) for c in shown], columns)
    if len(shown) < len(listing.columns):
        left_out = ", ".join(c for c in listing.drop if c not in shown)
        note = f"(Left out at {width} columns: {left_out}; --wide shows every column.)"
        out += textwrap.wrap(note, width or len(note), break_long_words=False, break_on_hyphens=False)
    return out


def _span(widths: list[int]) -> int:
    return sum(widths) + GAP * (len(widths) - 1)


def _narrow(widths: dict[str, int], least: dict[str, int], width: int) -> None:
    """Take columns in, the widest first, until the table fits `width` or each is at its `least`."""
    while _span(list(widths.values())) > width:
        wider = [(w, c) for c, w in widths.items() if w > least[c]]
        if not wider:
            return
        widths[max(wider)[1]] -= 1


def _head(header: str) -> int:
    """A header's longest part: headers wrap after `_`."""
    return max(len(part) for part in _HEAD_PARTS.findall(header))


def _least(header: str, texts: list[str], wraps: bool) -> int:
    """The narrowest a column is made before columns are left out: its header's longest part, and
    its longest value, or for a wrapping column its longest word (up to LONGEST_PART)."""
    if not wraps:
        return max([_head(header), *map(len, texts)])
    words = [len(part) for text in texts for part in _PARTS.findall(text) if not part.isspace()]
    return max(_head(header), min(max(words, default=0), LONGEST_PART))


def _wrap(text: str, width: int, parts: re.Pattern[str] = _PARTS) -> list[str]:
    """`text` in lines of at most `width`, broken between its parts; a part longer than a line folded."""
    if len(text) <= width:
        return [text]
    lines, line = [], ""
    for part in parts.findall(text):
        if part.isspace():
            line += " " if line else ""
            continue
        if len(line) + len(part) > width and line.strip():
            lines.append(line.rstrip())
            line = ""
        while len(part) > width:
            lines.append(part[:width])
            part = part[width:]
        line += part
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _cells_lines(cells: list[list[str]], widths: list[int], head: bool = False) -> list[str]:
    """One row of wrapped cells as screen lines, each cell padded to its width (the headers: aligned
    at the bottom, bold on a terminal)."""
    height = max(map(len, cells))
    out = []
    for i in range(height):
        parts = []
        for lines, w in zip(cells, widths, strict=True):
            k = i - (height - len(lines)) if head else i
            parts.append((lines[k] if 0 <= k < len(lines) else "").ljust(w))
        line = (" " * GAP).join(parts).rstrip()
        out.append(click.style(line, bold=True) if head else line)
    return out


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


def sharing_line(reference: str, shared: dict) -> str:
    """s.104(3): whom the application was passed to, whom not yet, and (a case opened before that was
    recorded) whom the record cannot say; never "everyone" unrecorded."""
    told = ", ".join(f"{a['agency']} on {a['on']}" for a in shared["told"])
    unknown = ", ".join(a["agency"] for a in shared["not_recorded"])
    waiting = ", ".join(a["agency"] for a in shared["not_told"])
    if shared["all"]:
        return f"Passed to every relevant body: {told}."
    if not (told or unknown or waiting):
        return "No relevant bodies are registered yet (`trigger agency add`); nobody has been told."
    parts = [f"Passed to {told}"] if told else []
    if unknown:
        parts.append(f"not recorded whether passed to {unknown} (the case was opened before it was recorded)")
    if waiting:
        parts.append(f"not yet passed to {waiting}")
    line = "; ".join(parts)
    if unknown and not told:
        line = line[:1].upper() + line[1:]
    return line + f": record it with `trigger share {reference}`."


def _contact_line(contact: dict) -> str:
    """A person's address, postcode, e-mail and telephone on one line ("none recorded" for none)."""
    given = [contact[k] for k in ("address", "postcode", "email", "phone") if contact.get(k)]
    return ", ".join(given) if given else "none recorded"


def print_case(d: dict) -> None:
    """`trigger show`: a case's state, threshold, people, letters, deadlines, corrections, timeline."""
    click.echo(
        f"{d['reference']}  {d['state']}  received {d['received']} ({d['channel']})  policy {d['policy']}"
    )
    who = d["applicant"] + (f" for {d['victim']} (consent {d['consent_date']})" if d["third_party"] else "")
    click.echo(f"Applicant: {who}")
    for label, contact in (
        ("Applicant's contact", d["applicant_contact"]),
        ("Victim's contact", d["victim_contact"]),
    ):
        if contact is not None:
            say(f"{label}: {_contact_line(contact)}")
    say(sharing_line(d["reference"], d["shared"]))
    if d["spoc"]["name"]:
        click.echo(f"SPoC: {d['spoc']['name']}" + (f" <{d['spoc']['email']}>" if d["spoc"]["email"] else ""))
    if d["victim_involvement"]["choice"]:
        inv = d["victim_involvement"]
        by = f", by {inv['by']}" if inv.get("by") else ""
        click.echo(f"Victim's involvement: {inv['choice']} (recorded {inv['recorded']}){by}")
    for st in d["victim_statements"]:
        click.echo(f"Victim's written statement ({st['on']}, by {st['by']}): {st['text']}")
    if d["plan_shared"]:
        click.echo(f"Draft action plan shared with the applicant: {', '.join(d['plan_shared'])}")
    _print_threshold(d["threshold"])
    if d["lead_agency"]:
        click.echo(f"Lead agency: {d['lead_agency']}; reviewer: {d['reviewer']}")
    if d["meeting"]:
        _print_meeting(d["meeting"])
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
            "Plan put to the victim: "
            + "; ".join(f"{c['on']} ({c['by']}): {c['response']}" for c in d["consultations"])
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


def _print_meeting(m: dict) -> None:
    """The review meeting as the invitation gives it: when, where, how to join and by when to reply,
    each on its own line, wrapped at spaces to the screen (a link is never split)."""
    day, _, at = m["at"].partition("T")
    say(f"Meeting: {day} at {at}" + (" (held)" if m["held"] else ""))
    for label, value in (
        ("Place", m["place"]),
        ("Join online", m["link"]),
        ("Join by telephone", m["phone"]),
        ("Reply by", m["reply_by"] or "no date set"),
    ):
        if value:
            say(f"{label}: {value}", indent="  ")


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
        fixed = ", ".join(dict.fromkeys(c["fact"] for c in lt["corrected_since"]))
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
        return f"met late {met_on} ({plural(n, '{n} ' + unit, '{n} ' + unit + 's')} late)"
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
        + (f", or {p.community_individuals} people about the same incident" if p.community_route else "")
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


def print_scan(found: dict, wide: bool = False) -> None:
    """`trigger scan`: what each list means and what to do, then the victims on it."""
    say(f"Scan as of {found['as_of']}: reports from {found['window_start']} (six months).")
    a, b = len(found["second_report"]), len(found["meets_threshold"])
    told = sum(1 for r in found["second_report"] if r["told"])
    say(
        f"(a) {plural(a, '{n} victim', '{n} victims')} made a second report within six months; "
        "tell them about the ASB Case Review (2025 guidance)"
        + (f"; {told} already told (told_on; record with `trigger signpost`)." if told else ".")
    )
    say(
        f"(b) {plural(b, '{n} victim meets', '{n} victims meet')} the threshold with no open case; "
        "signpost them to the ASB Case Review."
    )
    rows = found["second_report"] + found["meets_threshold"]
    if rows:
        click.echo()
        emit_rows(rows, SCAN, wide=wide)


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
        click.echo(f"{plural(len(result.due), '{n} reminder', '{n} reminders')} due; nothing sent (dry run).")
        return
    others = result.skipped + result.lost
    click.echo(
        f"Sent {len(result.sent)}, not sent {len(result.failed)} (kept and retried), "
        f"given up {len(result.gave_up)}, cancelled {len(result.cancelled)}"
        + (f", taken by another runner {others}" if others else "")
        + (f" via {result.channel}." if result.channel else ".")
    )
    if result.stopped:
        click.echo(f"Stopped early; {plural(result.released, *_CLAIMED)} given back.")
    for rid, error, retry_at in result.failed:
        click.echo(f"reminder {rid} not sent: {error}; kept, next attempt {local_time(retry_at)}", err=True)
    for rid, error, because in result.gave_up:
        why = "refused for good" if because == "refused" else "still failing after a day"
        click.echo(f"reminder {rid} given up ({why}): {error}", err=True)
    if result.reported:
        click.echo(
            f"Reported {plural(result.reported, *_UNDELIVERED)} to the manager via {result.reported_via}."
        )
    if result.report_error:
        click.echo(f"warning: {result.report_error}", err=True)
    told = result.notices
    if told is not None and (told.sent or told.failed or told.gave_up or told.cancelled):
        click.echo(
            f"Applicants told their case changed: {len(told.sent)}, not sent {len(told.failed)} (kept and "
            f"retried), given up {len(told.gave_up)}, cancelled {len(told.cancelled)}."
        )
        for nid, error, retry_at in told.failed:
            click.echo(f"notice {nid} not sent: {error}; kept, next attempt {local_time(retry_at)}", err=True)
        for nid, error, _because in told.gave_up:
            click.echo(f"notice {nid} given up: {error}", err=True)


def print_reminder_status(data: dict) -> None:
    """`trigger reminders status`: counts by state, then every reminder not delivered and why; and the
    applicant's notices the same way."""
    click.echo("Reminders: " + ", ".join(f"{k} {v}" for k, v in data["counts"].items()) + ".")
    told = data.get("notices")
    if told and any(told["counts"].values()):
        click.echo("Applicants' notices: " + ", ".join(f"{k} {v}" for k, v in told["counts"].items()) + ".")
        for n in told["undelivered"]:
            when = local_time(datetime.fromisoformat(n["next_attempt"])) if n["next_attempt"] else ""
            how = (
                "FAILED"
                if n["status"] == "failed"
                else f"retrying ({plural(n['attempts'], '{n} attempt', '{n} attempts')}), next {when}"
            )
            click.echo(f"  {n['reference']}  notice {n['id']} by {n['channel']}: {how}")
            if n["last_error"]:
                click.echo(f"      last error: {n['last_error']}")
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
            how = f"retrying ({plural(r['attempts'], '{n} attempt', '{n} attempts')}), next {when}"
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


def print_annual(rows: list[dict], period: Period, suppressed: bool, wide: bool = False) -> None:
    """`trigger report annual`: the return as a table of section, measure and value."""
    emit_rows(
        rows,
        ANNUAL,
        wide=wide,
        title=f"ASB case reviews {period.label} ({period.start} to {period.end})"
        + (", small numbers suppressed" if suppressed else ""),
    )


def print_hours_report(data: dict, as_csv: bool, wide: bool = False) -> None:
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
    emit_rows(rows, HOURS, as_csv=as_csv, wide=wide, title="Review hours")
    if as_csv:
        return
    longest = data["longest_review"]
    say(
        f"Total {_hours(data['total_hours'])}, £{data['total_cost']:,.2f} "
        f"at £{data['hourly_rate']:g}/hour; "
        f"{plural(data['cases'], '{n} review', '{n} reviews')}, "
        f"mean {_hours(data['mean_hours_per_review'] or 0)}"
        + (f", longest {longest['reference']} ({_hours(longest['hours'])})." if longest else ".")
    )


def purged_imports(result: Purged, closed_before: date, dry_run: bool) -> str:
    """`trigger purge`: the line about the imported incident rows."""
    return (
        f"{'Would remove' if dry_run else 'Removed'} {plural(result.imported_incidents, *_IMPORTED_ROWS)} "
        f"reported before {closed_before.isoformat()}."
    )


def print_purge(result: Purged, closed_before: date, dry_run: bool) -> None:
    """`trigger purge`: how many cases, the imported rows, then each case purged."""
    verb = "Would purge" if dry_run else "Purged"
    click.echo(
        f"{verb} personal data of {plural(len(result.cases), *_CASES)} "
        f"closed before {closed_before.isoformat()}."
    )
    click.echo(purged_imports(result, closed_before, dry_run))
    for r in result.cases:
        click.echo(
            f"  {r['reference']}  {r['state']} {r['closed']}  victim {r['victim_initials']}  "
            f"{plural(r['incidents'], '{n} complaint', '{n} complaints')}, "
            f"{plural(r['letters'], '{n} letter', '{n} letters')}"
        )


def _through(anchor: Anchor) -> str:
    said = [f"anchored {anchor.at}"] if anchor.at else []
    if anchor.kept:
        said.append(f"kept in {os.path.dirname(anchor.source)}")
    return f"event {anchor.seq}" + (f" ({', '.join(said)})" if said else "")


def print_verification(result: Verification, kept: list[Anchor]) -> None:
    """`trigger audit verify`: each difference between the tables and the log on a line of its own,
    then the chain; exit 1 (one line on stderr) when anything is wrong."""
    for line in result.differences:
        click.echo(line)
    if result.keys and (result.differences or not result.ok):
        click.echo(result.keys)  # where the keys were looked for
    if not result.ok:
        raise click.ClickException(f"audit chain broken at event {result.broken_seq}: {result.problem}")
    if result.differences:
        raise click.ClickException(
            f"{plural(len(result.differences), *_DIFFERENCES)} between the tables and the audit log: "
            "the rows were "
            "changed outside the engine; the log is the record (restore the rows from a backup, or "
            "correct them through the commands)"
        )
    through = ", ".join(_through(a) for a in kept)
    click.echo(
        f"Audit chain intact: {result.events} events" + (f", running through {through}." if kept else ".")
    )
    click.echo(f"The tables hold what the log says: {plural(result.cases, *_CASES)} replayed.")
    if result.keys:
        click.echo(result.keys)
    if result.partial or result.agencies_unknown:
        older = [
            plural(result.partial, "{n} case", "{n} cases") if result.partial else "",
            plural(result.agencies_unknown, "{n} agency", "{n} agencies") if result.agencies_unknown else "",
        ]
        click.echo(
            f"Note: {' and '.join(o for o in older if o)} began before the log carried the rows of each "
            "change, so their older events cannot be replayed in full (state, key and purge checked).",
            err=True,
        )


def _hours(n: float) -> str:
    """`1` -> `1 hour`, `2.5` -> `2.5 hours`."""
    return plural(n, "{n} hour", "{n} hours")
