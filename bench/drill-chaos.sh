#!/usr/bin/env bash
# bench/drill-chaos.sh: the demo's three variants under the same seeded
# SIGKILL chaos (--chaos), over several seeds, with and without the
# client's retries (--retry), against a real redis-server started here.
#
#   bench/drill-chaos.sh                      # seeds 1-5, 2 kills over 3s
#   SEEDS="1 2 3" KILLS=3 RATE=100 bench/drill-chaos.sh
#   KEEP=/tmp/runs bench/drill-chaos.sh       # keep each run's --json
#
# Per run: acknowledged writes, lost (and how many of them on a kill),
# duplicated, requests failed for good, requests retried and extra
# attempts, p99 latency of every request and of the retried ones, and how
# many kills hit while a rollout ran (the window opens at its trigger).
# Needs redis-server and jq.
set -euo pipefail
cd "$(dirname "$0")/.."

SEEDS=${SEEDS:-1 2 3 4 5}
KILLS=${KILLS:-2}
WINDOW=${WINDOW:-3s}
RATE=${RATE:-50}
DELAY=${DELAY:-300ms}
LAG=${LAG:-200ms-500ms}
KEEP=${KEEP:-}
for tool in redis-server jq; do
	command -v "$tool" >/dev/null || { echo "bench/drill-chaos.sh needs $tool" >&2; exit 2; }
done
tmp=$(mktemp -d)
port=$((20000 + RANDOM % 5000))
redis-server --port "$port" --save '' --appendonly no --dir "$tmp" >"$tmp/redis.log" 2>&1 &
redis_pid=$!
trap 'kill "$redis_pid" 2>/dev/null; rm -rf "$tmp"' EXIT
go build -o "$tmp/lameduck" ./cmd/lameduck
sleep 0.5

echo "| variant | retry | seed | acked | lost | lost at a kill | duplicated | failed | retried | extra attempts | p99 | p99 retried | kills during a rollout |"
echo "|---|:---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for seed in $SEEDS; do
	for run in naive:on lameduck:on crashsafe:on crashsafe:off; do
		variant=${run%%:*} retry=${run##*:}
		flags=()
		[ "$retry" = on ] && flags=(--retry)
		"$tmp/lameduck" drill --demo-variant "$variant" --seed "$seed" --chaos "$KILLS" --chaos-window "$WINDOW" \
			"${flags[@]}" --rate "$RATE" --demo-delay "$DELAY" --propagation-lag "$LAG" --warmup 500ms --tail 500ms \
			--redis "127.0.0.1:$port" --json "$tmp/r.json" >"$tmp/out.txt" 2>&1 || true
		if [ ! -s "$tmp/r.json" ]; then
			echo "| $variant | $retry | $seed | setup error: $(tail -1 "$tmp/out.txt") |"
			continue
		fi
		[ -n "$KEEP" ] && cp "$tmp/r.json" "$KEEP/chaos-$variant-retry-$retry-$seed.json"
		jq -r --arg v "$variant" --arg r "$retry" --arg s "$seed" '.runs[0] as $x |
			([$x.causes[] | select(.key == "acknowledged-write-lost-at-sigkill") | .count] | add // 0) as $lk |
			([$x.chaos.kills[] | .at as $t | select(any($x.rollouts[]; .started < $t and (.completed // 0) > $t))] | length) as $mid |
			"| \($v) | \($r) | \($s) | \($x.ledger.acked) | \($x.ledger.lost) | \($lk) | \($x.ledger.duplicated) | \($x.load.failed) | \($x.retry.requests // "-") | \($x.retry.attempts // "-") | \($x.load.latency.p99 / 1e6 | floor) ms | \(if $x.retry and $x.retry.requests > 0 then "\($x.retry.p99_retried / 1e6 | floor) ms" else "-" end) | \($mid) of \($x.chaos.kills | length) |"' "$tmp/r.json"
		rm -f "$tmp/r.json"
	done
done
