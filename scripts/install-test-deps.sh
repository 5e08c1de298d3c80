#!/usr/bin/env bash
# Installs what the test suite needs on a fresh machine, and nothing when it is there.
# Tests use the system `git` (fixture repositories) and standard POSIX tools.
set -euo pipefail

need=()
command -v git >/dev/null 2>&1 || need+=(git)
command -v bash >/dev/null 2>&1 || need+=(bash)
# Process-tree tests start escapees with setsid and read /proc; fixtures use coreutils.
command -v setsid >/dev/null 2>&1 || need+=(util-linux)
for tool in head seq tr env sha256sum; do
  command -v "$tool" >/dev/null 2>&1 || { need+=(coreutils); break; }
done

if [ ${#need[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "installing: ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  else
    echo "missing: ${need[*]}; install them with your package manager" >&2
    exit 1
  fi
fi

for component in rustfmt clippy; do
  if ! cargo "${component/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$component"
  fi
done
