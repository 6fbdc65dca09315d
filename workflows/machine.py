"""The ASB case review workflow, declared once as data: the one place that knows the states.

States and moves are a table; the guards that carry the law and the local procedure are plain
functions over a typed, frozen facts object the caller gathered (`trigger.cases.moves` reads them from the
database), so the workflow itself never opens a session. A transitions Machine decorates a small
`CaseFlow` object, never the SQLModel row (pydantic refuses the methods transitions adds), and is
built per move with `auto_transitions=False` so that no state can be reached but by a declared move.

Besides the moves this module says which states are terminal (`TERMINAL`), in which states review
work may be recorded (`REVIEW_WORK_STATES`) and which letters each state allows (`LETTER_STATES`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from transitions import EventData, Machine, MachineError

from trigger.checks import name_key
from trigger.errors import GuardRefused, IllegalMove


class State(StrEnum):
    """The states of a case. A member is its value, the string stored in `review_case.state` and
    printed in JSON: `State.CLOSED == "closed"`."""

    RECEIVED = "received"
    THRESHOLD_NOT_MET = "threshold_not_met"
    THRESHOLD_MET = "threshold_met"
    IN_REVIEW = "in_review"
    OUTCOME_ISSUED = "outcome_issued"
    APPEALED = "appealed"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"


# The states in order, as plain strings: transitions would name an Enum state by its member's name
# (`CLOSED`), so the machine below is given the values.
STATES = [state.value for state in State]
TERMINAL = (State.CLOSED, State.WITHDRAWN)
OPEN_STATES = [s for s in STATES if s not in TERMINAL]
# evidence, hours, the meeting, findings, recommendations and actions are recorded once the threshold
# is met, and the action plan is still monitored after the outcome and during an appeal
REVIEW_WORK_STATES = (State.THRESHOLD_MET, State.IN_REVIEW, State.OUTCOME_ISSUED, State.APPEALED)
# an appeal lies against a not-met decision or an outcome (Sch 4 para 3; docs/procedure.md#appeals)
APPEALABLE_STATES = (State.THRESHOLD_NOT_MET, State.OUTCOME_ISSUED)
# the stages a case goes through as the applicant is told them (their case page, the notices that
# something changed), and the stage of each state (docs/operations.md#the-applicants-link)
APPLICANT_STAGES = ("received", "threshold", "review", "outcome", "appeal", "closed")
APPLICANT_STAGE_OF = {
    "received": "threshold",  # received, and the threshold is being decided
    "threshold_met": "review",
    "in_review": "review",
    "threshold_not_met": "outcome",  # the decision is the outcome of the application
    "outcome_issued": "outcome",
    "appealed": "appeal",
    "closed": "closed",
    "withdrawn": "closed",
}

_DECIDED = tuple(s for s in State if s != State.RECEIVED)
# Which letters each state allows: a letter about a step the case has not reached is never sent. The
# facts (a decision recorded, a meeting scheduled...) are checked by `trigger.correspondence.eligibility` too.
LETTER_STATES: dict[str, tuple[str, ...]] = {
    "acknowledgement": tuple(State),
    "information_request": tuple(State(s) for s in OPEN_STATES),
    "threshold_met": tuple(s for s in _DECIDED if s != State.THRESHOLD_NOT_MET),
    "threshold_not_met": (State.THRESHOLD_NOT_MET, State.APPEALED, *TERMINAL),
    "rejection": (State.THRESHOLD_NOT_MET, State.APPEALED, *TERMINAL),
    "meeting_invitation": REVIEW_WORK_STATES,
    # a delay notice is about a step still pending: the decision, the review or the appeal decision
    "delay": (State.RECEIVED, State.THRESHOLD_MET, State.IN_REVIEW, State.APPEALED),
    "outcome": (State.OUTCOME_ISSUED, State.APPEALED, *TERMINAL),
    "appeal_acknowledgement": (
        State.APPEALED,
        State.THRESHOLD_MET,
        State.IN_REVIEW,
        State.OUTCOME_ISSUED,
        *TERMINAL,
    ),
    "appeal_outcome": (State.THRESHOLD_MET, State.IN_REVIEW, State.OUTCOME_ISSUED, *TERMINAL),
    "closure": (State.CLOSED,),
}

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

TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "decide", "source": "received", "dest": "threshold_met", "conditions": "met"},
    {"trigger": "decide", "source": "received", "dest": "threshold_not_met", "unless": "met"},
    {"trigger": "assign", "source": "threshold_met", "dest": "in_review"},
    {"trigger": "issue_outcome", "source": "in_review", "dest": "outcome_issued"},
    {"trigger": "appeal", "source": ["threshold_not_met", "outcome_issued"], "dest": "appealed"},
    # upheld against an outcome: the review is reopened
    {
        "trigger": "decide_appeal",
        "source": "appealed",
        "dest": "in_review",
        "conditions": ["upheld", "against_outcome"],
    },
    # upheld against a threshold decision: the threshold is met after all
    {
        "trigger": "decide_appeal",
        "source": "appealed",
        "dest": "threshold_met",
        "conditions": "upheld",
        "unless": "against_outcome",
    },
    # dismissed against an outcome: it stands and its actions are still monitored
    {
        "trigger": "decide_appeal",
        "source": "appealed",
        "dest": "outcome_issued",
        "conditions": "against_outcome",
        "unless": "upheld",
    },
    # dismissed against a threshold decision: the case closes
    {
        "trigger": "decide_appeal",
        "source": "appealed",
        "dest": "closed",
        "unless": ["upheld", "against_outcome"],
    },
    {"trigger": "close", "source": ["outcome_issued", "threshold_not_met"], "dest": "closed"},
    {"trigger": "withdraw", "source": OPEN_STATES, "dest": "withdrawn"},
]
TRIGGERS = list(COMMANDS)


# -- the facts each move is judged on ---------------------------------------------------------------


@dataclass(frozen=True)
class DecideFacts:
    met: bool
    statutory_met: bool  # s.104(4): the qualifying complaints reach the policy's number
    statutory_count: int
    statutory_required: int
    route_met: bool  # the statutory or a local route is met
    rejection_category: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class AssignFacts:
    lead_agency: str | None
    reviewer: str


@dataclass(frozen=True)
class OutcomeFacts:
    meeting_held: bool
    findings: int
    recommendations: int
    no_recommendations_reason: str | None = None


@dataclass(frozen=True)
class AppealFacts:
    grounds: str
    allowed_grounds: Mapping[str, str]
    received: date
    window_end: date | None
    late_reason: str | None = None
    dismissed_on: date | None = None  # this decision was appealed before, and that appeal dismissed


@dataclass(frozen=True)
class AppealDecisionFacts:
    upheld: bool
    against: str  # threshold, outcome
    decided_by: str
    involved: frozenset[str]
    reason: str | None = None


@dataclass(frozen=True)
class CloseFacts:
    closing_on: date
    open_actions: int
    appeal_decided: bool
    window_end: date | None
    force: bool = False
    reason: str | None = None


@dataclass(frozen=True)
class WithdrawFacts:
    reason: str | None


Facts = (
    DecideFacts | AssignFacts | OutcomeFacts | AppealFacts | AppealDecisionFacts | CloseFacts | WithdrawFacts
)


# -- guards: facts in, GuardRefused out ----------------------------------------------------------------


def _said(reason: str | None) -> bool:
    """A reason is words: blank or whitespace-only is no reason."""
    return bool(reason and reason.strip())


def _guard_decide(state: str, f: DecideFacts) -> None:
    if f.rejection_category:
        if not _said(f.reason):
            raise GuardRefused("a rejection needs the category and a reason (--reason)")
        if f.statutory_met:
            # s.104(4): with the statutory count met the bodies must decide the threshold is met
            raise GuardRefused(
                f"cannot reject: {f.statutory_count} qualifying complaints meet the statutory "
                f"threshold of {f.statutory_required}, so the threshold must be decided met (s.104(4))"
            )
        return
    if not f.met and f.statutory_met:
        # s.104(4): the relevant bodies *must* decide that the threshold is met
        raise GuardRefused(
            f"cannot decide not met: {f.statutory_count} qualifying complaints meet the statutory "
            f"threshold of {f.statutory_required}, so it must be decided met (s.104(4))"
        )
    if f.met and not f.route_met and not _said(f.reason):
        # s.104(5): a discretionary decision below the threshold is the bodies' own and must say why
        raise GuardRefused(
            "the recorded complaints do not meet the threshold; a discretionary 'met' (s.104(5)) "
            "needs a reason (--reason)"
        )


def _guard_assign(state: str, f: AssignFacts) -> None:
    if not f.lead_agency:
        raise GuardRefused("assigning a review needs a lead agency (--lead AGENCY)")
    if not name_key(f.reviewer):
        raise GuardRefused("assigning a review needs a named reviewer (--reviewer NAME)")


def _guard_issue_outcome(state: str, f: OutcomeFacts) -> None:
    if not f.meeting_held:
        raise GuardRefused(
            "the review meeting has not been held; record it first (trigger meeting REF --at ... --held)"
        )
    if f.findings < 1:
        raise GuardRefused("an outcome needs at least one finding (trigger finding REF --category ...)")
    if f.recommendations < 1 and not _said(f.no_recommendations_reason):
        raise GuardRefused(
            "an outcome needs at least one recommendation (trigger recommend ...) "
            "or --no-recommendations REASON"
        )


def _guard_appeal(state: str, f: AppealFacts) -> None:
    # the appeal body's decision is final (docs/procedure.md#appeals): one appeal per decision
    if f.dismissed_on is not None:
        raise GuardRefused(
            f"this decision was appealed and the appeal dismissed on {f.dismissed_on.isoformat()}; "
            "that decision is final and cannot be appealed again"
        )
    if f.grounds not in f.allowed_grounds:
        raise GuardRefused(
            f"{f.grounds!r} is not a ground of appeal under this policy; "
            f"use one of: {', '.join(f.allowed_grounds)}"
        )
    if f.window_end and f.received > f.window_end and not _said(f.late_reason):
        raise GuardRefused(
            f"the appeal window closed on {f.window_end.isoformat()}; a late appeal needs --late-reason"
        )


def _guard_decide_appeal(state: str, f: AppealDecisionFacts) -> None:
    # names compared ignoring case and repeated spaces: `Sam  Reviewer` is `sam reviewer`
    decider = name_key(f.decided_by)
    if not decider:
        raise GuardRefused("an appeal decision needs the name of who decided it (--by NAME)")
    if not _said(f.reason):
        raise GuardRefused("an appeal decision needs a reason (--reason)")
    involved = {name_key(name) for name in f.involved if name}
    if decider in involved:
        # LLR: an independent CSP chair, never anybody involved in the case or the local chair
        raise GuardRefused(
            f"{f.decided_by} is recorded as involved in this case; the appeal must be decided by "
            "somebody independent of it"
        )


def _guard_close(state: str, f: CloseFacts) -> None:
    if f.force:
        if not _said(f.reason):
            raise GuardRefused("closing with --force needs a reason (--reason)")
        return
    window_open = f.window_end is not None and f.closing_on <= f.window_end
    if state == "outcome_issued":
        if window_open and not f.appeal_decided:
            raise GuardRefused(
                f"the appeal window runs until {f.window_end}; close after it, or --force with a reason"
            )
        if f.open_actions:
            raise GuardRefused(
                f"{f.open_actions} action(s) of the action plan are still open; "
                "finish or drop them, or --force with a reason"
            )
    if state == "threshold_not_met" and window_open:
        raise GuardRefused(
            f"the appeal window runs until {f.window_end}; close after it, or --force with a reason"
        )


def _guard_withdraw(state: str, f: WithdrawFacts) -> None:
    if not _said(f.reason):
        raise GuardRefused("a withdrawal needs the reason the applicant gave (--reason)")


# each move: the facts it is judged on and its guard
MOVES: dict[str, tuple[type, Callable[[str, Any], None]]] = {
    "decide": (DecideFacts, _guard_decide),
    "assign": (AssignFacts, _guard_assign),
    "issue_outcome": (OutcomeFacts, _guard_issue_outcome),
    "appeal": (AppealFacts, _guard_appeal),
    "decide_appeal": (AppealDecisionFacts, _guard_decide_appeal),
    "close": (CloseFacts, _guard_close),
    "withdraw": (WithdrawFacts, _guard_withdraw),
}


class CaseFlow:
    """The plain object the Machine decorates; carries only the state and the move's facts."""

    # set by the Machine on each flow it decorates (declared for the type checker only)
    trigger: Callable[..., bool]
    get_graph: Callable[..., Any]

    def __init__(self, state: str):
        self.state = state

    # conditions that choose the destination, read from the move's facts
    def met(self, event: EventData) -> bool:
        facts: DecideFacts = event.kwargs["facts"]
        return facts.met and not facts.rejection_category

    def upheld(self, event: EventData) -> bool:
        facts: AppealDecisionFacts = event.kwargs["facts"]
        return facts.upheld

    def against_outcome(self, event: EventData) -> bool:
        facts: AppealDecisionFacts = event.kwargs["facts"]
        return facts.against == "outcome"


def _machine(flow: CaseFlow, machine_cls: type[Machine] = Machine, **extra: Any) -> Machine:
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


def fire(state: str, trigger: str, facts: Facts) -> str:
    """Apply one move to a state; return the new state or raise IllegalMove / GuardRefused."""
    if trigger not in MOVES:
        raise IllegalMove(f"unknown move {trigger!r}")
    kind, guard = MOVES[trigger]
    if not isinstance(facts, kind):
        raise TypeError(f"{trigger} is judged on {kind.__name__}, not {type(facts).__name__}")
    if trigger not in allowed_moves(state):
        allowed = ", ".join(COMMANDS[t] for t in allowed_moves(state)) or "none (the case is closed)"
        raise IllegalMove(
            f"cannot {COMMANDS[trigger]}: the case is {state}; allowed moves from {state}: {allowed}"
        )
    guard(state, facts)
    flow = CaseFlow(State(state).value)  # a plain string: transitions takes an Enum state by its name
    _machine(flow)
    try:
        moved = flow.trigger(trigger, facts=facts)
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
