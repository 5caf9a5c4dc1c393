# Sourced by the benchmarks that run `meridian serve`: the release binary in $M, a temporary $work directory whose
# servers are stopped on exit, the benchmark user's credentials, and helpers to start a node and load it with wrk.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time; }
swift build -c release --product meridian >/dev/null
M="$(swift build -c release --show-bin-path)/meridian"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
PASS="bench password 1234"
AUTH="Authorization: Basic $(printf 'bench:%s' "$PASS" | base64 -w0)"
ACCEPT="Accept: application/taxii+json;version=2.1"

serve_node() {  # data-dir port: starts `meridian serve` on the directory and waits until it answers
    "$M" serve --data "$1" --port "$2" >"$1/serve.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$2/health" >/dev/null && return; sleep 0.1; done
    echo "meridian did not start on port $2 (see $1/serve.log)" >&2
    exit 1
}

wrk_load() {  # url auth-header [server-pid]: one warm-up request (credentials are checked once, then remembered), then
    # wrk with 2 threads and 64 connections for 10 s; prints "req/s p99 non-2xx", and with a pid the server's CPU time
    # per request in ms (user + system, from /proc) as a fourth field
    curl -s -o /dev/null -H "$2" -H "$ACCEPT" "$1"
    local before=0
    [ -n "${3:-}" ] && before=$(awk '{ print $14 + $15 }' "/proc/$3/stat")
    local out
    out=$(wrk -t2 -c64 -d10s --timeout 60s --latency -H "$2" -H "$ACCEPT" "$1")
    local cpu=""
    [ -n "${3:-}" ] && cpu=$(( $(awk '{ print $14 + $15 }' "/proc/$3/stat") - before ))
    echo "$out" | awk -v ticks="$cpu" -v hz="$(getconf CLK_TCK)" '/requests in/ { n = $1 } /Requests\/sec/ { r = $2 } $1 == "99%" { p = $2 } /Non-2xx/ { e = $5 }
        END { printf "%s %s %d", r, p, e + 0; if (ticks != "") printf " %.3f", ticks * 1000 / hz / n; print "" }'
}

COLL="91a7b528-80eb-42ed-a74d-c6fbd5a26116"

bench_config() {  # audit-reads: the TOML of one org and one collection ($COLL), request limits off, `[audit] reads` as given
    cat <<TOML
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
reads = $1
TOML
}

attack_node() {  # data-dir port audit-reads: one org, one collection ($COLL) holding ATT&CK Enterprise
    # 18.1, request limits off, `[audit] reads` as given; served on the port
    mkdir -p "$1"
    bench_config "$3" > "$1/meridian.toml"
    echo "$PASS" | "$M" user add bench --org bench-org --data "$1" >/dev/null
    "$M" import data/attack/enterprise-attack-18.1.json.gz --collection "$COLL" --data "$1" | tail -1
    serve_node "$1" "$2"
}
