#!/usr/bin/env bash
# The analysts' web pages under load (issue 17, item 6): a node holding ATT&CK Enterprise, DISARM and 1,000,000
# generated indicators, one signed-in user's session cookie, 16 concurrent connections (wrk, 2 threads) for 10 s per
# page; prints p50, p95 and p99 latency, requests per second and non-2xx answers for object pages and searches.
# Usage: bench/ui.sh [INDICATORS] (default 1000000).
source "$(dirname "$0")/common.sh"
command -v sqlite3 >/dev/null || { apt-get update -qq && apt-get install -y -qq sqlite3; }
N="${1:-1000000}"
PY="${PYTHON:-python3}"
data="$work/ui"
attack_node "$data" 18201 false >/dev/null
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
"$M" import data/disarm/DISARM.json.gz --collection "$COLL" --data "$data" | tail -1
$PY bench/taxii_bench.py generate "$N" "$work/indicators.json"
/usr/bin/time -f "import of $N indicators: %e s, %M KB" "$M" import "$work/indicators.json" --collection "$COLL" --data "$data" 2>&1 | tail -2
rm -f "$work/indicators.json"
serve_node "$data" 18202
base="http://127.0.0.1:18202"
# The search index is made in the background after the import: wait until it has caught up (timed).
start=$(date +%s)
until [ "$(sqlite3 "$data/meridian.sqlite" "SELECT coalesce(max(date_added), 0) >= (SELECT last_added FROM collection WHERE id = '$COLL') FROM search_cursor")" = 1 ]; do
    sleep 1
done
echo "search index caught up $(( $(date +%s) - start )) s after the server started"

# Sign in through the form, as a browser does.
csrf=$(curl -s -c "$work/jar" "$base/ui/login" | grep -o 'name="csrf" value="[0-9a-f]*"' | sed 's/.*value="//;s/"//')
curl -s -b "$work/jar" -c "$work/jar" -o /dev/null -d "csrf=$csrf&username=bench&password=$PASS" "$base/ui/login"
cookie="Cookie: mrd_session=$(awk '$6 == "mrd_session" { print $7 }' "$work/jar")"
cat > "$work/p95.lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("p50 %.1f ms  p95 %.1f ms  p99 %.1f ms  %.0f req/s  non-2xx %d\n", latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, summary.requests / (summary.duration / 1e6), summary.errors.status))
end
LUA
# The ATT&CK technique T1059, found as an analyst finds it (the first result is the exact id).
technique=$(curl -s -H "$cookie" "$base/ui/search?q=T1059" | grep -o 'href="/ui/objects/attack-pattern--[0-9a-f-]*"' | head -1 | sed 's|.*/||; s|"||')
[ -n "$technique" ] || { echo "T1059 was not found by search" >&2; exit 1; }
indicator="indicator--$(printf '%08x-0000-4000-8000-%012x' 0 123456)"
for page in "/ui/objects/$technique" "/ui/objects/$indicator" "/ui/search?q=T1059" "/ui/search?q=10.1.226.64" "/ui/search?q=scanning+partner" "/ui/"; do
    curl -s -o /dev/null -H "$cookie" "$base$page"
    printf '%-60s ' "$page"
    wrk -t2 -c16 -d10s --timeout 10s -s "$work/p95.lua" -H "$cookie" "$base$page" | tail -1
done
