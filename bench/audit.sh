#!/usr/bin/env bash
# The cost of auditing reads (issue 4: under 15 %). Two nodes with the same data (ATT&CK Enterprise 18.1 imported into
# one collection) differ only by `[audit] reads`; wrk (2 threads, 64 connections, 10 s) reads pages from each in
# turn, twice, and the best run of each is kept. Every page read with auditing on appends an audit entry listing the
# id and version of every object it returned.
source "$(dirname "$0")/common.sh"
attack_node "$work/on" 18201 true
attack_node "$work/off" 18202 false
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
