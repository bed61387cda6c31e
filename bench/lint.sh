#!/usr/bin/env bash
# Time and memory of `lameduck lint` on generated manifest sets (bench/lint.md).
#
#   bench/lint.sh [BASELINE_BINARY]
#
# Generates a 2 MB and a 31 MB input with bench/lint-gen.py (in $TMPDIR, not
# committed), builds lameduck, and runs `lameduck lint -q` 3 times on each
# under /usr/bin/time -v, printing wall time, user+sys CPU and max RSS. With
# BASELINE_BINARY (a lameduck built from another commit), it is run on the
# same inputs in the same session (the 31 MB case once, stopped after 180 s).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=${TMPDIR:-/tmp}/lameduck-lint-bench
mkdir -p "$tmp"
python3 bench/lint-gen.py 2 "$tmp/2mb.yaml"
python3 bench/lint-gen.py 31 "$tmp/31mb.yaml"
go build -o "$tmp/lameduck" ./cmd/lameduck
nproc
uptime
measure() { # binary input runs [timeout]
	for _ in $(seq "$3"); do
		/usr/bin/time -v -o "$tmp/time.txt" timeout "${4:-600}" "$1" lint -q "$2" >/dev/null 2>&1 || true
		awk -F': ' '/Elapsed/ {w=$2} /User time/ {u=$2} /System time/ {s=$2} /Maximum resident/ {m=$2}
			/Exit status/ {x=$2} END {printf "  wall %s, cpu %.1f s (user %s + sys %s), max RSS %.0f MB, exit %s\n", w, u+s, u, s, m/1024, x}' "$tmp/time.txt"
	done
}
for size in 2mb 31mb; do
	echo "$size ($(stat -c %s "$tmp/$size.yaml") bytes), this commit:"
	measure "$tmp/lameduck" "$tmp/$size.yaml" 3
done
if [ $# -ge 1 ]; then
	echo "2mb, baseline $1:"
	measure "$1" "$tmp/2mb.yaml" 3
	echo "31mb, baseline $1 (stopped after 180 s):"
	measure "$1" "$tmp/31mb.yaml" 1 180
fi
uptime
