#!/usr/bin/env bash
# The project's test command (README, .ci/run). It installs the system
# packages the tests use when they are missing (redis-server, prometheus,
# prometheus-pushgateway: the tests start their own instances on free
# loopback ports), then runs vet, the manifest lint of deploy/, a short fuzz
# of the manifest reader, a short end-to-end drill, and every test with the
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
echo "== go test -race"
go test -race -count=1 -timeout 15m ./...
