#!/usr/bin/env bash
# bench/kube-chaos.sh: `lameduck drill --kube --chaos` on the single-node
# cluster of scripts/kube (scripts/kube/up.sh first), the demo's variants
# under the same seeded kills during the rollout, over several seeds.
#
#   bench/kube-chaos.sh                        # seeds 1-5, 1 node kill over 10s
#   SEEDS="1 2" KILLS=2 SCOPE=replica bench/kube-chaos.sh
#   KEEP=/tmp/runs bench/kube-chaos.sh         # keep each run's --json
#
# Variants: naive, lameduck + retries, crashsafe, crashsafe + retries (the
# Deployments of scripts/kube/manifests/demo.yaml). Per run: exit code,
# requests sent and failed, acknowledged writes lost (at the SIGKILL / at a
# deleted pod's exit), duplicated, requests failed in flight at the kill, on
# a new connection no pod answered, or while no endpoint was ready, retried requests and attempts tied
# to the kill, p99 of all requests and of the retried ones, pods killed.
# Needs jq and the cluster; each run takes about 30 s.
set -euo pipefail
cd "$(dirname "$0")/.."

SEEDS=${SEEDS:-1 2 3 4 5}
KILLS=${KILLS:-1}
SCOPE=${SCOPE:-node}
WINDOW=${WINDOW:-10s}
RATE=${RATE:-50}
KEEP=${KEEP:-}
export KUBECONFIG=${KUBECONFIG:-/var/lib/lameduck-kube/conf/admin.kubeconfig}
command -v jq >/dev/null || { echo "bench/kube-chaos.sh needs jq" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/lameduck" ./cmd/lameduck

echo "| variant | seed | exit | sent | failed | lost at SIGKILL | lost at exit | duplicated | in flight at SIGKILL | pod unknown | no endpoint | retried (kill) | p99 | p99 retried | pods killed |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for seed in $SEEDS; do
	for run in naive:counter-naive: lameduck+retry:counter-lameduck:--retry crashsafe:counter-crashsafe: crashsafe+retry:counter-crashsafe:--retry; do
		IFS=: read -r variant deploy extra <<<"$run"
		code=0
		"$tmp/lameduck" drill --kube -n lameduck-e2e "deployment/$deploy" --load-image lameduck.local/lameduck:1 --load-pull-never \
			--rate "$RATE" --duration 25s --ledger redis:drill:ledger --redis 10.96.100.10:6379 \
			--chaos "$KILLS" --chaos-scope "$SCOPE" --chaos-window "$WINDOW" --seed "$seed" $extra \
			--json "$tmp/r.json" >"$tmp/out.txt" 2>&1 || code=$?
		if [ ! -s "$tmp/r.json" ]; then
			echo "| $variant | $seed | $code | setup error: $(tail -1 "$tmp/out.txt") |"
			continue
		fi
		[ -n "$KEEP" ] && cp "$tmp/r.json" "$KEEP/kube-chaos-$variant-$seed.json"
		jq -r --arg v "$variant" --arg s "$seed" --arg c "$code" '.runs[0] as $x |
			def cause($k): ([$x.causes[] | select(.key == $k) | .count] | add // 0);
			"| \($v) | \($s) | \($c) | \($x.load.sent) | \($x.load.failed) | \(cause("acknowledged-write-lost-at-sigkill")) | \(cause("acknowledged-write-lost-at-exit")) | \($x.ledger.duplicated) | \(cause("in-flight-at-sigkill")) | \(cause("new-connection-failed-pod-unknown")) | \(cause("no-endpoint")) | \([$x.chaos.kills[].retried] | add // 0) | \($x.load.latency.p99 / 1e6 | floor) ms | \(if $x.retry and $x.retry.requests > 0 then "\($x.retry.p99_retried / 1e6 | floor) ms" else "-" end) | \([$x.chaos.kills[].replicas | length] | add // 0) |"' "$tmp/r.json"
		rm -f "$tmp/r.json"
	done
done
