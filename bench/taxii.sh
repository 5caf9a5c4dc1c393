#!/usr/bin/env bash
# Benchmark the TAXII server against medallion 3.0.0 (memory backend), the OASIS reference server, in one run:
#   (a) ingest ATT&CK Enterprise 18.1 through POST in envelopes of 1,000 objects, waiting for each status;
#   (b) wrk, 64 connections, 10 s: GET objects/?limit=100 and objects/?match[type]=attack-pattern&limit=100, and the
#       ceiling of the first: the same page sent by nginx as a static file and by a Hummingbird server that holds it;
#   (c) walking the whole collection by `next` with limit=1000;
#   (d) `meridian import` of the same file against the floor, a raw SQLite insert of the same rows;
#   (e) resident memory of `meridian serve` under wrk with a store of 1,000,000 generated objects (SKIP_1M=1 skips).
# medallion's ingest compares each new object with every stored one, and its `next` paging keeps a copy of the
# remaining results per page; both are stopped after MEDALLION_SECONDS (default 300) and their rates computed on what
# they did by then.
source "$(dirname "$0")/common.sh"
MEDALLION_SECONDS="${MEDALLION_SECONDS:-300}"
if [ ! -x .venv-bench/bin/medallion ]; then
    python3 -m venv .venv-bench
    .venv-bench/bin/pip install --quiet --disable-pip-version-check medallion==3.0.0 requests stix2-validator==3.3.2
fi
PY=.venv-bench/bin/python

bundle="$work/enterprise.json"
gzip -dc data/attack/enterprise-attack-18.1.json.gz > "$bundle"
MAUTH="Authorization: Basic $(printf 'admin:Password0' | base64 -w0)"

node_config() {
    cat <<TOML
[node]
title = "bench"
owner = "bench-org"
max_content_length = 104857600
max_page_size = 1000
# Benchmarks measure the server, not its request limits.
[limits]
requests_per_minute_per_account = 0
requests_per_minute_per_address = 0
concurrent_requests_per_account = 0
[[orgs]]
id = "bench-org"
name = "Bench"
[[api_roots]]
path = "bench"
title = "bench"
[[collections]]
id = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
api_root = "bench"
title = "bench"
read = ["bench-org"]
write = ["bench-org"]
TOML
}

start_meridian() {  # data-dir port
    mkdir -p "$1"
    [ -f "$1/meridian.toml" ] || node_config > "$1/meridian.toml"
    echo "$PASS" | "$M" user add bench --org bench-org --data "$1" >/dev/null
    serve_node "$1" "$2"
}

start_medallion() {  # data-file port
    cat > "$work/medallion.json" <<JSON
{"backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend", "filename": "$1"}, "users": {"admin": "Password0"}, "taxii": {"max_page_size": 1000}}
JSON
    .venv-bench/bin/medallion --host 127.0.0.1 --port "$2" --log-level ERROR "$work/medallion.json" >"$work/medallion-$2.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1500); do curl -sf -H "$MAUTH" -H "$ACCEPT" "http://127.0.0.1:$2/taxii2/" >/dev/null && return; sleep 0.2; done
    echo "medallion did not start" >&2; exit 1
}

wrk_run() {  # name url auth-header [server-pid]
    read -r rps p99 non2xx cpu <<<"$(wrk_load "$2" "$3" "${4:-}")"
    echo "$1: ${rps} req/s, p99 ${p99}$([ -z "$cpu" ] || echo ", server CPU ${cpu} ms per request")$([ "$non2xx" = 0 ] || echo ", non-2xx $non2xx")"
}

COLL="91a7b528-80eb-42ed-a74d-c6fbd5a26116"
echo "== (a) ingest through TAXII POST, envelopes of 1,000 objects"
# Three runs, each into a fresh node (the machine's speed varies between runs); the last node serves (b) and (c).
for run in 1 2 3; do
    [ "$run" -gt 1 ] && kill "${pids[-1]}"
    start_meridian "$work/meridian$run" 18101
    echo "meridian run $run: $($PY bench/taxii_bench.py ingest "http://127.0.0.1:18101/bench/collections/$COLL/objects/" bench "$PASS" "$bundle")"
done
node_pid=${pids[-1]}
$PY bench/taxii_bench.py medallion-data <(echo '{"objects":[]}') "$work/medallion-empty.json"
start_medallion "$work/medallion-empty.json" 18102
echo "medallion: $($PY bench/taxii_bench.py ingest "http://127.0.0.1:18102/bench/collections/$COLL/objects/" admin Password0 "$bundle" --seconds "$MEDALLION_SECONDS")"

echo "== (b) wrk, 64 connections, 10 s"
QUERIES=("limit=100" "match%5Btype%5D=attack-pattern&limit=100" "match%5Btype%5D=relationship&limit=100")
# Meridian first: a request medallion cannot answer keeps computing after the client gives up, on a core of its own.
for q in "${QUERIES[@]}" "limit=10"; do
    wrk_run "meridian  ?$q" "http://127.0.0.1:18101/bench/collections/$COLL/objects/?$q" "$AUTH" "$node_pid"
done

echo "== (b) ceiling: the same ?limit=100 page sent by servers that do nothing but send it"
# What the two cores, shared with wrk, allow for pages of this size: nginx sending the bytes as a static file, and
# a Hummingbird server (Meridian's HTTP stack) sending them from memory as they are or after one copy.
command -v nginx >/dev/null || { apt-get update -qq && apt-get install -y -qq nginx-light; }
chmod o+rx "$work"  # nginx's workers read the page as their own user
curl -s -H "$AUTH" -H "$ACCEPT" -o "$work/page.json" "http://127.0.0.1:18101/bench/collections/$COLL/objects/?limit=100"
swift build -c release --product page-ceiling >/dev/null
"$(swift build -c release --show-bin-path)/page-ceiling" "$work/page.json" 18105 >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 50); do curl -sf -o /dev/null http://127.0.0.1:18105/shared && break; sleep 0.1; done
for sendfile in on off; do
    mkdir -p "$work/nginx-$sendfile"
    cat > "$work/nginx-$sendfile/nginx.conf" <<NGINX
worker_processes 2;
pid $work/nginx-$sendfile/nginx.pid;
error_log $work/nginx-$sendfile/error.log;
events { worker_connections 1024; }
http { access_log off; sendfile $sendfile; server { listen 127.0.0.1:18106; root $work; } }
NGINX
    nginx -c "$work/nginx-$sendfile/nginx.conf"
    wrk_run "nginx 1.22 static file, sendfile $sendfile" "http://127.0.0.1:18106/page.json" "X-None: 0"
    nginx -c "$work/nginx-$sendfile/nginx.conf" -s stop
    sleep 0.5
done
wrk_run "hummingbird, the page held in memory" "http://127.0.0.1:18105/shared" "X-None: 0" "${pids[-1]}"
wrk_run "hummingbird, the page copied into a new buffer per request" "http://127.0.0.1:18105/copied" "X-None: 0" "${pids[-1]}"
kill "${pids[-1]}"

echo "== (c) walk the whole collection by next, limit=1000 (meridian)"
echo "meridian:  $($PY bench/taxii_bench.py walk "http://127.0.0.1:18101/bench/collections/$COLL/objects/" bench "$PASS" --limit 1000)"

echo "== (b) and (c), medallion"
$PY bench/taxii_bench.py medallion-data "$bundle" "$work/medallion-full.json"
start=$(date +%s.%N)
start_medallion "$work/medallion-full.json" 18103
awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "medallion loaded its memory backend in %.1f s\n", e - s }'
for q in "${QUERIES[@]}"; do
    # medallion walks its whole in-memory store on every request; time one request first and load it with wrk only
    # when it answers within 5 s (otherwise its rate is one request per that time, and wrk would only see timeouts).
    t=$(curl -s -o /dev/null -w '%{time_total}' --max-time "$MEDALLION_SECONDS" -H "$MAUTH" -H "$ACCEPT" \
        "http://127.0.0.1:18103/bench/collections/$COLL/objects/?$q" || echo "$MEDALLION_SECONDS")
    if awk -v t="$t" 'BEGIN { exit !(t < 5) }'; then
        wrk_run "medallion ?$q" "http://127.0.0.1:18103/bench/collections/$COLL/objects/?$q" "$MAUTH"
    else
        awk -v t="$t" -v q="$q" 'BEGIN { printf "medallion ?%s: one request took %.1f s (%.3f req/s on one connection)\n", q, t, 1 / t }'
    fi
done
echo "medallion: $($PY bench/taxii_bench.py walk "http://127.0.0.1:18103/bench/collections/$COLL/objects/" admin Password0 --limit 1000 --seconds "$MEDALLION_SECONDS")"

# medallion's unanswered requests keep a core busy: stop it (and wait until it has gone) before measuring Meridian alone.
pkill -f "bin/medallion --host 127.0.0.1" || true
while pgrep -f "bin/medallion --host 127.0.0.1" >/dev/null; do sleep 0.2; done

echo "== (d) meridian import against a raw SQLite insert of the same rows"
# Each run times the import and, right after it, the floor with SQLite's default 4 KiB pages and with the 16 KiB
# pages Meridian's databases use, so that each ratio compares runs made with the machine in the same state. Run 0 is
# a warm-up, not reported (the first import after medallion has gone measured up to twice as slow).
for run in 0 1 2 3 4 5; do
    rm -rf "$work/imp"; mkdir -p "$work/imp"; node_config > "$work/imp/meridian.toml"
    start=$(date +%s.%N)
    "$M" import "$bundle" --collection "$COLL" --data "$work/imp" >/dev/null
    end=$(date +%s.%N)
    floors=()
    for page in 4096 16384; do
        rm -f "$work/floor.sqlite"*
        floors+=("$($PY bench/taxii_bench.py sqlite-floor "$bundle" "$work/floor.sqlite" --page-size "$page" | $PY -c 'import json, sys; print(json.load(sys.stdin)["seconds"])')")
    done
    [ "$run" = 0 ] && continue
    awk -v s="$start" -v e="$end" -v r="$run" -v f4="${floors[0]}" -v f16="${floors[1]}" 'BEGIN {
        t = e - s
        printf "run %d: meridian import %.2f s (%.0f objects/s); floor 4 KiB pages %.3f s (import %.2fx), 16 KiB pages %.3f s (import %.2fx)\n", r, t, 24771 / t, f4, t / f4, f16, t / f16 }'
done

if [ "${SKIP_1M:-0}" != 1 ]; then
    echo "== (e) resident memory serving 1,000,000 objects"
    $PY bench/taxii_bench.py generate 1000000 "$work/million.json"
    mkdir -p "$work/million"; node_config > "$work/million/meridian.toml"
    ls -l "$work/million.json" | awk '{ printf "generated file: %.0f MB\n", $5 / 1048576 }'
    /usr/bin/time -f "meridian import of 1,000,000 objects: %e s, peak resident memory %M KB" \
        "$M" import "$work/million.json" --collection "$COLL" --data "$work/million" 2>&1 | grep -v " info "
    rm -f "$work/million.json"
    start_meridian "$work/million" 18104
    mpid=${pids[-1]}
    wrk_run "meridian 1M ?limit=100" "http://127.0.0.1:18104/bench/collections/$COLL/objects/?limit=100" "$AUTH" "$mpid"
    wrk_run "meridian 1M ?match[type]=indicator&limit=1000" "http://127.0.0.1:18104/bench/collections/$COLL/objects/?limit=1000&match%5Btype%5D=indicator" "$AUTH"
    rss=$(awk '/VmRSS/ {printf "%.1f MB", $2 / 1024}' "/proc/$mpid/status")
    peak=$(awk '/VmHWM/ {printf "%.1f MB", $2 / 1024}' "/proc/$mpid/status")
    echo "meridian resident memory after load: $rss, peak $peak"
fi
