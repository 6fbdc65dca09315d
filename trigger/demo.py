"""`trigger demo`: two fictional cases walked through the whole process on a throw-away database.

Names and places are invented: fictionalised place names only, never a real person's name.
"""

from __future__ import annotations

from datetime import date, datetime

from trigger.access import partnership
from trigger.cases import complaints, moves, review, sharing
from trigger.correspondence import appeal_bundle, register
from trigger.store.app import App


def run(app: App) -> list[str]:
    """Build the two demo cases; return their references."""
    partnership.init(app, "llr", "csm@example.gov.uk")

    # Case 1: three qualifying complaints to two agencies -> met, reviewed, outcome issued.
    met = moves.activate(
        app,
        applicant="Priya Demo",
        received=date(2026, 9, 1),
        channel="online",
        statement="I have reported youths gathering and damaging cars on Storrer Street five times "
        "since July and nothing has changed.",
        postcode="LE11 9ZZ",
        beat="72",
        email="priya.demo@example.org",
        on=date(2026, 9, 1),
    ).reference
    sharing.share(app, met, on=date(2026, 9, 1))  # s.104(3): passed to every relevant body, recorded
    register.letter(app, met, "acknowledgement", fmt="txt", on=date(2026, 9, 2))
    for occurred, reported, agency, ref in (
        (date(2026, 7, 4), date(2026, 7, 4), "police", "CAD-4411"),
        (date(2026, 7, 26), date(2026, 7, 27), "cbc", "ASB-2231"),
        (date(2026, 8, 15), date(2026, 8, 16), "police", "CAD-5102"),
    ):
        complaints.add_incident(
            app,
            met,
            occurred=occurred,
            reported=reported,
            agency=agency,
            agency_ref=ref,
            description="Youths damaging parked cars",
            on=date(2026, 9, 2),
        )
    moves.decide(app, met, met=True, on=date(2026, 9, 8))
    register.letter(app, met, "threshold_met", fmt="txt", on=date(2026, 9, 8))
    moves.assign(
        app,
        met,
        lead="cbc",
        reviewer="Morgan Reviewer",
        reviewer_email="morgan.reviewer@example.gov.uk",
        on=date(2026, 9, 9),
    )
    review.evidence(app, met, agency="police", requested=date(2026, 9, 9), due=date(2026, 9, 16))
    review.evidence(app, met, agency="police", answered=date(2026, 9, 15))
    review.evidence(app, met, agency="emh", requested=date(2026, 9, 9), due=date(2026, 9, 16))
    review.evidence(
        app, met, agency="emh", answered=date(2026, 9, 14), not_held=True, note="No record of the reports"
    )
    review.log_hours(app, met, agency="cbc", person="Morgan Reviewer", hours=6.5, worked_on=date(2026, 9, 18))
    review.log_hours(app, met, agency="police", person="PC Example", hours=3, worked_on=date(2026, 9, 21))
    review.meeting(
        app,
        met,
        at=datetime(2026, 9, 29, 10, 0),
        held=True,
        victim_involvement="attend",
        attendees="CBC, Leicestershire Police, EMH Homes",
    )
    review.add_finding(
        app,
        met,
        category="silo_working",
        text="Police and council reports were never linked",
        on=date(2026, 9, 29),
    )
    review.add_finding(
        app, met, category="repeat_missed", text="Repeat location not flagged", on=date(2026, 9, 29)
    )
    review.recommend(
        app,
        met,
        to="police",
        text="Flag Storrer Street as a repeat location on the JAG agenda",
        on=date(2026, 9, 29),
    )
    review.add_action(
        app,
        met,
        action="Joint patrols on Friday and Saturday evenings",
        owner="police",
        due=date(2026, 11, 30),
        resources="Officer time",
        jag=True,
        on=date(2026, 9, 29),
    )
    review.add_action(
        app,
        met,
        action="Install street lighting repair",
        owner="cbc",
        due=date(2026, 10, 31),
        on=date(2026, 9, 29),
    )
    moves.issue_outcome(app, met, victim_consulted=True, on=date(2026, 10, 2))
    register.letter(app, met, "outcome", fmt="txt", on=date(2026, 10, 5))
    review.update_action(
        app, met, 2, status="done", rag="green", note="Lights repaired", on=date(2026, 10, 20)
    )

    # Case 2: one complaint, reported late -> not met, appealed, dismissed by an independent chair.
    not_met = moves.activate(
        app,
        applicant="Councillor Demo",
        victim="Tom Example",
        consent_date=date(2026, 9, 30),
        consent_method="signed letter",
        received=date(2026, 10, 1),
        channel="email",
        statement="My neighbour's noise has gone on for a year and nobody has acted.",
        address="Demo Council Offices, Southfield Road",
        postcode="LE11 9ZY",
        victim_address="3 Example Close",
        victim_postcode="LE12 9ZZ",
        beat="69",
        on=date(2026, 10, 1),
    ).reference
    sharing.share(app, not_met, agencies=["police", "cbc"], on=date(2026, 10, 2))
    sharing.share(app, not_met, on=date(2026, 10, 5))  # the rest, once their inboxes were confirmed
    complaints.add_incident(
        app,
        not_met,
        occurred=date(2026, 6, 1),
        reported=date(2026, 7, 20),
        agency="emh",
        agency_ref="HSG-901",
        description="Loud music late at night",
        on=date(2026, 10, 2),
    )
    complaints.add_incident(
        app,
        not_met,
        occurred=date(2026, 9, 10),
        reported=date(2026, 9, 11),
        agency="cbc",
        agency_ref="ENV-332",
        description="Loud music late at night",
        on=date(2026, 10, 2),
    )
    register.letter(app, not_met, "acknowledgement", fmt="txt", on=date(2026, 10, 1))
    moves.decide(
        app, not_met, met=False, reason="One qualifying complaint in six months", on=date(2026, 10, 9)
    )
    register.letter(app, not_met, "threshold_not_met", fmt="txt", on=date(2026, 10, 9))
    moves.lodge_appeal(
        app,
        not_met,
        received=date(2026, 10, 20),
        grounds="facts",
        detail="Diary sheets of the noise were not considered",
    )
    register.letter(app, not_met, "appeal_acknowledgement", fmt="txt", on=date(2026, 10, 20))
    appeal_bundle.make(app, not_met, on=date(2026, 10, 21))  # LLR: to the independent chair within 1wd
    moves.decide_appeal(
        app,
        not_met,
        upheld=False,
        by="Chair of Melton CSP",
        reason="The diary sheets do not record complaints made to an agency",
        on=date(2026, 11, 3),
    )
    register.letter(app, not_met, "appeal_outcome", fmt="txt", on=date(2026, 11, 3))
    return [met, not_met]
