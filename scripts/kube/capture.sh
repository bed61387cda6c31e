#!/usr/bin/env bash
# capture.sh NAMESPACE DEPLOYMENT OUTDIR: record a `kubectl rollout restart` on the test
# cluster for the unit tests of internal/drill/kube (testdata/):
#   OUTDIR/snap-NNN.json   every distinct state of the Deployment + its ReplicaSets + pods
#                          (a v1 List), polled back to back until no old pod is left, then 3 s
#   OUTDIR/pods.json, endpointslices.json, events.json   the watch streams
#                          (kubectl get -w -o json --output-watch-events)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
ns=${1:?namespace} dep=${2:?deployment} out=${3:?outdir}
K=$B/bin/kubectl
mkdir -p "$out"
app=$($K -n "$ns" get deploy "$dep" -o jsonpath='{.spec.selector.matchLabels.app}')
pids=()
$K -n "$ns" get pods -l app="$app" -w -o json --output-watch-events >"$out/pods.json" & pids+=($!)
$K -n "$ns" get endpointslices -l kubernetes.io/service-name="$dep" -w -o json --output-watch-events >"$out/endpointslices.json" & pids+=($!)
$K -n "$ns" get events --field-selector involvedObject.kind=Pod -w -o json --output-watch-events >"$out/events.json" & pids+=($!)
sleep 1
# the Deployment, then a List of its ReplicaSets and pods (two JSON documents)
snap() { { $K -n "$ns" get "deploy/$dep" -o json; $K -n "$ns" get rs,pods -l app="$app" -o json; } 2>/dev/null; }
n=0 prev=""
save() { local s; s=$(snap); local h; h=$(echo "$s" | grep -v '"resourceVersion"' | sha256sum)
  [ "$h" = "$prev" ] && return; prev=$h; n=$((n+1)); printf '%s\n' "$s" >"$out/snap-$(printf %03d $n).json"; }
save
$K -n "$ns" rollout restart "deploy/$dep"
end=$(($(date +%s) + 120)) quiet=0
while [ "$(date +%s)" -lt $end ]; do
  save
  # done when the rollout status is complete and no pod is terminating, for 3 s
  st=$($K -n "$ns" get "deploy/$dep" -o jsonpath='{.metadata.generation} {.status.observedGeneration} {.spec.replicas} {.status.replicas} {.status.updatedReplicas} {.status.availableReplicas}')
  if echo "$st" | awk '{exit !($1 == $2 && $3 == $4 && $3 == $5 && $3 == $6)}' &&
     [ -z "$($K -n "$ns" get pods -l app="$app" -o jsonpath='{.items[?(@.metadata.deletionTimestamp)].metadata.name}')" ]; then
    quiet=$((quiet+1)); [ $quiet -ge 6 ] && break
  else quiet=0; fi
  sleep 0.2
done
save
kill "${pids[@]}" 2>/dev/null || true
wait 2>/dev/null || true
echo "capture.sh: $n snapshots in $out" >&2
