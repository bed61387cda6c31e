#!/usr/bin/env bash
# certs.sh DIR: a CA, the API server's serving cert, client certs for admin, controller-manager,
# scheduler, kubelet, kube-proxy and the API server's kubelet client, the ServiceAccount key
# pair (DIR/pki), and a kubeconfig per client (DIR/conf). Does nothing if DIR/pki/ca.crt exists.
set -euo pipefail
B=${1:?usage: certs.sh DIR}
NODE=ld-node
NODE_IP=10.199.0.1
SVC_IP=10.96.0.1 # first address of the Service CIDR: the kubernetes Service
P=$B/pki
mkdir -p "$P" "$B/conf"
[ -f "$P/ca.crt" ] && exit 0
cd "$P"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -days 3650 -subj "/CN=lameduck-kube-ca" 2>/dev/null
sign() { # sign NAME CN O [SANS]: serving+client cert if SANS, client cert otherwise
  local n=$1 cn=$2 o=$3 sans=${4:-} subj="/CN=$2"
  [ -n "$o" ] && subj="/O=$o/CN=$cn"
  openssl req -newkey rsa:2048 -nodes -keyout "$n.key" -out "$n.csr" -subj "$subj" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [ -n "$sans" ]; then echo "extendedKeyUsage=serverAuth,clientAuth"; echo "subjectAltName=$sans"
    else echo "extendedKeyUsage=clientAuth"; fi
  } >"$n.ext"
  openssl x509 -req -in "$n.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$n.crt" -days 3650 -extfile "$n.ext" 2>/dev/null
  rm -f "$n.csr" "$n.ext"
}
sign apiserver kube-apiserver "" "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local,DNS:localhost,IP:127.0.0.1,IP:$NODE_IP,IP:$SVC_IP"
sign apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
sign admin admin system:masters
sign controller-manager system:kube-controller-manager ""
sign scheduler system:kube-scheduler ""
sign kubelet "system:node:$NODE" system:nodes
sign kube-proxy system:kube-proxy ""
openssl genrsa -out sa.key 2048 2>/dev/null
openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
for x in admin controller-manager scheduler kubelet kube-proxy; do
  cat >"$B/conf/$x.kubeconfig" <<K
apiVersion: v1
kind: Config
clusters:
- name: lameduck
  cluster:
    certificate-authority: $P/ca.crt
    server: https://$NODE_IP:6443
users:
- name: $x
  user:
    client-certificate: $P/$x.crt
    client-key: $P/$x.key
contexts:
- name: lameduck
  context: {cluster: lameduck, user: $x}
current-context: lameduck
K
done
echo "certs.sh: PKI in $P, kubeconfigs in $B/conf" >&2
