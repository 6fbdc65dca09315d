#!/usr/bin/env bash
# Refreshes deploy/constraints.txt, the versions a deployment installs (README, Dockerfile, compose.yaml):
# the newest releases within pyproject.toml's ranges, for every platform and Python 3.11+, with every
# extra but the test one. CI installs them and runs the whole suite on them; commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."
uv pip compile pyproject.toml --universal --python-version 3.11 --extra pdf --extra docx --extra postgres --extra notify \
    --extra office365 --extra web \
    --no-emit-package community-trigger --custom-compile-command "scripts/lock.sh" -q -o deploy/constraints.txt
