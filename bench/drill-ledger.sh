#!/usr/bin/env bash
# bench/drill-ledger.sh: the drill with the per-request ledger on, at a high
# rate (3 lameduck demo replicas, one rollout), against the same drill with
# the counter only, alternating in the same invocation so that both see the
# same machine.
#
#   bench/drill-ledger.sh                    # 8000 req/s, 2 runs of each
#   RATE=5000 RUNS=3 bench/drill-ledger.sh
#   KEEP=/tmp/runs bench/drill-ledger.sh     # keep each run's --json
#
# Per run: achieved rate, failures, lost/duplicated (ledger), and the CPU
# time (user+sys) of the drill and its replicas (bash's `time`: the drill
# waits for its replicas, so their CPU is included), per 1,000 requests.
# "ok" means 0 failed, 0 lost, 0 duplicated, achieved/requested >= 0.99.
set -euo pipefail
cd "$(dirname "$0")/.."

RATE=${RATE:-8000}
RUNS=${RUNS:-2}
EXTRA=${EXTRA:-}
KEEP=${KEEP:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/lameduck" ./cmd/lameduck

# field FILE KEY: the first numeric value of "KEY" in the JSON document.
field() { grep -m1 "\"$2\":" "$1" | sed -E 's/.*: *([-0-9.e+]+).*/\1/'; }

echo "| mode | requested | achieved | achieved/requested | sent | failed | lost | duplicated | CPU s | CPU ms per 1k req | load avg | ok |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|"
for i in $(seq "$RUNS"); do
	for mode in ledger counter; do
		flags=()
		[ "$mode" = counter ] && flags=(--ledger "")
		load=$(cut -d' ' -f1 /proc/loadavg)
		TIMEFORMAT="%U %S"
		# shellcheck disable=SC2086
		{ time "$tmp/lameduck" drill --demo-variant lameduck --rate "$RATE" "${flags[@]}" $EXTRA \
			--json "$tmp/r.json" >"$tmp/out.txt" 2>&1 || true; } 2>"$tmp/time.txt"
		cpu=$(awk '{ print $1 + $2 }' "$tmp/time.txt")
		if [ ! -s "$tmp/r.json" ]; then
			echo "| $mode | $RATE | - | - | - | - | - | - | $cpu | - | $load | setup error: $(tail -1 "$tmp/out.txt") |"
			continue
		fi
		achieved=$(field "$tmp/r.json" achieved_rate)
		sent=$(field "$tmp/r.json" sent)
		failed=$(field "$tmp/r.json" failed)
		lost=0 dup=0
		if [ "$mode" = ledger ]; then
			lost=$(field "$tmp/r.json" lost)
			dup=$(field "$tmp/r.json" duplicated)
		else
			lost=$(field "$tmp/r.json" missing)
		fi
		[ -n "$KEEP" ] && cp "$tmp/r.json" "$KEEP/drill-$mode-$RATE-$i.json"
		awk -v m="$mode" -v r="$RATE" -v a="$achieved" -v s="$sent" -v f="$failed" -v l="$lost" -v d="$dup" -v c="$cpu" -v la="$load" \
			'BEGIN { ok = (f == 0 && l == 0 && d == 0 && a >= 0.99 * r) ? "yes" : "no";
			printf "| %s | %d | %.0f | %.3f | %d | %d | %d | %d | %.1f | %.1f | %s | %s |\n", m, r, a, a / r, s, f, l, d, c, 1e6 * c / s, la, ok }'
		rm -f "$tmp/r.json"
	done
done
echo
echo "($(nproc) cores, $(go env GOVERSION))"
