#!/usr/bin/env bash
# Install the test dependencies and run the whole suite: the README's second command, and what .ci/run calls.
# Needs only Python 3.11+, pip and (on Debian, if the venv module is missing) apt.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  apt-get update -qq && apt-get install -y -qq python3-venv
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

# pytest exits 5 when it collects nothing; that is a failure here, as it should be.
exec .venv/bin/python -m pytest "$@"
