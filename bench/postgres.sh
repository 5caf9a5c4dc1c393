#!/usr/bin/env bash
# PostgreSQL beside SQLite on the same machine (issue 20, item 5), with the release binary and a throwaway
# PostgreSQL 15 cluster on loopback (scripts/postgres.sh; fsync off, as the tests run it):
#   (a) `meridian import` of ATT&CK Enterprise 18.1 (24,771 objects) into each backend;
#   (b) `meridian import` of 1,000,000 generated indicators into each (SKIP_1M=1 skips);
#   (c) wrk, GET objects/?limit=100 over ATT&CK at 64 connections: SQLite, PostgreSQL through one replica, and
#       PostgreSQL through two replicas on the same database (two wrk of 32 connections at once, their rates added).
# Everything shares the machine's two cores: the database, the replicas and wrk.
source "$(dirname "$0")/common.sh"
pgdir="$(mktemp -d /tmp/meridian-pg-bench.XXXXXX)"
trap 'cleanup; scripts/postgres.sh stop "$pgdir"' EXIT
URL="$(scripts/postgres.sh start "$pgdir")"
PGPASS="$(python3 -c 'import sys, urllib.parse; print(urllib.parse.unquote(urllib.parse.urlsplit(sys.argv[1]).password))' "$URL")"
PGHOSTPORT="$(python3 -c 'import sys, urllib.parse; u = urllib.parse.urlsplit(sys.argv[1]); print(f"{u.hostname}:{u.port}")' "$URL")"

bench_node() {  # dir backend: a node configured for the backend (a new database for postgresql), with the bench user
    # (reads audited, as a node runs)
    mkdir -p "$1"
    bench_config true > "$1/meridian.toml"
    if [ "$2" = postgresql ]; then
        local db="bench_$(basename "$1" | tr -c 'a-z0-9\n' '_')"
        psql "${URL%%\?*}" -q -c "CREATE DATABASE $db"
        (umask 077; echo "$PGPASS" > "$1/db-password")
        printf '[storage]\nbackend = "postgresql"\nurl = "postgresql://meridian@%s/%s?sslmode=disable"\npassword_file = "db-password"\n' \
            "$PGHOSTPORT" "$db" >> "$1/meridian.toml"
    fi
    echo "$PASS" | "$M" user add bench --org bench-org --data "$1" >/dev/null
}

timed_import() {  # label file dir objects
    /usr/bin/time -f "%e" -o "$3/import.time" "$M" import "$2" --collection "$COLL" --data "$3" >/dev/null 2>"$3/import.err" \
        || { cat "$3/import.err" >&2; exit 1; }
    local t
    t="$(tail -1 "$3/import.time")"
    awk -v t="$t" -v n="$4" -v l="$1" 'BEGIN { printf "%-44s %8.2f s %10.0f objects/s\n", l, t, n / t }'
}

echo "== (a) meridian import of ATT&CK Enterprise 18.1 (24,771 objects)"
for backend in sqlite postgresql; do
    bench_node "$work/attack-$backend" "$backend"
    timed_import "$backend" data/attack/enterprise-attack-18.1.json.gz "$work/attack-$backend" 24771
done

if [ "${SKIP_1M:-0}" != 1 ]; then
    echo "== (b) meridian import of 1,000,000 generated indicators"
    [ -x .venv-bench/bin/python ] || { python3 -m venv .venv-bench; .venv-bench/bin/pip install --quiet requests; }
    .venv-bench/bin/python bench/taxii_bench.py generate 1000000 "$work/million.json"
    for backend in sqlite postgresql; do
        bench_node "$work/million-$backend" "$backend"
        timed_import "$backend" "$work/million.json" "$work/million-$backend" 1000000
    done
    rm -f "$work/million.json"
fi

echo "== (c) wrk, GET objects/?limit=100 over ATT&CK: req/s, p99, non-2xx, server CPU ms per request"
Q="bench/collections/$COLL/objects/?limit=100"
serve_node "$work/attack-sqlite" 18201
echo "sqlite, one process:                  $(wrk_load "http://127.0.0.1:18201/$Q" "$AUTH" "${pids[-1]}")"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
serve_node "$work/attack-postgresql" 18202
echo "postgresql, one replica:              $(wrk_load "http://127.0.0.1:18202/$Q" "$AUTH" "${pids[-1]}")"
# A second replica: its own data directory (serve locks one), the same configuration and database.
mkdir -p "$work/attack-postgresql-2"
cp "$work/attack-postgresql/meridian.toml" "$work/attack-postgresql/db-password" "$work/attack-postgresql-2/"
serve_node "$work/attack-postgresql-2" 18203
curl -s -o /dev/null -H "$AUTH" -H "$ACCEPT" "http://127.0.0.1:18203/$Q"
two=$( (wrk -t1 -c32 -d10s --timeout 60s --latency -H "$AUTH" -H "$ACCEPT" "http://127.0.0.1:18202/$Q" &
        wrk -t1 -c32 -d10s --timeout 60s --latency -H "$AUTH" -H "$ACCEPT" "http://127.0.0.1:18203/$Q"; wait) |
      awk '/Requests\/sec/ { r += $2 } $1 == "99%" { p = p " " $2 } /Non-2xx/ { e += $5 } END { printf "%.2f req/s in all, p99 of each:%s, %d non-2xx", r, p, e }')
echo "postgresql, two replicas (32 + 32):   $two"
