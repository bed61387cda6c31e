#!/usr/bin/env bash
# up.sh: bring up a single-node Kubernetes v1.34.4 on this machine, with no Docker, no
# registry and no systemd: Debian's containerd 1.6 + runc + CNI bridge plugin + etcd 3.4,
# the Kubernetes components built from source by build.sh (cached), kube-proxy in iptables
# mode, cgroup v1 with the cgroupfs driver. Idempotent: what already runs is left alone.
#
#   scripts/kube/up.sh      then: export KUBECONFIG=/var/lib/lameduck-kube/conf/admin.kubeconfig
#
# Addresses: node 10.199.0.1 (bridge ldk0), pods 10.244.0.0/24 (bridge ldcni0), Services
# 10.96.0.0/16, API server https://10.199.0.1:6443, etcd 127.0.0.1:23790. No CoreDNS: use
# ClusterIPs. Pods run only images imported by images.sh (imagePullPolicy: Never).
# Everything it changes on the machine is recorded under $LAMEDUCK_KUBE_DIR and undone by
# down.sh (processes, sysctls, iptables chains, bridges, mounts, cgroups).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
t0=$(date +%s.%N)
log() { printf '[up %6.1fs] %s\n' "$(echo "$(date +%s.%N) - $t0" | bc)" "$*"; }
alive() { [ -f "$B/run/$1.pid" ] && kill -0 "$(cat "$B/run/$1.pid")" 2>/dev/null; }
start() { # start NAME CMD...: detached (setsid, no inherited fds), pid in run/, log appended to logs/
  local n=$1; shift
  if alive "$n"; then log "$n already running"; return; fi
  echo "=== up.sh $(date -u +%FT%TZ): $*" >>"$B/logs/$n.log"
  setsid "$@" >>"$B/logs/$n.log" 2>&1 </dev/null &
  echo $! >"$B/run/$n.pid"
  log "started $n (pid $!, log $B/logs/$n.log)"
}
waitfor() { # waitfor WHAT SECONDS CMD...
  local what=$1 n=$2; shift 2
  for _ in $(seq 1 "$n"); do "$@" >/dev/null 2>&1 && { log "$what ok"; return 0; }; sleep 1; done
  log "TIMEOUT waiting for $what; logs in $B/logs"; return 1
}
subst() { # subst TEMPLATE OUT: only if it changes (kube-proxy exits when its config file changes)
  sed -e "s#@B@#$B#g" -e "s#@MINSYNC@#${LAMEDUCK_KUBE_PROXY_MIN_SYNC:-1s}#g" "$1" >"$2.new"
  if cmp -s "$2.new" "$2"; then rm "$2.new"; else mv "$2.new" "$2"; fi
}

[ "$(id -u)" -eq 0 ] || { echo "up.sh: must run as root (it starts containerd and kubelet)" >&2; exit 1; }
"$KUBE_SCRIPTS/packages.sh"
command -v bc >/dev/null || { echo "up.sh: needs bc" >&2; exit 1; }
log "packages ok"
BIN=$("$KUBE_SCRIPTS/build.sh" | tail -1)
log "binaries in $BIN"
mkdir -p "$B/run" "$B/logs" "$B/state" "$B/conf" "$B/cni/net.d"
ln -sfn "$BIN" "$B/bin"

# 0. remember the sysctls that kubelet / kube-proxy / the CNI bridge plugin change (for down.sh)
if [ ! -f "$B/run/sysctl.saved" ]; then
  for s in $KUBE_SYSCTLS; do [ -f "/proc/sys/$s" ] && echo "$s $(cat "/proc/sys/$s")"; done >"$B/run/sysctl.saved.tmp"
  mv "$B/run/sysctl.saved.tmp" "$B/run/sysctl.saved"
fi
# directories kubelet/containerd create outside the work directory: removed by down.sh if new
for d in /var/log/pods /var/log/containers; do
  [ -e "$d" ] || { grep -qx "$d" "$B/run/created.paths" 2>/dev/null || echo "$d" >>"$B/run/created.paths"; }
done
# pod -> ClusterIP -> pod on the same bridge needs bridged replies to pass iptables (un-DNAT)
echo 1 >/proc/sys/net/bridge/bridge-nf-call-iptables

# 1. node address on a port-less bridge
ip link show ldk0 >/dev/null 2>&1 || { ip link add ldk0 type bridge; ip addr add "$NODE_IP/32" dev ldk0; }
ip link set ldk0 up

# 2. configs
subst "$KUBE_SCRIPTS/conf/kubelet.yaml" "$B/conf/kubelet.yaml"
subst "$KUBE_SCRIPTS/conf/kube-proxy.yaml" "$B/conf/kube-proxy.yaml"
subst "$KUBE_SCRIPTS/conf/10-lameduck.conflist" "$B/cni/net.d/10-lameduck.conflist"
# containerd: Debian 1.6 defaults, with our root/state/socket, CNI dirs and sandbox image.
# restrict_oom_score_adj = true is REQUIRED here: root lacks CAP_SYS_RESOURCE in this VM, so
# runc cannot set the sandbox's oom_score_adj -998 ("can't get final child's PID from pipe").
containerd config default | sed \
  -e "s#^root = .*#root = \"$B/state/containerd\"#" \
  -e "s#^state = .*#state = \"$B/run/containerd\"#" \
  -e "s#address = \"/run/containerd/containerd.sock\"#address = \"$B/run/containerd/containerd.sock\"#" \
  -e "s#sandbox_image = .*#sandbox_image = \"lameduck.local/pause:1\"#" \
  -e "s#bin_dir = \"/opt/cni/bin\"#bin_dir = \"/usr/lib/cni\"#" \
  -e "s#conf_dir = \"/etc/cni/net.d\"#conf_dir = \"$B/cni/net.d\"#" \
  -e "s#netns_mounts_under_state_dir = false#netns_mounts_under_state_dir = true#" \
  -e "s#restrict_oom_score_adj = false#restrict_oom_score_adj = true#" \
  -e "s#path = \"/opt/containerd\"#path = \"$B/state/containerd-opt\"#" \
  -e "s#disable_apparmor = false#disable_apparmor = true#" >"$B/conf/containerd.toml.new"
if cmp -s "$B/conf/containerd.toml.new" "$B/conf/containerd.toml"; then rm "$B/conf/containerd.toml.new"; else mv "$B/conf/containerd.toml.new" "$B/conf/containerd.toml"; fi
grep -q 'restrict_oom_score_adj = true' "$B/conf/containerd.toml" || { echo "up.sh: containerd config: restrict_oom_score_adj not set" >&2; exit 1; }

# 3. containerd, and the images (pause sandbox, demo, load) built by images.sh
start containerd containerd --config "$B/conf/containerd.toml"
waitfor containerd 30 ctr version
"$KUBE_SCRIPTS/images.sh"
log "images imported"

# 4. PKI + kubeconfigs (kept across up/down; down.sh --wipe removes them)
"$KUBE_SCRIPTS/certs.sh" "$B"

# 5. etcd
start etcd etcd --name ld --data-dir "$B/state/etcd" \
  --listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
  --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
  --initial-cluster ld=http://127.0.0.1:23800 --listen-metrics-urls http://127.0.0.1:23810
waitfor etcd 30 env ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:23790 endpoint health

# 6. kube-apiserver
P=$B/pki
start kube-apiserver "$BIN/kube-apiserver" \
  --etcd-servers=http://127.0.0.1:23790 \
  --bind-address="$NODE_IP" --advertise-address="$NODE_IP" --secure-port=6443 \
  --service-cluster-ip-range=$SVC_CIDR \
  --client-ca-file="$P/ca.crt" --tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" \
  --kubelet-client-certificate="$P/apiserver-kubelet-client.crt" --kubelet-client-key="$P/apiserver-kubelet-client.key" \
  --service-account-key-file="$P/sa.pub" --service-account-signing-key-file="$P/sa.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction --allow-privileged=true \
  --kubelet-preferred-address-types=InternalIP \
  --profiling=false --v=1
K="$BIN/kubectl"
waitfor kube-apiserver/readyz 120 "$K" get --raw /readyz

# 7. controller-manager + scheduler
start kube-controller-manager "$BIN/kube-controller-manager" \
  --kubeconfig="$B/conf/controller-manager.kubeconfig" \
  --authentication-kubeconfig="$B/conf/controller-manager.kubeconfig" \
  --authorization-kubeconfig="$B/conf/controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
  --service-account-private-key-file="$P/sa.key" --root-ca-file="$P/ca.crt" \
  --cluster-signing-cert-file="$P/ca.crt" --cluster-signing-key-file="$P/ca.key" \
  --allocate-node-cidrs=true --cluster-cidr=$POD_CIDR --node-cidr-mask-size=24 \
  --service-cluster-ip-range=$SVC_CIDR --profiling=false --v=1
start kube-scheduler "$BIN/kube-scheduler" \
  --kubeconfig="$B/conf/scheduler.kubeconfig" \
  --authentication-kubeconfig="$B/conf/scheduler.kubeconfig" \
  --authorization-kubeconfig="$B/conf/scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --leader-elect=false --profiling=false --v=1

# 8. kubelet
mkdir -p "$B/state/kubelet"
start kubelet "$BIN/kubelet" --config="$B/conf/kubelet.yaml" --kubeconfig="$B/conf/kubelet.kubeconfig" \
  --hostname-override=$NODE --node-ip=$NODE_IP \
  --root-dir="$B/state/kubelet" --cert-dir="$B/state/kubelet/pki" --v=1

# 9. kube-proxy (iptables)
start kube-proxy "$BIN/kube-proxy" --config="$B/conf/kube-proxy.yaml" --v=1

# after a restart with old etcd state the Ready condition can be stale for ~40s
waitfor "node $NODE Ready" 180 "$K" wait --for=condition=Ready "node/$NODE" --timeout=1s
# the default ServiceAccount must exist before pods can be created in a namespace
waitfor "default ServiceAccount" 60 "$K" -n default get serviceaccount default
log "cluster up; export KUBECONFIG=$KUBECONFIG; kubectl is $K"
