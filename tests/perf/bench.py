"""Every benchmark, one entry point: figures against the project's speed goals.

    python tests/perf/bench.py [--quick] [--json] [--db sqlite|postgres|both] [--pg-url URL] [--commands]
                               [--only NAME,NAME...]

Each line names the figure, the measured value, the goal and the ratio (measured / goal). Start-up
figures are the best wall-clock runs of the real command line in fresh processes. Command figures are
the median CPU time (user + system) of fresh processes, judged against the median CPU time of the
import floor measured between them in the same run: CPU time, because the machine may be shared, and
the load average at the start and the end is printed beside them. The scan, reminder
and report benchmarks live beside this file (bench_scan.py, bench_reminders.py, bench_report.py);
each is imported and its `run(...)` called with the sizes its goal names (smaller with --quick) on SQLite;
one that fails is reported as a line and does not stop the others. `--only` measures just the named
commands (`--only activate,decide,"letter --format pdf"`: the names the figures start with, after the
engine); the steps of the review before the last named one still run, unmeasured, to bring the case there.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
from datetime import date, timedelta
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PY = sys.executable
# the command as a user runs it: `python -m trigger` imports cli.py as a module, from its cached bytecode
# (`python cli.py` would compile its 2,000 lines on every start, which the installed `trigger` never does)
TRIGGER = [PY, "-m", "trigger"]
FLOOR = "import sqlmodel, transitions, click, jinja2"  # the bare import floor of the required libraries
# A command that reads a database also needs SQLAlchemy's dialect for it and the driver (on PostgreSQL
# the `postgres` extra's psycopg, about a third of the floor on its own): no code of ours can avoid
# them, so each engine's floor includes them. The ratio to the bare FLOOR is printed beside it.
FLOORS = {
    "sqlite": FLOOR + ", sqlalchemy.dialects.sqlite.pysqlite",
    "postgres": FLOOR + ", psycopg, sqlalchemy.dialects.postgresql.psycopg",
}
PG_DEFAULT = os.environ.get("TRIGGER_TEST_DB") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _once(cmd: list[str], env: dict) -> float:
    t = time.perf_counter()
    proc = subprocess.run(
        cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[1:])} failed: {proc.stderr.strip()[-300:]}")
    return elapsed


def cpu(cmd: list[str], env: dict) -> tuple[float, str]:
    """(CPU seconds, user + system, of one fresh process running cmd; its standard output). CPU time,
    not wall time: on a machine shared with other work it is what the command itself costs."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[1:])} failed: {proc.stderr.strip()[-300:]}")
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return used, proc.stdout


def wall(cmd: list[str], env: dict, runs: int) -> float:
    """Best wall time of `runs` fresh processes after one warm-up (the minimum is the least disturbed
    by other load on the machine)."""
    _once(cmd, env)
    return min(_once(cmd, env) for _ in range(runs))


def paired(cmd: list[str], env: dict, runs: int, floor: str = FLOOR) -> tuple[float, float, float]:
    """(median CPU time of cmd, of the engine's import floor, of the bare floor), measured alternately so
    that all see the same machine load: the ratio is what the goal judges."""
    floor_cmd, bare_cmd = [PY, "-c", floor], [PY, "-c", FLOOR]
    cpu(cmd, env)
    times, floors, bares = [], [], []
    for _ in range(runs):
        floors.append(cpu(floor_cmd, env)[0])
        bares.append(cpu(bare_cmd, env)[0])
        times.append(cpu(cmd, env)[0])
    return median(times), median(floors), median(bares)


def base_env(db_url: str, home: str) -> dict:
    env = dict(os.environ, TRIGGER_DB=db_url, TRIGGER_HOME=home, TRIGGER_USER="bench", PYTHONPATH=str(ROOT))
    env.pop("TRIGGER_SMTP_URL", None)
    # an installed trigger runs from bytecode compiled at install time, as the libraries of the floor
    # do: let the warm-up run write it for the source tree too (never compile 2,000 lines per start)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def fresh_postgres_schema(url: str) -> tuple[str, callable]:
    """A throw-away schema on the server, and the function that drops it."""
    import secrets
    from urllib.parse import quote

    import sqlalchemy

    admin = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sqlalchemy.pool.NullPool)
    schema = f"bench_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")

    def drop():
        from trigger.store.app import dispose_engines

        dispose_engines()
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")

    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}', safe='')}", drop


def populate(db_url: str, cases: int) -> str:
    """Initialise the database and bulk-insert `cases` cases with their deadlines (Core inserts)."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import insert

    from trigger.access import partnership
    from trigger.cases import moves as use_cases
    from trigger.store.app import App
    from trigger.store.models import Deadline, PartnerNotification, ReviewCase, utcnow

    app = App(db_url, "bench")
    partnership.init(app, "llr")
    first = use_cases.activate(
        app,
        applicant="Bench Applicant",
        received=date(2025, 1, 2),
        channel="online",
        statement="Nothing has changed",
    )
    states = ("received", "threshold_met", "in_review", "outcome_issued", "closed", "threshold_not_met")
    now = utcnow()
    with app.engine.begin() as conn:
        pid = conn.execute(ReviewCase.__table__.select().where(ReviewCase.id == first.id)).first()
        case_rows, start = [], 2
        for n in range(start, cases + 1):
            received = date(2025, 1, 1) + timedelta(days=n % 400)
            case_rows.append(
                {
                    "reference": f"CT-{received.year}-{n:05d}",
                    "version": 1,
                    "state": states[n % len(states)],
                    "state_changed": received,
                    "received": received,
                    "channel": "online",
                    "applicant_name": f"Applicant {n}",
                    "victim_name": f"Applicant {n}",
                    "victim_kind": "individual",
                    "language": "en",
                    "statement": "Nothing has changed",
                    "policy_name": pid.policy_name,
                    "policy_version": pid.policy_version,
                    "partnership_id": pid.partnership_id,
                    "purged": False,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        for i in range(0, len(case_rows), 2000):
            conn.execute(insert(ReviewCase.__table__), case_rows[i : i + 2000])
        ids = conn.execute(
            ReviewCase.__table__.select().with_only_columns(ReviewCase.id, ReviewCase.received)
        ).all()
        deadline_rows = []
        for case_id, received in ids:
            deadline_rows.append(
                {
                    "case_id": case_id,
                    "kind": "acknowledge",
                    "due": received + timedelta(days=1),
                    "met_on": received + timedelta(days=1),
                    "not_applicable": False,
                }
            )
            deadline_rows.append(
                {
                    "case_id": case_id,
                    "kind": "threshold_decision",
                    "due": received + timedelta(days=14),
                    "met_on": None,
                    "not_applicable": False,
                }
            )
        for i in range(0, len(deadline_rows), 4000):
            conn.execute(insert(Deadline.__table__), deadline_rows[i : i + 4000])
        del PartnerNotification
    return first.reference


def line(
    results: list, figure: str, value: float, unit: str, goal: float | None, goal_text: str, note: str = ""
) -> None:
    ratio = (value / goal) if goal else None
    results.append(
        {
            "figure": figure,
            "value": round(value, 4),
            "unit": unit,
            "goal": goal_text,
            "ratio": round(ratio, 2) if ratio is not None else None,
            "note": note,
            "ok": (ratio <= 1.0) if ratio is not None else None,
        }
    )


def startup(results: list, runs: int) -> None:
    env = base_env("sqlite:///unused.db", tempfile.mkdtemp(prefix="bench-home-"))
    floor = wall([PY, "-c", FLOOR], env, runs)
    line(results, "import floor (sqlmodel, transitions, click, jinja2)", floor, "s", None, "reference")
    helptime = wall([*TRIGGER, "--help"], env, runs)
    line(results, "trigger --help", helptime, "s", 0.25, "< 0.25 s")


def show_and_list(
    results: list, engine_name: str, db_url: str, cases: int, runs: int, only: set[str] | None = None
) -> str:
    """show and list on a database of `cases` cases (those named in `only`, when given); returns the
    reference of its first case."""
    home = tempfile.mkdtemp(prefix="bench-home-")
    t = time.perf_counter()
    ref = populate(db_url, cases)
    built = time.perf_counter() - t
    env = base_env(db_url, home)
    measured = len(results)
    for name, args in (
        ("show", ["show", ref]),
        ("show --json", ["show", ref, "--json"]),
        ("list", ["list"]),
        ("list --json", ["list", "--json"]),
        ("list --state in_review", ["list", "--state", "in_review"]),
    ):
        if only is not None and name not in only:
            continue
        value, local_floor, bare = paired([*TRIGGER, *args], env, runs, FLOORS[engine_name])
        figure = f"[{engine_name}] {name} on {cases:,} cases"
        against_floor(results, figure, value, local_floor, 1.3, engine_name, bare)
    if len(results) > measured:
        results[-1]["note"] += f"; database built in {built:.1f} s"
    return ref


def against_floor(
    results: list,
    figure: str,
    value: float,
    floor: float,
    times: float,
    engine_name: str,
    bare: float | None = None,
    absolute: float | None = None,
) -> None:
    """A figure judged against `times` x the engine's import floor measured in the same run (or, with
    `absolute`, against that many seconds, the ratio to the floor given beside it)."""
    note = f"{value / floor:.2f} x floor with the {engine_name} driver ({floor:.3f} s)"
    if bare is not None:
        note += f"; {value / bare:.2f} x the bare floor"
    if absolute is not None:
        line(results, figure, value, "s", absolute, f"< {absolute:g} s CPU", note)
    else:
        goal = times * floor
        line(results, figure, value, "s", goal, f"<= {times:g} x floor = {goal:.3f} s", note)


# One case walked through the procedure per run: (figure, arguments), `{ref}` the case made by
# `activate` in the same run, `{out}` a fresh folder for the run's files. Dates are fixed (and past),
# so the run does not depend on the day it is made.
LIFECYCLE = (
    (
        "activate",
        "activate --applicant 'Bench Applicant' --received 2025-09-01 --channel online "
        "--statement 'Nothing has changed' --postcode 'LE11 9ZZ' --on 2025-09-01 --json",
    ),
    ("letter --format pdf", "letter {ref} acknowledgement --format pdf -o {out}/ack.pdf --on 2025-09-02"),
    ("letter (html)", "letter {ref} acknowledgement --preview"),
    (
        "incident add",
        "incident add {ref} --occurred 2025-07-04 --reported 2025-07-04 --agency police --on 2025-09-02",
    ),
    (
        "incident add",
        "incident add {ref} --occurred 2025-07-26 --reported 2025-07-27 --agency cbc --on 2025-09-02",
    ),
    (
        "incident add",
        "incident add {ref} --occurred 2025-08-15 --reported 2025-08-16 --agency police --on 2025-09-02",
    ),
    ("check", "check {ref}"),
    ("check --json", "check {ref} --json"),
    ("decide", "decide {ref} --met --on 2025-09-08"),
    ("letter --format docx", "letter {ref} threshold_met --format docx -o {out}/met.docx --on 2025-09-08"),
    ("assign", "assign {ref} --lead cbc --reviewer 'Morgan Reviewer' --on 2025-09-09"),
    ("evidence", "evidence {ref} --agency police --requested 2025-09-09 --due 2025-09-16"),
    ("hours", "hours {ref} --agency cbc --person 'Morgan Reviewer' --hours 6.5 --date 2025-09-18"),
    (
        "meeting",
        "meeting {ref} --at 2025-09-29T10:00 --held --victim-involvement attend --on 2025-09-29",
    ),
    ("finding", "finding {ref} --category silo_working --text 'Reports never linked' --on 2025-09-29"),
    ("recommend", "recommend {ref} --to police --text 'Flag the street' --on 2025-09-29"),
    (
        "action add",
        "action add {ref} --action 'Joint patrols' --owner police --due 2025-11-30 --on 2025-09-29",
    ),
    ("outcome", "outcome {ref} --victim-consulted --on 2025-10-02"),
    ("show", "show {ref}"),
    ("show --json", "show {ref} --json"),
)


def lifecycle(
    results: list, engine_name: str, db_url: str, cases: int, runs: int, only: set[str] | None = None
) -> None:
    """Every step of a case's review, each a fresh process, on the database `show_and_list` built: the
    median CPU time of each command against the median of the import floor measured between them. With
    `only`, the steps named there are measured, and the steps before the last of them run unmeasured."""
    env = base_env(db_url, tempfile.mkdtemp(prefix="bench-home-"))
    floor_cmd = [PY, "-c", FLOORS[engine_name]]
    samples: dict[str, list[float]] = {}
    floors: list[float] = []
    steps = list(LIFECYCLE)
    if only is not None:
        named = [i for i, (figure, _) in enumerate(steps) if figure in only]
        steps = steps[: named[-1] + 1] if named else []
    for run in range(runs + 1):  # the first run warms the caches and is not counted
        fields = {"ref": "", "out": tempfile.mkdtemp(prefix="bench-letters-")}
        for figure, template in steps:
            args = shlex.split(template.format(**fields))
            if only is not None and figure not in only:
                _, out = cpu([*TRIGGER, *args], env)
                if figure == "activate":
                    fields["ref"] = json.loads(out)["reference"]
                continue
            floor_used = cpu(floor_cmd, env)[0]
            used, out = cpu([*TRIGGER, *args], env)
            if figure == "activate":
                fields["ref"] = json.loads(out)["reference"]
            if run:
                floors.append(floor_used)
                samples.setdefault(figure, []).append(used)
    floor = median(floors)
    for figure, used in samples.items():
        name = f"[{engine_name}] {figure} ({cases:,} cases held)"
        if figure == "letter --format pdf":
            against_floor(results, name, median(used), floor, 1.0, engine_name, absolute=1.0)
        else:
            times = 1.5 if figure == "letter --format docx" else 1.3
            against_floor(results, name, median(used), floor, times, engine_name)


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(ROOT))
    spec.loader.exec_module(module)
    return module


def scan(results: list, quick: bool) -> None:
    """Goal: scan of 1,000,000 incidents in under 5 s on two cores (SQLite file)."""
    n = 100_000 if quick else 1_000_000
    out = _load("bench_scan").run(n)
    line(
        results,
        f"[sqlite] scan of {n:,} incidents",
        out["scan_s"],
        "s",
        5.0,
        "< 5 s",
        f"{out['ratio_to_bare']:.2f} x a bare GROUP BY victim ({out['bare_group_by_s']:.3f} s); "
        f"import {out['import_s']:.1f} s",
    )


def reminders(results: list, quick: bool) -> None:
    """Goal: the sweep's cost grows with the reminders due, not with the cases held."""
    module = _load("bench_reminders")
    held = (2_000, 20_000) if quick else (10_000, 100_000)
    due = (200, 1_000) if quick else (1_000, 5_000)
    figures = {}
    for cases_held in held:
        for n_due in due:
            out = module.run(cases_held=cases_held, due=n_due, repeat=1 if quick else 3)
            figures[cases_held, n_due] = out["sweep_s"]
            line(
                results,
                f"[sqlite] reminder sweep, {cases_held:,} cases held, {n_due:,} due",
                out["sweep_s"],
                "s",
                None,
                "grows with due, not held",
                f"{out['per_reminder_ms']:.2f} ms each",
            )
    by_held = figures[held[1], due[1]] / figures[held[0], due[1]]
    by_due = figures[held[1], due[1]] / figures[held[1], due[0]]
    results.append(
        {
            "figure": "[sqlite] reminder sweep growth",
            "value": round(by_held, 2),
            "unit": "x",
            "goal": "10x cases held ~ 1x",
            "ratio": None,
            "ok": None,
            "note": f"{held[1] // held[0]}x cases held -> {by_held:.2f}x time; "
            f"{due[1] // due[0]}x due -> {by_due:.2f}x time",
        }
    )


def report(results: list, quick: bool) -> None:
    """Goal: the annual report over 100,000 cases in under 1 s."""
    n = 10_000 if quick else 100_000
    out = _load("bench_report").run(n)
    line(
        results,
        f"[sqlite] annual report over {n:,} cases",
        out["seconds"],
        "s",
        1.0,
        "< 1 s",
        f"whole command {out['cli_seconds']:.2f} s; "
        f"consistency checks {'pass' if out['checks_ok'] else 'FAIL'}",
    )


def print_results(results: list) -> None:
    for r in results:
        if r.get("value") is None:
            print(f"{r['figure']:58} -- {r.get('note', '')}")
            continue
        ratio = f"ratio {r['ratio']:.2f}" if r.get("ratio") is not None else ""
        verdict = "" if r.get("ok") is None else ("ok" if r["ok"] else "OVER GOAL")
        print(
            f"{r['figure']:58} {r['value']:8.3f} {r.get('unit', ''):2}  goal {r.get('goal', ''):28} "
            f"{ratio:11} {verdict:9} {r.get('note', '')}"
        )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer runs and smaller data (a smoke test)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON")
    ap.add_argument(
        "--db",
        choices=("sqlite", "postgres", "both"),
        default="sqlite",
        help="which engines to measure where it applies (postgres runs both)",
    )
    ap.add_argument("--pg-url", default=PG_DEFAULT, help="PostgreSQL server (a throw-away schema is used)")
    ap.add_argument(
        "--commands",
        action="store_true",
        help="only the start-up and command figures (not scan, reminders, report)",
    )
    ap.add_argument(
        "--only",
        default=None,
        metavar="NAMES",
        help="only these commands, comma-separated figure names (activate,decide,...): implies --commands",
    )
    args = ap.parse_args(argv)
    only = {name.strip() for name in args.only.split(",") if name.strip()} if args.only else None
    if only is not None:
        known = {figure for figure, _ in LIFECYCLE} | {"show", "show --json", "list", "list --json"}
        known |= {"list --state in_review", "trigger --help"}
        if only - known:
            ap.error(f"unknown figures {sorted(only - known)}; known: {', '.join(sorted(known))}")
    runs = 3 if args.quick else 7
    cases = 1_000 if args.quick else 10_000
    results: list = []
    load = "{:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    if only is None or "trigger --help" in only:
        startup(results, runs)
    engines = ["sqlite"] + (["postgres"] if args.db in ("postgres", "both") else [])
    for engine_name in engines:
        cleanup = None
        if engine_name == "sqlite":
            db_url = f"sqlite:///{tempfile.mkdtemp(prefix='bench-db-')}/trigger.db"
        else:
            db_url, cleanup = fresh_postgres_schema(args.pg_url)
        try:
            show_and_list(results, engine_name, db_url, cases, runs, only)
            lifecycle(results, engine_name, db_url, cases, runs, only)
        finally:
            if cleanup:
                cleanup()
    for bench in () if args.commands or only is not None else (scan, reminders, report):
        try:
            bench(results, args.quick)
        except Exception as exc:  # noqa: BLE001 - one failing benchmark must not hide the others' figures
            detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
            results.append({"figure": bench.__name__, "value": None, "note": f"failed: {detail[:200]}"})
    load += " -> {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    results.append({"figure": "load average (1, 5, 15 min), start -> end", "value": None, "note": load})
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print_results(results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
