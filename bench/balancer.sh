#!/usr/bin/env bash
# bench/balancer.sh: CPU seconds per request of the drill's balancer against
# haproxy in TCP mode, on the same constant-rate load to the same backends,
# in the same run.
#
#   bench/balancer.sh [ROUNDS] [RATE] [SECONDS]      # keep-alive load
#   CLOSE=1 bench/balancer.sh                         # a connection per request
#   PROFILE=/tmp/lb.pprof bench/balancer.sh           # CPU profile of the balancer
#   BASE=ac27b3d bench/balancer.sh                    # also the balancer of that commit
#
# Three backends (bench/helloserver -mode stdlib) sit behind both proxies:
# the drill's balancer (bench/lbcpu balancer: one node, every endpoint ready)
# and haproxy (mode tcp, balance random, one thread per core). Each round
# sends the same vegeta load (bench/lbcpu load: constant RATE for SECONDS,
# keep-alive like the drill's clients) through each proxy in turn, swapping
# which goes first every round, and reads each proxy's CPU time (utime +
# stime from /proc/PID/stat, all threads) before and after its run. Prints
# the CPU per request of each per round, the per-round ratio
# (balancer / haproxy) and the median ratio. With BASE, the balancer as of
# that git revision runs as a third proxy in the same rounds (before/after). haproxy is installed with
# apt-get if missing (it says so first).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5} rate=${2:-5000} secs=${3:-10}
close_flag=""
[ -n "${CLOSE:-}" ] && close_flag="-close"
if ! command -v haproxy >/dev/null; then
	echo "haproxy missing: installing it with apt-get (Debian package haproxy)" >&2
	apt-get update -qq && apt-get install -y -qq haproxy >/dev/null
fi
tmp=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -o "$tmp/helloserver" ./bench/helloserver
go build -o "$tmp/lbcpu" ./bench/lbcpu
if [ -n "${BASE:-}" ]; then
	mkdir "$tmp/base"
	git archive "$BASE" | tar -x -C "$tmp/base"
	mkdir -p "$tmp/base/bench/lbcpu"
	cp bench/lbcpu/main.go "$tmp/base/bench/lbcpu/"
	(cd "$tmp/base" && go build -o "$tmp/lbcpu-base" ./bench/lbcpu)
fi

# listening OUT: waits for "listening ADDR" in OUT and prints ADDR.
listening() {
	for _ in $(seq 100); do grep -q listening "$1" && break; sleep 0.1; done
	awk '/listening/{print $2; exit}' "$1"
}
backends=()
for i in 1 2 3; do
	"$tmp/helloserver" -mode stdlib >"$tmp/b$i.out" 2>&1 &
	pids+=($!)
	backends+=("$(listening "$tmp/b$i.out")")
done
list=$(IFS=,; echo "${backends[*]}")

prof=()
[ -n "${PROFILE:-}" ] && prof=(-cpuprofile "$PROFILE")
"$tmp/lbcpu" balancer -backends "$list" "${prof[@]}" >"$tmp/lb.out" 2>&1 &
lb_pid=$!
pids+=($lb_pid)
lb_addr=$(listening "$tmp/lb.out")
if [ -n "${BASE:-}" ]; then
	"$tmp/lbcpu-base" balancer -backends "$list" >"$tmp/base.out" 2>&1 &
	base_pid=$!
	pids+=($base_pid)
	base_addr=$(listening "$tmp/base.out")
fi

hp_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
{
	printf 'global\n  nbthread %d\n  maxconn 4000\n' "$(nproc)"
	printf 'defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n'
	printf 'frontend fe\n  bind 127.0.0.1:%d\n  default_backend be\n' "$hp_port"
	printf 'backend be\n  balance random\n'
	for i in "${!backends[@]}"; do printf '  server s%d %s\n' "$i" "${backends[$i]}"; done
} >"$tmp/haproxy.cfg"
haproxy -db -f "$tmp/haproxy.cfg" >"$tmp/hp.out" 2>&1 &
hp_pid=$!
pids+=($hp_pid)
for _ in $(seq 50); do (echo >"/dev/tcp/127.0.0.1/$hp_port") 2>/dev/null && break; sleep 0.1; done
hp_addr=127.0.0.1:$hp_port

tck=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; } # after "(comm)": no spaces in these comms

# run NAME PID ADDR: one load through one proxy; sets per_req (µs of CPU per
# successful request) and line (the load's summary).
run() {
	local before after out
	before=$(cpu "$2")
	out=$("$tmp/lbcpu" load -url "http://$3/" -rate "$rate" -duration "${secs}s" $close_flag)
	after=$(cpu "$2")
	local ok; ok=$(awk '{print $4}' <<<"$out")
	per_req=$(awk -v a="$after" -v b="$before" -v t="$tck" -v ok="$ok" 'BEGIN { printf "%.2f", (a - b) / t / ok * 1e6 }')
	line="$1: $out cpu $(awk -v a="$after" -v b="$before" -v t="$tck" 'BEGIN { printf "%.2fs", (a - b) / t }')"
	echo "$line" >&2
}

mode=keep-alive
[ -n "$close_flag" ] && mode="connection per request"
echo "rate $rate req/s for ${secs}s, $mode, $rounds rounds, $(nproc) cores, load avg $(cut -d' ' -f1-3 /proc/loadavg)"
echo
if [ -n "${BASE:-}" ]; then
	echo "| round | balancer µs CPU/req | balancer@$BASE µs CPU/req | haproxy µs CPU/req | ratio | ratio@$BASE |"
	echo "|---:|---:|---:|---:|---:|---:|"
else
	echo "| round | balancer µs CPU/req | haproxy µs CPU/req | ratio |"
	echo "|---:|---:|---:|---:|"
fi
ratios=() base_ratios=()
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for r in $(seq "$rounds"); do
	order="lb hp base"
	((r % 2)) || order="base hp lb"
	((r % 3)) || order="hp lb base"
	for who in $order; do
		case $who in
		lb) run balancer "$lb_pid" "$lb_addr"; lb=$per_req ;;
		hp) run haproxy "$hp_pid" "$hp_addr"; hp=$per_req ;;
		base) if [ -n "${BASE:-}" ]; then run "balancer@$BASE" "$base_pid" "$base_addr"; base=$per_req; fi ;;
		esac
	done
	ratio=$(awk -v a="$lb" -v b="$hp" 'BEGIN { printf "%.2f", a / b }')
	ratios+=("$ratio")
	if [ -n "${BASE:-}" ]; then
		bratio=$(awk -v a="$base" -v b="$hp" 'BEGIN { printf "%.2f", a / b }')
		base_ratios+=("$bratio")
		echo "| $r | $lb | $base | $hp | $ratio | $bratio |"
	else
		echo "| $r | $lb | $hp | $ratio |"
	fi
done
echo
echo "median ratio balancer/haproxy: $(printf '%s\n' "${ratios[@]}" | median)"
if [ -n "${BASE:-}" ]; then
	echo "median ratio balancer@$BASE/haproxy: $(printf '%s\n' "${base_ratios[@]}" | median)"
fi
echo "(load avg after: $(cut -d' ' -f1 /proc/loadavg))"
