"""Nothing in the outbox is replaced (docs/operations.md#the-outbox): two databases sharing one
`TRIGGER_OUTBOX`, or a database made again, each keep every message they wrote, under a name of its own
that the engine records; and `purge` removes exactly the purged case's messages, in an outbox written
before names were unique too, never another database's message of a similar name.

Each test makes its own SQLite databases (two of them beside each other), whatever TRIGGER_TEST_DB says.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from pathlib import Path

import pytest
import time_machine

from tests.support.databases import copy_sqlite
from tests.support.letters import applicant_case
from trigger.cases import online
from trigger.rules.calendar import Span
from trigger.store import mail
from trigger.store.app import App, dispose_engines

pytestmark = [pytest.mark.any_engine, pytest.mark.slow]
MANAGER = "csm@example.gov.uk"


@pytest.fixture
def use(trigger, tmp_path, monkeypatch, migrated_template):
    """`use(name, policy)`: point the command line at the SQLite database `name` (made if new: a copy of
    the migrated template, as every test's own database is, then `trigger init`)."""

    def switch(name: str, policy: str = "llr") -> Path:
        dispose_engines()
        path = tmp_path / f"{name}.db"
        monkeypatch.setenv("TRIGGER_DB", f"sqlite:///{path}")
        if not path.exists():
            copy_sqlite(migrated_template, path)
            trigger("init", "--policy", policy, "--manager-email", MANAGER)
        return path

    return switch


def messages(folder: Path) -> dict[str, EmailMessage]:
    return {
        p.name: message_from_bytes(p.read_bytes(), policy=email_policy.default)
        for p in sorted(folder.glob("*.eml"))
    }


def written(stdout: str) -> str:
    """The outbox file a `letter --send` says it wrote."""
    return stdout.split(", file ", 1)[1].split(",", 1)[0]


def test_two_databases_sharing_the_outbox_each_keep_their_letter(trigger, use, outbox):
    use("english")
    english_ref = applicant_case(trigger)
    english = trigger("letter", english_ref, "acknowledgement", "--send", "--on", "2026-03-03").stdout
    use("welsh", "wales")
    welsh_ref = applicant_case(trigger, welsh=True)
    welsh = trigger("letter", welsh_ref, "acknowledgement", "--send", "--on", "2026-03-03").stdout
    assert "register entry 1" in english and "register entry 1" in welsh  # the same number in each
    found = messages(outbox)
    assert len(found) == 2 and written(english) != written(welsh)
    assert set(found) == {written(english), written(welsh)}
    assert found[written(english)]["Content-Language"] == "en"
    assert found[written(welsh)]["Content-Language"] == "cy, en"
    # each database's register names its own message
    assert (
        trigger.json("show", welsh_ref)["letters"][0]["sent"]["message_id"]
        == found[written(welsh)]["Message-ID"]
    )
    use("english")
    assert (
        trigger.json("show", english_ref)["letters"][0]["sent"]["message_id"]
        == found[written(english)]["Message-ID"]
    )


def test_a_database_made_again_does_not_write_over_the_old_ones_messages(trigger, use, outbox):
    path = use("live")
    ref = applicant_case(trigger)
    first = written(trigger("letter", ref, "acknowledgement", "--send", "--on", "2026-03-03").stdout)
    trigger("reminders", "run", "--now", "2026-06-01T08:00")
    before = {p.name: p.read_bytes() for p in outbox.glob("*.eml")}
    assert first in before and len(before) > 1
    dispose_engines()
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)
    use("live")  # made again: the same case, the same letter and reminder numbers
    assert applicant_case(trigger) == ref
    again = written(trigger("letter", ref, "acknowledgement", "--send", "--on", "2026-03-03").stdout)
    trigger("reminders", "run", "--now", "2026-06-01T08:00")
    after = {p.name: p.read_bytes() for p in outbox.glob("*.eml")}
    assert again != first and len(after) == 2 * len(before)
    assert all(after[name] == data for name, data in before.items())  # every old message as it was


def test_a_name_taken_is_never_replaced(outbox, monkeypatch):
    box = mail.Outbox(outbox)
    msg = EmailMessage()
    msg["Message-ID"] = "<1.2.3@council.example>"
    msg["To"] = "someone@example.org"
    msg.set_content("hello")
    outbox.mkdir()
    taken = outbox / mail.Outbox.file_name("letter-1-closure", msg["Message-ID"])
    taken.write_bytes(b"another database's letter")
    name = box.send(msg, "letter-1-closure")
    assert name != taken.name and taken.read_bytes() == b"another database's letter"
    assert message_from_bytes((outbox / name).read_bytes())["To"] == "someone@example.org"
    assert sorted(p.name for p in outbox.iterdir()) == sorted([taken.name, name])  # no temporary left

    def no_links(src, dst):
        raise PermissionError(1, "Operation not permitted")  # a file system without hard links

    monkeypatch.setattr(os, "link", no_links)
    again = box.send(msg, "letter-1-closure")
    assert again not in (taken.name, name) and taken.read_bytes() == b"another database's letter"
    assert message_from_bytes((outbox / again).read_bytes())["To"] == "someone@example.org"


# -- purge --------------------------------------------------------------------------------------------------


def old_case(trigger, email: str, letters: int = 1) -> str:
    """A case of 2018 (withdrawn in 2019) whose letters, online acknowledgement and reminders went to
    the outbox; the reminders sent now (so their Date is the moment they were recorded as sent)."""
    ref = trigger.json(
        "activate", "--applicant", "Ann Example", "--received", "2018-05-01", "--channel", "online",
        "--statement", "Noise every night", "--address", "1 High Street", "--postcode", "LE11 1AA",
        "--email", email,
    )["reference"]  # fmt: skip
    for _ in range(letters):
        trigger("letter", ref, "acknowledgement", "--send", "--on", "2018-05-03")
    receipt = online.Receipt(ref, datetime(2018, 5, 1).date(), "en", email, "LLR", None, None, Span(28, "wd"))
    assert online.send_acknowledgement(App(), receipt)
    assert "Sent 2," in trigger("reminders", "run").stdout  # overdue and escalation of the decision
    trigger("withdraw", ref, "--reason", "moved away", "--on", "2019-01-10")
    return ref


def to_old_names(path: Path, folder: Path, ref: str, only: str | None = None) -> None:
    """Rename a database's messages as the engine named them before names were unique (one name per
    letter or reminder), and forget the names recorded; `only`: just its letter and reminders of that
    kind, written over the files of the same name (as the last writer's did then)."""
    conn = sqlite3.connect(path)
    with conn:
        for file, letter_id, kind in conn.execute(
            "SELECT d.outbox_file, l.id, l.kind FROM letter_delivery d JOIN letter l ON l.id = d.letter_id"
        ):
            os.replace(folder / file, folder / f"letter-{letter_id}-{kind}.eml")
        for file, rid, kind in conn.execute(
            "SELECT outbox_file, id, kind FROM reminder WHERE outbox_file IS NOT NULL"
        ):
            if only is None or kind == only:
                os.replace(folder / file, folder / f"{rid}-{kind}.eml")
        conn.execute("UPDATE letter_delivery SET outbox_file = NULL")
        conn.execute("UPDATE reminder SET outbox_file = NULL WHERE kind = coalesce(?, kind)", (only,))
    conn.close()
    if only is None:
        [ack] = folder.glob(f"online-{ref}-*.eml")
        os.replace(ack, folder / f"online-{ref}.eml")


def ids(found: dict[str, EmailMessage]) -> set[str]:
    return {str(m["Message-ID"]) for m in found.values()}


def test_purge_removes_the_cases_own_messages_and_not_another_databases(trigger, use, outbox):
    use("other")
    other_ref = old_case(trigger, "bea@example.org")
    others = ids(messages(outbox))
    assert len(others) == 4  # the letter, the acknowledgement, two reminders
    use("ours")
    ref = old_case(trigger, "ann@example.org")
    assert ref == other_ref  # the same reference in both: names alone cannot tell them apart
    assert len(messages(outbox)) == 8
    result = trigger("purge", "--closed-before", "2020-01-01")
    assert "Purged personal data of 1 case" in result.stdout and result.stderr == ""
    assert ids(messages(outbox)) == others  # ours gone, the other database's all there
    assert "ann@example.org" not in "".join(p.read_text() for p in outbox.glob("*.eml"))


def test_an_outbox_written_before_names_were_unique_is_purged_of_the_case_only(trigger, use, outbox):
    ours = use("ours")
    ref = old_case(trigger, "ann@example.org", letters=2)
    to_old_names(ours, outbox, ref)
    mine = ids(messages(outbox))
    assert {"letter-1-acknowledgement.eml", "letter-2-acknowledgement.eml", f"online-{ref}.eml"} <= set(
        messages(outbox)
    )
    # another database, three hours later, writing the same names: its letter and escalation took the
    # place of ours (that was the fault): a reminder of the same number, kind, manager and reference
    later = datetime.now(UTC) + timedelta(hours=3)
    with time_machine.travel(later, tick=True):
        other = use("other")
        assert old_case(trigger, "bea@example.org") == ref
        to_old_names(other, outbox, ref, only="escalation")
    found = messages(outbox)
    theirs = ids(found) - mine
    assert len(theirs) == 4 and len(ids(found) & mine) == 3  # our second letter, overdue reminder, ack
    use("ours")
    result = trigger("purge", "--closed-before", "2020-01-01")
    assert "Purged personal data of 1 case" in result.stdout and result.stderr == ""
    assert ids(messages(outbox)) == theirs
    assert "ann@example.org" not in "".join(p.read_text() for p in outbox.glob("*.eml"))
