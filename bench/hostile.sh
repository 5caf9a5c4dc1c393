#!/usr/bin/env bash
# The worst requests an authenticated writer can send (issue 15), each beside an ordinary request of the same size
# on a fresh `meridian serve` (release build): seconds each took and the server's peak resident memory (VmHWM) after
# it; the POST cases are medians of three runs. Cases: one object of 640,000 keys (12 MiB) against 12 MiB of ordinary
# objects; reads of an object with 20,000 versions (objects/{id}/?limit=1, match[version]=first, match[id], manifest
# match[id], a page of the collection) against the same reads of an object with one version; a 10 MiB envelope of
# 3.5 million `{}` against 10 MiB of ordinary objects; a 1 GB body over max_content_length sent with Connection:
# close (seconds until the client is answered or released). Figures go to docs/PERFORMANCE.md.
source "$(dirname "$0")/common.sh"
python3 bench/hostile_bench.py "$M" "$work"
