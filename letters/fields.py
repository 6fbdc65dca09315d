"""The documented letter context (`FIELDS`), what each letter kind must show (`REQUIRED`), and the
dotted paths into the context that a template reads: what `letters.check` holds a partnership's own
templates to, and what the renderer names when a template uses a field that does not exist."""

from __future__ import annotations

from jinja2 import Environment, TemplateError, meta, nodes

# -- the documented context ---------------------------------------------------------------------------
# A dict is a record with these keys; [item] is a list of such items; None is a plain value.

_INCIDENT = {
    "id": None,
    "occurred": None,
    "reported": None,
    "agency": None,
    "reason": None,
    "why": None,  # after_application, late, stale, same (or None): why it was not counted
    "days": None,
    "same_as": None,
}
FIELDS: dict = {
    "letter": {
        "kind": None,
        "date": None,
        "format": None,
        "bilingual": None,
        "language": None,
        "title": None,
        "title_cy": None,
    },
    "partnership": {"name": None, "name_cy": None, "area": None, "nation": None, "policy": None},
    "letterhead": {"logo": None, "address": [None], "telephone": None, "web": None},
    "reference": None,
    "spoc": {"name": None, "person": None, "role": None, "email": None},
    # copy_of: on the victim's copy (`--to victim`), the applicant the letter was written to
    "recipient": {"name": None, "address": [None], "is_agency": None, "copy_of": None},
    "applicant": {"name": None, "initials": None},
    "victim": {"name": None, "third_party": None, "consent_date": None},
    "case": {"received": None, "channel": None, "state": None, "statement": None, "decided": None},
    # s.104(3): the relevant bodies the application was passed to (names), those not yet, and whether all
    "sharing": {"all": None, "told": [None], "not_recorded": [None], "not_told": [None]},
    "next_step": {"what": None, "due": None},
    "threshold": {
        "decided": None,
        "by_appeal": None,
        "local_routes": [None],
        "local_route_facts": [
            {
                "route": None,
                "met": None,
                "complaint": None,
                "strand": None,
                "caveat": None,
                "people": None,
                "needed": None,
                "occurred": None,
                "complaints": [None],
            }
        ],
        "met": None,
        "route": None,
        "route_text": None,
        "reason": None,
        "rejection_category": None,
        "required": None,
        "counted": [_INCIDENT],
        "excluded": [_INCIDENT],
    },
    "review": {"lead_agency": None, "reviewer": None, "due": None},
    "meeting": {
        "date": None,
        "at": None,
        "held": None,
        "place": None,  # where to come in person
        "link": None,  # the joining link (online)
        "phone": None,  # the telephone to join by
        "reply_by": None,
        "victim_involvement": None,
        "outcome_letter_due": None,
    },
    "outcome": {
        "issued": None,
        "findings": [{"code": None, "category": None, "text": None}],
        "recommendations": [{"to": None, "text": None, "response": None}],
        "no_recommendations_reason": None,
        "victim_consulted": None,
        "actions": [
            {"number": None, "action": None, "owner": None, "due": None, "status": None, "status_label": None}
        ],
    },
    "appeal_route": {
        "body": None,
        "decider": None,  # who decides an appeal, after their name: a role and the body they act for
        "against": None,
        "grounds": [{"code": None, "text": None}],
        "last_day": None,
        "window": None,
        "window_count": None,
        "window_unit": None,
        "final": None,
    },
    "appeal": {
        "received": None,
        "against": None,
        "against_code": None,
        "grounds": None,
        "grounds_text": None,
        "due": None,
        "decided_on": None,
        "upheld": None,
        "decided_by": None,
        "reason": None,
    },
    "delay": {"stage": None, "step": None, "due": None, "until": None, "reason": None},
    "information_request": {"agency": None, "agency_code": None, "requested": None, "due": None},
    "online": {"link": None},
    "closure": {"closed_on": None, "reason": None, "after": None},
}

# What each letter must show (docs/procedure.md#informing-the-applicant); one left out is refused.
_COMMON = ("reference", "spoc.name", "letter.date", "recipient.name")
REQUIRED: dict[str, tuple[str, ...]] = {
    "acknowledgement": (*_COMMON, "case.received", "next_step.due"),
    "information_request": (*_COMMON, "information_request.agency", "information_request.due"),
    "threshold_met": (*_COMMON, "threshold.decided", "review.due"),
    "threshold_not_met": (
        *_COMMON,
        "threshold.decided",
        "threshold.counted",
        "threshold.excluded",
        "appeal_route.body",
        "appeal_route.last_day",
    ),
    "rejection": (
        *_COMMON,
        "threshold.rejection_category",
        "threshold.reason",
        "appeal_route.body",
        "appeal_route.last_day",
    ),
    "meeting_invitation": (*_COMMON, "meeting.date", "meeting.at"),
    "delay": (*_COMMON, "delay.due", "delay.until"),
    "outcome": (
        *_COMMON,
        "outcome.findings",
        "outcome.recommendations",
        "outcome.actions",
        "appeal_route.body",
        "appeal_route.last_day",
    ),
    "appeal_acknowledgement": (*_COMMON, "appeal.received", "appeal.due"),
    "appeal_outcome": (*_COMMON, "appeal.decided_on", "appeal.upheld", "appeal.reason"),
    "closure": (*_COMMON, "closure.closed_on", "closure.reason"),
}


def _walk_paths(node: nodes.Node, roots: set[str], scope: dict[str, tuple], out: set[tuple]) -> None:
    """Collect the dotted paths into the context that a template reads (`outcome.actions[].owner`)."""

    def path_of(n) -> tuple | None:
        if isinstance(n, nodes.Name):
            if n.name in scope:
                return scope[n.name]
            return (n.name,) if n.name in roots else None
        if isinstance(n, nodes.Getattr):
            base = path_of(n.node)
            return (*base, n.attr) if base is not None else None
        if isinstance(n, nodes.Getitem) and isinstance(n.arg, nodes.Const):
            base = path_of(n.node)
            if base is None:
                return None
            # a string key reads a field; a number indexes a list (`outcome.actions[0]`)
            return base + ((n.arg.value,) if isinstance(n.arg.value, str) else ("[]",))
        return None

    if isinstance(node, nodes.For):
        _walk_paths(node.iter, roots, scope, out)
        inner = dict(scope)
        src = path_of(node.iter)
        if isinstance(node.target, nodes.Name):
            if src is not None:
                inner[node.target.name] = (*src, "[]")
            else:
                inner.pop(node.target.name, None)
        for child in node.body + node.else_:
            _walk_paths(child, roots, inner, out)
        if node.test is not None:
            _walk_paths(node.test, roots, inner, out)
        return
    if isinstance(node, (nodes.Getattr, nodes.Getitem, nodes.Name)) and not (
        isinstance(node, nodes.Name) and node.ctx != "load"
    ):
        p = path_of(node)
        if p is not None:
            out.add(p)
            if isinstance(node, nodes.Getitem):
                _walk_paths(node.arg, roots, scope, out)
            return
    for child in node.iter_child_nodes():
        _walk_paths(child, roots, scope, out)


def unknown_field(path: tuple) -> str | None:
    """None when the path is in FIELDS, else the dotted path up to the unknown part."""
    spec = FIELDS
    shown: list[str] = []
    for part in path:
        if isinstance(spec, list):
            if part != "[]":
                return None  # an attribute of a list (e.g. a filter's result): not ours to judge
            spec = spec[0]
            shown[-1] += "[]"
            continue
        if not isinstance(spec, dict):
            return None  # a method or attribute of a plain value; the sandbox judges its safety
        if part not in spec:
            return ".".join([*shown, part])
        shown.append(part)
        spec = spec[part]
    return None


def referenced(ast: nodes.Template) -> list[str]:
    names = []
    for node in ast.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)):
        target = getattr(node, "template", None)
        if isinstance(target, nodes.Const) and isinstance(target.value, str):
            names.append(target.value)
    return names


# The Welsh partials appear only in bilingual letters: they do not make an English letter complete.
WELSH_PARTIALS = frozenset({"_appeal_cy.html", "_signpost_cy.html", "_shared_cy.html"})


def template_paths(env: Environment, name: str, seen: set[str], skip: frozenset = frozenset()) -> set[tuple]:
    """The paths a template reads, with those of the templates it extends, includes or imports."""
    if name in seen or name in skip:
        return set()
    seen.add(name)
    assert env.loader is not None  # every environment here is built with a loader
    source, _, _ = env.loader.get_source(env, name)
    ast = env.parse(source, name)
    macros = {m.name for m in ast.find_all(nodes.Macro)}  # a template's own macros are not context fields
    roots = set(meta.find_undeclared_variables(ast)) - set(env.globals) - macros
    out: set[tuple] = set()
    _walk_paths(ast, roots, {}, out)
    for ref in referenced(ast):
        try:
            out |= template_paths(env, ref, seen, skip)
        except TemplateError:
            pass  # reported when that template is checked itself
    return out
