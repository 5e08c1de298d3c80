#!/usr/bin/env bash
# `make bench`: every benchmark in release mode, each printing its figures and the ratio
# to the target its issue names. Benchmarks are plain programs (harness = false).
set -euo pipefail
cd "$(dirname "$0")/.."

benches=$(cargo metadata --format-version 1 --no-deps | python3 -c '
import json, sys
meta = json.load(sys.stdin)
for pkg in meta["packages"]:
    for t in pkg["targets"]:
        if "bench" in t["kind"]:
            print(pkg["name"], t["name"])
')
if [ -z "$benches" ]; then
  echo "no benchmarks defined"
  exit 0
fi
while read -r pkg bench; do
  # Build first, then let the previous bench's writes (build_list leaves ~650 MB to
  # delete) reach the disk, so one bench's writeback does not slow the next one's fsyncs
  # and process starts.
  cargo bench --locked -q -p "$pkg" --bench "$bench" --no-run
  sync
  sleep 2
  echo "== $pkg / $bench"
  cargo bench --locked -q -p "$pkg" --bench "$bench"
done <<< "$benches"

# Last: the server figures against the baseline commit, in interleaved runs.
sync
sleep 2
scripts/bench-compare.py
