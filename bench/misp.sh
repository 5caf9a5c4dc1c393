#!/usr/bin/env bash
# Benchmark (issue 19): MISP events to STIX 2.1, `meridian misp convert` (release build) against misp-stix from PyPI
# (MISPtoSTIX21Parser, the reference Meridian follows), on the same generated events in the same run. Prints events
# per second for both and the ratio.
#
#   bench/misp.sh              # 2,000 events of 20 attributes and 2 objects; 3 runs of Meridian (best kept), 1 of misp-stix
#   EVENTS=500 bench/misp.sh
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS="${EVENTS:-2000}"

if [ -z "${MERIDIAN:-}" ]; then
    swift build -c release --product meridian >/dev/null
    MERIDIAN="$(swift build -c release --show-bin-path)/meridian"
fi
if [ ! -x .venv-bench/bin/python ] || ! .venv-bench/bin/python -c "import misp_stix_converter" 2>/dev/null; then
    python3 -m venv .venv-bench
    .venv-bench/bin/pip install --quiet --disable-pip-version-check misp-stix==2026.10.12 pymisp==2.5.34.4
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
input="$work/events.json"
python3 bench/misp_events.py "$EVENTS" > "$input"
echo "input: $EVENTS events, $(stat -c %s "$input") bytes"

best=""
for _ in 1 2 3; do
    start=$(date +%s.%N)
    "$MERIDIAN" misp convert --max-bytes $((1 << 30)) "$input" > "$work/meridian.json"
    t=$(echo "$(date +%s.%N) - $start" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
done
objects=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['objects']))" "$work/meridian.json")

reference=$(.venv-bench/bin/python - "$input" <<'PY'
import json, sys, time
from misp_stix_converter import MISPtoSTIX21Parser
content = json.load(open(sys.argv[1]))
start = time.perf_counter()
parser = MISPtoSTIX21Parser()
parser.parse_json_content(content)
parser.bundle.serialize()
print(time.perf_counter() - start, len(parser.bundle.objects))
PY
)
ref_t=${reference% *}
ref_objects=${reference#* }
printf "meridian misp convert: %.3f s, %.0f events/s (%s STIX objects)\n" "$best" "$(echo "$EVENTS / $best" | bc -l)" "$objects"
printf "misp-stix:             %.3f s, %.0f events/s (%s STIX objects, JSON already parsed)\n" "$ref_t" "$(echo "$EVENTS / $ref_t" | bc -l)" "$ref_objects"
printf "ratio: %.1fx\n" "$(echo "$ref_t / $best" | bc -l)"
