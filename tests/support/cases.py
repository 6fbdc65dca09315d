"""Cases as a clerk records them, shared by several test modules: complaints through the command line,
and a performance year of cases built through the use-cases (`build_year`)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from trigger.cases import moves, review
from trigger.cases.complaints import add_incident
from trigger.store.app import App

THREE_COMPLAINTS = (("2026-01-10", "2026-01-12"), ("2026-01-20", "2026-01-21"), ("2026-02-03", "2026-02-04"))


def add_complaints(run, ref: str, dates, *, on: str, agency: str = "police") -> None:
    """Record one complaint to `agency` for each (occurred, reported) pair, as a clerk would."""
    for occurred, reported in dates:
        run(
            "incident",
            "add",
            ref,
            "--occurred",
            occurred,
            "--reported",
            reported,
            "--agency",
            agency,
            "--on",
            on,
        )


def received_case(app, received, channel="online", complaints=3, applicant="Ann Example"):
    """A case received on `received` with `complaints` complaints to the police, 40, 30, 20... days before."""
    ref = moves.activate(
        app,
        applicant=applicant,
        received=received,
        channel=channel,
        statement="Reported many times and nothing changed",
        address="12 Ashby Road",
        postcode="LE11 3AA",
        email="ann@example.org",
        vulnerability="lives alone",
    ).reference
    for i in range(complaints):
        day = received - timedelta(days=40 - 10 * i)
        add_incident(
            app,
            ref,
            occurred=day,
            reported=day,
            agency="police",
            description="Shouting at Ann's door",
            on=received,
        )
    return ref


def review_to_outcome(app, ref, met_on, outcome_on, recs=True, discretionary=False):
    """Decide the threshold met and assign on `met_on`; then the meeting, a finding, a recommendation
    (unless `recs` is false) and the outcome on `outcome_on` (none when it is None)."""
    moves.decide(app, ref, met=True, reason="Persistent and escalating" if discretionary else None, on=met_on)
    moves.assign(app, ref, lead="police" if recs else "cbc", reviewer="Sam Reviewer", on=met_on)
    if outcome_on is None:
        return
    review.meeting(
        app, ref, at=datetime.combine(outcome_on - timedelta(days=3), datetime.min.time()), held=True
    )
    review.add_finding(app, ref, category="silo_working", on=outcome_on - timedelta(days=3))
    if recs:
        review.recommend(
            app, ref, to="police", text="Share reports weekly", on=outcome_on - timedelta(days=3)
        )
    moves.issue_outcome(
        app,
        ref,
        no_recommendations=None if recs else "Response was reasonable",
        victim_consulted=True,
        on=outcome_on,
    )


def build_year():
    """Cases around the 2025/26 performance year (1 Apr 2025 to 31 Mar 2026), with known figures."""
    app = App()
    refs = {}
    refs["A"] = received_case(app, date(2025, 3, 20))  # received in 2024/25
    review_to_outcome(app, refs["A"], date(2025, 4, 2), date(2025, 5, 10))  # met and reviewed in 2025/26
    refs["B"] = received_case(app, date(2025, 4, 1), "phone", complaints=1)
    moves.decide(app, refs["B"], met=False, on=date(2025, 4, 10))  # not met, first day's application
    refs["C"] = received_case(app, date(2026, 3, 31), "email", complaints=1)  # last day of the year
    moves.decide(
        app,
        refs["C"],
        met=False,
        rejection_category="vexatious",
        reason="Fourth identical request",
        on=date(2026, 4, 1),
    )  # rejected in 2026/27
    refs["D"] = received_case(app, date(2025, 6, 1), complaints=1)
    review_to_outcome(app, refs["D"], date(2025, 6, 10), date(2025, 8, 1), recs=False, discretionary=True)
    refs["E"] = received_case(app, date(2025, 9, 1), "letter")
    moves.decide(app, refs["E"], met=True, on=date(2025, 9, 5))
    moves.withdraw(app, refs["E"], reason="moved away", on=date(2025, 10, 1))
    refs["F"] = received_case(app, date(2025, 11, 3))
    review_to_outcome(app, refs["F"], date(2025, 11, 10), date(2026, 4, 2))  # outcome in 2026/27
    refs["G"] = received_case(app, date(2025, 12, 1), "phone", complaints=1)
    moves.decide(app, refs["G"], met=False, on=date(2025, 12, 10))
    moves.lodge_appeal(app, refs["G"], received=date(2025, 12, 15), grounds="facts")
    moves.decide_appeal(
        app, refs["G"], upheld=True, by="Chair of Melton CSP", reason="Missed reports", on=date(2026, 1, 10)
    )
    refs["H"] = received_case(app, date(2026, 1, 5))
    review_to_outcome(app, refs["H"], date(2026, 1, 10), date(2026, 3, 31))  # last day of the year
    return refs


def county(trigger):
    """A county: three partnerships (CITY, the first; CHA with its own reference prefix; GW under the
    Welsh policy), made through the command line."""
    trigger(
        "init",
        "--policy",
        "llr",
        "--partnership",
        "CITY",
        "--name",
        "Leicester City",
        "--manager-email",
        "city@example.gov.uk",
    )
    trigger(
        "partnership",
        "add",
        "CHA",
        "--name",
        "Charnwood",
        "--policy",
        "llr",
        "--reference-prefix",
        "CT-CHA",
        "--manager-email",
        "cha@example.gov.uk",
    )
    trigger("partnership", "add", "GW", "--name", "Gwent", "--policy", "wales")
    return trigger
