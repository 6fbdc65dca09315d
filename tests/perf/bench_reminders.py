"""Benchmark: a reminder sweep costs what the reminders due cost, not what the cases held cost.

Builds SQLite databases with bulk Core inserts (not the CLI): N cases, each with a deadline and its three
reminders (most already sent or still in the future), of which D are due now; then times one
`reminders.run` sweep (claim, send to an in-memory channel, mark sent) and the dry run.

    python tests/perf/bench_reminders.py                       # the grid: 10k/100k cases x 1k/5k due
    python tests/perf/bench_reminders.py --cases 100000 --due 5000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import insert, text

from trigger.access import partnership
from trigger.deadlines import reminders
from trigger.store.app import App, dispose_engines
from trigger.store.models import Deadline, Reminder, ReviewCase

NOW = datetime(2027, 3, 10, 8, 0, tzinfo=UTC)
TODAY = NOW.date()


class Null:
    """A channel that only counts: the benchmark measures the sweep, not a mail server."""

    mail_from = "community.safety@council.example"

    def __init__(self):
        self.count = 0

    def describe(self):
        return "null"

    def send(self, msg, name):
        self.count += 1

    def close(self):
        pass


def build(path: Path, n_cases: int, n_due: int, chunk: int = 20_000) -> App:
    app = App(f"sqlite:///{path}", "bench", "llr")
    partnership.init(app, "llr", "csm@example.gov.uk")
    stamp = datetime(2027, 1, 1, tzinfo=UTC)
    with app.engine.begin() as conn:
        for lo in range(0, n_cases, chunk):
            ids = range(lo + 1, min(lo + chunk, n_cases) + 1)
            received = [date(2026, 1, 1) + timedelta(days=i % 400) for i in ids]
            conn.execute(
                insert(ReviewCase),
                [
                    {
                        "id": i,
                        "reference": f"CT-B-{i:07d}",
                        "version": 1,
                        "state": "in_review" if i % 3 or i <= n_due else "closed",
                        "state_changed": r,
                        "received": r,
                        "channel": "online",
                        "applicant_name": f"Person {i}",
                        "victim_name": f"Person {i}",
                        "victim_kind": "individual",
                        "language": "en",
                        "statement": "bench",
                        "policy_name": "llr",
                        "policy_version": "2022.02",
                        "partnership_id": 1,  # the one partnership `trigger init` made
                        "purged": False,
                        "created_at": stamp,
                        "updated_at": stamp,
                    }
                    for i, r in zip(ids, received, strict=False)
                ],
            )
            conn.execute(
                insert(Deadline),
                [
                    {
                        "id": i,
                        "case_id": i,
                        "kind": "review",
                        "anchor": "threshold met",
                        "span": "28d",
                        "due": (TODAY - timedelta(days=1))
                        if i <= n_due
                        else (TODAY + timedelta(days=30 + i % 200))
                        if i % 3
                        else (TODAY - timedelta(days=200 + i % 100)),
                        "met_on": None if i % 3 or i <= n_due else TODAY - timedelta(days=210),
                        "not_applicable": False,
                    }
                    for i in ids
                ],
            )
            rows = []
            for i in ids:
                due_now = i <= n_due
                open_case = bool(i % 3)  # the others are closed cases with their history
                for k, kind in enumerate(("warning", "overdue", "escalation")):
                    if due_now:  # the warning went out; the overdue notice is due today
                        status, send_on = (
                            ("sent", TODAY - timedelta(days=5))
                            if kind == "warning"
                            else (
                                ("pending", TODAY)
                                if kind == "overdue"
                                else ("pending", TODAY + timedelta(days=3))
                            )
                        )
                    elif open_case:  # everything still in the future
                        status, send_on = "pending", TODAY + timedelta(days=20 + i % 200 + k)
                    else:  # history: sent long ago
                        status, send_on = "sent", TODAY - timedelta(days=300 + i % 300 - k)
                    rows.append(
                        {
                            "deadline_id": i,
                            "kind": kind,
                            "recipient": f"officer{i % 50}@example.gov.uk",
                            "send_on": send_on,
                            "status": status,
                            "attempts": 0,
                        }
                    )
            conn.execute(insert(Reminder), rows)
    with app.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return app


def run(cases_held: int = 100_000, due: int = 5_000, workdir: str | None = None, repeat: int = 3) -> dict:
    """Build a database and time a sweep (best of `repeat`); returns the figures (for a common harness)."""
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        path = Path(tmp) / "bench.db"
        t0 = time.perf_counter()
        app = build(path, cases_held, due)
        built = time.perf_counter() - t0
        with app.engine.connect() as conn:
            plan = (
                conn.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT id FROM reminder WHERE status='pending' AND send_on <= :d"
                    ),
                    {"d": TODAY.isoformat()},
                ).fetchall()
                + conn.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT id FROM reminder "
                        "WHERE status='claimed' AND claimed_at < :t"
                    ),
                    {"t": NOW.isoformat()},
                ).fetchall()
            )
        t0 = time.perf_counter()
        dry = reminders.run(app, NOW, dry_run=True)
        dry_s = time.perf_counter() - t0
        times = []
        for attempt in range(repeat):
            if attempt:  # put the same reminders back as due, for another timing
                with app.engine.begin() as conn:
                    conn.execute(
                        text(
                            "UPDATE reminder SET status='pending', claimed_by=NULL, claimed_at=NULL "
                            "WHERE status='sent' AND send_on = :d"
                        ),
                        {"d": TODAY.isoformat()},
                    )
            channel = Null()
            t0 = time.perf_counter()
            result = reminders.run(app, NOW, channel=channel)
            times.append(time.perf_counter() - t0)
        sweep_s = min(times)
        t0 = time.perf_counter()
        again = reminders.run(app, NOW + timedelta(minutes=5), channel=Null())
        idle_s = time.perf_counter() - t0
        dispose_engines()
    assert len(dry.due) == due and len(result.sent) == due == channel.count and not again.sent, (
        len(dry.due),
        len(result.sent),
        len(result.cancelled),
        result.failed[:2],
    )
    return {
        "cases_held": cases_held,
        "due": due,
        "build_s": round(built, 2),
        "dry_run_s": round(dry_s, 3),
        "sweep_s": round(sweep_s, 3),
        "per_reminder_ms": round(1000 * sweep_s / max(due, 1), 3),
        "idle_rerun_s": round(idle_s, 4),
        "query_plan": " | ".join(str(r[-1]) for r in plan),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int)
    ap.add_argument("--due", type=int)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    grid = (
        [(args.cases, args.due)]
        if args.cases
        else [(10_000, 1_000), (100_000, 1_000), (10_000, 5_000), (100_000, 5_000)]
    )
    figures = [run(c, d) for c, d in grid]
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print("goal: a reminder sweep whose cost grows with the reminders due, not with the cases held")
    print(
        f"{'cases held':>10} {'due':>6} {'sweep s':>8} {'ms/reminder':>11} "
        f"{'dry run s':>9} {'idle rerun s':>12}"
    )
    for f in figures:
        print(
            f"{f['cases_held']:>10} {f['due']:>6} {f['sweep_s']:>8} {f['per_reminder_ms']:>11} "
            f"{f['dry_run_s']:>9} {f['idle_rerun_s']:>12}"
        )
    print("query plan:", figures[-1]["query_plan"])
    by = {(f["cases_held"], f["due"]): f["sweep_s"] for f in figures}
    if len(by) == 4:
        print(
            f"cases x10 at 1k due: sweep x{by[100_000, 1_000] / by[10_000, 1_000]:.2f}; "
            f"at 5k due: x{by[100_000, 5_000] / by[10_000, 5_000]:.2f}"
        )
        print(f"due x5 at 100k cases: sweep x{by[100_000, 5_000] / by[100_000, 1_000]:.2f}")


if __name__ == "__main__":
    main()
