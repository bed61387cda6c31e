#!/usr/bin/env bash
# down.sh [--wipe]: stop the cluster up.sh started and restore the machine.
#
# Stops the daemons by their recorded pids, kills every pod's container and sandbox through
# containerd, then removes what they left: the kube-proxy and CNI iptables chains (KUBE-*,
# CNI-* only, and the jumps to them), the bridges ldcni0 and ldk0 (the pods' veths go with
# their network namespaces), every mount under the work directory, the kubepods cgroups,
# the directories up.sh created outside it, and restores the sysctls up.sh saved.
# Kept for a fast next up.sh: PKI, etcd data, containerd's image store (all under
# $LAMEDUCK_KUBE_DIR); --wipe deletes the whole work directory. The binary/image cache
# ($LAMEDUCK_KUBE_CACHE) is never touched.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "down.sh: must run as root" >&2; exit 1; }
[ -d "$B" ] || { echo "down.sh: nothing to do ($B does not exist)"; exit 0; }

stop() { # stop NAME: TERM, up to 10 s, then KILL
  local f=$B/run/$1.pid p
  [ -f "$f" ] || return 0
  p=$(cat "$f")
  if kill -0 "$p" 2>/dev/null; then
    kill "$p"
    for _ in $(seq 1 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$p" 2>/dev/null && kill -9 "$p"
    echo "down.sh: stopped $1 (pid $p)"
  fi
  rm -f "$f"
}
for c in kube-proxy kubelet kube-scheduler kube-controller-manager kube-apiserver etcd; do stop $c; done

# pods: kill every task in containerd's k8s.io namespace, then delete them and their containers
if [ -S "$CONTAINERD_ADDRESS" ] && ctr version >/dev/null 2>&1; then
  for t in $(ctr -n k8s.io tasks ls -q 2>/dev/null); do ctr -n k8s.io tasks kill -s SIGKILL "$t" 2>/dev/null; done
  sleep 1
  for t in $(ctr -n k8s.io tasks ls -q 2>/dev/null); do ctr -n k8s.io tasks delete -f "$t" >/dev/null 2>&1; done
  for c in $(ctr -n k8s.io containers ls -q 2>/dev/null); do ctr -n k8s.io containers delete "$c" >/dev/null 2>&1; done
fi
stop containerd
# shims of OUR containerd outlive it: their command line names our socket
for p in $(pgrep -f "containerd-shim-runc-v2 -namespace k8s.io .*-address $CONTAINERD_ADDRESS" 2>/dev/null); do
  kill -9 "$p" 2>/dev/null && echo "down.sh: killed shim $p"
done

# iptables: only the chains kube-proxy and the CNI plugins own (KUBE-*, CNI-*)
for fam in iptables ip6tables; do
  command -v $fam >/dev/null || continue
  for tbl in nat filter mangle; do
    $fam -t $tbl -S 2>/dev/null | grep -E '^-A .*(-j|--jump) (KUBE|CNI)-' | sed 's/^-A/-D/' |
      while read -r r; do eval "$fam -t $tbl $r" 2>/dev/null; done
    chains=$($fam -t $tbl -S 2>/dev/null | awk '/^-N (KUBE|CNI)-/{print $2}')
    for ch in $chains; do $fam -t $tbl -F "$ch" 2>/dev/null; done
    for ch in $chains; do $fam -t $tbl -X "$ch" 2>/dev/null; done
  done
done
left=$(iptables-save 2>/dev/null | grep -cE 'KUBE-|CNI-')
[ "$left" = 0 ] || echo "down.sh: WARNING: $left iptables lines still name KUBE-/CNI- chains" >&2

# mounts under the work directory: pod netns (nsfs), sandbox shm, kubelet volumes, rootfs.
# Releasing the netns mounts removes the pods' veths.
grep " $B/" /proc/mounts | awk '{print $2}' | sort -r | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; done
rm -f "$B"/run/containerd/io.containerd.grpc.v1.cri/netns/cni-* 2>/dev/null
for l in ldcni0 ldk0; do ip link del $l 2>/dev/null && echo "down.sh: deleted bridge $l"; done
for v in $(ip -o link show type veth 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1); do
  [[ $(ip -d link show "$v" 2>/dev/null) == *"master ldcni0"* ]] && ip link del "$v"
done

# cgroups kubelet created (kubepods, empty once the pods are gone)
for h in /sys/fs/cgroup/*/; do
  [ -d "$h/kubepods" ] && find "$h/kubepods" -depth -type d -exec rmdir {} \; 2>/dev/null
done

# directories up.sh found missing outside the work directory (kubelet's pod logs, containerd's opt)
if [ -f "$B/run/created.paths" ]; then
  while read -r d; do rm -rf "$d"; done <"$B/run/created.paths"
  rm -f "$B/run/created.paths"
fi
if [ -f "$B/run/sysctl.saved" ]; then
  while read -r s v; do echo "$v" >"/proc/sys/$s"; done <"$B/run/sysctl.saved"
  rm -f "$B/run/sysctl.saved"
  echo "down.sh: sysctls restored"
fi
if [ "${1:-}" = "--wipe" ]; then
  rm -rf "$B" && echo "down.sh: wiped $B"
fi
echo "down.sh: done"
