"""Benchmark: `trigger report annual` over 100,000 cases in under 1 s (a goal in tests/perf/bench.py).

Builds a SQLite database with bulk Core inserts (review_case, threshold_decision, audit_event,
recommendation, appeal rows shaped as the engine writes them), then times the annual return for the
performance year that holds most of them, in-process and through the real command line.

    python tests/perf/bench_report.py [N_CASES]

`run(n_cases, path) -> dict` is the entry point for a common harness.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

GOAL_SECONDS = 1.0
CHANNELS = ("online", "phone", "letter", "email", "in_person", "assisted")


def build(n_cases: int, path: Path, seed: int = 2025) -> None:
    from sqlalchemy import insert

    from trigger.access import partnership
    from trigger.store.app import App
    from trigger.store.models import Agency, Appeal, AuditEvent, Recommendation, ReviewCase, ThresholdDecision

    url = f"sqlite:///{path}"
    app = App(url, "bench")
    partnership.init(app, "llr")
    rng = random.Random(seed)
    with app.engine.begin() as conn:
        agency_ids = [row[0] for row in conn.execute(Agency.__table__.select().with_only_columns(Agency.id))]
        seq = conn.execute(AuditEvent.__table__.select().with_only_columns(AuditEvent.seq)).scalars().all()
        seq = max(seq or [0])
        now = datetime.now(UTC).replace(microsecond=0)
        start = date(2025, 1, 1)  # 15 months: the 2024/25 tail and the whole of 2025/26
        case_rows, decisions, events, recs, appeals = [], [], [], [], []

        def event(case_id, ref, on, name, frm, to):
            nonlocal seq
            seq += 1
            events.append(
                {
                    "seq": seq,
                    "case_id": case_id,
                    "reference": ref,
                    "at": now,
                    "on": on,
                    "actor": "bench",
                    "event": name,
                    "from_state": frm,
                    "to_state": to,
                    "reason": None,
                    "detail": None,
                    "prev_hash": "0" * 64,
                    "hash": f"{seq:064x}",
                }
            )

        for i in range(1, n_cases + 1):
            received = start + timedelta(days=rng.randrange(455))
            ref = f"CT-{received.year}-{i:06d}"
            met = rng.random() < 0.6
            decided = received + timedelta(days=rng.randrange(1, 15))
            state = "threshold_not_met"
            lead = None
            event(i, ref, received, "activate", None, "received")
            event(i, ref, decided, "decide", "received", "threshold_met" if met else "threshold_not_met")
            decisions.append(
                {
                    "case_id": i,
                    "decided_on": decided,
                    "met": met,
                    "route": ("discretionary" if rng.random() < 0.05 else "statutory") if met else None,
                    "rejection_category": None if met or rng.random() > 0.1 else "vexatious",
                    "reason": None,
                    "explanation": None,
                    "actor": "bench",
                }
            )
            if met:
                lead = rng.choice(agency_ids)
                event(i, ref, decided, "assign", "threshold_met", "in_review")
                state = "in_review"
                if rng.random() < 0.8:
                    outcome = decided + timedelta(days=rng.randrange(14, 60))
                    event(i, ref, outcome, "issue_outcome", "in_review", "outcome_issued")
                    state = "outcome_issued"
                    if rng.random() < 0.7:
                        recs.append(
                            {
                                "case_id": i,
                                "agency_id": lead,
                                "text": "Share reports",
                                "recorded_on": outcome,
                                "response": rng.choice([None, "accepted"]),
                            }
                        )
                    if rng.random() < 0.5:
                        event(i, ref, outcome + timedelta(days=40), "close", "outcome_issued", "closed")
                        state = "closed"
            elif rng.random() < 0.1:
                appeals.append(
                    {
                        "case_id": i,
                        "against": "threshold",
                        "received": decided + timedelta(days=5),
                        "grounds": "facts",
                        "decided_on": decided + timedelta(days=20),
                        "upheld": False,
                        "decided_by": "Chair",
                    }
                )
            case_rows.append(
                {
                    "id": i,
                    "reference": ref,
                    "version": 1,
                    "state": state,
                    "state_changed": decided,
                    "received": received,
                    "channel": rng.choice(CHANNELS),
                    "applicant_name": "Bench Applicant",
                    "victim_name": "Bench Applicant",
                    "victim_kind": "individual",
                    "language": "en",
                    "statement": "Nothing has changed",
                    "policy_name": "llr",
                    "policy_version": "2022.02",
                    "lead_agency_id": lead,
                    "reviewer": "Reviewer" if lead else None,
                    "partnership_id": 1,  # the one partnership `trigger init` made
                    "purged": False,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        conn.execute(insert(ReviewCase), case_rows)
        conn.execute(insert(ThresholdDecision), decisions)
        conn.execute(insert(AuditEvent), events)
        if recs:
            conn.execute(insert(Recommendation), recs)
        if appeals:
            conn.execute(insert(Appeal), appeals)
    from trigger.store.app import dispose_engines

    dispose_engines()


def run(n_cases: int = 100_000, path: str | Path | None = None) -> dict:
    """Build `n_cases` at `path` (a SQLite file; a temporary one when None) and time the annual return."""
    from trigger.reports import annual, common
    from trigger.store.app import App, dispose_engines

    tmp = None
    if path is None:
        tmp = tempfile.TemporaryDirectory()
        path = Path(tmp.name) / "bench.db"
    path = Path(path)
    if path.exists():
        path.unlink()
    t0 = time.perf_counter()
    build(n_cases, path)
    built = time.perf_counter() - t0
    app = App(f"sqlite:///{path}", "bench")
    period = common.period(2025)
    timings = []
    for _ in range(3):
        t = time.perf_counter()
        data = annual.annual(app, period)
        timings.append(time.perf_counter() - t)
    dispose_engines()
    env = dict(os.environ, TRIGGER_DB=f"sqlite:///{path}", TRIGGER_USER="bench")
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), "report", "annual", "--year", "2025", "--json"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    cli_seconds = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    result = {
        "n_cases": n_cases,
        "build_seconds": round(built, 2),
        "seconds": round(min(timings), 3),
        "first_seconds": round(timings[0], 3),
        "cli_seconds": round(cli_seconds, 3),
        "goal_seconds": GOAL_SECONDS,
        "ok": min(timings) < GOAL_SECONDS,
        "applications": data["applications"],
        "reviews_carried_out": data["reviews_carried_out"],
        "checks_ok": not annual.failed_checks(data),
    }
    if tmp is not None:
        tmp.cleanup()
    return result


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    r = run(n)
    print(
        f"annual report over {r['n_cases']:,} cases ({r['applications']:,} applications and "
        f"{r['reviews_carried_out']:,} reviews in 2025/26; database built in {r['build_seconds']} s)"
    )
    print(
        f"  engine: {r['seconds']:.3f} s (first run {r['first_seconds']:.3f} s); goal < {GOAL_SECONDS} s: "
        f"{'OK' if r['ok'] else 'MISSED'}"
    )
    print(
        f"  whole command `trigger report annual --year 2025 --json`: {r['cli_seconds']:.3f} s "
        f"(includes interpreter start-up)"
    )
    print(f"  consistency checks: {'pass' if r['checks_ok'] else 'FAIL'}")
