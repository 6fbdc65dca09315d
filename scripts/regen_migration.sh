#!/usr/bin/env bash
# Regenerate trigger/store/migrations/versions/0001_initial.py from trigger/store/models.py (after a merge).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
exec "$PY" scripts/regen_migration.py "$@"
