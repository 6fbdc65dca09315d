# The commands CONTRIBUTING.md names, one word each: `just lint`, `just test`, `just test-pg`, `just bench`,
# `just docs`, `just ci`. `just` comes from `pip install rust-just` (or the system's package manager).
# Each recipe runs in the active virtual environment.

pg_url := env("TRIGGER_TEST_DB", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

# list the recipes
default:
    @just --list

# ruff, the format check, mypy and the generated files' checks (what pre-commit and .ci/run run)
lint:
    ruff check .
    ruff format --check .
    mypy
    python scripts/cli_reference.py --check
    python scripts/read_tables.py --check

# fix what ruff can fix and format the code
fix:
    ruff check --fix .
    ruff format .

# the suite on SQLite (the default); extra arguments go to pytest, e.g. `just test -n 0 tests/test_cli.py`
test *args:
    python -m pytest {{ args }}

# the suite on PostgreSQL (TRIGGER_TEST_DB, default the local server's database `test`)
test-pg *args:
    TRIGGER_TEST_DB="{{ pg_url }}" python -m pytest {{ args }}

# the benchmarks against the goals (`just bench --quick` for a smoke run)
bench *args:
    python tests/perf/bench.py {{ args }}

# regenerate what is generated from the code: the CLI reference and the read tables
docs:
    python scripts/cli_reference.py
    python scripts/read_tables.py

# the whole CI, as it runs on a clean checkout (a fresh virtual environment; several minutes)
ci:
    .ci/run
