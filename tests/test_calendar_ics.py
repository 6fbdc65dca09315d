"""`trigger calendar ics` (docs/operations.md#calendars): open deadlines as all-day events, meetings as
timed Europe/London events, stable UIDs, the reference and deadline kind in each summary and no name of
the applicant or the victim, read back with the icalendar package."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

LONDON = ZoneInfo("Europe/London")


def _calendar(db, *args) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(db("calendar", "ics", *args).stdout_bytes)


def _events(cal) -> list:
    return list(cal.walk("VEVENT"))


@pytest.fixture
def assigned(db, case):
    db("decide", case, "--met", "--on", "2026-03-04")
    db("assign", case, "--lead", "police", "--reviewer", "Sam  Reviewer", "--on", "2026-03-05")
    db("meeting", case, "--at", "2026-07-02T10:00")
    return case


def test_deadlines_are_all_day_and_meetings_are_timed_in_london(db, assigned):
    cal = _calendar(db)
    assert cal["x-wr-timezone"] == "Europe/London"
    events = _events(cal)
    deadlines = [e for e in events if "meeting" not in str(e["summary"])]
    [meeting] = [e for e in events if "meeting" in str(e["summary"])]
    assert deadlines
    for e in deadlines:
        start, end = e.decoded("dtstart"), e.decoded("dtend")
        assert type(start) is date and end - start == timedelta(days=1)
        assert str(e["summary"]).startswith(f"{assigned}: ")
        kind = str(e["summary"]).rsplit("(", 1)[1].rstrip(")")
        assert kind in ("acknowledge", "review", "outcome_letter", "threshold_decision", "action")
    review = next(e for e in deadlines if str(e["summary"]).endswith("(review)"))
    shown = db.json("show", assigned)
    due = {d["kind"]: d["due"] for d in shown["deadlines"] if d["met_on"] is None}
    assert review.decoded("dtstart").isoformat() == due["review"]
    start = meeting.decoded("dtstart")
    assert start == datetime(2026, 7, 2, 10, 0, tzinfo=LONDON)
    assert start.utcoffset() == timedelta(hours=1)  # British Summer Time
    assert meeting["dtstart"].params["TZID"] == "Europe/London"
    assert [tz["tzid"] for tz in cal.walk("VTIMEZONE")] == ["Europe/London"]  # Outlook needs it


def test_no_event_names_the_applicant_or_the_victim(db, assigned):
    raw = db("calendar", "ics").stdout
    assert "Ann Example" not in raw and "Ann" not in raw
    assert "Sam  Reviewer" in raw or "Sam Reviewer" in raw  # the officer, not the resident


def test_uids_are_stable_across_exports_and_changes(db, assigned):
    first = {str(e["uid"]): e for e in _events(_calendar(db))}
    second = {str(e["uid"]): e for e in _events(_calendar(db))}
    assert first.keys() == second.keys() and len(first) == len(_events(_calendar(db)))
    # a corrected meeting time keeps its event; a met deadline leaves the calendar
    db("letter", assigned, "acknowledgement", "--format", "txt", "--on", "2026-03-03")
    third = {str(e["uid"]): e for e in _events(_calendar(db))}
    gone = set(first) - set(third)
    assert gone and all("-acknowledge-" in uid for uid in gone)
    assert set(third) <= set(first)


def test_two_partnerships_databases_give_the_same_case_reference_different_uids(
    db, assigned, tmp_path, monkeypatch
):
    # an officer of two partnerships, each with its own database and its own CT-2026-0001, subscribes to both
    ours = {str(e["uid"]) for e in _events(_calendar(db))}
    monkeypatch.setenv("TRIGGER_DB", f"sqlite:///{tmp_path / 'other.db'}")
    db("init", "--policy", "llr", "--name", "Charnwood Community Safety Partnership")
    ref = db.json(
        "activate", "--applicant", "Bo", "--received", "2026-03-02", "--channel", "phone", "--statement", "x"
    )["reference"]
    assert ref == assigned
    theirs = {str(e["uid"]) for e in _events(_calendar(db))}
    assert ours and theirs and not ours & theirs
    assert all(uid.split("@")[1].endswith(".community-trigger") for uid in ours | theirs)


def test_the_time_zone_block_is_read_alike_by_another_reader(db, assigned):
    # vobject, not the icalendar package that wrote the file: a winter meeting is GMT, a summer one BST
    import vobject

    winter = db.json(
        "activate", "--applicant", "Bo", "--received", "2026-09-01", "--channel", "phone", "--statement", "x"
    )["reference"]
    db("decide", winter, "--met", "--reason", "a vulnerable victim", "--on", "2026-09-02")
    db("meeting", winter, "--at", "2026-12-15T10:00")
    feed = vobject.readOne(db("calendar", "ics").stdout)
    starts = sorted(e.dtstart.value for e in feed.vevent_list if isinstance(e.dtstart.value, datetime))
    assert [(s.month, s.hour, s.utcoffset()) for s in starts] == [
        (7, 10, timedelta(hours=1)),
        (12, 10, timedelta(0)),
    ]


def test_reviewer_filter_and_closed_cases(db, assigned):
    other = db.json(
        "activate", "--applicant", "Bob", "--received", "2026-03-02", "--channel", "phone", "--statement", "x"
    )["reference"]
    everyone = {str(e["summary"]).split(":")[0] for e in _events(_calendar(db))}
    assert everyone == {assigned, other}
    mine = {str(e["summary"]).split(":")[0] for e in _events(_calendar(db, "--reviewer", "sam reviewer"))}
    assert mine == {assigned}  # names compared ignoring case and repeated spaces
    assert _events(_calendar(db, "--reviewer", "Nobody")) == []
    db("withdraw", other, "--reason", "moved away")
    assert {str(e["summary"]).split(":")[0] for e in _events(_calendar(db))} == {assigned}


def test_output_file(db, assigned, tmp_path):
    path = tmp_path / "deadlines.ics"
    result = db("calendar", "ics", "-o", path)
    assert result.stdout == "" and "events to" in result.stderr
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    assert cal["prodid"] == "-//Community Trigger//calendar ics//EN"
    assert path.read_bytes().count(b"\r\n") > 10  # RFC 5545 line endings
