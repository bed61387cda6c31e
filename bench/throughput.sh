#!/usr/bin/env bash
# Throughput of a hello-world server with and without lameduck, under wrk on
# loopback. Both servers run at once; wrk hits them alternately, ROUNDS times
# each, so machine noise falls on both. Prints req/s per round and the ratio
# of the medians (lameduck / plain net/http).
#
#   bench/throughput.sh [ROUNDS] [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5} secs=${2:-5} conns=${3:-32}
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 2; }
bin=$(mktemp -d)/helloserver
go build -o "$bin" ./bench/helloserver
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
start() { # mode → prints URL
  local out; out=$(mktemp)
  "$bin" -mode "$1" >"$out" 2>&1 & pids+=($!)
  for _ in $(seq 50); do grep -q listening "$out" && break; sleep 0.1; done
  echo "http://$(awk '/listening/{print $2}' "$out")/"
}
plain=$(start stdlib); ld=$(start lameduck)
rps() { wrk -t1 -c"$conns" -d"${secs}s" "$1" | awk '/Requests\/sec/{print $2}'; }
rps "$plain" >/dev/null; rps "$ld" >/dev/null # warm-up
p=(); l=()
for i in $(seq "$rounds"); do
  a=$(rps "$plain"); b=$(rps "$ld"); p+=("$a"); l+=("$b")
  echo "round $i: net/http $a req/s, lameduck $b req/s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }
mp=$(median "${p[@]}"); ml=$(median "${l[@]}")
echo "median: net/http $mp req/s, lameduck $ml req/s, ratio $(awk -v a="$ml" -v b="$mp" 'BEGIN{printf "%.3f", a/b}')"
