#!/usr/bin/env bash
# Fuzzes Meridian's parsers of untrusted input with libFuzzer and AddressSanitizer (issue 21, item 6): the JSON parser
# and envelope skim, the streaming ElementScanner, the STIX pattern parser and matcher, the TAXII filter parser, and
# the configuration reader (Fuzz/Package.swift). Each runs FUZZ_SECONDS (default 30; .ci/run uses a short run) from a
# seed corpus made of the repository's own data. An input that crashes, trips a sanitizer or a precondition, or runs
# out of time or memory fails the script; it is kept in FUZZ_ARTIFACTS (default fuzz-artifacts/) to add as a
# regression test once fixed. Linux only (libFuzzer ships with the Swift toolchain there).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-30}"
artifacts="$(pwd)/${FUZZ_ARTIFACTS:-fuzz-artifacts}"
mkdir -p "$artifacts"

echo "== swift build (Fuzz/, -sanitize=fuzzer,address)"
swift build -c debug -Xswiftc -sanitize=fuzzer,address --package-path Fuzz
bin="$(swift build -c debug -Xswiftc -sanitize=fuzzer,address --package-path Fuzz --show-bin-path)"

seeds="$(mktemp -d)"
trap 'rm -rf "$seeds"' EXIT
mkdir -p "$seeds"/{json,scanner,pattern,filter,config}
for f in data/demo/*.json data/oasis-examples/*.json; do
    cp "$f" "$seeds/json/"
    { printf '\x07'; cat "$f"; } > "$seeds/scanner/$(basename "$f")"
done
python3 - "$seeds" <<'PY'
import json, os, sys
seeds = sys.argv[1]
for i, case in enumerate(json.load(open("Tests/Conformance/patterns/pattern_syntax_cases.json"))):
    with open(os.path.join(seeds, "pattern", f"{i}.txt"), "w") as f:
        f.write(case["pattern"])
for i, query in enumerate(["limit=10&added_after=2020-01-01T00:00:00Z", "match[id]=indicator--a,indicator--b&match[version]=all",
                           "match[type]=indicator&match[spec_version]=2.1&next=abc", "match[version]=first,last,2020-01-01T00:00:00.000Z"]):
    with open(os.path.join(seeds, "filter", f"{i}.txt"), "w") as f:
        f.write(query)
PY
cp Tests/Fixtures/v0.1.0/meridian.toml "$seeds/config/init.toml"
python3 - "$seeds" <<'PY'
import re, sys
text = open("docs/CONFIG.md").read()
for i, block in enumerate(re.findall(r"```toml\n(.*?)```", text, re.S)):
    open(f"{sys.argv[1]}/config/doc{i}.toml", "w").write(block)
PY

targets="json:FuzzJSON scanner:FuzzScanner pattern:FuzzPattern filter:FuzzFilter config:FuzzConfig"
# Leaks fail a run, except the one false report listed in the suppressions file (Swift's tagged pointers in a static).
export LSAN_OPTIONS="suppressions=$(pwd)/Fuzz/lsan-suppressions.txt${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
failed=0
for target in $targets; do
    corpus="${target%%:*}"
    name="${target##*:}"
    echo "== $name for $seconds s"
    if ! "$bin/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$artifacts/$name-" "$seeds/$corpus" 2> "$artifacts/$name.log"; then
        echo "$name FAILED: see $artifacts/$name.log and the input saved as $artifacts/$name-*" >&2
        tail -30 "$artifacts/$name.log" >&2
        failed=1
    else
        grep -E "stat::number_of_executed_units|Done [0-9]+ runs" "$artifacts/$name.log" | tail -1
    fi
done
exit $failed
