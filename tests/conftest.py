"""Every test gets its own data directory and database file, and acts as `tester`."""

from __future__ import annotations

import json

import pytest
import sqlalchemy
import sqlmodel
import transitions
from click.testing import CliRunner

import cli
from trigger.app import dispose_engines


def pytest_report_header(config):
    return (f"sqlalchemy {sqlalchemy.__version__}, sqlmodel {sqlmodel.__version__}, "
            f"transitions {transitions.__version__}, sqlite {sqlalchemy.dialects.sqlite.base.sqlite3.sqlite_version}")


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("TRIGGER_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TRIGGER_DB", f"sqlite:///{tmp_path / 'trigger.db'}")
    monkeypatch.setenv("TRIGGER_USER", "tester")
    monkeypatch.delenv("TRIGGER_SMTP_URL", raising=False)
    monkeypatch.delenv("TRIGGER_OUTBOX", raising=False)
    yield
    dispose_engines()


class Runner:
    """The real command line, through CliRunner."""

    def __init__(self):
        self.runner = CliRunner()

    def __call__(self, *args, ok=True, input=None):
        result = self.runner.invoke(cli.cli, [str(a) for a in args], catch_exceptions=False, input=input)
        if ok and result.exit_code != 0:
            raise AssertionError(f"trigger {' '.join(map(str, args))} failed ({result.exit_code}):\n"
                                 f"{result.stdout}{result.stderr}")
        return result

    def fails(self, *args):
        result = self(*args, ok=False)
        assert result.exit_code != 0, f"expected trigger {' '.join(map(str, args))} to fail:\n{result.stdout}"
        return result

    def json(self, *args):
        return json.loads(self(*args, "--json").stdout)


@pytest.fixture
def trigger():
    return Runner()


@pytest.fixture
def db(trigger):
    """An initialised database with the LLR policy and its four agencies."""
    trigger("init", "--policy", "llr", "--manager-email", "csm@example.gov.uk")
    return trigger


@pytest.fixture
def case(db):
    """A case received on 2 March 2026 with three qualifying complaints to the police."""
    ref = db.json("activate", "--applicant", "Ann Example", "--received", "2026-03-02", "--channel", "online",
                  "--statement", "Five reports and nothing has changed")["reference"]
    for occurred, reported in (("2026-01-10", "2026-01-12"), ("2026-01-20", "2026-01-21"),
                               ("2026-02-03", "2026-02-04")):
        db("incident", "add", ref, "--occurred", occurred, "--reported", reported, "--agency", "police",
           "--on", "2026-03-03")
    return ref
