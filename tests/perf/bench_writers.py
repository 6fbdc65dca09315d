"""Many people writing to one SQLite database at the same moment, on a busy machine.

    python tests/perf/bench_writers.py [--writers 16 32] [--load 2] [--root CHECKOUT] [--json]

For each number of writers: a fresh database with one case, then that many real processes each run
`trigger incident add` on that case through the real command line, all starting at the same instant
(tests/support/racers.py: one launcher imports the engine and forks them, so they race from the first
statement). Beside them run `--load` CPU-bound processes (`python -c "while True: pass"`), started
before and killed after each round, so that on a 2-core machine the writers get less than a core
between them. Printed for each round:

- succeeded / failed: exit status 0, or not (a failure's first line is shown);
- lost: a writer told its complaint was recorded whose complaint (found by its own agency
  reference) is not in the database;
- duplicate numbers: complaint numbers printed to more than one writer;
- the longest wait for a turn in the writers' queue (`trigger.store.queue`, when the checkout has one),
  and the longest time from the start to a writer's finish, in wall-clock seconds.

`--root` runs another checkout's command line and engine (say, an older one, to compare).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE_ROOT = Path(__file__).resolve().parents[2]
CASE = "CT-2026-0001"

# One writer (run by the launcher after the start): its change through the real command line, then a
# line on stderr with how long it took and its longest wait for a turn.
WRITER = """
import runpy, sys, time
start = time.monotonic()
waits = [0.0]
try:
    from trigger.store import queue
except ImportError:  # a checkout without the writers' queue
    queue = None
if queue is not None:
    real = queue.Queue.join
    def join(self, *args, **kwargs):
        began = time.monotonic()
        try:
            return real(self, *args, **kwargs)
        finally:
            waits.append(time.monotonic() - began)
    queue.Queue.join = join
sys.argv = ["cli.py", *sys.argv[1:]]
code = 0
try:
    runpy.run_path("cli.py", run_name="__main__")
except SystemExit as exc:
    code = exc.code if isinstance(exc.code, int) else (1 if exc.code else 0)
print(f"BENCH {time.monotonic() - start:.3f} {max(waits):.3f}", file=sys.stderr, flush=True)
sys.exit(code)
"""


def _cli(root: Path, env: dict, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "cli.py", *args], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"trigger {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def _race(root: Path, env: dict, commands: list[list[str]]) -> list[dict]:
    """Every command at the same instant, through `root`'s launcher (tests/support/racers.py)."""
    launched = subprocess.run(
        [sys.executable, str(root / "tests" / "support" / "racers.py")],
        input=json.dumps({"commands": commands, "after": [0.0] * len(commands)}),
        capture_output=True,
        text=True,
        env=dict(env, PYTHONPATH=str(root)),
        cwd=root,
        check=False,
    )
    if launched.returncode != 0:
        raise RuntimeError(f"the launcher failed:\n{launched.stderr}")
    return json.loads(launched.stdout)


def _loadavg() -> float:
    return os.getloadavg()[0]


def round_of(writers: int, root: Path, load: int) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="bench-writers-"))
    env = dict(
        os.environ,
        TRIGGER_DB=f"sqlite:///{folder / 'trigger.db'}",
        TRIGGER_HOME=str(folder / "home"),
        TRIGGER_USER="bench",
    )
    env.pop("TRIGGER_WAIT_SECONDS", None)
    _cli(root, env, "init", "--policy", "llr", "--manager-email", "csm@example.gov.uk")
    activate = ("activate", "--applicant", "Ann Example", "--received", "2026-03-02", "--channel", "online")
    _cli(root, env, *activate, "--statement", "Nothing has changed")
    commands = [
        [
            *("-c", WRITER, "incident", "add", CASE, "--occurred", "2026-02-10", "--reported", "2026-02-11"),
            *("--agency", "police", "--agency-ref", f"W{n:03d}"),
        ]
        for n in range(writers)
    ]
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(load)]
    try:
        time.sleep(1.0)  # the burners are running before the race starts (a benchmark, not a test)
        before = _loadavg()
        results = _race(root, env, commands)
        after = _loadavg()
    finally:
        for proc in burners:
            proc.kill()
            proc.wait()
    ok = [(n, r) for n, r in enumerate(results) if r["returncode"] == 0]
    failed = [r for r in results if r["returncode"] != 0]
    numbers = Counter(
        int(m.group(1)) for _, r in ok if (m := re.search(r"Complaint (\d+) recorded", r["stdout"]))
    )
    shown = json.loads(_cli(root, env, "show", CASE, "--json"))
    stored = {i["agency_ref"] for i in shown["incidents"]}
    timings = [
        tuple(float(x) for x in m.groups())
        for r in results
        if (m := re.search(r"BENCH ([\d.]+) ([\d.]+)", r["stderr"]))
    ]
    return {
        "writers": writers,
        "load": load,
        "loadavg_before": round(before, 2),
        "loadavg_after": round(after, 2),
        "succeeded": len(ok),
        "failed": len(failed),
        "lost": sum(1 for n, _ in ok if f"W{n:03d}" not in stored),
        "duplicate_numbers": sum(count - 1 for count in numbers.values() if count > 1),
        "longest_wait_s": max((w for _, w in timings), default=None),
        "longest_to_finish_s": max((t for t, _ in timings), default=None),
        "first_failure": next(
            (line for r in failed for line in r["stderr"].splitlines() if line.startswith("Error")), None
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", type=int, nargs="+", default=[16, 32])
    parser.add_argument("--load", type=int, default=2, help="CPU-bound processes beside the writers")
    parser.add_argument("--root", type=Path, default=HERE_ROOT, help="the checkout to run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [round_of(n, args.root.resolve(), args.load) for n in args.writers]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{os.cpu_count()} cores; {args.load} CPU-bound processes beside the writers; {args.root}")
    for row in rows:
        wait = "n/a" if row["longest_wait_s"] is None else f"{row['longest_wait_s']:.2f} s"
        print(
            f"{row['writers']:>3} writers, one case: succeeded {row['succeeded']}, failed {row['failed']}, "
            f"lost {row['lost']}, duplicate numbers {row['duplicate_numbers']}; longest wait for a turn "
            f"{wait}, longest to finish {row['longest_to_finish_s']:.2f} s "
            f"(load average {row['loadavg_before']} -> {row['loadavg_after']})"
        )
        if row["first_failure"]:
            print(f"    first failure: {row['first_failure']}")


if __name__ == "__main__":
    main()
