"""The questions of the online application, one a page (GOV.UK's "one thing per page"), in order:

    who -> victim (someone else, a business, a group) -> consent (someone else) -> name -> contact
    -> language -> incident/1 ... -> incidents -> statement -> accessibility -> share -> check

Each page shows the answers kept in the applicant's draft, and takes its own: the engine checks them
(`trigger.cases.online`), this module keeps what passed and says which page comes next (the first
question not yet answered, so that a changed answer leads to the questions it opens, then back to
check your answers).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal, overload

from letters.glossary import welsh_name
from trigger.cases import online
from trigger.codes import HATE_STRANDS
from trigger.rules.dates import long_date
from trigger.web import forms
from trigger.web.drafts import Draft
from trigger.web.forms import Problems
from trigger.web.words import say

DATES = ("occurred", "reported", "consent_date")  # date inputs: their error links go to the day box


@dataclass(frozen=True)
class Page:
    name: str
    template: str
    number: int | None = None  # an incident's number


ORDER = (
    "who",
    "victim",
    "consent",
    "name",
    "contact",
    "language",
    "incident",
    "incidents",
    "statement",
    "accessibility",
    "share",
    "check",
)


@overload
def page(name: Literal["check"], number: None) -> Page: ...
@overload
def page(name: str, number: int | None) -> Page | None: ...
def page(name: str, number: int | None) -> Page | None:
    """The page of that name (and complaint number, for `incident`), or None: no such page."""
    if name not in ORDER or (name == "incident") != (number is not None):
        return None
    return Page(name, f"{name}.html", number)


# the page that asks each answer, for a mistake found only when the whole application is sent
PAGE_OF = {
    "who": "who",
    "victim": "victim",
    "victim_address": "victim",
    "victim_postcode": "victim",
    "authorised": "victim",
    "consent_method": "consent",
    "consent_date": "consent",
    "applicant": "name",
    "preferred_contact": "contact",
    "email": "contact",
    "phone": "contact",
    "address": "contact",
    "postcode": "contact",
    "language": "language",
    "statement": "statement",
    "accessibility": "accessibility",
    "share_consent": "share",
}


def page_of(name: str) -> str:
    return PAGE_OF.get(name, "incidents")


def anchor(name: str) -> str:
    return f"{name}-day" if name in DATES else name


def _applies(name: str, draft: Draft) -> bool:
    who = draft.answers.get("who")
    if name == "victim":
        return who in ("behalf", "business", "community_group")
    if name == "consent":
        return who == "behalf"
    return True


def _answered(name: str, draft: Draft) -> bool:
    a = draft.answers
    done = {
        "who": "who" in a,
        "victim": bool(a.get("victim")) and (a.get("who") == "behalf" or bool(a.get("authorised"))),
        "consent": bool(a.get("consent_method")) and bool(a.get("consent_date")),
        "name": bool(a.get("applicant")),
        "contact": bool(a.get("preferred_contact")),
        "language": bool(a.get("language")),
        "incident": bool(draft.incidents),
        "incidents": bool(a.get("incidents_done")) and bool(draft.incidents),
        "statement": bool(a.get("statement")),
        "accessibility": "accessibility" in a,
        "share": bool(a.get("share_consent")),
        "check": False,
    }
    return done[name]


def _slug(name: str, draft: Draft) -> str:
    return f"incident/{len(draft.incidents) + 1}" if name == "incident" else name


def next_open(draft: Draft) -> str:
    """The first question not yet answered (check your answers when all are)."""
    for name in ORDER:
        if _applies(name, draft) and not _answered(name, draft):
            return _slug(name, draft)
    return "check"


def allowed(p: Page, draft: Draft) -> str | None:
    """None when the page may be shown now; else where to go instead (a question that does not apply,
    or one beyond the first unanswered)."""
    if not _applies(p.name, draft):
        return next_open(draft)
    if p.name == "incident":
        if p.number is None or not 1 <= p.number <= len(draft.incidents) + 1:
            return next_open(draft)
        if p.number == len(draft.incidents) + 1 and len(draft.incidents) >= online.MAX_COMPLAINTS:
            return "incidents"
    first = next_open(draft).split("/")[0]
    if ORDER.index(p.name) > ORDER.index(first):
        return next_open(draft)
    return None


def _back(p: Page, draft: Draft) -> str:
    if p.name == "incident" and draft.incidents:
        return "incidents"
    earlier = [n for n in ORDER[: ORDER.index(p.name)] if _applies(n, draft) and n != "incident"]
    if p.name == "statement":
        return "incidents"
    return earlier[-1] if earlier else ""


# -- showing a page ------------------------------------------------------------------------------------


def _day_text(iso: str | None, language: str) -> str:
    if not iso:
        return ""
    return long_date(date.fromisoformat(iso), language)


def agency_name(door: online.Door, code: str, language: str) -> str:
    name = dict(door.agencies).get(code, code)
    return welsh_name(name) if language == "cy" else name


def show(p: Page, draft: Draft, door: online.Door, language: str, form=None) -> dict:
    """What a page's template needs: its answers so far (or as just typed, with their mistakes)."""
    base = f"/apply/{door.code}"
    back = _back(p, draft)
    context: dict = {"back": f"{base}/{back}" if back else base}
    a = draft.answers
    if p.name == "incident":
        existing = draft.incidents[p.number - 1] if p.number and p.number <= len(draft.incidents) else None
        values = dict(existing or {})
        for name in ("occurred", "reported"):
            values[name] = forms.parts_of(values.get(name))
        context.update(
            n=p.number,
            existing=existing is not None,
            agencies=[(code, agency_name(door, code, language)) for code, _ in door.agencies],
            strands=HATE_STRANDS,
        )
    elif p.name == "incidents":
        context.update(
            incidents=[
                {
                    "occurred_text": _day_text(i["occurred"], language),
                    "agency_name": agency_name(door, i["agency"], language),
                }
                for i in draft.incidents
            ],
            full=len(draft.incidents) >= online.MAX_COMPLAINTS,
            most=online.MAX_COMPLAINTS,
        )
        values = {}
    elif p.name == "check":
        context["sections"] = _sections(draft, door, language)
        values = {}
    else:
        values = dict(a)
        if p.name == "consent":
            values["consent_date"] = forms.parts_of(a.get("consent_date"))
        if p.name == "language" and not values.get("language"):
            values["language"] = language
        context["who"] = a.get("who")
    if form is not None:  # the answers as typed, shown again with their mistakes
        values = {key: form.get(key) for key in form.keys() if key not in ("csrf_token", "website")}
        for name in DATES:
            if f"{name}-day" in form:
                values[name] = {part: form.get(f"{name}-{part}", "") for part in ("day", "month", "year")}
        for box in ("authorised", "share_consent"):
            values[box] = form.get(box) == "yes"
    context["values"] = values
    return context


# -- taking a page's answers ---------------------------------------------------------------------------


def _field(problems: Problems, name: str, value, variant: str = ""):
    try:
        return online.check_field(name, value)
    except online.FieldProblem as exc:
        problems.refused(exc.field, exc, variant)
        return None


def take(p: Page, form, draft: Draft, door: online.Door, problems: Problems) -> str:
    """Check and keep a page's answers; the page that comes next (nothing is kept when `problems`)."""
    a = draft.answers
    text = forms.text
    if p.name == "who":
        try:
            a["who"] = online.check_choice("who", text(form, "who"), online.WHO)
        except online.FieldProblem as exc:
            problems.refused(exc.field, exc)
    elif p.name == "victim":
        who = a.get("who", "behalf")
        victim = _field(problems, "victim", text(form, "victim"), who)
        if victim is None and "victim" not in problems.messages:
            problems.add("victim", say(f"err_victim_required_{who}", problems.language))
        authorised = form.get("authorised") == "yes"
        if who != "behalf" and not authorised:
            problems.add("authorised", say("err_authorised_required", problems.language))
        # the person's own address, apart from the applicant's (asked only of someone applying for them)
        home = {
            name: _field(problems, name, (text(form, name) or "").strip() or None)
            if who == "behalf"
            else None
            for name in ("victim_address", "victim_postcode")
        }
        if not problems:
            a.update(victim=victim, authorised=authorised, **home)
    elif p.name == "consent":
        try:
            method = online.check_choice(
                "consent_method", text(form, "consent_method"), online.CONSENT_METHODS
            )
        except online.FieldProblem as exc:
            problems.refused(exc.field, exc)
            method = None
        given, _parts = forms.day(form, "consent_date", problems)
        if given is not None:
            try:
                online.check_consent(given)
            except online.FieldProblem as exc:
                problems.refused(exc.field, exc)
        if not problems:
            a.update(consent_method=method, consent_date=given.isoformat() if given else None)
    elif p.name == "name":
        applicant = _field(problems, "applicant", text(form, "applicant"))
        if not problems:
            a["applicant"] = applicant
    elif p.name == "contact":
        _contact(form, a, problems)
    elif p.name == "language":
        try:
            a["language"] = online.check_choice("language", text(form, "language"), ("en", "cy"))
        except online.FieldProblem as exc:
            problems.refused(exc.field, exc)
    elif p.name == "incident":
        return _incident(p, form, draft, door, problems)
    elif p.name == "incidents":
        another = text(form, "another")
        if another not in ("yes", "no"):
            problems.add("another", say("err_another_required", problems.language))
        elif another == "yes" and len(draft.incidents) < online.MAX_COMPLAINTS:
            a["incidents_done"] = False
            return f"incident/{len(draft.incidents) + 1}"
        else:
            a["incidents_done"] = True
    elif p.name == "statement":
        statement = _field(problems, "statement", text(form, "statement"))
        if not problems:
            a["statement"] = statement
    elif p.name == "accessibility":
        needs = _field(problems, "accessibility", (text(form, "accessibility") or "").strip() or None)
        if not problems:
            a["accessibility"] = needs or ""
    elif p.name == "share":
        if form.get("share_consent") != "yes":
            problems.add("share_consent", say("err_share_consent_required", problems.language))
        else:
            a["share_consent"] = True
    return next_open(draft)


def _contact(form, a: dict, problems: Problems) -> None:
    given = {
        name: (forms.text(form, name) or "").strip() or None
        for name in ("email", "phone", "address", "postcode")
    }
    try:
        preferred = online.check_choice(
            "preferred_contact", forms.text(form, "preferred_contact"), online.PREFERRED
        )
    except online.FieldProblem as exc:
        problems.refused(exc.field, exc)
        preferred = None
    cleaned = {name: _field(problems, name, value) for name, value in given.items()}
    if preferred and not problems:
        try:
            online.check_contact(preferred, **cleaned)
        except online.FieldProblem as exc:
            problems.refused(exc.field, exc)
    if not problems:
        a.update(preferred_contact=preferred, **cleaned)


def _incident(p: Page, form, draft: Draft, door: online.Door, problems: Problems) -> str:
    index = (p.number or 1) - 1
    if form.get("remove") == "yes" and index < len(draft.incidents):
        del draft.incidents[index]
        return "incidents" if draft.incidents else next_open(draft)
    text = forms.text
    description = (text(form, "description") or "").strip()
    if not description:
        problems.add("description", say("err_description_required", problems.language))
    occurred, _ = forms.day(form, "occurred", problems)
    reported, _ = forms.day(form, "reported", problems)
    agency = text(form, "agency")
    if agency not in dict(door.agencies):
        problems.add("agency", say("err_agency_required", problems.language))
    hate = text(form, "hate")
    if hate not in ("no", "unsure", *HATE_STRANDS):
        problems.add("hate", say("err_hate_required", problems.language))
    if problems or occurred is None or reported is None or agency is None:  # each None added a problem
        return ""
    complaint = online.Complaint(
        occurred=occurred,
        reported=reported,
        agency=agency,
        description=description,
        agency_ref=(text(form, "agency_ref") or "").strip() or None,
        hate=hate if hate in HATE_STRANDS else None,
    )
    try:
        online.check_complaint(door, complaint)
    except online.FieldProblem as exc:
        problems.refused(exc.field, exc)
        return ""
    kept = {
        "description": description,
        "occurred": occurred.isoformat(),
        "reported": reported.isoformat(),
        "agency": agency,
        "agency_ref": complaint.agency_ref,
        "hate": hate,
    }
    if index < len(draft.incidents):
        draft.incidents[index] = kept
    else:
        draft.incidents.append(kept)
    return "incidents" if not draft.answers.get("incidents_done") else next_open(draft)


# -- the whole application, and what the applicant is told ---------------------------------------------


def application(draft: Draft) -> online.Application:
    a = draft.answers
    consent_date = a.get("consent_date")
    return online.Application(
        who=a.get("who", ""),
        applicant=a.get("applicant", ""),
        statement=a.get("statement", ""),
        preferred_contact=a.get("preferred_contact", ""),
        language=a.get("language", "en"),
        share_consent=bool(a.get("share_consent")),
        complaints=tuple(
            online.Complaint(
                occurred=date.fromisoformat(i["occurred"]),
                reported=date.fromisoformat(i["reported"]),
                agency=i["agency"],
                description=i["description"],
                agency_ref=i.get("agency_ref"),
                hate=i["hate"] if i.get("hate") in HATE_STRANDS else None,
            )
            for i in draft.incidents
        ),
        victim=a.get("victim") if a.get("who") != "victim" else None,
        victim_address=a.get("victim_address") if a.get("who") == "behalf" else None,
        victim_postcode=a.get("victim_postcode") if a.get("who") == "behalf" else None,
        consent_date=date.fromisoformat(consent_date) if consent_date else None,
        consent_method=a.get("consent_method"),
        email=a.get("email"),
        phone=a.get("phone"),
        address=a.get("address"),
        postcode=a.get("postcode"),
        accessibility=a.get("accessibility") or None,
    )


def _sections(draft: Draft, door: online.Door, language: str) -> list[dict]:
    def t(key, **values):
        return say(key, language, **values)

    a = draft.answers
    base = f"/apply/{door.code}"
    who = a.get("who", "victim")
    about = [{"key": t("key_who"), "lines": [t(f"who_{who}")], "href": f"{base}/who"}]
    if who != "victim":
        about.append({"key": t("key_victim"), "lines": [a.get("victim", "")], "href": f"{base}/victim"})
    home = [a[name] for name in ("victim_address", "victim_postcode") if who == "behalf" and a.get(name)]
    if home:
        about.append({"key": t("key_victim_address"), "lines": home, "href": f"{base}/victim"})
    if who == "behalf":
        method = t(f"consent_{a.get('consent_method', 'writing')}")
        when = _day_text(a.get("consent_date"), language)
        about.append(
            {
                "key": t("key_consent"),
                "lines": [t("consent_on", method=method, date=when)],
                "href": f"{base}/consent",
            }
        )
    elif who != "victim":
        about.append({"key": t("key_authorised"), "lines": [t("authorised")], "href": f"{base}/victim"})
    how = a.get("preferred_contact", "email")
    contact_lines = [t(f"contact_{how}")]
    contact_lines += [a[name] for name in ("email", "phone", "address", "postcode") if a.get(name)]
    you = [
        {"key": t("key_applicant"), "lines": [a.get("applicant", "")], "href": f"{base}/name"},
        {"key": t("key_contact"), "lines": contact_lines, "href": f"{base}/contact"},
        {
            "key": t("key_language"),
            "lines": [t(f"language_{a.get('language', 'en')}")],
            "href": f"{base}/language",
        },
    ]
    incidents = []
    for n, i in enumerate(draft.incidents, start=1):
        lines = [
            t("occurred_on", date=_day_text(i["occurred"], language)),
            t(
                "reported_on",
                date=_day_text(i["reported"], language),
                agency=agency_name(door, i["agency"], language),
            ),
        ]
        if i.get("agency_ref"):
            lines.append(t("reference_given", ref=i["agency_ref"]))
        answer = t("hate_" + i["hate"])
        lines.append(f"{t('hate_question')} {answer}")
        lines.append(i["description"])
        incidents.append({"key": t("incident_title", n=n), "lines": lines, "href": f"{base}/incident/{n}"})
    reasons = [
        {"key": t("key_statement"), "lines": [a.get("statement", "")], "href": f"{base}/statement"},
        {
            "key": t("key_accessibility"),
            "lines": [a.get("accessibility") or t("none_given")],
            "href": f"{base}/accessibility",
        },
        {"key": t("key_share"), "lines": [t("agreed")], "href": f"{base}/share"},
    ]
    return [
        {"title": t("check_about"), "rows": about},
        {"title": t("check_you"), "rows": you},
        {"title": t("check_incidents"), "rows": incidents},
        {"title": t("check_reasons"), "rows": reasons},
    ]


def confirmation(receipt: online.Receipt, language: str) -> dict:
    span = receipt.review_span
    key = ("span_wd" if span.unit == "wd" else "span_d") + ("_1" if span.count == 1 else "")
    return {
        "receipt": receipt,
        "acknowledge_by": _day_text(receipt.acknowledge_by.isoformat(), language)
        if receipt.acknowledge_by
        else "",
        "decision_by": _day_text(receipt.decision_by.isoformat(), language) if receipt.decision_by else "",
        "review_span": say(key, language, n=span.count),
        "back": None,
    }
