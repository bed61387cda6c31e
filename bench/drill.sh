#!/usr/bin/env bash
# bench/drill.sh: the highest constant rate `lameduck drill` sustains through
# its balancer with 3 demo replicas (the lameduck variant) and zero failures
# during a rolling update, and how far the achieved rate is from the
# requested one.
#
#   bench/drill.sh                       # default rate ladder, embedded store
#   RATES="4000 5000 6000" bench/drill.sh
#   REDIS=127.0.0.1:6379 bench/drill.sh  # count in a real redis-server
#   EXTRA="--profile local" bench/drill.sh
#   KEEP=/tmp/runs bench/drill.sh        # keep each run's --json result
#
# A rate is "sustained" when no request failed, nothing acknowledged was
# lost, and the achieved rate is at least 95% of the requested one. Results
# go to stdout as a Markdown table (paste into bench/drill.md). Figures vary
# with the machine's load: the load average is printed with each row.
set -euo pipefail
cd "$(dirname "$0")/.."

RATES=${RATES:-"1000 2000 3000 4000 5000 6000 7000 8000 10000"}
REDIS=${REDIS:-}
EXTRA=${EXTRA:-}
KEEP=${KEEP:-} # a directory to keep each run's JSON in
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/lameduck" ./cmd/lameduck

# field FILE KEY: the first numeric value of "KEY" in the JSON result (the
# load section comes first, so "failed" is the load's, not a replica's).
field() { grep -m1 "\"$2\":" "$1" | sed -E 's/.*: *([-0-9.e+]+).*/\1/'; }

store_flag=()
[ -n "$REDIS" ] && store_flag=(--redis "$REDIS")

echo "| requested req/s | achieved req/s | achieved/requested | sent | failed | lost | p50 | p99 | load avg (1 min) | sustained | causes |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|---|"
best=0
for rate in $RATES; do
	load=$(cut -d' ' -f1 /proc/loadavg)
	# shellcheck disable=SC2086
	"$tmp/lameduck" drill --demo-variant lameduck --rate "$rate" "${store_flag[@]}" $EXTRA \
		--json "$tmp/r.json" >"$tmp/out.txt" 2>&1 || true
	if [ ! -s "$tmp/r.json" ]; then
		echo "| $rate | - | - | - | - | - | - | - | $load | no | setup error: $(tail -1 "$tmp/out.txt") |"
		continue
	fi
	achieved=$(field "$tmp/r.json" achieved_rate)
	sent=$(field "$tmp/r.json" sent)
	failed=$(field "$tmp/r.json" failed)
	lost=$(field "$tmp/r.json" lost)
	p50=$(field "$tmp/r.json" p50)
	p99=$(field "$tmp/r.json" p99)
	causes=$(awk '/"causes": \[/ { in_c = 1 } /"advice": / { in_c = 0 } in_c && /"key": / { gsub(/[",]/, "", $2); printf "%s%s", sep, $2; sep = "," }' "$tmp/r.json")
	[ -n "$KEEP" ] && cp "$tmp/r.json" "$KEEP/drill-$rate.json"
	ok=$(awk -v a="$achieved" -v r="$rate" -v f="$failed" -v l="$lost" 'BEGIN { print (f == 0 && l == 0 && a >= 0.95 * r) ? "yes" : "no" }')
	awk -v r="$rate" -v a="$achieved" -v s="$sent" -v f="$failed" -v l="$lost" -v p50="$p50" -v p99="$p99" -v la="$load" -v ok="$ok" -v c="$causes" \
		'BEGIN { printf "| %d | %.0f | %.1f%% | %d | %d | %d | %.1f ms | %.1f ms | %s | %s | %s |\n", r, a, 100 * a / r, s, f, l, p50 / 1e6, p99 / 1e6, la, ok, c }'
	if [ "$ok" = yes ] && [ "$rate" -gt "$best" ]; then best=$rate; fi
	rm -f "$tmp/r.json"
done
echo
echo "highest sustained rate: $best req/s ($(nproc) cores, $(go env GOVERSION))"
