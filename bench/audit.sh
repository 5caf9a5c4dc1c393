#!/usr/bin/env bash
# The cost of auditing reads (issue 4: under 15 %). Two nodes with the same data (ATT&CK Enterprise 18.1 imported into
# one collection) differ only by `[audit] reads`; wrk (2 threads, 64 connections, 10 s) reads pages from each in
# turn, twice, and the best run of each is kept. Every page read with auditing on appends an audit entry listing the
# id and version of every object it returned.
source "$(dirname "$0")/common.sh"
COLL="91a7b528-80eb-42ed-a74d-c6fbd5a26116"

node() {  # data-dir port audit-reads
    mkdir -p "$1"
    cat > "$1/meridian.toml" <<TOML
[node]
title = "bench"
owner = "bench-org"
max_page_size = 1000
# Benchmarks measure the server, not its request limits.
[limits]
requests_per_minute_per_account = 0
requests_per_minute_per_address = 0
concurrent_requests_per_account = 0
[[orgs]]
id = "bench-org"
name = "Bench"
country = "FRA"
[[api_roots]]
path = "bench"
title = "bench"
[[collections]]
id = "$COLL"
api_root = "bench"
title = "bench"
read = ["bench-org"]
write = ["bench-org"]
default_tlp = "green"
[audit]
reads = $3
TOML
    echo "$PASS" | "$M" user add bench --org bench-org --data "$1" >/dev/null
    "$M" import data/attack/enterprise-attack-18.1.json.gz --collection "$COLL" --data "$1" | tail -1
    serve_node "$1" "$2"
}


node "$work/on" 18201 true
node "$work/off" 18202 false
for q in "limit=100" "limit=1000"; do
    best_on=0; best_off=0; p_on=""; p_off=""
    for _ in 1 2; do
        read -r r p _ <<<"$(wrk_load "http://127.0.0.1:18202/bench/collections/$COLL/objects/?$q" "$AUTH")"
        if awk -v a="$r" -v b="$best_off" 'BEGIN { exit !(a > b) }'; then best_off=$r; p_off=$p; fi
        read -r r p _ <<<"$(wrk_load "http://127.0.0.1:18201/bench/collections/$COLL/objects/?$q" "$AUTH")"
        if awk -v a="$r" -v b="$best_on" 'BEGIN { exit !(a > b) }'; then best_on=$r; p_on=$p; fi
    done
    awk -v q="$q" -v on="$best_on" -v off="$best_off" -v pon="$p_on" -v poff="$p_off" 'BEGIN {
        printf "?%s: audit off %.0f req/s (p99 %s), audit on %.0f req/s (p99 %s): overhead %.1f %%\n", q, off, poff, on, pon, (off - on) / off * 100 }'
done
entries=$("$M" audit export --data "$work/on" | wc -l)
"$M" audit verify --data "$work/on"
echo "audit entries written by the audited node: $entries"
