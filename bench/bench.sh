#!/usr/bin/env bash
# `npm run bench [-- --full | --only=a,b | --out=path]`: raises the open-files limit to the hard
# limit (each held client socket costs file descriptors in the Node client, in wrangler's proxy
# workerd and in the runtime workerd, which inherit it), then runs bench/run.mjs with npm's Node 22.
set -euo pipefail
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false
exec node "$(dirname "$0")/run.mjs" "$@"
