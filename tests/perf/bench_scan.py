"""Benchmark: import and scan a county's full incident history (goal, as in tests/perf/bench.py: scan of
1,000,000 incidents in under 5 s on two cores).

    python tests/perf/bench_scan.py [N_INCIDENTS] [DB_PATH]

Generates N incidents (default 1,000,000) for N/5 victims over five and a half years into a CSV, imports
it through `trigger.intake.partner_logs.import_csv` into a fresh SQLite file, then times
`trigger.intake.scan.scan` and a
bare `SELECT victim_hash, count(*) FROM incident GROUP BY victim_hash` over the same table (the keyed hash
of the victim's id, which the scan groups on: the id itself is stored sealed). `run()` is the
entry point for a common bench harness.
"""

from __future__ import annotations

import csv
import os
import random
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from trigger.intake.log_files import COLUMNS  # the columns an import reads

GOAL_SECONDS = 5.0
AS_OF = date(2026, 6, 30)
FIRST_DAY = date(2021, 1, 1)
AGENCIES = ("cbc", "police", "emh", "icb")
STRANDS = ("race", "religion", "sexual_orientation", "disability", "transgender")


def _generate(csv_path: Path, n_incidents: int, seed: int = 2026) -> None:
    rng = random.Random(seed)
    n_victims = max(1, n_incidents // 5)
    span = (AS_OF - FIRST_DAY).days
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(COLUMNS)
        for i in range(n_incidents):
            occurred = FIRST_DAY + timedelta(days=rng.randrange(span))
            lag = rng.choice((0, 0, 1, 1, 2, 3, 7, 14, 29, 30, 31, 45))
            reported = min(occurred + timedelta(days=lag), AS_OF)
            hate = STRANDS[rng.randrange(5)] if rng.random() < 0.02 else ""
            out.writerow(
                [
                    f"V{rng.randrange(n_victims):07d}",
                    occurred.isoformat(),
                    reported.isoformat(),
                    AGENCIES[i % 4],
                    f"R{i:08d}",
                    hate,
                    "noise",
                    "",
                    "",
                ]
            )


def run(n_incidents: int = 1_000_000, path: str | os.PathLike | None = None) -> dict:
    """Generate, import and scan; returns the figures (seconds) as a dict."""
    from sqlalchemy import text

    from trigger.access import partnership
    from trigger.intake import partner_logs as log
    from trigger.intake import scan as scanning
    from trigger.store.app import App, dispose_engines

    workdir = Path(tempfile.mkdtemp(prefix="bench_scan_"))
    db_path = Path(path) if path else workdir / "bench.db"
    if db_path.exists():
        db_path.unlink()
    app = App(f"sqlite:///{db_path}", actor="bench")
    partnership.init(app, "llr")

    csv_path = workdir / "incidents.csv"
    t0 = time.perf_counter()
    _generate(csv_path, n_incidents)
    generate_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    result = log.import_csv(app, csv_path)
    import_s = time.perf_counter() - t0

    with app.engine.connect() as conn:  # warm the page cache equally for both queries
        conn.execute(text("SELECT count(*) FROM incident")).scalar_one()
        t0 = time.perf_counter()
        bare = "SELECT victim_hash, count(*) FROM incident GROUP BY victim_hash"
        bare_rows = conn.execute(text(bare)).all()
        bare_s = time.perf_counter() - t0

    rules = scanning.ScanRules(qualifying_complaints=3, hate_route=True)
    t0 = time.perf_counter()
    found = scanning.scan(app, AS_OF, rules)
    scan_s = time.perf_counter() - t0
    dispose_engines()
    shutil.rmtree(workdir, ignore_errors=True)  # the CSV, and the database unless a path was given
    return {
        "incidents": n_incidents,
        "imported": result.imported,
        "victims": len(bare_rows),
        "generate_s": round(generate_s, 3),
        "import_s": round(import_s, 3),
        "scan_s": round(scan_s, 3),
        "bare_group_by_s": round(bare_s, 3),
        "ratio_to_bare": round(scan_s / bare_s, 2) if bare_s else None,
        "second_report": len(found["second_report"]),
        "meets_threshold": len(found["meets_threshold"]),
        "goal_s": GOAL_SECONDS,
        "within_goal": scan_s < GOAL_SECONDS,
        "db": str(db_path) if path else None,
    }


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    figures = run(n, sys.argv[2] if len(sys.argv) > 2 else None)
    for key, value in figures.items():
        print(f"{key:18} {value}")
    print(
        f"scan of {n:,} incidents: {figures['scan_s']:.2f} s (goal < {GOAL_SECONDS:g} s); "
        f"{figures['ratio_to_bare']}x a bare GROUP BY"
    )
