#!/usr/bin/env bash
# bench/kube-noendpoint.sh: what a client in a pod sees when it dials a
# Service with no ready endpoint, on the cluster of scripts/kube
# (scripts/kube/up.sh first). kube-proxy REJECTs such connections, but the
# kernel sends the ICMP errors at most once a second per client after a
# burst of six (net.ipv4.icmp_ratelimit), so most dials hang instead of
# being refused (docs/retries.md, "When no endpoint is ready").
#
#   bench/kube-noendpoint.sh            # 20 dials/s for 3s, 2.5s timeout
#   RATE=50 DURATION=5s bench/kube-noendpoint.sh
#
# Creates, in namespace lameduck-e2e, a Service lameduck-noendpoint that
# selects no pod and a pod lameduck-noendpoint-load (lameduck load, without
# --retry), prints the count of each outcome, and deletes both.
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-20}
DURATION=${DURATION:-3s}
TIMEOUT=${TIMEOUT:-2500ms}
NS=lameduck-e2e
export KUBECONFIG=${KUBECONFIG:-/var/lib/lameduck-kube/conf/admin.kubeconfig}
K=${KUBECTL:-/var/lib/lameduck-kube/bin/kubectl}
command -v jq >/dev/null || { echo "bench/kube-noendpoint.sh needs jq" >&2; exit 2; }
cleanup() { "$K" -n "$NS" delete pod/lameduck-noendpoint-load svc/lameduck-noendpoint --ignore-not-found --wait=false >/dev/null; }
trap cleanup EXIT
cleanup
"$K" -n "$NS" create service clusterip lameduck-noendpoint --tcp=8080:8080 >/dev/null
ip=$("$K" -n "$NS" get svc lameduck-noendpoint -o jsonpath='{.spec.clusterIP}')
sleep 3 # let kube-proxy install the REJECT rule
rule=$(iptables-save | grep 'lameduck-noendpoint' || true)
echo "kube-proxy rule: ${rule:-none}"
"$K" -n "$NS" run lameduck-noendpoint-load --image lameduck.local/lameduck:1 --image-pull-policy Never --restart Never \
	--command -- /lameduck load --url "http://$ip:8080/x" --method GET --rate "$RATE" --duration "$DURATION" --timeout "$TIMEOUT" >/dev/null
"$K" -n "$NS" wait --for=jsonpath='{.status.phase}'=Succeeded pod/lameduck-noendpoint-load --timeout=60s >/dev/null
echo "sysctl: $(sysctl -n net.ipv4.icmp_ratelimit) ms icmp_ratelimit"
"$K" -n "$NS" logs lameduck-noendpoint-load | jq -rs --arg t "$TIMEOUT" '
	[.[] | .req | select(.)] as $r |
	"\($r | length) dials at '"$RATE"'/s: " +
	"\([$r[] | select(.class == "refused" and .latency < 100000000)] | length) refused at once, " +
	"\([$r[] | select(.class == "refused" and .latency >= 100000000)] | length) refused after a SYN retransmission, " +
	"\([$r[] | select(.class == "timeout")] | length) timed out (\($t))"'
