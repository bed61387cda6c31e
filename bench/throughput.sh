#!/usr/bin/env bash
# Throughput of a hello-world server with and without lameduck, under wrk on
# loopback. Both servers run at once, pinned to CPU 1, and wrk to CPU 0
# (taskset), so the load generator does not steal the server's core. wrk
# hits them alternately, ROUNDS times each, swapping which goes first every
# round, so drift and ordering fall on both. Prints req/s per round and the
# ratio of the medians (lameduck / plain net/http), and the median of the
# per-round paired ratios, which drift on a shared VM touches least. A_MODE=stdlib
# B_MODE=stdlib runs the A/A control that shows the method's own noise.
# SERVER_FLAGS are passed to both servers (e.g. -read-header-timeout 10s).
#
#   bench/throughput.sh [ROUNDS] [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5} secs=${2:-5} conns=${3:-32}
command -v wrk >/dev/null || { echo "wrk missing: apt-get install -y wrk" >&2; exit 2; }
bin=$(mktemp -d)/helloserver
go build -o "$bin" ./bench/helloserver
pin_srv="" pin_load=""
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then pin_srv="taskset -c 1" pin_load="taskset -c 0"; fi
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
# start MODE VAR: runs a server (in this shell, so the trap can stop it) and
# sets VAR to its URL.
start() {
  local out; out=$(mktemp)
  $pin_srv "$bin" -mode "$1" ${SERVER_FLAGS:-} >"$out" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do grep -q listening "$out" && break; sleep 0.1; done
  printf -v "$2" 'http://%s/' "$(awk '/listening/{print $2}' "$out")"
}
# A_MODE/B_MODE override the pair, e.g. A_MODE=stdlib B_MODE=stdlib for an A/A control.
start "${A_MODE:-stdlib}" plain
start "${B_MODE:-lameduck}" ld
hz=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime+stime in clock ticks
# run URL PID: one wrk run; prints "req/s cpu-µs-per-request". CPU time per
# request counts only time the server spent on a core, so it is far less
# sensitive than req/s to other work on a shared machine.
run() {
  local c0 out c1 n r
  c0=$(cpu "$2")
  out=$($pin_load wrk -t1 -c"$conns" -d"${secs}s" "$1")
  c1=$(cpu "$2")
  n=$(awk '/requests in/{print $1}' <<<"$out")
  r=$(awk '/Requests\/sec/{print $2}' <<<"$out")
  awk -v r="$r" -v c=$((c1 - c0)) -v n="$n" -v hz="$hz" 'BEGIN{printf "%s %.3f\n", r, c / hz * 1e6 / n}'
}
run "$plain" "${pids[0]}" >/dev/null; run "$ld" "${pids[1]}" >/dev/null # warm-up
p=(); l=(); pc=(); lc=(); rr=(); rc=()
for i in $(seq "$rounds"); do
  if [ $((i % 2)) -eq 1 ]; then read -r a ac < <(run "$plain" "${pids[0]}"); read -r b bc < <(run "$ld" "${pids[1]}")
  else read -r b bc < <(run "$ld" "${pids[1]}"); read -r a ac < <(run "$plain" "${pids[0]}"); fi
  p+=("$a"); l+=("$b"); pc+=("$ac"); lc+=("$bc")
  rr+=("$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%.4f", b/a}')"); rc+=("$(awk -v a="$ac" -v b="$bc" 'BEGIN{printf "%.4f", a/b}')")
  echo "round $i: net/http $a req/s ${ac}µs CPU/req, lameduck $b req/s ${bc}µs CPU/req"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print (NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2}'; }
mp=$(median "${p[@]}"); ml=$(median "${l[@]}"); mpc=$(median "${pc[@]}"); mlc=$(median "${lc[@]}")
echo "median req/s: net/http $mp, lameduck $ml, throughput ratio $(awk -v a="$ml" -v b="$mp" 'BEGIN{printf "%.3f", a/b}')"
# Each round's two runs are back to back, so their ratio is the figure least
# touched by drift on a shared VM: report the median of the paired ratios.
echo "median of paired ratios: throughput $(median "${rr[@]}"), CPU efficiency $(median "${rc[@]}") (n=$rounds)"
echo "median CPU/request: net/http ${mpc}µs, lameduck ${mlc}µs, efficiency ratio (net/http CPU / lameduck CPU) $(awk -v a="$mlc" -v b="$mpc" 'BEGIN{printf "%.3f", b/a}')"
