# lib.sh: settings shared by up.sh, down.sh, images.sh and e2e.sh (sourced, not run).
#
# LAMEDUCK_KUBE_DIR    work directory: PKI, configs, logs, pids, etcd/kubelet/containerd state
#                      (default /var/lib/lameduck-kube)
# LAMEDUCK_KUBE_CACHE  built binaries and images (default ${XDG_CACHE_HOME:-$HOME/.cache}/lameduck-kube)
B=${LAMEDUCK_KUBE_DIR:-/var/lib/lameduck-kube}
KUBE_CACHE=${LAMEDUCK_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lameduck-kube}
KUBE_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NODE=ld-node
NODE_IP=10.199.0.1 # on the port-less bridge ldk0 up.sh creates (the kernel has no dummy driver)
SVC_CIDR=10.96.0.0/16
POD_CIDR=10.244.0.0/16
export CONTAINERD_ADDRESS=$B/run/containerd/containerd.sock
export KUBECONFIG=$B/conf/admin.kubeconfig
# sysctls kubelet, kube-proxy or the CNI bridge plugin may change: saved by up.sh, restored by down.sh
KUBE_SYSCTLS="vm/overcommit_memory vm/panic_on_oom kernel/panic kernel/panic_on_oops
  kernel/keys/root_maxkeys kernel/keys/root_maxbytes net/ipv4/ip_forward
  net/bridge/bridge-nf-call-iptables net/bridge/bridge-nf-call-ip6tables
  net/ipv4/conf/all/route_localnet net/netfilter/nf_conntrack_max"
