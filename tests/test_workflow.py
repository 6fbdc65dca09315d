"""The workflow as a rule: random sequences of moves through the real engine on a real SQLite file.
No illegal state is ever reached, a refused move changes nothing, and every accepted move leaves
exactly one audit event."""

from __future__ import annotations

import functools
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlmodel import func, select

from tests.support.databases import copy_sqlite, keep_engine, remove_sqlite
from trigger.access import partnership
from trigger.cases import complaints, moves, review
from trigger.errors import TriggerError
from trigger.store.app import App, dispose_engines
from trigger.store.models import AuditEvent, ReviewCase
from workflows import machine

MOVES = st.sampled_from(
    [
        "decide_met",
        "decide_not_met",
        "decide_reject",
        "prepare_review",
        "assign",
        "outcome",
        "appeal_ok",
        "appeal_bad_grounds",
        "appeal_late",
        "appeal_upheld",
        "appeal_dismissed",
        "appeal_by_reviewer",
        "close",
        "close_forced",
        "withdraw",
        "complaint",
    ]
)


@functools.cache
def _folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="trigger-hyp-"))  # one per test process, reused by every example


def _initialised() -> str:
    """The URL of a database `init`ed with the LLR policy: initialised (migrated) by the first example
    and saved; each later example starts from a copy of it, at the same path (so one engine)."""
    path, saved = _folder() / "t.db", _folder() / "initialised.db"
    url = f"sqlite:///{path}"
    dispose_engines()
    remove_sqlite(path)
    if not saved.exists():
        partnership.init(App(url, actor="manager"), "llr")
        dispose_engines()
        copy_sqlite(path, saved)
    else:
        copy_sqlite(saved, path)
    keep_engine(url)
    return url


class CaseLife(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.app = App(_initialised(), actor="manager")
        self.day = date(2025, 1, 6)
        self.ref = moves.activate(
            self.app, applicant="Ann Example", received=self.day, channel="online", statement="Nothing done"
        ).reference
        self.history = ["received"]

    def teardown(self):
        dispose_engines()

    def _state_and_moves(self):
        with self.app.read() as s:
            case = s.exec(select(ReviewCase).where(ReviewCase.reference == self.ref)).one()
            moves = s.exec(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.case_id == case.id, AuditEvent.to_state.is_not(None))
            ).one()
            return case.state, moves

    def _do(self, move: str):
        on = self.day
        ref, app = self.ref, self.app
        if move == "decide_met":
            moves.decide(app, ref, met=True, reason="persistent harm", on=on)
        elif move == "decide_not_met":
            moves.decide(app, ref, met=False, on=on)
        elif move == "decide_reject":
            moves.decide(app, ref, met=False, rejection_category="vexatious", reason="repeated", on=on)
        elif move == "complaint":
            complaints.add_incident(
                app,
                ref,
                occurred=on - timedelta(days=2),
                reported=on - timedelta(days=1),
                agency="police",
                on=on,
            )
        elif move == "prepare_review":
            review.meeting(app, ref, at=datetime(on.year, on.month, on.day, 10), held=True)
            review.add_finding(app, ref, category="silo_working", on=on)
            review.recommend(app, ref, to="police", text="Share", on=on)
        elif move == "assign":
            moves.assign(app, ref, lead="cbc", reviewer="Sam Reviewer", on=on)
        elif move == "outcome":
            moves.issue_outcome(app, ref, victim_consulted=True, on=on)
        elif move == "appeal_ok":
            moves.lodge_appeal(app, ref, received=on, grounds="facts", on=on)
        elif move == "appeal_bad_grounds":
            moves.lodge_appeal(app, ref, received=on, grounds="unfair", on=on)
        elif move == "appeal_late":
            moves.lodge_appeal(app, ref, received=on, grounds="process", late_reason="in hospital", on=on)
        elif move == "appeal_upheld":
            moves.decide_appeal(app, ref, upheld=True, by="Independent Chair", reason="missed facts", on=on)
        elif move == "appeal_dismissed":
            moves.decide_appeal(app, ref, upheld=False, by="Independent Chair", reason="no merit", on=on)
        elif move == "appeal_by_reviewer":
            moves.decide_appeal(app, ref, upheld=True, by="Sam Reviewer", reason="mine", on=on)
        elif move == "close":
            moves.close(app, ref, on=on)
        elif move == "close_forced":
            moves.close(app, ref, force=True, reason="victim satisfied", on=on)
        elif move == "withdraw":
            moves.withdraw(app, ref, reason="moved away", on=on)

    @rule(move=MOVES, days=st.integers(0, 40))
    def act(self, move, days):
        self.day = min(self.day + timedelta(days=days), date.today())
        before_state, before_moves = self._state_and_moves()
        try:
            self._do(move)
        except TriggerError:
            accepted = False
        else:
            accepted = True
        after_state, after_moves = self._state_and_moves()
        changed = after_state != before_state
        if not accepted:
            assert (after_state, after_moves) == (before_state, before_moves)
        elif move not in ("complaint", "prepare_review"):
            assert after_moves == before_moves + 1, f"{move} left {after_moves - before_moves} move events"
            assert self._legal(before_state, after_state), f"{before_state} -> {after_state} by {move}"
        else:
            assert not changed and after_moves == before_moves
        if accepted and move == "appeal_dismissed" and after_state == "outcome_issued":
            self.final_outcome = True  # confirmed on appeal: no second appeal against it
        self.history.append(after_state)
        assert not (getattr(self, "final_outcome", False) and after_state == "appealed"), self.history

    @staticmethod
    def _legal(source, dest):
        return any(dest == t["dest"] and source in machine._sources(t) for t in machine.TRANSITIONS)

    @invariant()
    def terminal_states_are_final(self):
        for i, state in enumerate(self.history):
            if state in machine.TERMINAL:
                assert set(self.history[i:]) == {state}

    @invariant()
    def state_is_known(self):
        assert self.history[-1] in machine.STATES


CaseLife.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=14,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCaseLife = CaseLife.TestCase
TestCaseLife.pytestmark = [pytest.mark.slow, pytest.mark.any_engine]  # its own SQLite file, whatever the pass
