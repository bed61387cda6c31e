#!/usr/bin/env bash
# bench/loadretry.sh: what `lameduck load --retry` costs (p50/p99 latency and
# the load process's CPU per request) against the same load without it, on
# loopback, in the same run.
#
#   bench/loadretry.sh [ROUNDS] [RATE] [SECONDS]
#
# One server (bench/helloserver -mode stdlib, GET /, keep-alive) answers
# every request at once, so nothing is retried: the figures are the price
# of the retry Transport and of the per-attempt recording on the success
# path. Each round runs `lameduck load` plain and with --retry (order swapped
# every round); bench/loadretry reads the records and the exited process's
# user + system time.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5} rate=${2:-1000} secs=${3:-10}
tmp=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/lameduck" ./cmd/lameduck
go build -o "$tmp/helloserver" ./bench/helloserver
go build -o "$tmp/loadretry" ./bench/loadretry
"$tmp/helloserver" -mode stdlib >"$tmp/server.out" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q listening "$tmp/server.out" && break; sleep 0.1; done
addr=$(awk '/listening/{print $2; exit}' "$tmp/server.out")
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
"$tmp/loadretry" -lameduck "$tmp/lameduck" -url "http://$addr/" -rounds "$rounds" -rate "$rate" -duration "${secs}s"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
