#!/usr/bin/env bash
# Install the test dependencies and run the whole suite: the README's second command, and what .ci/run calls.
# Needs only Python 3.11+, pip and apt (Debian's python3-venv if missing, and redis-server for the cache tests).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: the venv module if missing, and a real redis-server for the cache's shared backend tests.
missing=()
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
command -v redis-server >/dev/null || missing+=(redis-server)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && apt-get install -y -qq "${missing[@]}"
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

# pytest exits 5 when it collects nothing; that is a failure here, as it should be.
exec .venv/bin/python -m pytest "$@"
