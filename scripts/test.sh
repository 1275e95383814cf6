#!/usr/bin/env bash
# Install tunecore, every in-repo plugin and the test dependencies, run ruff and mypy, then the whole suite.
# Usage: bash scripts/test.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."

# A real browser for the dashboard tests (Debian's chromium; never a browser download).
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "scripts/test.sh: install Debian's chromium (apt-get install chromium) for the dashboard tests" >&2
    exit 1
  fi
fi

python -m pip install -q -e ".[test,lint]" \
  -e "plugins/tune-hyperband[test]" -e "plugins/tune-pbt[test]" \
  -e "plugins/tune-loggers[test]" -e "plugins/tune-optuna[test]" -e "plugins/tune-integrations[test]"
# ray installs a `tune` script of its own: reinstalling tunecore last makes ours win.
python -m pip install -q --no-deps --force-reinstall -e .

# lint and types first: a regression fails the run before the (longer) suite starts
python -m ruff check .
python -m mypy

python -m pytest "$@"
