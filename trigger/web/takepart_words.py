"""The words of the applicant's forms at their case page, in English and Welsh: key -> (English, Welsh),
read through `trigger.web.words.say` with the rest of the door's words (which this module adds to).

Taking part in the review (how to take part in the meeting, a written statement, comments on the
draft action plan) and appealing. The Welsh follows the letters' glossary (apêl, cynllun gweithredu,
trothwy, adolygiad) and is plain public-sector Welsh written for this service; a translator should
confirm it before a council relies on it.
"""

from __future__ import annotations

TAKE_PART_TEXT: dict[str, tuple[str, str]] = {
    # -- on the case page ------------------------------------------------------------------------------
    "part_heading": ("Take part in the review", "Cymryd rhan yn yr adolygiad"),
    "part_intro": (
        "You can choose how to take part in the review meeting, and tell the review what you want it to "
        "know in a written statement before the meeting.",
        "Gallwch ddewis sut i gymryd rhan yng nghyfarfod yr adolygiad, a dweud wrth yr adolygiad beth "
        "rydych am iddo ei wybod mewn datganiad ysgrifenedig cyn y cyfarfod.",
    ),
    "part_how": ("How you will take part", "Sut byddwch yn cymryd rhan"),
    "part_not_chosen": ("You have not told us yet", "Nid ydych wedi dweud wrthym eto"),
    "part_choose": ("Choose", "Dewis"),
    "part_change": ("Change", "Newid"),
    "part_how_hidden": ("how you will take part", "sut byddwch yn cymryd rhan"),
    "part_meeting": ("The review meeting", "Cyfarfod yr adolygiad"),
    "part_meeting_at": ("{date} at {time}", "{date} am {time}"),
    "part_meeting_held": ("Held on {date}", "Cynhaliwyd ar {date}"),
    "part_meeting_none": ("Not arranged yet", "Heb ei drefnu eto"),
    "part_statements": ("Your written statement", "Eich datganiad ysgrifenedig"),
    "part_statements_none": ("You have not given one", "Nid ydych wedi rhoi un"),
    "part_statement_on": ("Given on {date}", "Rhoddwyd ar {date}"),
    "part_give_statement": ("Give a written statement", "Rhoi datganiad ysgrifenedig"),
    "part_another_statement": ("Add to your statement", "Ychwanegu at eich datganiad"),
    "part_statement_closed": (
        "The review meeting has been held. If there is something more you want the review to know, "
        "contact your point of contact.",
        "Mae cyfarfod yr adolygiad wedi'i gynnal. Os oes rhywbeth arall rydych am i'r adolygiad ei "
        "wybod, cysylltwch â'ch pwynt cyswllt.",
    ),
    "draft_heading": ("Your draft action plan", "Eich cynllun gweithredu drafft"),
    "draft_intro": (
        "On {date} the review shared its draft action plan with you. These are the actions it proposes. "
        "Tell us what you think before the plan is final.",
        "Ar {date} rhannodd yr adolygiad ei gynllun gweithredu drafft â chi. Dyma'r camau y mae'n eu "
        "cynnig. Dywedwch wrthym beth yw eich barn cyn i'r cynllun fod yn derfynol.",
    ),
    "draft_comment": ("Comment on the draft action plan", "Rhoi sylwadau ar y cynllun gweithredu drafft"),
    "draft_commented": ("You sent comments on {dates}.", "Anfonoch sylwadau ar {dates}."),
    "appeal_heading": ("Appeal", "Apelio"),
    "appeal_open_threshold": (
        "If you are not satisfied with our decision on the threshold, you can appeal until {date}.",
        "Os nad ydych yn fodlon â'n penderfyniad ar y trothwy, gallwch apelio tan {date}.",
    ),
    "appeal_open_outcome": (
        "If you are not satisfied with the outcome of the review, you can appeal until {date}.",
        "Os nad ydych yn fodlon â chanlyniad yr adolygiad, gallwch apelio tan {date}.",
    ),
    "appeal_open_late": (
        "The time to appeal ended on {date}. You can still appeal, but you will need to tell us why "
        "your appeal is late.",
        "Daeth yr amser i apelio i ben ar {date}. Gallwch apelio o hyd, ond bydd angen i chi ddweud "
        "wrthym pam mae eich apêl yn hwyr.",
    ),
    "appeal_start": ("Appeal against the decision", "Apelio yn erbyn y penderfyniad"),
    "done_involvement": (
        "We have recorded how you will take part",
        "Rydym wedi cofnodi sut byddwch yn cymryd rhan",
    ),
    "done_statement": (
        "We have received your written statement",
        "Rydym wedi cael eich datganiad ysgrifenedig",
    ),
    "done_comment": (
        "We have received your comments on the draft action plan",
        "Rydym wedi cael eich sylwadau ar y cynllun gweithredu drafft",
    ),
    "done_appeal": ("We have received your appeal", "Rydym wedi cael eich apêl"),
    "done_appeal_text": (
        "We will send you a letter to acknowledge it. You can download it from this page.",
        "Byddwn yn anfon llythyr atoch i'w gydnabod. Gallwch ei lawrlwytho o'r dudalen hon.",
    ),
    "banner_success": ("Success", "Llwyddiant"),
    "send": ("Send", "Anfon"),
    # -- how to take part --------------------------------------------------------------------------------
    "involvement_question": (
        "How do you want to take part in the review meeting?",
        "Sut ydych chi am gymryd rhan yng nghyfarfod yr adolygiad?",
    ),
    "involvement_hint": (
        "You can change your mind later. Whatever you choose, we will tell you the outcome of the review.",
        "Gallwch newid eich meddwl yn nes ymlaen. Beth bynnag a ddewiswch, byddwn yn dweud wrthych beth "
        "yw canlyniad yr adolygiad.",
    ),
    "involvement_attend": ("I will come to the meeting in person", "Byddaf yn dod i'r cyfarfod yn bersonol"),
    "involvement_virtual": ("I will join the meeting online", "Byddaf yn ymuno â'r cyfarfod ar-lein"),
    "involvement_representative": (
        "Someone will come to speak for me",
        "Bydd rhywun yn dod i siarad ar fy rhan",
    ),
    "involvement_representative_hint": (
        "For example a relative, a friend or a support worker",
        "Er enghraifft perthynas, ffrind neu weithiwr cymorth",
    ),
    "involvement_statement": (
        "I will give a written statement instead",
        "Byddaf yn rhoi datganiad ysgrifenedig yn lle hynny",
    ),
    "involvement_none": ("I do not want to take part", "Nid wyf am gymryd rhan"),
    "err_involvement_required": (
        "Select how you want to take part in the review meeting",
        "Dewiswch sut rydych am gymryd rhan yng nghyfarfod yr adolygiad",
    ),
    # -- a written statement -------------------------------------------------------------------------------
    "written_question": (
        "What do you want the review meeting to know?",
        "Beth ydych chi am i gyfarfod yr adolygiad ei wybod?",
    ),
    "written_hint": (
        "Say in your own words how the anti-social behaviour has affected you and what you would like "
        "to happen. The people at the review meeting will read it.",
        "Dywedwch yn eich geiriau eich hun sut mae'r ymddygiad gwrthgymdeithasol wedi effeithio arnoch "
        "a beth yr hoffech iddo ddigwydd. Bydd y bobl yng nghyfarfod yr adolygiad yn ei ddarllen.",
    ),
    "err_written_statement_required": (
        "Enter what you want the review meeting to know",
        "Rhowch beth rydych am i gyfarfod yr adolygiad ei wybod",
    ),
    "label_written_statement": ("Your statement", "eich datganiad"),
    # -- comments on the draft plan -------------------------------------------------------------------------
    "comment_question": (
        "What do you think of the draft action plan?",
        "Beth yw eich barn am y cynllun gweithredu drafft?",
    ),
    "comment_hint": (
        "For example, whether the actions will help, and anything you think is missing.",
        "Er enghraifft, a fydd y camau'n helpu, ac unrhyw beth rydych yn meddwl sydd ar goll.",
    ),
    "err_comment_required": (
        "Enter what you think of the draft action plan",
        "Rhowch eich barn am y cynllun gweithredu drafft",
    ),
    "label_comment": ("Your comments", "eich sylwadau"),
    # -- an appeal ----------------------------------------------------------------------------------------
    "appeal_title_threshold": (
        "Appeal against our decision on the threshold",
        "Apelio yn erbyn ein penderfyniad ar y trothwy",
    ),
    "appeal_title_outcome": (
        "Appeal against the outcome of the review",
        "Apelio yn erbyn canlyniad yr adolygiad",
    ),
    "appeal_until": ("You can appeal until {date}.", "Gallwch apelio tan {date}."),
    "grounds_question": ("Why are you appealing?", "Pam ydych chi'n apelio?"),
    "grounds_hint_threshold": (
        "You can appeal if you believe that, when we made this decision,",
        "Gallwch apelio os ydych yn credu, pan wnaethom y penderfyniad hwn,",
    ),
    "grounds_hint_outcome": (
        "You can appeal if you believe that, in the review,",
        "Gallwch apelio os ydych yn credu, yn yr adolygiad,",
    ),
    "err_grounds_required": ("Select why you are appealing", "Dewiswch pam rydych yn apelio"),
    "detail_question": (
        "Tell us in your own words why you are appealing",
        "Dywedwch wrthym yn eich geiriau eich hun pam rydych yn apelio",
    ),
    "detail_hint": (
        "The person who decides your appeal will read exactly what you write here.",
        "Bydd y person sy'n penderfynu ar eich apêl yn darllen yn union beth rydych yn ei ysgrifennu yma.",
    ),
    "err_detail_required": (
        "Enter why you are appealing, in your own words",
        "Rhowch pam rydych yn apelio, yn eich geiriau eich hun",
    ),
    "label_detail": ("Your reasons", "eich rhesymau"),
    "late_question": (
        "Why is your appeal late?",
        "Pam mae eich apêl yn hwyr?",
    ),
    "late_hint": (
        "The time to appeal ended on {date}. Tell us why you could not appeal before then.",
        "Daeth yr amser i apelio i ben ar {date}. Dywedwch wrthym pam na allech apelio cyn hynny.",
    ),
    "err_late_reason_required": (
        "Enter why your appeal is late",
        "Rhowch pam mae eich apêl yn hwyr",
    ),
    "label_late_reason": ("Your reason", "eich rheswm"),
    "appeal_send": ("Send your appeal", "Anfon eich apêl"),
    # -- when a form cannot be taken -------------------------------------------------------------------
    "part_closed_title": ("This can no longer be done here", "Ni ellir gwneud hyn yma mwyach"),
    "part_closed_text": (
        "Your case has moved on since the page was opened. Go back to your case page to see where it is "
        "now, or contact your point of contact.",
        "Mae eich achos wedi symud ymlaen ers i'r dudalen gael ei hagor. Ewch yn ôl i dudalen eich achos "
        "i weld ble mae nawr, neu cysylltwch â'ch pwynt cyswllt.",
    ),
    "back_to_case": ("Go back to your case", "Mynd yn ôl i'ch achos"),
}
