#!/usr/bin/env bash
# Starts `npm start` on a spare port, waits (at most 60 s) for /healthz, then stops it.
# With arguments, runs them as a command against that server first (KALEYRA_EDGE_URL points at
# it; at most 90 s) and exits with the command's status, printing the server's log when it fails:
#   bash scripts/start-smoke.sh npm run example:node
set -euo pipefail
port="${PORT:-8799}"
log="$(mktemp)"
PORT="$port" setsid npm start >"$log" 2>&1 &
pid=$!
trap 'kill -- -$pid 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  if body="$(curl -fsS "http://127.0.0.1:$port/healthz" 2>/dev/null)"; then
    echo "npm start: /healthz -> $body"
    [ "$#" -eq 0 ] && exit 0
    status=0
    KALEYRA_EDGE_URL="http://127.0.0.1:$port" timeout 90 "$@" || status=$?
    if [ "$status" -ne 0 ]; then
      echo "$* failed (exit $status); the server's log:" >&2
      cat "$log" >&2
    fi
    exit "$status"
  fi
  sleep 0.5
done
echo "npm start did not serve /healthz within 60 s; its log:" >&2
cat "$log" >&2
exit 1
