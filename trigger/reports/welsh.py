"""The Welsh of the published annual return (the page, the tidy table's labels), for a partnership under
a Welsh policy: bilingual, Welsh first, as the letters are (Welsh Language Standards).

The procedure's terms are the letters' and the applicant's door's (letters/templates/glossary.toml,
trigger/web/words.py): Adolygiad Achos Ymddygiad Gwrthgymdeithasol, trothwy, cais, apêl, argymhellion,
canlyniad, y Sbardun Cymunedol; the Act's Welsh title as the letters give it. The rest is plain
public-sector Welsh written for these pages; a translator should confirm it before a council relies on
it. Codes (measures, sections, deadline kinds) stay English: they are for machines, not readers.
"""

from __future__ import annotations

ALL_PARTNERSHIPS = "Pob partneriaeth"

# -- the tidy table's labels (English in trigger.reports.annual and .publish) ---------------------------

LABELS = {
    "applications": "Ceisiadau a ddaeth i law",
    "threshold_not_met": "Sawl gwaith na chyrhaeddwyd y trothwy (gan gynnwys ceisiadau a wrthodwyd)",
    "reviews_carried_out": "Adolygiadau Achos Ymddygiad Gwrthgymdeithasol a gynhaliwyd",
    "reviews_with_recommendations": "Adolygiadau a arweiniodd at argymhellion",
    "threshold_decisions": "Penderfyniadau ar y trothwy a wnaed",
    "threshold_met": "Penderfynwyd bod y trothwy wedi'i gyrraedd",
    "discretionary_below_threshold": "O'r rhain, yn ôl disgresiwn, islaw'r trothwy (adran 104(5))",
    "rejections": "Ceisiadau a wrthodwyd (blinderus ac ati; wedi'u cyfrif fel heb gyrraedd y trothwy)",
    "withdrawals": "Ceisiadau a dynnwyd yn ôl gan yr ymgeisydd",
    "appeals": "Apeliadau a gyflwynwyd",
    "appeals_against_threshold": "Apeliadau yn erbyn penderfyniad y trothwy",
    "appeals_against_outcome": "Apeliadau yn erbyn canlyniad adolygiad",
    "appeals_decided": "Apeliadau y penderfynwyd arnynt",
    "appeals_upheld": "Apeliadau a gafodd eu cynnal",
}
# each completes "Canolrif y dyddiau, ..." (median days) and "Achosion yn y canolrif: ..."
STAGES = {
    "received_to_decision": "o ddod i law i benderfyniad y trothwy",
    "decision_to_outcome": "o gyrraedd y trothwy i'r canlyniad",
    "received_to_outcome": "o ddod i law i'r canlyniad",
    "appeal_to_decision": "o gyflwyno'r apêl i'r penderfyniad",
}
MEDIAN = "Canolrif y dyddiau, {stage}"
IN_MEDIAN = "Achosion yn y canolrif: {stage}"
LEAD_REVIEWS = "Adolygiadau dan arweiniad {name}"
LEAD_SHARE = "Cyfran dan arweiniad {name} (%)"
CHANNEL = "Ceisiadau: {channel}"
CHANNELS = {
    "online": "ar-lein",
    "phone": "dros y ffôn",
    "letter": "drwy lythyr",
    "email": "drwy e-bost",
    "in_person": "yn bersonol",
    "assisted": "gyda chymorth",
}
RESPONSES = {
    "accepted": "Argymhellion a dderbyniwyd gan y corff",
    "declined": "Argymhellion a wrthodwyd gan y corff",
    "awaiting": "Argymhellion sy'n aros am ymateb y corff",
}

# -- the page ---------------------------------------------------------------------------------------------

SECTIONS = {
    "statutory": "Y ffigurau statudol",
    "activity": "Penderfyniadau, ceisiadau a dynnwyd yn ôl ac apeliadau",
    "timeliness": "Amseroldeb",
    "lead agency": "Asiantaethau arweiniol",
    "channel": "Sut y gwnaed ceisiadau",
    "recommendations": "Ymatebion i argymhellion",
}
SHORT = {
    "applications": "Ceisiadau",
    "threshold_not_met": "Heb ei gyrraedd",
    "reviews_carried_out": "Adolygiadau",
    "reviews_with_recommendations": "Gydag argymhellion",
}
FEWER_THAN_5_CASES = "llai na 5 achos"


def of_cases(n: str) -> str:
    """The Welsh of "of 3 cases": Welsh counts with the singular noun, whatever the number."""
    return f"o {n} achos"


def quarter(code: str) -> str:
    """`Q1` -> `Ch1`: the quarter as Welsh statistics abbreviate it (Chwarter 1)."""
    return "Ch" + code[1:]


def period(label: str) -> str:
    """A period's label in Welsh: `2025/26` as it is, `2025-04-01 to 2025-09-30` with "i"."""
    return label.replace(" to ", " i ")
