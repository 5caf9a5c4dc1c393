#!/usr/bin/env bash
# Correlation with 1,000,000 generated indicators of mixed types (issue 5b): index build time, resident memory and
# observables matched per second on one core (the benchmark is single-threaded). COUNT overrides the indicator count.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product correlation-bench >/dev/null
"$(swift build -c release --show-bin-path)/correlation-bench" "${COUNT:-1000000}"
