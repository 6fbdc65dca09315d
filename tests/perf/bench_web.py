"""The applicant's door under load: `trigger web serve` on loopback over a database of 10,000 cases,
driven by applicants completing the whole application over HTTP (tests/support/webdoor.py) and
following their cases at their own pages, on SQLite and on PostgreSQL.

    python tests/perf/bench_web.py [--db sqlite|postgres|both] [--pg-url URL] [--applicants 50]
                                   [--cases 10000] [--followed 40]

The database holds `--cases` cases (tests/perf/bench.py's `populate`), and `--followed` more made
through the real command line in each state the case page shows differently (received; under review
with its draft plan shared, the applicant's part and a statement; outcome issued with its letters and
action plan; under appeal), each with its private link.

Figures, for each engine:
- each page's server time (from the server's own log: the time from the request's arrival to the last
  byte of the response), p50 and p95, over applicants completing the journey one after another and
  then over the followed cases' pages (the link opened, the case page, a letter, each form page); the
  goal is p95 < 50 ms for every page;
- 50 applicants at once (50 threads, each its own session), each sending a whole application, then
  opening the link its confirmation gives and looking at the case page three times: the goal is no
  error and 50 cases; the wall time and the p95 of each page's server time under that load.

A benchmark, not a test: it prints what it measured and exits 1 when a goal is missed. The rate
limits are lifted for it (every applicant comes from 127.0.0.1).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
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
from datetime import date, timedelta
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
    return re.sub(r"/(incident|letters)/\d+", r"/\1/N", path)


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def _times(log: str) -> dict[str, list[float]]:
    out: dict[str, list[float]] = defaultdict(list)
    for method, path, _status, ms in LINE.findall(log):
        if not path.startswith("/static"):
            out[f"{method} {_page(path)}"].append(float(ms))
    return out


LINK = re.compile(r'href="(/case/[A-Za-z0-9_-]{43})"')


class Serve:
    def __init__(self, url: str, home: Path, initialised: bool = False):
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
        if not initialised:
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


def _one(base: str, n: int, errors: list, follow: bool = False) -> None:
    """One applicant's whole application; with `follow`, then their case page by the confirmation's link."""
    try:
        with httpx.Client(base_url=base, timeout=60) as client:
            applicant = Applicant(client)
            applicant.apply(victim_answers(name=f"Applicant {n}", email=f"a{n}@example.org"))
            if follow:
                _look(client, LINK.search(applicant.page).group(1), ["/case", "/case", "/case"])
    except Exception as exc:  # noqa: BLE001 - every failure is counted and shown
        errors.append(f"applicant {n}: {type(exc).__name__}: {str(exc)[:200]}")


def _look(client: httpx.Client, link: str, paths: list[str]) -> None:
    """Open a private link (its visit starts), then GET each of `paths`, each answered 200."""
    opened = client.get(link, follow_redirects=False)
    if opened.status_code != 303:
        raise RuntimeError(f"the link was answered {opened.status_code}")
    for path in paths:
        answer = client.get(path, follow_redirects=False)
        if answer.status_code != 200:
            raise RuntimeError(f"{path} was answered {answer.status_code}")


# -- cases followed at their pages --------------------------------------------------------------------

FOLLOWED_PAGES = {
    "received": ["/case", "/case/letters/1"],
    "review": ["/case", "/case/letters/1", "/case/involvement", "/case/statement", "/case/plan"],
    "outcome": ["/case", "/case/letters/1", "/case/letters/2", "/case/appeal"],
    "appeal": ["/case", "/case/letters/3"],
}


def populate(url: str, cases: int) -> str:
    """tests/perf/bench.py's database of `cases` cases (loaded from its file: a benchmark is a script)."""
    spec = importlib.util.spec_from_file_location("_bench", Path(__file__).resolve().parent / "bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench.populate(url, cases)


def _followed(url: str, home: Path, count: int) -> list[tuple[str, str]]:
    """`count` cases made through the real command line (in process), in turn in each state the case
    page shows differently, each with its letters and its private link: (state, link) for each."""
    from click.testing import CliRunner

    import cli
    from trigger.store.app import dispose_engines

    os.environ.update(TRIGGER_DB=url, TRIGGER_HOME=str(home), TRIGGER_USER="bench")
    os.environ["TRIGGER_OUTBOX"] = str(home / "outbox")
    runner = CliRunner()
    today = date.today()
    ahead = (today + timedelta(days=365)).isoformat()

    def trigger(*args) -> str:
        result = runner.invoke(cli.cli, [str(a) for a in args], catch_exceptions=False)
        if result.exit_code != 0:
            raise RuntimeError(f"trigger {' '.join(map(str, args))}: {result.output}{result.stderr}")
        return result.stdout

    def letter(ref: str, kind: str) -> None:
        trigger("letter", ref, kind, "--format", "txt", "-o", home / f"{ref}-{kind}.txt")

    out = []
    for n in range(count):
        state = list(FOLLOWED_PAGES)[n % len(FOLLOWED_PAGES)]
        made = trigger(
            "activate",
            "--applicant",
            f"Followed {n}",
            "--received",
            today.isoformat(),
            "--channel",
            "phone",
            "--statement",
            "Nothing has changed",
            "--email",
            f"f{n}@example.org",
            "--json",
        )
        ref = json.loads(made)["reference"]
        letter(ref, "acknowledgement")
        if state != "received":
            trigger("decide", ref, "--met", "--reason", "discretion")
            trigger("assign", ref, "--lead", "cbc", "--reviewer", "Sam Reviewer")
            trigger("action", "add", ref, "--action", "Fit a door camera", "--owner", "emh", "--due", ahead)
            trigger("consult", ref, "--share-plan")
            trigger("case", "update", ref, "--involvement", "attend", "--reason", "asked on the phone")
            trigger("victim-statement", ref, "--text", "The noise starts at 2am.")
        if state in ("outcome", "appeal"):
            trigger("meeting", ref, "--at", f"{today.isoformat()}T09:00", "--held")
            trigger("finding", ref, "--category", "silo_working")
            trigger("recommend", ref, "--to", "police", "--text", "Share reports weekly")
            trigger("outcome", ref)
            letter(ref, "outcome")
        if state == "appeal":
            trigger("appeal", ref, "--received", today.isoformat(), "--grounds", "facts", "--detail", "Words")
            letter(ref, "appeal_acknowledgement")
        out.append((state, trigger("web", "link", ref).strip()))
    dispose_engines()
    return out


def run(engine: str, url: str, applicants: int, sequential: int, cases: int, followed: int) -> bool:
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        populate(url, cases)
        pages = _followed(url, Path(tmp), followed)
        print(
            f"\n[{engine}] {cases} cases and {followed} followed at their pages, made in "
            f"{time.perf_counter() - started:.0f} s"
        )
        server = Serve(url, Path(tmp), initialised=True)
        try:
            errors: list[str] = []
            _one(server.base, 0, errors, follow=True)  # warm-up: templates and Babel's data load once
            mark = len(server.text())
            for n in range(1, sequential + 1):
                _one(server.base, n, errors)
            for state, link in pages:
                with httpx.Client(base_url=server.base, timeout=60) as client:
                    try:
                        _look(client, link, FOLLOWED_PAGES[state] + ["/case"] * 3)
                    except Exception as exc:  # noqa: BLE001 - counted and shown
                        errors.append(f"followed {state}: {type(exc).__name__}: {str(exc)[:200]}")
            alone = _times(server.text()[mark:])
            before = server.cases()
            print(
                f"[{engine}] each page's server time, {sequential} applicants one after another, then "
                f"{followed} cases at their pages (ms):"
            )
            print(f"  {'page':34} {'n':>4} {'p50':>7} {'p95':>7}  goal p95 < {GOAL_MS:.0f}")
            for page, values in sorted(alone.items()):
                p95 = _p(values, 0.95)
                ok &= p95 < GOAL_MS
                verdict = "ok" if p95 < GOAL_MS else "MISSED"
                print(f"  {page:34} {len(values):4d} {_p(values, 0.5):7.1f} {p95:7.1f}  {verdict}")
            mark = len(server.text())
            threads = [
                threading.Thread(target=_one, args=(server.base, 1000 + n, errors, True))
                for n in range(applicants)
            ]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            wall = time.perf_counter() - started
            loaded = _times(server.text()[mark:])
            made = server.cases() - before
            print(
                f"[{engine}] {applicants} applicants at once, each then at their case page: "
                f"{wall:.1f} s wall, "
                f"errors {len(errors)}, cases {made} of {applicants} "
                f"({'ok' if not errors and made == applicants else 'MISSED'})"
            )
            worst = max(loaded.items(), key=lambda kv: _p(kv[1], 0.95))
            every = [v for values in loaded.values() for v in values]
            print(
                f"  under that load: p95 of all pages {_p(every, 0.95):.1f} ms, slowest page {worst[0]} "
                f"p95 {_p(worst[1], 0.95):.1f} ms, {len(every)} requests"
            )
            for e in errors[:5]:
                print("  ", e)
            ok &= not errors and made == applicants
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
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--followed", type=int, default=40)
    args = parser.parse_args()
    sizes = (args.applicants, args.sequential, args.cases, args.followed)
    print(f"load average at the start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    ok = True
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            ok &= run("sqlite", f"sqlite:///{tmp}/bench.db", *sizes)
    if args.db in ("postgres", "both"):
        name, url = _pg_schema(args.pg_url)
        try:
            ok &= run("postgres", url, *sizes)
        finally:
            _drop(args.pg_url, name)
    print(f"\nload average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print("\nall goals met" if ok else "\na goal was missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
