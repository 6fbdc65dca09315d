"""Partner templates cannot hurt the engine (docs/architecture.md#letters): a template that loops for
ever, grows without end or asks for gigabytes is stopped with one clear line and nothing recorded; a
link out of the template folder is refused; and rendering happens outside the write transaction, so
other users are not kept waiting while a partner's letter renders."""

from __future__ import annotations

import os
import signal
import threading
from datetime import date
from pathlib import Path

import pytest

from letters.render import CONTENT_POLICY
from tests.support.racers import started
from tests.support.sql import database_dump
from tests.support.waiting import HANG, until
from trigger.correspondence import register
from trigger.store.app import App

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "letters" / "templates"


def _one_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def _folder(tmp_path: Path, acknowledgement: str) -> Path:
    folder = tmp_path / "ours"
    folder.mkdir()
    (folder / "acknowledgement.html").write_text(acknowledgement)
    return folder


HOSTILE = {
    "nested loops": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "ran for more than 0.2 s and was stopped",  # the limit set to a fifth of a second below
    ),
    "output without end": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{{ reference }}{% endfor %}{% endfor %}",
        "the letter grew past 2,000,000 characters",
    ),
    "a gigabyte string": ('{% set x = "a" * 1000000000 %}{{ x|length }}', "needed too much memory"),
    "python insides": ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "refused by the template sandbox"),
}


@pytest.mark.any_engine  # the sandbox stops the template before anything reaches the database
@pytest.mark.parametrize("attack", HOSTILE)
def test_a_hostile_template_is_stopped_with_one_line_and_nothing_recorded(
    db, case, tmp_path, monkeypatch, attack
):
    source, words = HOSTILE[attack]
    if attack == "nested loops":
        # stopped at a fifth of a second rather than waiting out the default five (a core busy all the
        # while: the loops would run for hours, so any limit proves they are stopped); the default
        # itself is the next test's
        monkeypatch.setenv("TRIGGER_RENDER_SECONDS", "0.2")
    folder = _folder(tmp_path, source)
    before = database_dump()
    result = db.fails("letter", case, "acknowledgement", "--templates", folder, "-o", tmp_path / "a.html")
    line = _one_line(result)
    assert words in line, line  # stopped (unstopped, the loops would run for hours), and said why
    assert database_dump() == before and not (tmp_path / "a.html").exists()


def test_a_template_gets_five_seconds_unless_trigger_render_seconds_says_otherwise(monkeypatch):
    from letters import sandbox

    monkeypatch.delenv("TRIGGER_RENDER_SECONDS", raising=False)
    assert sandbox.seconds() == 5.0
    for value, limit in (("1", 1.0), ("120", 120.0), ("600", 600.0), ("", 5.0)):
        monkeypatch.setenv("TRIGGER_RENDER_SECONDS", value)
        assert sandbox.seconds() == limit, value


@pytest.mark.parametrize("value", ["0", "601", "soon", "-3"])
def test_a_time_limit_that_is_not_one_is_refused_in_one_line_and_nothing_recorded(
    db, case, tmp_path, monkeypatch, value
):
    monkeypatch.setenv("TRIGGER_RENDER_SECONDS", value)
    folder = _folder(tmp_path, "Dear {{ applicant }}")
    before = database_dump()
    result = db.fails("letter", case, "acknowledgement", "--templates", folder, "-o", tmp_path / "a.html")
    assert result.stderr == (
        f"Error: TRIGGER_RENDER_SECONDS {value!r} is not a number of seconds between 0 and 600\n"
    ), result.stderr
    assert database_dump() == before and not (tmp_path / "a.html").exists()


def test_a_link_out_of_the_template_folder_is_refused_and_named_by_letters_check(db, case, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("the database password is hunter2")
    folder = tmp_path / "ours"
    folder.mkdir()
    (folder / "acknowledgement.html").symlink_to(secret)
    (folder / "elsewhere").symlink_to(tmp_path)  # a linked folder leads out too
    (folder / "delay.html").write_text('{% include "elsewhere/secret.txt" %}')
    before = database_dump()
    for kind, extra in (("acknowledgement", []), ("delay", ["--until", "2026-12-31"])):
        result = db.fails("letter", case, kind, "--templates", folder, "--preview", *extra)
        line = _one_line(result)
        assert "a link out of the template folder" in line and "hunter2" not in result.stdout
    assert database_dump() == before
    checked = db.fails("letters", "check", folder)
    assert "acknowledgement.html: a link out of the template folder" in checked.stdout
    assert "hunter2" not in checked.stdout


def test_a_template_inside_the_folder_may_include_another_one_there(db, case, tmp_path):
    folder = _folder(tmp_path, '{% include "_part.html" %} for {{ reference }}')
    (folder / "_part.html").write_text("Our own words")
    out = db("letter", case, "acknowledgement", "--templates", folder, "--preview").stdout
    assert out.strip() == f"{CONTENT_POLICY}\nOur own words for {case}"  # an HTML letter fetches nothing


def test_a_partners_pdf_renders_in_the_child_within_its_limits(db, case, tmp_path):
    folder = tmp_path / "ours"
    folder.mkdir()
    (folder / "acknowledgement.html").write_text((SHIPPED / "acknowledgement.html").read_text())
    db("letter", case, "acknowledgement", "--templates", folder, "--format", "pdf", "-o", tmp_path / "a.pdf")
    from pypdf import PdfReader

    text = "".join(page.extract_text() for page in PdfReader(tmp_path / "a.pdf").pages)
    assert case in text and "Ann Example" in text


@pytest.mark.slow
def test_other_users_are_not_kept_waiting_while_a_partners_letter_renders(db, case, tmp_path):
    """A legitimate but slow template (a second of loops), its rendering child held stopped (SIGSTOP)
    while another officer logs hours: the hours are saved while the letter is still rendering (the
    other officer never waits for it), and the letter is still recorded once the child goes on."""
    slow = (
        "{% for i in range(10000) %}{% for j in range(1200) %}{% endfor %}{% endfor %}"  # a second of CPU
        + (SHIPPED / "acknowledgement.html").read_text()
    )
    folder = _folder(tmp_path, slow)
    db("decide", case, "--met", "--on", "2026-03-05")
    letter = started(
        [
            *("cli.py", "letter", case, "acknowledgement", "--templates", str(folder)),
            *("-o", str(tmp_path / "slow.html"), "--on", "2026-03-03"),
        ],
        TRIGGER_RENDER_SECONDS="120",
    )
    child: list[int] = []
    hours: list = []
    try:
        until(lambda: child.extend(_sandboxes_of(letter.pid)) or child, "the letter to start rendering")
        # held mid-render for as long as the other officer takes, however busy the machine
        os.kill(child[0], signal.SIGSTOP)
        log = ("hours", case, "--agency", "cbc", "--person", "Sam", "--hours", "2", "--date", "2026-03-10")
        other = threading.Thread(target=lambda: hours.append(db(*log)), daemon=True)
        other.start()
        # had the letter kept the database while it renders, the hours would wait for ever: a hang
        until(lambda: not other.is_alive(), "the other officer's change, while the letter renders")
        assert letter.poll() is None, "the letter did not wait for its rendering child"
    finally:
        for pid in child:
            os.kill(pid, signal.SIGCONT)
        _, err = letter.communicate(timeout=HANG)
    assert hours[0].exit_code == 0
    assert letter.returncode == 0, err
    assert [lt["kind"] for lt in db.json("show", case)["letters"]] == ["acknowledgement"]
    assert db.json("show", case)["hours_total"] == 2


def _sandboxes_of(parent: int) -> list[int]:
    """The rendering children (`letters.sandbox`) the letter command `parent` has started."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if f"\nPPid:\t{parent}\n" in status and b"letters.sandbox" in cmdline:
            found.append(int(entry.name))
    return found


def test_a_letter_whose_case_changes_while_it_renders_is_rendered_again(db, case, monkeypatch):
    """Another officer records the threshold decision while the acknowledgement renders: the register
    keeps the letter as rendered from the case as it now stands, never the stale one."""
    from trigger.cases import moves

    renders = []
    real = register._render

    def render_while_someone_decides(kind, ctx, fmt, *rest):
        renders.append(ctx["case"]["state"])
        if len(renders) == 1:
            moves.decide(App(actor="colleague"), case, met=True, on=date(2026, 3, 5))
        return real(kind, ctx, fmt, *rest)

    monkeypatch.setattr(register, "_render", render_while_someone_decides)
    issued = register.letter(App(), case, "acknowledgement", on=date(2026, 3, 3))
    assert renders == ["received", "threshold_met"]
    assert issued.letter_id is not None
    assert db.json("show", case)["letters"][0]["issued_on"] == "2026-03-03"


def test_a_partners_annual_page_template_has_the_same_limits(db, case, tmp_path, monkeypatch):
    """The published annual page may be the partnership's own template (`report annual --templates`):
    it runs in the same child, with the same time limit and no link out of its folder. (The limit is
    set to a fifth of a second here, as for the letters' test above.)"""
    monkeypatch.setenv("TRIGGER_RENDER_SECONDS", "0.2")
    folder = _folder(tmp_path, "")
    (folder / "annual.html").write_text(HOSTILE["nested loops"][0])
    result = db.fails(
        "report", "annual", "--year", "2025", "--html", tmp_path / "p.html", "--templates", folder
    )
    line = _one_line(result)
    assert "the annual page template in" in line and "ran for more than 0.2 s and was stopped" in line, line
    assert not (tmp_path / "p.html").exists()
    (folder / "annual.html").unlink()
    (folder / "annual.html").symlink_to("/etc/passwd")
    line = _one_line(
        db.fails("report", "annual", "--year", "2025", "--html", tmp_path / "p.html", "--templates", folder)
    )
    assert "a link out of the template folder" in line and "root:" not in line
