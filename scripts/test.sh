#!/usr/bin/env bash
# The project's test command (README, .ci/run). It installs the system
# packages the tests use when they are missing (redis-server, prometheus,
# prometheus-pushgateway: the tests start their own instances on free
# loopback ports), then runs vet, the manifest lint of deploy/, a short fuzz
# of the manifest reader, a short end-to-end drill, the drill on a real
# single-node Kubernetes (scripts/kube), and every test with the
# race detector (its summary is the last thing printed).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v prometheus >/dev/null || need+=(prometheus)
command -v prometheus-pushgateway >/dev/null || command -v pushgateway >/dev/null || need+=(prometheus-pushgateway)
command -v systemd-socket-activate >/dev/null || need+=(systemd) # real LISTEN_FDS for the systemd package tests
# The drill report's tests render the HTML timeline in headless Chromium and
# validate the JUnit XML with xmllint (libxml2-utils).
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || need+=(chromium)
command -v xmllint >/dev/null || need+=(libxml2-utils)
if [ ${#need[@]} -gt 0 ]; then
  echo "scripts/test.sh: installing ${need[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

echo "== go vet"
go vet ./...
echo "== lameduck lint deploy/"
go run ./cmd/lameduck lint deploy/
echo "== fuzz the manifest reader (20s)"
go test ./internal/lint -run '^$' -fuzz '^FuzzRead$' -fuzztime 20s -fuzzminimizetime 2s
echo "== a short drill, end to end (the lameduck demo through one rollout)"
go run ./cmd/lameduck drill --demo-variant lameduck --rate 100 --duration 3s \
  --propagation-lag 200ms-500ms --grace 5s --demo-delay 300ms
echo "== a real single-node Kubernetes (scripts/kube): lameduck drill --kube, the naive demo loses, the lameduck demo does not"
# up.sh installs containerd, runc, CNI plugins, iptables, conntrack and etcd when missing
# (it says so), builds Kubernetes v1.34.4 once (cached in ~/.cache/lameduck-kube: ~11 min
# cold, seconds warm) and the images without Docker; down.sh restores the machine.
scripts/kube/up.sh
trap 'scripts/kube/down.sh' EXIT
LAMEDUCK_KUBE_E2E=1 KUBECONFIG=/var/lib/lameduck-kube/conf/admin.kubeconfig \
  go test -count=1 -timeout 15m -run '^TestKubeDrillEndToEnd$' -v ./cmd/lameduck
scripts/kube/down.sh
trap - EXIT
echo "== go test -race"
go test -race -count=1 -timeout 15m ./...
