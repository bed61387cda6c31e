#!/usr/bin/env bash
# e2e.sh [--rate N] [--duration D] [--keep]: the demo counter service rolled on a real
# single-node cluster, under in-cluster load, naive and lameduck variants side by side.
#
# Brings the cluster up (up.sh; building and caching what is missing), deploys
# manifests/demo.yaml, then for each variant: zeroes the Redis counter, starts the load in a
# pod of the lameduck image (`lameduck load` to the Service's ClusterIP: requests go through
# kube-proxy's iptables rules as any in-cluster client's), triggers `kubectl rollout
# restart`, waits until the rollout is complete AND no old pod is left, waits for the load
# to end, and reads the counter. It prints, per variant: requests sent, failed (by class),
# acknowledged (2xx), counted by Redis, and lost = acknowledged - counted.
#
# Exit status: 0 when the naive variant failed or lost something and the lameduck variant
# neither failed nor lost anything (the demo's claim); 1 otherwise; 2 on bad flags.
# The cluster is brought down at the end (down.sh) unless --keep.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
rate=100 duration=30s keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --rate) rate=${2:?}; shift 2 ;;
    --duration) duration=${2:?}; shift 2 ;;
    --keep) keep=1; shift ;;
    *) echo "e2e.sh: unknown argument $1 (accepted: --rate N, --duration D, --keep)" >&2; exit 2 ;;
  esac
done
t0=$(date +%s)
log() { echo "[e2e +$(($(date +%s) - t0))s] $*"; }
cleanup() { [ $keep = 1 ] || "$KUBE_SCRIPTS/down.sh" >/dev/null 2>&1 || true; }
trap cleanup EXIT

"$KUBE_SCRIPTS/up.sh"
K=$B/bin/kubectl
NS=lameduck-e2e
$K apply -f "$KUBE_SCRIPTS/manifests/demo.yaml" >/dev/null
for d in redis counter-naive counter-lameduck; do $K -n $NS rollout status deploy/$d --timeout=180s >/dev/null; done
log "demo deployed"

redis() { # redis ARG...: one RESP command to the in-cluster Redis (ClusterIP, routed on this node)
  local reply
  exec 3<>/dev/tcp/10.96.100.10/6379
  local req="*$#"$'\r\n' a
  for a in "$@"; do req+="\$${#a}"$'\r\n'"$a"$'\r\n'; done
  printf '%s' "$req" >&3
  IFS= read -r -t 5 reply <&3
  case $reply in \$-1*) reply=0 ;; \$*) IFS= read -r -t 5 reply <&3 ;; esac
  exec 3>&-
  echo "${reply//[$'\r:+']/}"
}

old_left() { # old_left APP HASH: pods of another template hash, or being deleted
  $K -n $NS get pods -l app="$1" -o jsonpath='{range .items[*]}{.metadata.labels.pod-template-hash} {.metadata.deletionTimestamp}{"\n"}{end}' |
    awk -v h="$2" '$1 != h || $2 != "" {n++} END {print n+0}'
}

declare -A result
for v in naive lameduck; do
  app=counter-$v
  ip=$($K -n $NS get svc $app -o jsonpath='{.spec.clusterIP}')
  redis DEL counter >/dev/null
  pod=load-$v-$(date +%s)
  $K -n $NS run "$pod" --image=lameduck.local/lameduck:1 --image-pull-policy=Never --restart=Never \
    --labels=lameduck.dev/drill-load="$v" -- load --url "http://$ip:8080/incr" --rate "$rate" --duration "$duration" --run-id "$v" >/dev/null
  $K -n $NS wait --for=jsonpath='{.status.phase}'=Running "pod/$pod" --timeout=60s >/dev/null
  sleep 3
  log "$v: rollout restart under $rate req/s"
  r0=$(date +%s.%N)
  $K -n $NS rollout restart deploy/$app >/dev/null
  $K -n $NS rollout status deploy/$app --timeout=180s >/dev/null
  hash=$($K -n $NS get rs -l app=$app -o jsonpath="{range .items[?(@.status.replicas>0)]}{.metadata.labels.pod-template-hash}{end}")
  while [ "$(old_left $app "$hash")" != 0 ]; do sleep 0.2; done
  roll=$(echo "$(date +%s.%N) - $r0" | bc)
  log "$v: rollout done, no old pod left, after ${roll}s"
  $K -n $NS wait --for=jsonpath='{.status.phase}'=Succeeded "pod/$pod" --timeout=300s >/dev/null
  sleep 2 # the last increments land 1 s after their 200 OK
  out=$($K -n $NS logs "$pod")
  $K -n $NS delete pod "$pod" --wait=false >/dev/null
  sum=$(echo "$out" | grep '"summary"')
  sent=$(echo "$sum" | sed 's/.*"sent":\([0-9]*\).*/\1/')
  ok=$(echo "$sum" | sed 's/.*"ok":\([0-9]*\).*/\1/')
  failed=$(echo "$sum" | sed 's/.*"failed":\([0-9]*\).*/\1/')
  classes=$(echo "$out" | { grep -o '"class":"[a-z0-9-]*"' || true; } | sed 's/"class":"//; s/"//' | sort | uniq -c | awk '{printf "%s%s=%s", sep, $2, $1; sep=" "}')
  counted=$(redis GET counter)
  lost=$((ok - counted))
  result[$v]="$failed $lost"
  printf 'RESULT %-9s rollout %5.1fs  sent %5d  failed %4d (%s)  acknowledged %5d  counted %5d  lost %4d\n' \
    "$v" "$roll" "$sent" "$failed" "${classes:-none}" "$ok" "$counted" "$lost"
done
read -r nf nl <<<"${result[naive]}"
read -r lf ll <<<"${result[lameduck]}"
log "done"
if [ $((nf + nl)) -gt 0 ] && [ "$lf" = 0 ] && [ "$ll" = 0 ]; then
  echo "PASS: the naive demo failed $nf and lost $nl; the lameduck demo failed and lost nothing"
  exit 0
fi
echo "FAIL: naive failed $nf lost $nl (want > 0); lameduck failed $lf lost $ll (want 0 and 0)"
exit 1
