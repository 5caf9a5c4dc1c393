#!/usr/bin/env bash
# Soak (issue 21, item 7): one `meridian serve` (release build) loaded for SOAK_SECONDS (default 600) by wrk with 64
# connections and 2 threads, a mixed load of page reads (three in four requests: ?limit=100 of a collection that
# starts with ATT&CK Enterprise) and POSTs of a new 10-object envelope (one in four). The load runs in 30-second
# slices; after each, the server's resident memory, open file descriptors and the slice's p99 latency and errors are
# printed as a table row. Steady memory and descriptors after warm-up, and no errors, are what to look for.
source "$(dirname "$0")/common.sh"
seconds="${SOAK_SECONDS:-600}"
slice=30
attack_node "$work/soak" 18301 true
pid="${pids[-1]}"
cat > "$work/mixed.lua" <<'LUA'
-- Three page reads, then one POST of ten new indicators; ids are unique per thread and request.
local counter = 0
local thread_id = 0
local tid = 0
function setup(thread) tid = tid + 1; thread:set("thread_id", tid) end
function request()
    counter = counter + 1
    if counter % 4 ~= 0 then
        return wrk.format("GET", "/bench/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/objects/?limit=100")
    end
    local objects = {}
    for k = 1, 10 do
        local n = string.format("%04x%08x%04x", thread_id, counter, k)
        objects[k] = '{"type":"indicator","spec_version":"2.1","id":"indicator--' .. string.sub(n, 1, 8) .. '-0000-4000-8000-' ..
            string.sub(n, 9, 16) .. string.sub(n, 13, 16) .. '","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z",' ..
            '"pattern":"[ipv4-addr:value = \'198.51.100.7\']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}'
    end
    -- The command line's headers (Accept, Authorization) and the body's type.
    local headers = {}
    for name, value in pairs(wrk.headers) do headers[name] = value end
    headers["Content-Type"] = "application/taxii+json;version=2.1"
    return wrk.format("POST", "/bench/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/objects/", headers,
        '{"objects":[' .. table.concat(objects, ",") .. ']}')
end
-- The first refused request is shown, to say why.
local shown = false
function response(status, headers, body)
    if status >= 300 and not shown then
        shown = true
        io.stderr:write("first non-2xx answer: " .. status .. " " .. body .. "\n")
    end
end
LUA
curl -s -o /dev/null -H "$AUTH" -H "$ACCEPT" "http://127.0.0.1:18301/bench/collections/$COLL/objects/?limit=1"
echo "| after (s) | requests/s | p99 | non-2xx | RSS (MB) | open fds |"
echo "| --- | --- | --- | --- | --- | --- |"
elapsed=0
while [ "$elapsed" -lt "$seconds" ]; do
    out=$(wrk -t2 -c64 -d${slice}s --timeout 60s --latency -s "$work/mixed.lua" -H "$AUTH" -H "$ACCEPT" "http://127.0.0.1:18301")
    elapsed=$((elapsed + slice))
    rss=$(awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status")
    fds=$(ls "/proc/$pid/fd" | wc -l)
    echo "$out" | awk -v t="$elapsed" -v rss="$rss" -v fds="$fds" '/Requests\/sec/ { r = $2 } $1 == "99%" { p = $2 } /Non-2xx/ { e = $5 }
        END { printf "| %d | %.0f | %s | %d | %s | %s |\n", t, r, p, e + 0, rss, fds }'
done
"$M" audit verify --data "$work/soak" >/dev/null && echo "audit log intact after the soak"
