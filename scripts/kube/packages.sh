#!/usr/bin/env bash
# packages.sh: install the Debian (bookworm) packages the test cluster needs, if missing.
# containerd + runc run the pods, containernetworking-plugins gives the CNI bridge/host-local/
# portmap plugins, iptables + conntrack serve kube-proxy (iptables mode), etcd-server/-client
# is the API server's store, openssl makes the PKI, bc does the
# scripts' timing arithmetic. ~50 MB download, ~1 min on a cold machine.
# Installing containerd does not start it here (no systemd): up.sh runs its own instance.
set -euo pipefail
need=()
for p in containerd runc containernetworking-plugins iptables conntrack etcd-server etcd-client openssl bc; do
  [[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] || need+=("$p")
done
[ ${#need[@]} -eq 0 ] && exit 0
echo "packages.sh: installing ${need[*]} (the single-node Kubernetes cluster needs them)" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
