#!/usr/bin/env bash
# Runs every test: the Swift test suite, then the interoperability tests that run the real `meridian` binary
# against the OASIS reference tools from PyPI (installed into .venv-test, created here on first use).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== swift build"
swift build --build-tests

echo "== PostgreSQL for the tests (a throwaway cluster)"
# The stores' contract tests run against SQLite and PostgreSQL both: a cluster of its own in a temporary folder, on
# a free loopback port, removed when the tests end however they end.
pgdir="$(mktemp -d /tmp/meridian-pg.XXXXXX)"
trap 'scripts/postgres.sh stop "$pgdir"' EXIT
MERIDIAN_TEST_POSTGRES_URL="$(scripts/postgres.sh start "$pgdir")"
export MERIDIAN_TEST_POSTGRES_URL MERIDIAN_REQUIRE_POSTGRES=1

echo "== swift test"
swift test --skip-build

echo "== swift test: the node's suites again, on PostgreSQL"
# Every node the TAXII routes, search, submission, import, correlation, policy-change and transparency suites and the
# sharing policy's property tests open is then a new database of the test cluster instead of a SQLite file.
MERIDIAN_TEST_BACKEND=postgresql swift test --skip-build --filter "MeridianServerTests|PolicyTests"

echo "== interoperability tests (stix2-validator from PyPI)"
[ -x .venv-test/bin/pip ] || python3 -m venv .venv-test
# Every run, so that a requirement added since the virtualenv was made is installed (quick when nothing is missing).
.venv-test/bin/pip install --quiet --disable-pip-version-check -r Tests/Interop/requirements.txt
MERIDIAN_BIN="$(swift build --show-bin-path)/meridian" .venv-test/bin/pytest -q Tests/Interop

echo "== interoperability tests on PostgreSQL (taxii2-client, the sharing policy's table, MISP feeds and PyMISP)"
# The same binary, each node's data in a new database of the test cluster ([storage] backend = "postgresql").
MERIDIAN_TEST_BACKEND=postgresql MERIDIAN_BIN="$(swift build --show-bin-path)/meridian" \
    .venv-test/bin/pytest -q Tests/Interop/test_taxii_interop.py Tests/Interop/test_sharing.py Tests/Interop/test_misp.py \
    Tests/Interop/test_postgres.py
