"""Every word the applicant's door shows, in English and Welsh: key -> (English, Welsh).

The Welsh follows the letters' glossary (letters/templates/glossary.toml) for the procedure's terms
(Adolygiad Achos Ymddygiad Gwrthgymdeithasol, trothwy, asiantaeth, cyfeirnod, the hate strands) and is
otherwise plain public-sector Welsh written for this service; a translator should confirm it before a
council relies on it. `{name}` placeholders are filled by `say`.
"""

from __future__ import annotations

from trigger.web.takepart_words import TAKE_PART_TEXT

LANGUAGES = ("en", "cy")

TEXT: dict[str, tuple[str, str]] = {
    # -- every page --------------------------------------------------------------------------------------
    "service": (
        "Apply for an ASB Case Review",
        "Gwneud cais am Adolygiad Achos Ymddygiad Gwrthgymdeithasol",
    ),
    "skip": ("Skip to main content", "Neidio i'r prif gynnwys"),
    "back": ("Back", "Yn ôl"),
    "continue": ("Continue", "Parhau"),
    "change": ("Change", "Newid"),
    "remove": ("Remove", "Dileu"),
    "optional": ("(optional)", "(dewisol)"),
    "error_prefix": ("Error:", "Gwall:"),
    "there_is_a_problem": ("There is a problem", "Mae problem wedi codi"),
    "language": ("Language", "Iaith"),
    "english": ("English", "Saesneg"),
    "welsh": ("Cymraeg", "Cymraeg"),
    "footer_contact": ("Contact", "Cysylltu"),
    "footer_telephone": ("Telephone: {number}", "Ffôn: {number}"),
    "footer_built": (
        "Built with GOV.UK Frontend (MIT licence). Run by {partnership}.",
        "Wedi'i adeiladu gyda GOV.UK Frontend (trwydded MIT). Yn cael ei redeg gan {partnership}.",
    ),
    "footer_built_plain": (
        "Built with GOV.UK Frontend (MIT licence).",
        "Wedi'i adeiladu gyda GOV.UK Frontend (trwydded MIT).",
    ),
    "emergency": (
        "In an emergency call 999. Otherwise call 101 or report online.",
        "Mewn argyfwng, ffoniwch 999. Fel arall, ffoniwch 101 neu rhowch wybod ar-lein.",
    ),
    "yes": ("Yes", "Ydw"),
    "no": ("No", "Nac ydw"),
    # -- the start page ---------------------------------------------------------------------------------
    "start_intro": (
        "If you have reported anti-social behaviour and feel that not enough has been done about it, you "
        "can ask for a review of how your reports were handled. This is called an ASB Case Review (or the "
        "Community Trigger).",
        "Os ydych wedi rhoi gwybod am ymddygiad gwrthgymdeithasol a'ch bod yn teimlo nad oes digon wedi'i "
        "wneud amdano, gallwch ofyn am adolygiad o'r ffordd yr ymdriniwyd â'ch adroddiadau. Adolygiad Achos "
        "Ymddygiad Gwrthgymdeithasol yw'r enw ar hyn (neu'r Sbardun Cymunedol).",
    ),
    "start_who": (
        "You can apply for yourself, for someone else with their permission, for a business or for a "
        "community group.",
        "Gallwch wneud cais drosoch eich hun, dros rywun arall gyda'u caniatâd, dros fusnes neu dros grŵp "
        "cymunedol.",
    ),
    "start_before": ("Before you start", "Cyn i chi ddechrau"),
    "start_need": ("You will need:", "Bydd angen y canlynol arnoch:"),
    "start_need_dates": (
        "the dates of the incidents you reported, and who you reported them to",
        "dyddiadau'r digwyddiadau y rhoesoch wybod amdanynt, ac i bwy y rhoesoch wybod",
    ),
    "start_need_refs": ("any reference numbers you were given", "unrhyw gyfeirnodau a gawsoch"),
    "start_need_consent": (
        "the permission of the person you apply for, if you apply for someone else",
        "caniatâd y person rydych yn gwneud cais ar ei ran, os ydych yn gwneud cais dros rywun arall",
    ),
    "start_time": (
        "It takes about 15 minutes. Nothing is saved until you send the application, and your answers are "
        "deleted if you do nothing for 60 minutes.",
        "Mae'n cymryd tua 15 munud. Nid oes dim yn cael ei gadw nes i chi anfon y cais, ac mae eich atebion "
        "yn cael eu dileu os na fyddwch yn gwneud dim am 60 munud.",
    ),
    "start_warning": (
        "This form is not for reporting a crime or an incident. In an emergency call 999.",
        "Nid yw'r ffurflen hon ar gyfer rhoi gwybod am drosedd neu ddigwyddiad. Mewn argyfwng, ffoniwch 999.",
    ),
    "start_now": ("Start now", "Dechrau nawr"),
    "start_other_ways": ("Other ways to apply", "Ffyrdd eraill o wneud cais"),
    "start_other_ways_text": (
        "You can also apply by phone, by letter or in person, or ask someone to apply for you.",
        "Gallwch hefyd wneud cais dros y ffôn, drwy lythyr neu yn bersonol, neu ofyn i rywun wneud cais "
        "ar eich rhan.",
    ),
    "choose_area": ("Choose your area", "Dewiswch eich ardal"),
    "choose_area_text": (
        "Apply to the Community Safety Partnership for the area where the anti-social behaviour happened.",
        "Gwnewch gais i'r Bartneriaeth Diogelwch Cymunedol ar gyfer yr ardal lle digwyddodd yr ymddygiad "
        "gwrthgymdeithasol.",
    ),
    # -- who -----------------------------------------------------------------------------------------------
    "who_question": ("Who is this application for?", "Ar gyfer pwy mae'r cais hwn?"),
    "who_victim": (
        "Me: I have experienced the anti-social behaviour",
        "Fi: rwyf wedi profi'r ymddygiad gwrthgymdeithasol",
    ),
    "who_behalf": (
        "Someone else: I am applying for them with their permission",
        "Rhywun arall: rwy'n gwneud cais ar eu rhan gyda'u caniatâd",
    ),
    "who_behalf_hint": (
        "For example, as a relative, a councillor, a support worker or an advocate.",
        "Er enghraifft, fel perthynas, cynghorydd, gweithiwr cymorth neu eiriolwr.",
    ),
    "who_business": ("A business", "Busnes"),
    "who_community_group": ("A community group", "Grŵp cymunedol"),
    "err_who_required": ("Select who this application is for", "Dewiswch ar gyfer pwy mae'r cais hwn"),
    # -- the victim ------------------------------------------------------------------------------------------
    "victim_behalf": (
        "What is the name of the person you are applying for?",
        "Beth yw enw'r person rydych yn gwneud cais ar ei ran?",
    ),
    "victim_business": ("What is the name of the business?", "Beth yw enw'r busnes?"),
    "victim_community_group": ("What is the name of the community group?", "Beth yw enw'r grŵp cymunedol?"),
    "err_victim_required_behalf": (
        "Enter the name of the person you are applying for",
        "Rhowch enw'r person rydych yn gwneud cais ar ei ran",
    ),
    "victim_address_label": ("Their address (optional)", "Eu cyfeiriad (dewisol)"),
    "victim_address_hint": (
        "We write to you. With their address we can also send them a copy of our letters.",
        "Rydym yn ysgrifennu atoch chi. Gyda'u cyfeiriad gallwn hefyd anfon copi o'n llythyrau atynt.",
    ),
    "victim_postcode_label": ("Their postcode (optional)", "Eu cod post (dewisol)"),
    "key_victim_address": ("Their address", "Eu cyfeiriad"),
    "err_victim_required_business": ("Enter the name of the business", "Rhowch enw'r busnes"),
    "err_victim_required_community_group": (
        "Enter the name of the community group",
        "Rhowch enw'r grŵp cymunedol",
    ),
    "err_victim_same": (
        "Enter the name of the person, business or group you are applying for, not your own name",
        "Rhowch enw'r person, y busnes neu'r grŵp rydych yn gwneud cais ar ei ran, nid eich enw eich hun",
    ),
    "authorised": (
        "I am authorised to apply for it",
        "Mae gennyf awdurdod i wneud cais ar ei ran",
    ),
    "authorised_legend": ("Your authority", "Eich awdurdod"),
    "err_authorised_required": (
        "Confirm that you are authorised to apply for it",
        "Cadarnhewch fod gennych awdurdod i wneud cais ar ei ran",
    ),
    # -- consent ---------------------------------------------------------------------------------------------
    "consent_title": ("Their permission", "Eu caniatâd"),
    "consent_method_question": (
        "How did they give you permission to apply for them?",
        "Sut gwnaethon nhw roi caniatâd i chi wneud cais ar eu rhan?",
    ),
    "consent_writing": (
        "In writing (a signed letter or form)",
        "Yn ysgrifenedig (llythyr neu ffurflen wedi'i llofnodi)",
    ),
    "consent_email": ("By email", "Drwy e-bost"),
    "consent_phone": ("By phone", "Dros y ffôn"),
    "consent_in_person": ("In person", "Yn bersonol"),
    "consent_date_question": ("When did they give permission?", "Pryd gwnaethon nhw roi caniatâd?"),
    "date_hint": ("For example, 27 3 2026", "Er enghraifft, 27 3 2026"),
    "day": ("Day", "Diwrnod"),
    "month": ("Month", "Mis"),
    "year": ("Year", "Blwyddyn"),
    "err_consent_method_required": (
        "Select how they gave permission",
        "Dewiswch sut gwnaethon nhw roi caniatâd",
    ),
    "err_consent_date_required": (
        "Enter the date they gave permission",
        "Rhowch y dyddiad y gwnaethon nhw roi caniatâd",
    ),
    "err_consent_date_order": (
        "The date they gave permission must be within the last 12 months",
        "Rhaid i'r dyddiad y gwnaethon nhw roi caniatâd fod o fewn y 12 mis diwethaf",
    ),
    # -- the applicant ---------------------------------------------------------------------------------------
    "name_question": ("What is your full name?", "Beth yw eich enw llawn?"),
    "err_applicant_required": ("Enter your full name", "Rhowch eich enw llawn"),
    "contact_question": ("How should we contact you?", "Sut dylem gysylltu â chi?"),
    "contact_details": ("Your contact details", "Eich manylion cyswllt"),
    "contact_details_hint": (
        "Give the details for the way you chose. The others are optional.",
        "Rhowch y manylion ar gyfer y ffordd a ddewisoch. Mae'r lleill yn ddewisol.",
    ),
    "contact_email": ("By email", "Drwy e-bost"),
    "contact_phone": ("By phone", "Dros y ffôn"),
    "contact_letter": ("By letter", "Drwy lythyr"),
    "email_label": ("Email address", "Cyfeiriad e-bost"),
    "email_hint": (
        "We will send a confirmation to this address.",
        "Byddwn yn anfon cadarnhad i'r cyfeiriad hwn.",
    ),
    "phone_label": ("Phone number", "Rhif ffôn"),
    "address_label": ("Address", "Cyfeiriad"),
    "postcode_label": ("Postcode", "Cod post"),
    "err_preferred_contact_required": (
        "Select how we should contact you",
        "Dewiswch sut dylem gysylltu â chi",
    ),
    "err_email_required": ("Enter your email address", "Rhowch eich cyfeiriad e-bost"),
    "err_email_format": (
        "Enter an email address in the correct format, like name@example.com",
        "Rhowch gyfeiriad e-bost yn y fformat cywir, fel enw@enghraifft.com",
    ),
    "err_phone_required": ("Enter your phone number", "Rhowch eich rhif ffôn"),
    "err_address_required": ("Enter your address", "Rhowch eich cyfeiriad"),
    "err_postcode_required": ("Enter your postcode", "Rhowch eich cod post"),
    "language_question": (
        "Which language should we use when we write to you?",
        "Pa iaith dylem ei defnyddio wrth ysgrifennu atoch?",
    ),
    "language_en": ("English", "Saesneg"),
    "language_cy": ("Welsh (Cymraeg)", "Cymraeg"),
    "err_language_required": ("Select a language", "Dewiswch iaith"),
    # -- incidents -------------------------------------------------------------------------------------------
    "incident_title": ("Incident {n}", "Digwyddiad {n}"),
    "incident_heading": (
        "Tell us about an incident you reported",
        "Dywedwch wrthym am ddigwyddiad y rhoesoch wybod amdano",
    ),
    "description_label": ("What happened?", "Beth ddigwyddodd?"),
    "description_hint": (
        "Describe the anti-social behaviour in your own words.",
        "Disgrifiwch yr ymddygiad gwrthgymdeithasol yn eich geiriau eich hun.",
    ),
    "occurred_question": ("When did it happen?", "Pryd digwyddodd hyn?"),
    "reported_question": ("When did you report it?", "Pryd rhoesoch wybod amdano?"),
    "agency_question": ("Who did you report it to?", "I bwy y rhoesoch wybod amdano?"),
    "agency_ref_label": ("Reference number", "Cyfeirnod"),
    "agency_ref_hint": (
        "For example, a police incident number or a council case number.",
        "Er enghraifft, rhif digwyddiad yr heddlu neu rif achos y cyngor.",
    ),
    "hate_question": (
        "Do you think it was motivated by hate?",
        "Ydych chi'n credu mai casineb oedd y cymhelliad?",
    ),
    "hate_hint": (
        "Hostility because of someone's race, religion, sexual orientation, disability or transgender "
        "identity.",
        "Gelyniaeth oherwydd hil, crefydd, cyfeiriadedd rhywiol, anabledd neu hunaniaeth drawsryweddol "
        "rhywun.",
    ),
    "hate_no": ("No", "Nac ydw"),
    "hate_race": ("Yes, because of race", "Ydw, oherwydd hil"),
    "hate_religion": ("Yes, because of religion", "Ydw, oherwydd crefydd"),
    "hate_sexual_orientation": ("Yes, because of sexual orientation", "Ydw, oherwydd cyfeiriadedd rhywiol"),
    "hate_disability": ("Yes, because of disability", "Ydw, oherwydd anabledd"),
    "hate_transgender": ("Yes, because of transgender identity", "Ydw, oherwydd hunaniaeth drawsryweddol"),
    "hate_unsure": ("I'm not sure", "Nid wyf yn siŵr"),
    "err_description_required": ("Describe what happened", "Disgrifiwch beth ddigwyddodd"),
    "err_occurred_required": ("Enter the date it happened", "Rhowch y dyddiad y digwyddodd"),
    "err_reported_required": ("Enter the date you reported it", "Rhowch y dyddiad y rhoesoch wybod amdano"),
    "err_reported_order": (
        "The date you reported it must be the same as or after the date it happened",
        "Rhaid i'r dyddiad y rhoesoch wybod amdano fod ar yr un diwrnod â'r dyddiad y digwyddodd, neu ar "
        "ei ôl",
    ),
    "err_agency_required": ("Select who you reported it to", "Dewiswch i bwy y rhoesoch wybod amdano"),
    "err_hate_required": (
        "Select whether you think it was motivated by hate",
        "Dewiswch a ydych chi'n credu mai casineb oedd y cymhelliad",
    ),
    "incidents_title": ("Incidents you have added", "Digwyddiadau rydych wedi'u hychwanegu"),
    "incidents_count_1": ("You have added 1 incident", "Rydych wedi ychwanegu 1 digwyddiad"),
    "incidents_count": ("You have added {n} incidents", "Rydych wedi ychwanegu {n} digwyddiad"),
    "incidents_advice": (
        "Add each incident you reported. Incidents from the last 6 months matter most.",
        "Ychwanegwch bob digwyddiad y rhoesoch wybod amdano. Digwyddiadau o'r 6 mis diwethaf sydd bwysicaf.",
    ),
    "incident_summary": ("{date}, reported to {agency}", "{date}, rhoddwyd gwybod i {agency}"),
    "another_question": ("Do you want to add another incident?", "Ydych chi am ychwanegu digwyddiad arall?"),
    "err_another_required": (
        "Select yes if you want to add another incident",
        "Dewiswch 'Ydw' os ydych am ychwanegu digwyddiad arall",
    ),
    "incidents_full": (
        "You have added the most incidents one application can hold ({n}).",
        "Rydych wedi ychwanegu'r nifer fwyaf o ddigwyddiadau y gall un cais eu cynnwys ({n}).",
    ),
    # -- reasons, needs, consent to share --
    "statement_question": (
        "Why are you unhappy with the response to your reports?",
        "Pam ydych chi'n anhapus â'r ymateb i'ch adroddiadau?",
    ),
    "statement_hint": (
        "Tell us what happened after you reported, and what you think should have been done.",
        "Dywedwch wrthym beth ddigwyddodd ar ôl i chi roi gwybod, a beth ddylai fod wedi cael ei wneud yn "
        "eich barn chi.",
    ),
    "err_statement_required": (
        "Tell us why you are unhappy with the response",
        "Dywedwch wrthym pam rydych yn anhapus â'r ymateb",
    ),
    "accessibility_question": (
        "Do you have any accessibility needs?",
        "Oes gennych unrhyw anghenion hygyrchedd?",
    ),
    "accessibility_hint": (
        "For example, large print, an interpreter, step-free access or someone to support you at meetings.",
        "Er enghraifft, print bras, cyfieithydd, mynediad heb risiau neu rywun i'ch cefnogi mewn "
        "cyfarfodydd.",
    ),
    "share_title": ("Sharing your information", "Rhannu eich gwybodaeth"),
    "share_text": (
        "To review how your reports were handled, we share your application with the council, the police, "
        "health services and housing providers in {partnership}. They use it only for the review.",
        "Er mwyn adolygu sut yr ymdriniwyd â'ch adroddiadau, rydym yn rhannu eich cais â'r cyngor, yr "
        "heddlu, y gwasanaethau iechyd a'r darparwyr tai yn {partnership}. Dim ond ar gyfer yr adolygiad "
        "y byddant yn ei ddefnyddio.",
    ),
    "share_agree": (
        "I agree to this information being shared with the partner agencies for this review",
        "Rwy'n cytuno i'r wybodaeth hon gael ei rhannu â'r asiantaethau partner ar gyfer yr adolygiad hwn",
    ),
    "err_share_consent_required": (
        "Confirm that you agree to the information being shared",
        "Cadarnhewch eich bod yn cytuno i'r wybodaeth gael ei rhannu",
    ),
    # -- check your answers --
    "check_title": (
        "Check your answers before sending your application",
        "Gwiriwch eich atebion cyn anfon eich cais",
    ),
    "check_about": ("About the application", "Am y cais"),
    "check_you": ("Your details", "Eich manylion"),
    "check_incidents": ("Incidents", "Digwyddiadau"),
    "check_reasons": ("Your reasons and needs", "Eich rhesymau a'ch anghenion"),
    "key_who": ("Who it is for", "Ar gyfer pwy"),
    "key_victim": ("Name of the person, business or group", "Enw'r person, y busnes neu'r grŵp"),
    "key_consent": ("Their permission", "Eu caniatâd"),
    "key_authorised": ("Authorised to apply", "Awdurdod i wneud cais"),
    "key_applicant": ("Your name", "Eich enw"),
    "key_contact": ("How to contact you", "Sut i gysylltu â chi"),
    "key_language": ("Language for letters", "Iaith llythyrau"),
    "key_statement": ("Why you are unhappy", "Pam rydych yn anhapus"),
    "key_accessibility": ("Accessibility needs", "Anghenion hygyrchedd"),
    "key_share": ("Sharing your information", "Rhannu eich gwybodaeth"),
    "none_given": ("None given", "Dim wedi'i roi"),
    "agreed": ("You agreed", "Rydych wedi cytuno"),
    "consent_on": ("{method} on {date}", "{method} ar {date}"),
    "reference_given": ("Reference: {ref}", "Cyfeirnod: {ref}"),
    "occurred_on": ("Happened on {date}", "Digwyddodd ar {date}"),
    "reported_on": ("Reported on {date} to {agency}", "Rhoddwyd gwybod ar {date} i {agency}"),
    "check_send": ("Now send your application", "Nawr anfonwch eich cais"),
    "check_declaration": (
        "By sending this application you confirm that, to the best of your knowledge, the details you are "
        "giving are correct.",
        "Drwy anfon y cais hwn, rydych yn cadarnhau bod y manylion rydych yn eu rhoi yn gywir hyd eithaf "
        "eich gwybodaeth.",
    ),
    "accept_and_send": ("Accept and send", "Derbyn ac anfon"),
    # -- confirmation --
    "done_title": ("Application sent", "Cais wedi'i anfon"),
    "done_reference": ("Your reference number", "Eich cyfeirnod"),
    "done_email": (
        "We have sent a confirmation email to {email}.",
        "Rydym wedi anfon e-bost cadarnhau at {email}.",
    ),
    "done_next": ("What happens next", "Beth sy'n digwydd nesaf"),
    "done_shared": (
        "We will pass your application to the agencies in {partnership}.",
        "Byddwn yn anfon eich cais ymlaen i'r asiantaethau yn {partnership}.",
    ),
    "done_acknowledge": (
        "We will write to you by {date} to acknowledge your application.",
        "Byddwn yn ysgrifennu atoch erbyn {date} i gydnabod eich cais.",
    ),
    "done_decision": (
        "We will tell you by {date} whether the threshold for a review is met.",
        "Byddwn yn rhoi gwybod i chi erbyn {date} a yw'r trothwy ar gyfer adolygiad wedi'i gyrraedd.",
    ),
    "done_review": (
        "If it is met, the review will be finished within {span} of that decision.",
        "Os yw wedi'i gyrraedd, bydd yr adolygiad wedi'i orffen o fewn {span} i'r penderfyniad hwnnw.",
    ),
    "done_keep": (
        "Keep your reference number and quote it when you contact us.",
        "Cadwch eich cyfeirnod a'i nodi pan fyddwch yn cysylltu â ni.",
    ),
    "done_follow": ("Follow your case online", "Dilyn eich achos ar-lein"),
    "done_follow_text": (
        "You can follow your case, and take part in the review, on your own private page:",
        "Gallwch ddilyn eich achos, a chymryd rhan yn yr adolygiad, ar eich tudalen breifat eich hun:",
    ),
    "done_follow_private": (
        "Keep this link private: anyone who has it can see your case.",
        "Cadwch y ddolen hon yn breifat: gall unrhyw un sydd â hi weld eich achos.",
    ),
    "done_follow_email": (
        "We have sent it to you by email too.",
        "Rydym wedi'i hanfon atoch drwy e-bost hefyd.",
    ),
    "done_keep_reporting": (
        "Please keep reporting any new incidents.",
        "Daliwch ati i roi gwybod am unrhyw ddigwyddiadau newydd.",
    ),
    "span_wd_1": ("1 working day", "1 diwrnod gwaith"),
    "span_wd": ("{n} working days", "{n} diwrnod gwaith"),
    "span_d_1": ("1 day", "1 diwrnod"),
    "span_d": ("{n} days", "{n} diwrnod"),
    # -- the applicant's own case page -----------------------------------------------------------------------
    "case_service": ("Your ASB Case Review", "Eich Adolygiad Achos"),
    "case_caption": ("Your ASB Case Review", "Eich Adolygiad Achos"),
    "case_title": ("Case {reference}", "Achos {reference}"),
    "case_stage": ("Where your case is now", "Ble mae eich achos nawr"),
    "case_history": ("What has happened so far", "Beth sydd wedi digwydd hyd yma"),
    "stage_received": ("Received", "Wedi dod i law"),
    "stage_threshold": (
        "Deciding whether the threshold for a review is met",
        "Penderfynu a yw'r trothwy ar gyfer adolygiad wedi'i gyrraedd",
    ),
    "stage_review": ("Under review", "Yn cael ei adolygu"),
    "stage_outcome": ("Outcome issued", "Canlyniad wedi'i gyhoeddi"),
    "stage_appeal": ("Appeal", "Apêl"),
    "stage_closed": ("Closed", "Wedi cau"),
    "moved_received": ("We received your application", "Cawsom eich cais"),
    "moved_threshold_met": (
        "The threshold was met: your case will be reviewed",
        "Cafodd y trothwy ei gyrraedd: bydd eich achos yn cael ei adolygu",
    ),
    "moved_threshold_not_met": (
        "We decided the threshold for a review was not met",
        "Gwnaethom benderfynu nad oedd y trothwy ar gyfer adolygiad wedi'i gyrraedd",
    ),
    "moved_in_review": ("The review started", "Dechreuodd yr adolygiad"),
    "moved_outcome_issued": (
        "We sent you the outcome of the review",
        "Anfonwyd canlyniad yr adolygiad atoch",
    ),
    "moved_appealed": ("We received your appeal", "Cawsom eich apêl"),
    "moved_appeal_upheld": ("Your appeal was upheld", "Cafodd eich apêl ei chynnal"),
    "moved_appeal_dismissed": ("Your appeal was not upheld", "Ni chafodd eich apêl ei chynnal"),
    "moved_closed": ("Your case was closed", "Cafodd eich achos ei gau"),
    "moved_withdrawn": ("Your application was withdrawn", "Cafodd eich cais ei dynnu'n ôl"),
    "next_heading": ("What happens next", "Beth sy'n digwydd nesaf"),
    "next_threshold_decision": (
        "{name} will decide whether the threshold for a review is met by {date}.",
        "Bydd {name} yn penderfynu a yw'r trothwy ar gyfer adolygiad wedi'i gyrraedd erbyn {date}.",
    ),
    "next_review": (
        "{name} will finish the review and send you its outcome by {date}.",
        "Bydd {name} yn gorffen yr adolygiad ac yn anfon y canlyniad atoch erbyn {date}.",
    ),
    "next_appeal_decision": (
        "{name} will decide your appeal by {date}.",
        "Bydd {name} yn penderfynu ar eich apêl erbyn {date}.",
    ),
    "next_appeal_window": (
        "If you are not satisfied with the decision, you can appeal until {date}.",
        "Os nad ydych yn fodlon â'r penderfyniad, gallwch apelio tan {date}.",
    ),
    "next_actions": (
        "{name} is making sure the actions in your action plan are carried out.",
        "Mae {name} yn sicrhau bod y camau yn eich cynllun gweithredu yn cael eu cyflawni.",
    ),
    "next_closing": (
        "{name} will write to you when your case is closed, to say when and why.",
        "Bydd {name} yn ysgrifennu atoch pan fydd eich achos yn cau, i ddweud pryd a pham.",
    ),
    "next_threshold_decision_nodate": (
        "{name} will decide whether the threshold for a review is met.",
        "Bydd {name} yn penderfynu a yw'r trothwy ar gyfer adolygiad wedi'i gyrraedd.",
    ),
    "next_review_nodate": (
        "{name} will finish the review and send you its outcome.",
        "Bydd {name} yn gorffen yr adolygiad ac yn anfon y canlyniad atoch.",
    ),
    "next_appeal_decision_nodate": (
        "{name} will decide your appeal.",
        "Bydd {name} yn penderfynu ar eich apêl.",
    ),
    "late_text": (
        "This is late: it was due by {date}.",
        "Mae hyn yn hwyr: roedd i fod i ddigwydd erbyn {date}.",
    ),
    "delay_said": ("On {date} we wrote to you about the delay.", "Ar {date} ysgrifennwyd atoch am yr oedi."),
    "delay_reason": ("We said:", "Dywedom:"),
    "delay_until": (
        "We now expect to do this by {date}.",
        "Rydym bellach yn disgwyl gwneud hyn erbyn {date}.",
    ),
    "delay_none": (
        "We have not written to you about the delay yet. You can ask your point of contact why it is late.",
        "Nid ydym wedi ysgrifennu atoch am yr oedi eto. Gallwch ofyn i'ch pwynt cyswllt pam mae'n hwyr.",
    ),
    "poc_heading": ("Your point of contact", "Eich pwynt cyswllt"),
    "poc_name": ("Name", "Enw"),
    "poc_team": ("The community safety team", "Y tîm diogelwch cymunedol"),
    "poc_email": ("Email", "E-bost"),
    "poc_telephone": ("Telephone", "Ffôn"),
    "poc_address": ("Address", "Cyfeiriad"),
    "poc_quote": (
        "Give your case reference, {reference}, when you contact us.",
        "Rhowch gyfeirnod eich achos, {reference}, pan fyddwch yn cysylltu â ni.",
    ),
    "letters_heading": ("Letters we have sent you", "Llythyrau rydym wedi'u hanfon atoch"),
    "letters_none": ("We have not sent you a letter yet.", "Nid ydym wedi anfon llythyr atoch eto."),
    "letters_sent": ("Sent", "Anfonwyd"),
    "letters_letter": ("Letter", "Llythyr"),
    "letters_intro": (
        "Each letter downloads exactly as we sent it.",
        "Mae pob llythyr yn cael ei lawrlwytho yn union fel y gwnaethom ei anfon.",
    ),
    "format_pdf": ("PDF", "PDF"),
    "format_docx": ("Word document", "dogfen Word"),
    "format_html": ("web page", "tudalen we"),
    "format_txt": ("text file", "ffeil testun"),
    "plan_heading": ("Your action plan", "Eich cynllun gweithredu"),
    "plan_intro": (
        "These are the actions the agencies agreed to take after the review, and how far each has got.",
        "Dyma'r camau y cytunodd yr asiantaethau i'w cymryd ar ôl yr adolygiad, a pha mor bell mae pob "
        "un wedi mynd.",
    ),
    "plan_numbered": ("Action {n}", "Cam gweithredu {n}"),
    "plan_action": ("Action", "Cam gweithredu"),
    "plan_who": ("Who", "Pwy"),
    "plan_due": ("By", "Erbyn"),
    "plan_progress": ("Progress", "Cynnydd"),
    "progress_open": ("Not started", "Heb ddechrau"),
    "progress_in_progress": ("In progress", "Ar waith"),
    "progress_done": ("Done", "Wedi'i gwblhau"),
    "progress_dropped": ("Dropped", "Wedi'i ollwng"),
    "progress_late": ("Late", "Yn hwyr"),
    "progress_done_on": ("Done on {date}", "Wedi'i gwblhau ar {date}"),
    "notices_heading": ("Emails about your case", "E-byst am eich achos"),
    "notices_on_text": (
        "We email you when your case moves to a new stage or we send you a letter. The email says only "
        "that there is news, and to look at this page.",
        "Rydym yn anfon e-bost atoch pan fydd eich achos yn symud i gam newydd neu pan fyddwn yn anfon "
        "llythyr atoch. Mae'r e-bost yn dweud bod newyddion yn unig, ac i edrych ar y dudalen hon.",
    ),
    "notices_off_text": (
        "You asked us not to email you when your case changes. We still send you our letters.",
        "Gwnaethoch ofyn i ni beidio ag anfon e-bost atoch pan fydd eich achos yn newid. Rydym yn dal i "
        "anfon ein llythyrau atoch.",
    ),
    "notices_heading_sms": ("Texts about your case", "Negeseuon testun am eich achos"),
    "notices_on_text_sms": (
        "We text you when your case moves to a new stage or we send you a letter. The text says only "
        "that there is news, and to look at this page.",
        "Rydym yn anfon neges destun atoch pan fydd eich achos yn symud i gam newydd neu pan fyddwn yn "
        "anfon llythyr atoch. Mae'r neges yn dweud bod newyddion yn unig, ac i edrych ar y dudalen hon.",
    ),
    "notices_off_text_sms": (
        "You asked us not to text you when your case changes. We still send you our letters.",
        "Gwnaethoch ofyn i ni beidio ag anfon neges destun atoch pan fydd eich achos yn newid. Rydym yn "
        "dal i anfon ein llythyrau atoch.",
    ),
    "notices_heading_both": ("Emails and texts about your case", "E-byst a negeseuon testun am eich achos"),
    "notices_on_text_both": (
        "We email and text you when your case moves to a new stage or we send you a letter. The messages "
        "say only that there is news, and to look at this page.",
        "Rydym yn anfon e-bost a neges destun atoch pan fydd eich achos yn symud i gam newydd neu pan "
        "fyddwn yn anfon llythyr atoch. Mae'r negeseuon yn dweud bod newyddion yn unig, ac i edrych ar y "
        "dudalen hon.",
    ),
    "notices_off_text_both": (
        "You asked us not to email or text you when your case changes. We still send you our letters.",
        "Gwnaethoch ofyn i ni beidio ag anfon e-bost na neges destun atoch pan fydd eich achos yn newid. "
        "Rydym yn dal i anfon ein llythyrau atoch.",
    ),
    "notices_stop": ("Stop these messages", "Atal y negeseuon hyn"),
    "notices_start": ("Start these messages again", "Dechrau'r negeseuon hyn eto"),
    "link_title": ("This link does not work", "Nid yw'r ddolen hon yn gweithio"),
    "link_text": (
        "Check that you copied the whole link from your letter or email. A link stops working when a new "
        "one is sent to you, and some time after your case has closed. To ask for a new link, contact the "
        "community safety team and give your case reference.",
        "Gwiriwch eich bod wedi copïo'r ddolen gyfan o'ch llythyr neu'ch e-bost. Mae dolen yn peidio â "
        "gweithio pan fydd un newydd yn cael ei hanfon atoch, a pheth amser ar ôl i'ch achos gau. I ofyn "
        "am ddolen newydd, cysylltwch â'r tîm diogelwch cymunedol a rhowch gyfeirnod eich achos.",
    ),
    "too_many_links_text": (
        "Please wait an hour and try your link again, or contact the community safety team.",
        "Arhoswch awr a rhowch gynnig arall ar eich dolen, neu cysylltwch â'r tîm diogelwch cymunedol.",
    ),
    # -- problems -------------------------------------------------------------------------------------------
    "expired_title": (
        "Sorry, we could not accept this form",
        "Mae'n ddrwg gennym, ni allem dderbyn y ffurflen hon",
    ),
    "expired_text": (
        "This can happen if the page was open for a long time. Nothing was sent.",
        "Gall hyn ddigwydd os oedd y dudalen ar agor am amser hir. Ni anfonwyd dim.",
    ),
    "start_again": ("Start again", "Dechrau eto"),
    "not_found_title": ("Page not found", "Heb ddod o hyd i'r dudalen"),
    "not_found_text": (
        "If you typed the web address, check it is correct.",
        "Os gwnaethoch deipio'r cyfeiriad gwe, gwiriwch ei fod yn gywir.",
    ),
    "too_large_title": ("The form you sent was too large", "Roedd y ffurflen a anfonoch yn rhy fawr"),
    "too_many_title": (
        "Too many attempts from your connection",
        "Gormod o ymdrechion o'ch cysylltiad",
    ),
    "too_many_text": (
        "Nothing was sent. Please wait an hour and try again, or apply by phone or by letter.",
        "Ni anfonwyd dim. Arhoswch awr a rhowch gynnig arall arni, neu gwnewch gais dros y ffôn neu drwy "
        "lythyr.",
    ),
    "refused_title": (
        "Sorry, we could not accept this form",
        "Mae'n ddrwg gennym, ni allem dderbyn y ffurflen hon",
    ),
    "refused_text": (
        "Nothing was sent. Please go back and try again, or apply by phone or by letter.",
        "Ni anfonwyd dim. Ewch yn ôl a rhowch gynnig arall arni, neu gwnewch gais dros y ffôn neu drwy "
        "lythyr.",
    ),
    "broken_title": (
        "Sorry, there is a problem with the service",
        "Mae'n ddrwg gennym, mae problem gyda'r gwasanaeth",
    ),
    "broken_text": (
        "Nothing was sent. Please try again later, or apply by phone or by letter.",
        "Ni anfonwyd dim. Rhowch gynnig arall arni yn nes ymlaen, neu gwnewch gais dros y ffôn neu drwy "
        "lythyr.",
    ),
    "honeypot_label": ("Leave this field empty", "Gadewch y maes hwn yn wag"),
    # -- how a field's mistakes are worded (the field's name is filled in) ---------------------------------
    "err_too_long": (
        "{label} must be {limit} characters or fewer",
        "Ni ddylai {label} fod yn hwy na {limit} nod",
    ),
    "err_character": (
        "{label} must not include special characters, such as line breaks or hidden characters",
        "Ni ddylai {label} gynnwys nodau arbennig, fel toriadau llinell neu nodau cudd",
    ),
    "err_format": ("Enter {label} in the correct format", "Rhowch {label} yn y fformat cywir"),
    "err_date_real": ("{label} must be a real date", "Rhaid i'r {label} fod yn ddyddiad go iawn"),
    "err_date_future": (
        "{label} must be today or in the past",
        "Rhaid i'r {label} fod heddiw neu yn y gorffennol",
    ),
    "err_date_part": ("{label} must include a {part}", "Rhaid i'r {label} gynnwys {part}"),
    "part_day": ("day", "diwrnod"),
    "part_month": ("month", "mis"),
    "part_year": ("year", "blwyddyn"),
    # a field's name inside those sentences (English at the start of a sentence; Welsh as it follows)
    "label_applicant": ("Your name", "eich enw"),
    "label_victim": ("The name", "yr enw"),
    "label_email": ("Your email address", "eich cyfeiriad e-bost"),
    "label_phone": ("Your phone number", "eich rhif ffôn"),
    "label_address": ("Your address", "eich cyfeiriad"),
    "label_postcode": ("Your postcode", "eich cod post"),
    "label_victim_address": ("Their address", "eu cyfeiriad"),
    "label_victim_postcode": ("Their postcode", "eu cod post"),
    "label_statement": ("Your answer", "eich ateb"),
    "label_accessibility": ("Your answer", "eich ateb"),
    "label_description": ("The description", "y disgrifiad"),
    "label_agency_ref": ("The reference number", "y cyfeirnod"),
    "label_occurred": ("The date it happened", "dyddiad y digwyddodd"),
    "label_reported": ("The date you reported it", "dyddiad y rhoesoch wybod amdano"),
    "label_consent_date": ("The date they gave permission", "dyddiad y gwnaethon nhw roi caniatâd"),
}

TEXT.update(TAKE_PART_TEXT)  # the forms of the case page: how to take part, a statement, a comment, an appeal


def sentence(text: str) -> str:
    """`text` with a capital first letter: a sentence may start with a name pasted from the policy in
    lower case ("the independent chair of ..."). Only that letter changes (Welsh "ll" becomes "Ll")."""
    return text[:1].upper() + text[1:]


def say(key: str, language: str, **values) -> str:
    """The text of `key` in `language` ("en" or "cy"), its placeholders filled."""
    english, welsh = TEXT[key]
    text = welsh if language == "cy" else english
    return text.format(**values) if values else text
