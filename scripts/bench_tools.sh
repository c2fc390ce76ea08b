#!/usr/bin/env bash
# Runs bench_http (tool calls) and wrk against a fresh tern-travel-api.
#   scripts/bench_tools.sh [BUILD_DIR] [SECONDS]
# Needs a build with -DTERN_BUILD_BENCH=ON (targets bench_http, tern-travel-api).
set -euo pipefail
build=${1:-build}
seconds=${2:-3}
server="$build/examples/travel/server/tern-travel-api"
out=$(mktemp)
"$server" --port 0 --threads 1 >"$out" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do grep -q "listening on" "$out" && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$out" | head -1)
"$build/bench/bench_http" --url "$url" --seconds "$seconds"
