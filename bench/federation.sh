#!/usr/bin/env bash
# Federation (issue 6): node B pulls ATT&CK Enterprise 18.1 (24,771 objects) from node A over loopback, end to end
# (A serves pages of 1,000 from its store, B validates and stores them); then the steady-state cost of a sync when
# nothing changed. Release build; both nodes on this machine.
# PROFILE_SYNC=FILE records the timed sync with perf into FILE.
source "$(dirname "$0")/common.sh"
[ -n "${PROFILE_SYNC:-}" ] && PERF="perf record -g -o $PROFILE_SYNC --" || PERF=""
COLL_A="3d1e6a52-8b7f-4c1a-9e0d-5f2b7c4a1e01"
COLL_B="3d1e6a52-8b7f-4c1a-9e0d-5f2b7c4a1e02"
mkdir -p "$work/a" "$work/b"
cat > "$work/a/meridian.toml" <<TOML
[node]
title = "A"
owner = "cert-a"
# Benchmarks measure the server, not its request limits.
[limits]
requests_per_minute_per_account = 0
requests_per_minute_per_address = 0
concurrent_requests_per_account = 0
[[orgs]]
id = "cert-a"
name = "A"
[[orgs]]
id = "node-b"
name = "B"
kind = "node"
[[api_roots]]
path = "p"
title = "p"
[[collections]]
id = "$COLL_A"
api_root = "p"
title = "ATT&CK"
read = ["cert-a", "node-b"]
write = ["cert-a"]
default_tlp = "green"
TOML
cat > "$work/b/meridian.toml" <<TOML
[node]
title = "B"
owner = "cert-b"
# Benchmarks measure the server, not its request limits.
[limits]
requests_per_minute_per_account = 0
requests_per_minute_per_address = 0
concurrent_requests_per_account = 0
[[orgs]]
id = "cert-b"
name = "B"
[[orgs]]
id = "node-a"
name = "A"
kind = "node"
[[api_roots]]
path = "p"
title = "p"
[[collections]]
id = "$COLL_B"
api_root = "p"
title = "from A"
read = ["cert-b"]
write = ["cert-b"]
[[peers]]
name = "a"
org = "node-a"
api_root = "http://127.0.0.1:18301/p/"
username = "b-sync"
password_file = "a.password"
page_size = 1000
[[peers.pull]]
remote = "$COLL_A"
local = "$COLL_B"
TOML
(umask 077; printf '%s' "$PASS" > "$work/b/a.password")  # a secret: serve refuses it readable by others
echo "$PASS" | "$M" user add b-sync --org node-b --data "$work/a" >/dev/null
"$M" import data/attack/enterprise-attack-18.1.json.gz --collection "$COLL_A" --data "$work/a" | tail -1
serve_node "$work/a" 18301
# One warm-up request with B's credentials, as the other benchmarks do: A checks a password with bcrypt, then
# remembers it for five minutes (about 0.25 s of A's CPU, which would otherwise land on the first timed pull).
curl -s -o /dev/null -u "b-sync:$PASS" -H "$ACCEPT" http://127.0.0.1:18301/p/
"$M" user add x --org cert-b --data "$work/b" <<< "$PASS" >/dev/null  # creates B's database before timing
cp -r "$work/b" "$work/b-empty"
# The machine's speed varies between runs (shared cores): the full pull is timed RUNS times, each into an empty B.
RUNS=${RUNS:-5}
cpu_a() { awk '{ print $14 + $15 }' "/proc/${pids[0]}/stat"; }
rates=()
for run in $(seq "$RUNS"); do
    rm -rf "$work/b"; cp -r "$work/b-empty" "$work/b"
    a_before=$(cpu_a)
    start=$(date +%s.%N)
    $PERF /usr/bin/time -f "%U %S" -o "$work/cpu-full" "$M" sync --once --data "$work/b" > "$work/sync.log" 2>&1
    end=$(date +%s.%N)
    a_after=$(cpu_a)
    tail -1 "$work/sync.log"
    rate=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.0f", 24771 / (e - s) }')
    rates+=("$rate")
    awk -v s="$start" -v e="$end" -v r="$run" 'BEGIN { printf "full pull %d: 24771 objects in %.2f s = %.0f objects/s (process start included)\n", r, e - s, 24771 / (e - s) }'
    read -r bu bs < "$work/cpu-full"
    awk -v bu="$bu" -v bs="$bs" -v a=$((a_after - a_before)) -v t="$(getconf CLK_TCK)" 'BEGIN { printf "  CPU during the pull: B (pulling) %.2f s, A (serving) %.2f s\n", bu + bs, a / t }'
    [ -n "$PERF" ] && break  # one profiled run is enough
done
printf '%s\n' "${rates[@]}" | sort -n | awk '{ r[NR] = $1 } END { printf "full pull over %d runs: median %d objects/s, slowest %d, fastest %d\n", NR, r[int((NR + 1) / 2)], r[1], r[NR] }'
requests() { curl -s http://127.0.0.1:18301/metrics | awk '/^hb_requests(_total)?[{ ]/ { n += $NF } END { printf "%d", n }'; }
before=$(requests)
start=$(date +%s.%N)
/usr/bin/time -f "%U %S" -o "$work/cpu" "$M" sync --once --data "$work/b"
end=$(date +%s.%N)
after=$(requests)
read -r user sys < "$work/cpu"
awk -v s="$start" -v e="$end" -v u="$user" -v y="$sys" 'BEGIN { printf "steady state (nothing changed): %.2f s wall, %.2f s CPU for the sync process\n", e - s, u + y }'
echo "requests A answered for the steady-state sync: $((after - before - 1)) (its /metrics counter, less the reading itself)"
