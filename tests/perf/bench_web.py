"""The applicant's door under load: `trigger web serve` on loopback, driven by applicants completing the
whole application over HTTP (tests/webdoor.py), on SQLite and on PostgreSQL.

    python tests/perf/bench_web.py [--db sqlite|postgres|both] [--pg-url URL] [--applicants 50]

Figures, for each engine:
- each page's server time (from the server's own log: the time from the request's arrival to the last
  byte of the response), p50 and p95 over applicants completing the journey one after another; the
  goal is p95 < 50 ms for every page;
- 50 applicants at once (50 threads, each its own session), each sending a whole application: the goal
  is no error and 50 cases; the wall time and the p95 of each page's server time under that load.

A benchmark, not a test: it prints what it measured and exits 1 when a goal is missed. The rate
limits are lifted for it (every applicant comes from 127.0.0.1).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.support.webdoor import Applicant, victim_answers  # noqa: E402

PG_DEFAULT = os.environ.get("TRIGGER_TEST_DB") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LINE = re.compile(r"trigger\.web: (GET|POST) (\S+) (\d{3}) ([\d.]+)ms")
GOAL_MS = 50.0


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _page(path: str) -> str:
    return re.sub(r"/incident/\d+", "/incident/N", path)


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def _times(log: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = defaultdict(list)
    for method, path, _status, ms in LINE.findall(log):
        if not path.startswith("/static"):
            out[f"{method} {_page(path)}"].append(float(ms))
    return out


class Serve:
    def __init__(self, url: str, home: Path):
        self.port = _port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = home / "serve.log"
        env = {
            **os.environ,
            "TRIGGER_DB": url,
            "TRIGGER_HOME": str(home),
            "TRIGGER_OUTBOX": str(home / "outbox"),
            "TRIGGER_WEB_SUBMISSIONS_PER_HOUR": "1000000",
            "TRIGGER_WEB_POSTS_PER_HOUR": "1000000",
        }
        subprocess.run(
            [sys.executable, "-m", "trigger", "init", "--policy", "llr"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        self.env = env
        self.log = open(self.log_path, "w")  # closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "trigger", "web", "serve", "--port", str(self.port)],
            env=env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(self.base + "/apply", timeout=5)
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError(self.log_path.read_text())

    def text(self) -> str:
        self.log.flush()
        return self.log_path.read_text()

    def cases(self) -> int:
        out = subprocess.run(
            [sys.executable, "-m", "trigger", "list", "--json"],
            env=self.env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return out.count('"reference"')

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self.log.close()
        return code


def _one(base: str, n: int, errors: list) -> None:
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            Applicant(client).apply(victim_answers(name=f"Applicant {n}", email=f"a{n}@example.org"))
    except Exception as exc:  # noqa: BLE001 - every failure is counted and shown
        errors.append(f"applicant {n}: {type(exc).__name__}: {str(exc)[:200]}")


def run(engine: str, url: str, applicants: int, sequential: int) -> bool:
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        server = Serve(url, Path(tmp))
        try:
            errors: list[str] = []
            _one(server.base, 0, errors)  # warm-up: the first request loads templates and Babel's data
            mark = len(server.text())
            for n in range(1, sequential + 1):
                _one(server.base, n, errors)
            alone = _times(server.text()[mark:])
            print(f"\n[{engine}] each page's server time, {sequential} applicants one after another (ms):")
            print(f"  {'page':34} {'n':>4} {'p50':>7} {'p95':>7}  goal p95 < {GOAL_MS:.0f}")
            for page, values in sorted(alone.items()):
                p95 = _p(values, 0.95)
                ok &= p95 < GOAL_MS
                verdict = "ok" if p95 < GOAL_MS else "MISSED"
                print(f"  {page:34} {len(values):4d} {_p(values, 0.5):7.1f} {p95:7.1f}  {verdict}")
            mark = len(server.text())
            threads = [
                threading.Thread(target=_one, args=(server.base, 1000 + n, errors)) for n in range(applicants)
            ]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - started
            loaded = _times(server.text()[mark:])
            cases = server.cases()
            expected = 1 + sequential + applicants
            print(
                f"[{engine}] {applicants} applicants at once: {wall:.1f} s wall, errors {len(errors)}, "
                f"cases {cases} of {expected} ({'ok' if not errors and cases == expected else 'MISSED'})"
            )
            worst = max(loaded.items(), key=lambda kv: _p(kv[1], 0.95))
            every = [v for values in loaded.values() for v in values]
            print(
                f"  under that load: p95 of all pages {_p(every, 0.95):.1f} ms, slowest page {worst[0]} "
                f"p95 {_p(worst[1], 0.95):.1f} ms, {len(every)} requests"
            )
            for e in errors[:5]:
                print("  ", e)
            ok &= not errors and cases == expected
        finally:
            code = server.stop()
            print(f"[{engine}] stopped on SIGTERM with status {code}")
    return ok


def _pg_schema(admin_url: str) -> tuple[str, str]:
    import sqlalchemy

    name = f"bench_web_{secrets.token_hex(4)}"
    engine = sqlalchemy.create_engine(admin_url, poolclass=sqlalchemy.pool.NullPool)
    with engine.begin() as c:
        c.exec_driver_sql(f"CREATE SCHEMA {name}")
    sep = "&" if "?" in admin_url else "?"
    return name, f"{admin_url}{sep}options={quote(f'-csearch_path={name}', safe='')}"


def _drop(admin_url: str, name: str) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(admin_url, poolclass=sqlalchemy.pool.NullPool)
    with engine.begin() as c:
        c.exec_driver_sql(f"DROP SCHEMA {name} CASCADE")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--pg-url", default=PG_DEFAULT)
    parser.add_argument("--applicants", type=int, default=50)
    parser.add_argument("--sequential", type=int, default=20)
    args = parser.parse_args()
    ok = True
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            ok &= run("sqlite", f"sqlite:///{tmp}/bench.db", args.applicants, args.sequential)
    if args.db in ("postgres", "both"):
        name, url = _pg_schema(args.pg_url)
        try:
            ok &= run("postgres", url, args.applicants, args.sequential)
        finally:
            _drop(args.pg_url, name)
    print("\nall goals met" if ok else "\na goal was missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
