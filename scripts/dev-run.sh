#!/usr/bin/env bash
# `make run`: build oored and run it in the foreground on ./.oore-dev, creating the env
# file (fresh encryption key and admin token) on first run.
set -euo pipefail
: "${DEV_DIR:?}" "${DEV_ADDR:?}" "${CARGO:=cargo}"

"$CARGO" build -p oore-server -p oore-cli
bin="$("$CARGO" metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/debug"
env_file="$DEV_DIR/oore.env"

if [ ! -f "$env_file" ]; then
  mkdir -p "$DEV_DIR"
  "$bin/oored" init --data-dir "$DEV_DIR" --log-dir "$DEV_DIR/logs" --env-file "$env_file" >/dev/null
fi

token="$(sed -n 's/^OORE_ADMIN_TOKEN=//p' "$env_file" | tr -d '"')"
cat <<MSG

  oored (dev) on http://$DEV_ADDR   data: $DEV_DIR
  admin token: $token

  In another shell:
    $bin/oore config init --server http://$DEV_ADDR --token $token
    $bin/oore repo add --provider github --owner you --repo app
    $bin/oore repo list

MSG
if [ "$(id -u)" = 0 ]; then
  # As root oored needs a build user; a development server runs builds as root on
  # purpose (it warns at start). Set OORE_BUILD_USER to try a real build account.
  export OORE_BUILD_USER="${OORE_BUILD_USER:-root}"
fi
export OORE_BIND_ADDRESS="$DEV_ADDR"
export OORE_BASE_URL="${OORE_BASE_URL:-http://$DEV_ADDR}"
exec "$bin/oored" run --env-file "$env_file"
