"""Every code list and its labels, in one place. Standard library only: `cli.py` reads these to build
its choices, so `trigger --help` must not pay for anything heavier.

The codes are part of the public interface (options, JSON keys, CSV columns): users' scripts rely on
them, so a code is added here, never renamed.
"""

from __future__ import annotations

# -- the case --------------------------------------------------------------------------------------

# how the application arrived (2025 guidance: any channel, assisted applications included)
CHANNELS = ("online", "phone", "letter", "email", "in_person", "assisted")
VICTIM_KINDS = ("individual", "business", "community_group")
LANGUAGES = ("en", "cy")
PREFERRED_CONTACT = ("email", "phone", "letter", "in_person")
SWITCH = ("on", "off")  # a setting turned on or off (`case update --notices`)

# s.105: the relevant bodies (council, police, health, registered housing providers) and other partners
AGENCY_KINDS = ("council", "police", "health", "housing", "other")

# the monitored hate strands (docs/procedure.md#hate-incidents: the LLR hate-incident route)
HATE_STRANDS = ("race", "religion", "sexual_orientation", "disability", "transgender")

# a threshold decision refused as prejudicial, ... frivolous counts as "not met" (docs/procedure.md#rejection)
REJECTION_CATEGORIES = (
    "prejudicial",
    "discriminatory",
    "malicious",
    "unreasonable",
    "vexatious",
    "frivolous",
)

# -- the review ------------------------------------------------------------------------------------

FINDING_LABELS = {
    "silo_working": "Agencies worked in silos",
    "risk": "Risk was not identified or reduced",
    "repeat_missed": "A repeat victim, perpetrator or location was missed",
    "vulnerability_missed": "Vulnerability was missed",
    "case_management": "Case-management practice",
    "partnership_working": "Partnership working",
    "powers_underused": "Powers were not used enough",
    "aggravating_factor": "Aggravating factors",
    "other": "Other finding",
}
FINDING_CATEGORIES = tuple(FINDING_LABELS)

ACTION_STATUSES = ("open", "in_progress", "done", "dropped")
# as a letter says each status (the closure letter's table)
ACTION_STATUS_LABELS = {"open": "open", "in_progress": "in progress", "done": "done", "dropped": "dropped"}
ACTION_OPEN = ("open", "in_progress")
ACTION_FINISHED = ("done", "dropped")
RAG = ("red", "amber", "green")

# the victim's chosen involvement in the review meeting (2025 guidance), as a letter says it
INVOLVEMENT_LABELS = {
    "attend": "come to the meeting in person",
    "virtual": "join the meeting online",
    "representative": "send a representative",
    "statement": "send a written statement",
    "none": "not take part",
}
VICTIM_INVOLVEMENT = tuple(INVOLVEMENT_LABELS)

# -- deadlines and reminders ------------------------------------------------------------------------

# the policy timescales, in the order a case meets them (docs/procedure.md#llr-timescales)
TIMESCALES = (
    "acknowledge",
    "threshold_decision",
    "review",
    "outcome_letter",
    "appeal_window",
    "appeal_bundle",
    "appeal_decision",
)
DEADLINE_KINDS = (*TIMESCALES, "action")
# the applicant's own time limit, not a duty of the partnership: never overdue, no reminders
NOT_DUTIES = ("appeal_window",)

NATIONS = ("england", "wales")

# local caveats stricter than the Act (docs/procedure.md#stricter-local-caveats), always labelled
STRICTER_CAVEATS = ("latest_within_month", "no_diary_sheets", "report_within_7_days")

# -- letters ---------------------------------------------------------------------------------------

LETTER_TITLES = {
    "acknowledgement": (
        "Your application for an ASB Case Review",
        "Eich cais am Adolygiad Achos Ymddygiad Gwrthgymdeithasol",
    ),
    "information_request": ("Request for information: ASB Case Review", "Cais am wybodaeth: Adolygiad Achos"),
    "threshold_met": ("Your ASB Case Review will go ahead", "Bydd eich Adolygiad Achos yn mynd yn ei flaen"),
    "threshold_not_met": (
        "The threshold for an ASB Case Review is not met",
        "Nid yw'r trothwy ar gyfer Adolygiad Achos wedi'i gyrraedd",
    ),
    "rejection": (
        "Your application for an ASB Case Review has been refused",
        "Mae eich cais am Adolygiad Achos wedi'i wrthod",
    ),
    "meeting_invitation": (
        "Invitation to your ASB Case Review meeting",
        "Gwahoddiad i gyfarfod eich Adolygiad Achos",
    ),
    "delay": ("A delay in your ASB Case Review", "Oedi yn eich Adolygiad Achos"),
    "outcome": ("The outcome of your ASB Case Review", "Canlyniad eich Adolygiad Achos"),
    "appeal_acknowledgement": ("We have received your appeal", "Rydym wedi cael eich apêl"),
    "appeal_outcome": ("The decision on your appeal", "Y penderfyniad ar eich apêl"),
    "closure": ("Your ASB Case Review is closed", "Mae eich Adolygiad Achos wedi'i gau"),
}
# the closure letter of an application that never became a review (threshold not met, or refused)
APPLICATION_CLOSED_TITLES = (
    "Your application for an ASB Case Review is closed",
    "Mae eich cais am Adolygiad Achos wedi'i gau",
)
LETTER_KINDS = tuple(LETTER_TITLES)
LETTER_FORMATS = ("html", "txt", "pdf", "docx")
# what `letter --record FILE` accepts: the file's suffix gives the format of the letter as sent
RECORD_SUFFIXES = {".pdf": "pdf", ".docx": "docx", ".html": "html", ".htm": "html", ".txt": "txt"}

# the roles a registered person may hold (docs/architecture.md#partnerships-people-and-roles)
ROLES = ("admin", "manager", "reviewer", "chair", "clerk", "viewer")


def not_one_of(value: object, what: str, codes: tuple[str, ...]) -> str:
    """The one-line refusal of an unknown code: "'x' is not a channel; use one of online, phone, ..."."""
    return f"{value!r} is not {what}; use one of {', '.join(codes)}"
