#!/usr/bin/env bash
# Runs every test: the Swift test suite, then the interoperability tests that run the real `meridian` binary
# against the OASIS reference tools from PyPI (installed into .venv-test, created here on first use).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== swift build"
swift build --build-tests

echo "== swift test"
swift test --skip-build

echo "== interoperability tests (stix2-validator from PyPI)"
[ -x .venv-test/bin/pip ] || python3 -m venv .venv-test
# Every run, so that a requirement added since the virtualenv was made is installed (quick when nothing is missing).
.venv-test/bin/pip install --quiet --disable-pip-version-check -r Tests/Interop/requirements.txt
MERIDIAN_BIN="$(swift build --show-bin-path)/meridian" .venv-test/bin/pytest -q Tests/Interop
