"""The ASB case review workflow, declared once as data (SPEC §1).

States and moves are a table; the guards that carry the law and the local procedure are plain
functions over the facts the caller gathered (`trigger.cases` reads them from the database), so the
workflow itself never opens a session. A transitions Machine decorates a small `CaseFlow` object,
never the SQLModel row (LIBRARIES.md §1.4), and is built per move with `auto_transitions=False`.
"""

from __future__ import annotations

from datetime import date

from transitions import Machine, MachineError

from trigger.errors import GuardRefused, IllegalMove

STATES = [
    "received",
    "threshold_not_met",
    "threshold_met",
    "in_review",
    "outcome_issued",
    "appealed",
    "closed",
    "withdrawn",
]
TERMINAL = ("closed", "withdrawn")
OPEN_STATES = [s for s in STATES if s not in TERMINAL]

# The command a user types for each trigger.
COMMANDS = {
    "decide": "decide",
    "assign": "assign",
    "issue_outcome": "outcome",
    "appeal": "appeal",
    "decide_appeal": "appeal-decision",
    "close": "close",
    "withdraw": "withdraw",
}

TRANSITIONS = [
    {"trigger": "decide", "source": "received", "dest": "threshold_met", "conditions": "met"},
    {"trigger": "decide", "source": "received", "dest": "threshold_not_met", "unless": "met"},
    {"trigger": "assign", "source": "threshold_met", "dest": "in_review"},
    {"trigger": "issue_outcome", "source": "in_review", "dest": "outcome_issued"},
    {"trigger": "appeal", "source": ["threshold_not_met", "outcome_issued"], "dest": "appealed"},
    # upheld against an outcome: the review is reopened
    {"trigger": "decide_appeal", "source": "appealed", "dest": "in_review",
     "conditions": ["upheld", "against_outcome"]},
    # upheld against a threshold decision: the threshold is met after all
    {"trigger": "decide_appeal", "source": "appealed", "dest": "threshold_met",
     "conditions": "upheld", "unless": "against_outcome"},
    # dismissed against an outcome: it stands and its actions are still monitored
    {"trigger": "decide_appeal", "source": "appealed", "dest": "outcome_issued",
     "conditions": "against_outcome", "unless": "upheld"},
    # dismissed against a threshold decision: the case closes
    {"trigger": "decide_appeal", "source": "appealed", "dest": "closed",
     "unless": ["upheld", "against_outcome"]},
    {"trigger": "close", "source": ["outcome_issued", "threshold_not_met"], "dest": "closed"},
    {"trigger": "withdraw", "source": OPEN_STATES, "dest": "withdrawn"},
]
TRIGGERS = list(COMMANDS)


# -- guards: facts in, GuardRefused out ----------------------------------------------------------------


def _guard_decide(f: dict) -> None:
    if f.get("rejection_category"):
        if not f.get("reason"):
            raise GuardRefused("a rejection needs the category and a reason (--reason)")
        if f.get("statutory_met"):
            # s.104(4): with the statutory count met the bodies must decide the threshold is met
            raise GuardRefused(
                f"cannot reject: {f['statutory_count']} qualifying complaints meet the statutory "
                f"threshold of {f['statutory_required']}, so the threshold must be decided met (s.104(4))"
            )
        return
    if not f["met"] and f.get("statutory_met"):
        # s.104(4): the relevant bodies *must* decide that the threshold is met
        raise GuardRefused(
            f"cannot decide not met: {f['statutory_count']} qualifying complaints meet the statutory "
            f"threshold of {f['statutory_required']}, so it must be decided met (s.104(4))"
        )
    if f["met"] and not f.get("route_met") and not f.get("reason"):
        # s.104(5): a discretionary decision below the threshold is the bodies' own and must say why
        raise GuardRefused(
            "the recorded complaints do not meet the threshold; a discretionary 'met' (s.104(5)) "
            "needs a reason (--reason)"
        )


def _guard_assign(f: dict) -> None:
    if not f.get("lead_agency"):
        raise GuardRefused("assigning a review needs a lead agency (--lead AGENCY)")
    if not f.get("reviewer"):
        raise GuardRefused("assigning a review needs a named reviewer (--reviewer NAME)")


def _guard_issue_outcome(f: dict) -> None:
    if not f.get("meeting_held"):
        raise GuardRefused(
            "the review meeting has not been held; record it first (trigger meeting REF --at ... --held)"
        )
    if f.get("findings", 0) < 1:
        raise GuardRefused("an outcome needs at least one finding (trigger finding REF --category ...)")
    if f.get("recommendations", 0) < 1 and not f.get("no_recommendations_reason"):
        raise GuardRefused(
            "an outcome needs at least one recommendation (trigger recommend ...) "
            "or --no-recommendations REASON"
        )


def _guard_appeal(f: dict) -> None:
    grounds = f.get("allowed_grounds") or {}
    if f.get("grounds") not in grounds:
        raise GuardRefused(
            f"{f.get('grounds')!r} is not a ground of appeal under this policy; "
            f"use one of: {', '.join(grounds)}"
        )
    window_end: date | None = f.get("window_end")
    if window_end and f["received"] > window_end and not f.get("late_reason"):
        raise GuardRefused(
            f"the appeal window closed on {window_end.isoformat()}; a late appeal needs --late-reason"
        )


def _guard_decide_appeal(f: dict) -> None:
    decider = (f.get("decided_by") or "").strip().casefold()
    if not decider:
        raise GuardRefused("an appeal decision needs the name of who decided it (--by NAME)")
    if not f.get("reason"):
        raise GuardRefused("an appeal decision needs a reason (--reason)")
    involved = {name.strip().casefold() for name in f.get("involved", ()) if name}
    if decider in involved:
        # LLR: an independent CSP chair, never anybody involved in the case or the local chair
        raise GuardRefused(
            f"{f['decided_by']} is recorded as involved in this case; the appeal must be decided by "
            "somebody independent of it"
        )


def _guard_close(f: dict) -> None:
    if f.get("force"):
        if not f.get("reason"):
            raise GuardRefused("closing with --force needs a reason (--reason)")
        return
    if f["state"] == "outcome_issued":
        window_end = f.get("window_end")
        if window_end and f["closing_on"] <= window_end and not f.get("appeal_decided"):
            raise GuardRefused(
                f"the appeal window runs until {window_end.isoformat()}; close after it, or --force with a reason"
            )
        if f.get("open_actions"):
            raise GuardRefused(
                f"{f['open_actions']} action(s) of the action plan are still open; "
                "finish or drop them, or --force with a reason"
            )
    if f["state"] == "threshold_not_met":
        window_end = f.get("window_end")
        if window_end and f["closing_on"] <= window_end:
            raise GuardRefused(
                f"the appeal window runs until {window_end.isoformat()}; close after it, or --force with a reason"
            )


def _guard_withdraw(f: dict) -> None:
    if not f.get("reason"):
        raise GuardRefused("a withdrawal needs the reason the applicant gave (--reason)")


GUARDS = {
    "decide": _guard_decide,
    "assign": _guard_assign,
    "issue_outcome": _guard_issue_outcome,
    "appeal": _guard_appeal,
    "decide_appeal": _guard_decide_appeal,
    "close": _guard_close,
    "withdraw": _guard_withdraw,
}


class CaseFlow:
    """The plain object the Machine decorates; carries only the state and the move's facts."""

    def __init__(self, state: str):
        self.state = state

    # conditions that choose the destination, read from the move's facts
    def met(self, event) -> bool:
        return bool(event.kwargs.get("met")) and not event.kwargs.get("rejection_category")

    def upheld(self, event) -> bool:
        return bool(event.kwargs.get("upheld"))

    def against_outcome(self, event) -> bool:
        return event.kwargs.get("against") == "outcome"


def _machine(flow: CaseFlow, machine_cls=Machine, **extra) -> Machine:
    return machine_cls(
        model=flow,
        states=STATES,
        transitions=TRANSITIONS,
        initial=flow.state,
        auto_transitions=False,
        send_event=True,
        **extra,
    )


def allowed_moves(state: str) -> list[str]:
    """The triggers defined from a state, in declaration order."""
    return [t for t in TRIGGERS if any(_sources(tr) & {state} for tr in TRANSITIONS if tr["trigger"] == t)]


def _sources(transition: dict) -> set[str]:
    source = transition["source"]
    return {source} if isinstance(source, str) else set(source)


def fire(state: str, trigger: str, **facts) -> str:
    """Apply one move to a state; return the new state or raise IllegalMove / GuardRefused."""
    if trigger not in GUARDS:
        raise IllegalMove(f"unknown move {trigger!r}")
    if trigger not in allowed_moves(state):
        allowed = ", ".join(COMMANDS[t] for t in allowed_moves(state)) or "none (the case is closed)"
        raise IllegalMove(
            f"cannot {COMMANDS[trigger]}: the case is {state}; allowed moves from {state}: {allowed}"
        )
    GUARDS[trigger]({**facts, "state": state})
    flow = CaseFlow(state)
    _machine(flow)
    try:
        moved = flow.trigger(trigger, **facts)
    except MachineError as exc:  # not reachable after the check above; kept for a clear message
        raise IllegalMove(str(exc)) from None
    if not moved:
        raise IllegalMove(f"cannot {COMMANDS[trigger]} from {state} with these facts")
    return flow.state


def mermaid() -> str:
    """The workflow as a Mermaid state diagram, from the same definition."""
    from transitions.extensions import GraphMachine

    flow = CaseFlow("received")
    machine = _machine(flow, GraphMachine, graph_engine="mermaid", title="ASB case review")
    text = flow.get_graph().draw(None)
    del machine
    # drop the "current state" highlight: the diagram describes the process, not one case
    return "\n".join(line for line in text.splitlines() if not line.strip().startswith("Class "))
