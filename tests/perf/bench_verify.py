"""Benchmark: `trigger audit verify` over a few thousand cases
(docs/architecture.md#the-record-checks-itself).

Builds a SQLite database through the use-cases themselves, so every event is sealed and carries the
facts of its rows exactly as the engine writes them: each case is activated with three complaints,
most are decided, assigned and given hours and an action, some reach the outcome. Then times the whole
check (the chain, and every case's events replayed against its rows) in-process and through the real
command line, and the CPU time of one change (the cost of carrying the rows in its event).

    /work/venv/bin/python tests/perf/bench_verify.py [N_CASES [FILE]]   # FILE: keep the database there

`run(n_cases, path) -> dict` is the entry point for a common harness. Speed is measured, not asserted.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

GOAL_SECONDS = 30.0  # a few thousand cases checked in well under a minute


def build(n_cases: int, url: str, seed: int = 2026) -> dict:
    from sqlalchemy import event

    from trigger.access import partnership
    from trigger.cases import moves, review
    from trigger.cases.complaints import add_incident
    from trigger.store.app import App

    app = App(url, "bench")
    # the bench's own database only: no fsync at each commit, so building it costs CPU, not disk waits
    event.listen(app.engine, "connect", lambda conn, _record: conn.execute("PRAGMA synchronous=OFF"))
    partnership.init(app, "llr")
    rng = random.Random(seed)
    changes = 0
    cpu = time.process_time()
    for n in range(n_cases):
        received = date(2025, 1, 6) + timedelta(days=rng.randrange(0, 300))
        ref = moves.activate(
            app,
            applicant=f"Applicant {n}",
            received=received,
            channel="online",
            statement="Reported many times and nothing changed",
            address=f"{n} Ashby Road",
        ).reference
        for i in range(3):
            day = received - timedelta(days=40 - 10 * i)
            add_incident(app, ref, occurred=day, reported=day, agency="police", on=received)
        changes += 4
        if rng.random() < 0.2:
            continue
        met = received + timedelta(days=5)
        moves.decide(app, ref, met=True, on=met)
        moves.assign(app, ref, lead="police", reviewer="Sam Reviewer", on=met)
        review.log_hours(app, ref, agency="police", person="Pat Officer", hours=2.5, worked_on=met)
        review.add_action(
            app, ref, action="Joint visit", owner="police", due=met + timedelta(days=60), on=met
        )
        changes += 4
        if rng.random() < 0.5:
            continue
        out = met + timedelta(days=20)
        review.meeting(app, ref, at=datetime.combine(out, datetime.min.time()), held=True)
        review.add_finding(app, ref, category="silo_working", on=out)
        review.recommend(app, ref, to="police", text="Share reports weekly", on=out)
        moves.issue_outcome(app, ref, victim_consulted=True, on=out)
        changes += 4
    cpu = time.process_time() - cpu
    return {"changes": changes, "cpu_per_change_ms": round(1000 * cpu / changes, 2)}


def run(n_cases: int = 3000, path: str | Path | None = None) -> dict:
    from trigger.store import audit
    from trigger.store.app import App, dispose_engines

    folder = Path(tempfile.mkdtemp(prefix="bench-verify-"))
    path = Path(path) if path else folder / "verify.db"
    url = f"sqlite:///{path}"
    t = time.perf_counter()
    built = build(n_cases, url)
    build_s = time.perf_counter() - t
    dispose_engines()
    t = time.perf_counter()
    result = audit.verify_through(App(url, "bench"), [])
    in_process = time.perf_counter() - t
    assert result.ok and not result.differences, result.differences[:5]
    env = {**os.environ, "TRIGGER_DB": url, "TRIGGER_USER": "bench", "TRIGGER_HOME": str(folder)}
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "trigger", "audit", "verify"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    command = time.perf_counter() - t
    assert proc.returncode == 0, proc.stderr
    return {
        "cases": n_cases,
        "events": result.events,
        "build_seconds": round(build_s, 1),
        **built,
        "verify_seconds_in_process": round(in_process, 2),
        "verify_seconds_command": round(command, 2),
        "database_mb": round(path.stat().st_size / 1e6, 1),
        "goal_seconds": GOAL_SECONDS,
    }


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    for name, value in run(n, sys.argv[2] if len(sys.argv) > 2 else None).items():
        print(f"{name}: {value}")
