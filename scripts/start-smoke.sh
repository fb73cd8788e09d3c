#!/usr/bin/env bash
# Starts `npm start` on a spare port, waits (at most 60 s) for /healthz, then stops it.
set -euo pipefail
port="${PORT:-8799}"
log="$(mktemp)"
PORT="$port" setsid npm start >"$log" 2>&1 &
pid=$!
trap 'kill -- -$pid 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  if body="$(curl -fsS "http://127.0.0.1:$port/healthz" 2>/dev/null)"; then
    echo "npm start: /healthz -> $body"
    exit 0
  fi
  sleep 0.5
done
echo "npm start did not serve /healthz within 60 s; its log:" >&2
cat "$log" >&2
exit 1
