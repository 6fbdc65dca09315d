"""What a person reads in a terminal 60, 80 or 120 columns wide, through a real pseudo-terminal: the
listings never cut a reference, a date or a header (text wraps, columns are left out in the order
each listing states, and a note says which), `--wide` shows every column, and every command's
--help fits 80 columns."""

from __future__ import annotations

import re

import click
import pytest

import cli
from tests.support.terminal import on_terminal
from trigger import console

pytestmark = pytest.mark.any_engine  # what a terminal shows: the same on any database


SCREENS = {
    "list": (["list"], console.CASES),
    "list --overdue": (["list", "--overdue"], console.CASES),
    "action list": (["action", "list"], console.ACTIONS),
    "user list": (["user", "list"], console.USERS),
    "partnership list": (["partnership", "list"], console.PARTNERSHIPS),
    "scan": (["scan", "--as-of", "2026-03-01", "--partnership", "main"], console.SCAN),
    "report deadlines": (["report", "deadlines"], console.DEADLINE_PERFORMANCE),
}
WIDTHS = (60, 80, 120)
LOG = """victim_id,occurred,reported,agency,agency_ref
VIC-000101,2026-01-02,2026-01-02,police,A1
VIC-000101,2026-02-02,2026-02-02,police,A2
VIC-000102,2026-01-05,2026-01-05,police,A3
VIC-000102,2026-01-15,2026-01-15,cbc,A4
VIC-000102,2026-02-01,2026-02-01,emh,A5
"""


@pytest.fixture
def county(db, snapshot):
    """Two partnerships, long names and addresses, a reviewer with a double-barrelled name, an action
    with a long text, overdue deadlines, victims for the scan, and people registered (ada, an admin)."""

    def build() -> list[str]:
        db(
            *("partnership", "add", "CHA", "--name", "Charnwood Community Safety Partnership"),
            *("--policy", "llr", "--manager-email", "charnwood.community.safety@charnwood.gov.uk"),
        )
        refs = [
            db.json(
                *("activate", "--applicant", applicant, "--received", received, "--channel", "phone"),
                *("--statement", "Nothing has changed", "--on", received, "--partnership", partnership),
            )["reference"]
            for applicant, received, partnership in (
                ("Ann Example", "2026-01-05", "main"),
                ("Bob Example", "2026-02-02", "main"),
                ("Cat Example", "2026-03-02", "main"),
                ("Dan Example", "2026-03-03", "CHA"),
            )
        ]
        ann, bob = refs[0], refs[1]
        for day in ("2025-10-01", "2025-11-01", "2025-12-01"):
            db("incident", "add", ann, "--occurred", day, "--reported", day, "--agency", "police")
        db("decide", ann, "--met", "--on", "2026-01-12")
        db("assign", ann, "--lead", "police", "--reviewer", "Samantha Patel-Reviewer", "--on", "2026-01-13")
        db(
            *("action", "add", ann, "--owner", "cbc", "--due", "2026-02-20", "--on", "2026-01-20"),
            *("--action", "Install CCTV covering the rear alley and the car park entrance behind the flats"),
        )
        db(
            "action",
            "add",
            ann,
            "--action",
            "Mediation",
            "--owner",
            "emh",
            "--due",
            "2026-06-20",
            "--on",
            "2026-01-20",
        )
        db("decide", bob, "--not-met", "--on", "2026-02-10")
        db("incidents", "import", "-", "--partnership", "main", input=LOG)
        db("user", "add", "ada", "--name", "Ada Admin", "--role", "admin", "--email", "ada@leics.gov.uk")
        db(
            *("--as", "ada", "user", "add", "sam", "--name", "Samantha Patel-Reviewer", "--role", "reviewer"),
            *("--partnership", "main", "--email", "samantha.patel-reviewer@north-west-leicestershire.gov.uk"),
        )
        return refs

    return snapshot("screens", build)


def columns_of(screen: str) -> tuple[list[str], list[str], list[tuple[int, int]]]:
    """A table's header lines, its body lines, and each column's span, read from the rule of dashes
    under the headers."""
    lines = screen.splitlines()
    rule = next(i for i, line in enumerate(lines) if re.fullmatch(r"-+( +-+)*", line))
    spans = [m.span() for m in re.finditer(r"-+", lines[rule])]
    head = []
    for line in reversed(lines[:rule]):
        if not line.strip() or line == "Deadline performance":  # the table's title
            break
        head.insert(0, line)
    body = []
    for line in lines[rule + 1 :]:
        if line.startswith("(Left out") or not line.strip():
            break
        body.append(line)
    return head, body, spans


def text_in(lines: list[str], span: tuple[int, int]) -> str:
    """Everything shown in a column, its lines run together without spaces."""
    start, end = span
    return "".join(re.sub(r"\s", "", line[start : end + 1]) for line in lines)


def rows_of(name: str, data) -> list[dict]:
    return data["second_report"] + data["meets_threshold"] if name == "scan" else data


@pytest.mark.slow
def test_listings_at_60_80_and_120_columns_cut_no_reference_date_or_header(county, db):
    jsons = {name: rows_of(name, db.json("--as", "ada", *args)) for name, (args, _) in SCREENS.items()}
    assert jsons["list"] and jsons["action list"] and jsons["scan"]
    # every width in one process, the terminal resized between commands
    screens = on_terminal(
        [width for width in WIDTHS for _ in SCREENS], [args for _ in WIDTHS for args, _ in SCREENS.values()]
    )
    for at, width in enumerate(WIDTHS):
        shown_at = screens[at * len(SCREENS) : (at + 1) * len(SCREENS)]
        for (name, (_, listing)), screen in zip(SCREENS.items(), shown_at, strict=True):
            where = f"`trigger {name}` at {width} columns:\n{screen}"
            assert all(len(line) <= width for line in screen.splitlines()), where
            assert "…" not in screen, where
            note = " ".join(screen[screen.find("(Left out") :].split()) if "(Left out" in screen else ""
            left_out = re.findall(r"\w+", note.partition("columns: ")[2].partition(";")[0])
            # in the stated order, a column with nothing in it first
            filled = [c for c in listing.drop if any(console.cell(row.get(c)) for row in jsons[name])]
            assert left_out == [c for c in listing.drop if c in left_out], where
            assert [c for c in left_out if c in filled] == filled[: len(set(left_out) & set(filled))], where
            head, body, spans = columns_of(screen)
            shown = [c for c in listing.columns if c not in left_out]
            assert len(spans) == len(shown), where
            for column, span in zip(shown, spans, strict=True):
                assert text_in(head, span) == column, where  # a header wraps, never cut
                shown_text = text_in(body, span)
                for row in jsons[name]:
                    value = re.sub(r"\s", "", console.cell(row.get(column)))
                    if column in listing.wrap:
                        assert value in shown_text, (column, value, where)
                    elif value:  # a reference, a date, a number: whole on one line
                        start, end = span
                        assert any(line[start : end + 1].strip() == value for line in body), (value, where)


@pytest.mark.slow
def test_wide_shows_every_column_unwrapped_however_narrow_the_screen(county):
    screens = on_terminal(60, [[*args, "--wide"] for args, _ in SCREENS.values()])
    for (name, (_, listing)), screen in zip(SCREENS.items(), screens, strict=True):
        head = columns_of(screen)[0]
        assert "(Left out" not in screen, name
        assert len(head) == 1 and head[0].split() == list(listing.columns), name


def test_each_listing_states_what_a_narrow_screen_leaves_out_in_its_help(trigger):
    out = trigger("list", "--help").stdout
    assert "--wide" in out
    assert (
        "a narrow screen leaves out lead_agency, then next_deadline, then reviewer, then received; "
        "an empty one first" in " ".join(out.split())
    )
    assert "--wide" not in trigger("purge", "--help").stdout  # printed as a list, not a table


def _commands(group, prefix=()):
    for name, command in sorted(group.commands.items()):
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


def test_the_help_of_every_command_fits_80_columns(trigger):
    for path in [(), *_commands(cli.cli)]:
        out = trigger.runner.invoke(cli.cli, [*path, "--help"], terminal_width=80, prog_name="trigger").stdout
        long = [line for line in out.splitlines() if len(line) > 80]
        assert long == [], f"trigger {' '.join(path)} --help"


@pytest.mark.slow
def test_help_on_an_80_column_terminal_splits_no_choice(db):
    letter, decide = on_terminal(80, [["letter", "--help"], ["decide", "--help"]])
    assert "Usage: trigger letter [OPTIONS] REFERENCE [KIND]" in letter
    kinds = " ".join(letter[letter.index("KIND is one of:") :].split())
    assert "meeting_invitation, delay, outcome, appeal_acknowledgement, appeal_outcome, closure." in kinds
    assert "--reject CATEGORY" in decide and "vexatious" in decide
    assert all(len(line) <= 80 for line in letter.splitlines() + decide.splitlines())
