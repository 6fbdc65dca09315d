"""The real command line through click's CliRunner, as the `trigger` and `db` fixtures hand it to a test."""

from __future__ import annotations

import json

from click.testing import CliRunner

import cli


class Runner:
    """The real command line, through CliRunner."""

    def __init__(self):
        self.runner = CliRunner()

    def __call__(self, *args, ok=True, input=None):
        result = self.runner.invoke(cli.cli, [str(a) for a in args], catch_exceptions=False, input=input)
        if ok and result.exit_code != 0:
            raise AssertionError(
                f"trigger {' '.join(map(str, args))} failed ({result.exit_code}):\n"
                f"{result.stdout}{result.stderr}"
            )
        return result

    def fails(self, *args):
        result = self(*args, ok=False)
        assert result.exit_code != 0, f"expected trigger {' '.join(map(str, args))} to fail:\n{result.stdout}"
        return result

    def json(self, *args):
        return json.loads(self(*args, "--json").stdout)
