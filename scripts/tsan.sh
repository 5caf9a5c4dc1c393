#!/usr/bin/env bash
# Runs the Swift test suite under ThreadSanitizer (issue 21, item 6), in its own build folder (.build-tsan) so that
# the ordinary build is untouched. A data race, a lock-order inversion or a use of freed memory from another thread
# fails the run with ThreadSanitizer's report. Takes a while: a full build with instrumentation, then the suite,
# which runs several times slower. Arguments go to `swift test` (for example `--filter StorageTests`).
# Linux and macOS; the results of the last run are in docs/OPERATIONS.md ("Fuzzing").
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== swift build --build-tests --sanitize=thread (.build-tsan)"
swift build --build-tests --sanitize=thread --build-path .build-tsan
echo "== swift test --sanitize=thread"
# halt_on_error: the first report fails the run; second_deadlock_stack: both stacks of a lock-order inversion.
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ${TSAN_OPTIONS:-}" \
    swift test --skip-build --sanitize=thread --build-path .build-tsan "$@"
