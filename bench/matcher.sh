#!/usr/bin/env bash
# The pattern matcher against stix2-matcher 3.0.0 on the OASIS matcher corpus (Tests/Conformance/patterns:
# 389 match/no-match cases), in one run, twice: the whole corpus, then without its one exhaustive-search case
# (`[person:age < 20] REPEATS 10 TIMES WITHIN 8 SECONDS` over 20 observations, which takes the reference about 2.7 s,
# most of its time on the corpus), to show the rate on ordinary cases too. Meridian: `meridian match --batch` over the corpus written as JSON Lines and
# repeated REPEAT times (default 50), JSON parsing included; the reference: `stix2matcher.matcher.match` over every
# case of the already-decoded corpus, 3 passes. Both report cases per second and check their verdicts.
set -euo pipefail
cd "$(dirname "$0")/.."
REPEAT="${REPEAT:-50}"
swift build -c release --product meridian >/dev/null
M="$(swift build -c release --show-bin-path)/meridian"
if [ ! -x .venv-bench/bin/python ] || ! .venv-bench/bin/python -c 'import stix2matcher' 2>/dev/null; then
    python3 -m venv .venv-bench
    .venv-bench/bin/pip install --quiet --disable-pip-version-check stix2-matcher==3.0.0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
measure() {  # label skip-index (-1: none)
python3 - "$work/cases.jsonl" "$REPEAT" "$2" <<'PY'
import json, sys
cases = json.load(open("Tests/Conformance/patterns/matcher_cases.json"))
with open(sys.argv[1], "w") as out:
    for _ in range(int(sys.argv[2])):
        for i, c in enumerate(cases):
            if i == int(sys.argv[3]):
                continue
            out.write(json.dumps({"pattern": c["pattern"], "observed_data": c["observed_data"], "stix_version": c["stix_version"]}) + "\n")
PY
start=$(date +%s.%N)
"$M" match --batch "$work/cases.jsonl" > "$work/out.jsonl"
end=$(date +%s.%N)
n=$(wc -l < "$work/out.jsonl")
python3 - "$work/out.jsonl" "$2" <<'PY'
import json, sys
cases = [c for i, c in enumerate(json.load(open("Tests/Conformance/patterns/matcher_cases.json"))) if i != int(sys.argv[2])]
out = [json.loads(l) for l in open(sys.argv[1])]
bad = sum(1 for i, o in enumerate(out) if o.get("matched") != cases[i % len(cases)]["expected"])
print(f"meridian verdicts disagreeing with the corpus: {bad}")
PY
meridian_rate=$(awk -v s="$start" -v e="$end" -v n="$n" 'BEGIN { printf "%.0f", n / (e - s) }')
awk -v s="$start" -v e="$end" -v n="$n" -v l="$1" 'BEGIN { printf "%s: meridian match --batch: %d cases in %.3f s = %.0f cases/s\n", l, n, e - s, n / (e - s) }'
reference_rate=$(.venv-bench/bin/python - "$2" <<'PY'
import json, sys, time
from stix2matcher.matcher import match
cases = [c for i, c in enumerate(json.load(open("Tests/Conformance/patterns/matcher_cases.json"))) if i != int(sys.argv[1])]
start = time.perf_counter()
bad = 0
for _ in range(3):
    for c in cases:
        if bool(match(c["pattern"], c["observed_data"], stix_version=c["stix_version"])) != c["expected"]:
            bad += 1
elapsed = time.perf_counter() - start
import sys
print(f"stix2-matcher 3.0.0: {3 * len(cases)} cases in {elapsed:.3f} s = {3 * len(cases) / elapsed:.0f} cases/s ({bad} disagreeing)", file=sys.stderr)
print(f"{3 * len(cases) / elapsed:.0f}")
PY
)
awk -v m="$meridian_rate" -v r="$reference_rate" -v l="$1" 'BEGIN { printf "%s: ratio %.0fx\n", l, m / r }'
}

measure "whole corpus (389 cases)" -1
measure "without the exhaustive-search case (388 cases)" 243
