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
  echo "== $pkg / $bench"
  cargo bench --locked -q -p "$pkg" --bench "$bench"
done <<< "$benches"
