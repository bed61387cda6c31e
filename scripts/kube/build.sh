#!/usr/bin/env bash
# build.sh: build the Kubernetes v1.34.4 components the test cluster runs, from the
# k8s.io/kubernetes Go module (wrapper module in scripts/kube/k8sbuild), and cache them.
#
#   scripts/kube/build.sh [component...]   build what is missing, print the binary directory
#
# Components: kube-apiserver kubelet kube-controller-manager kube-scheduler kube-proxy kubectl
# (default: all). Binaries are static (CGO_ENABLED=0), stripped, stamped with the version.
#
# Cache: $LAMEDUCK_KUBE_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/lameduck-kube)/bin/<key>/
# where <key> hashes the wrapper module (go.mod, go.sum, main.go files) and the Go version:
# change any of them and the components are rebuilt. The Go module cache (~1.1 GB) and build
# cache (~1.2 GB) are Go's own (go env GOMODCACHE GOCACHE). Timings go to build-times.log in
# the cache directory. The last line printed on stdout is the binary directory.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mod=$here/k8sbuild
V=v1.34.4
CACHE=${LAMEDUCK_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lameduck-kube}
all="kube-apiserver kubelet kube-controller-manager kube-scheduler kube-proxy kubectl"
comps=${*:-$all}
for c in $comps; do
  case " $all " in *" $c "*) ;; *) echo "build.sh: unknown component $c (accepted: $all)" >&2; exit 2 ;; esac
done

key=$( (cd "$mod" && cat go.mod go.sum cmd/*/main.go; go version) | sha256sum | cut -c1-12)
bin=$CACHE/bin/$V-$key
mkdir -p "$bin"

LD="-s -w"
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  LD="$LD -X $p.gitVersion=$V -X $p.gitMajor=1 -X $p.gitMinor=34 -X $p.gitTreeState=clean"
  LD="$LD -X $p.buildDate=1970-01-01T00:00:00Z"
done

for c in $comps; do
  if [ -x "$bin/$c" ]; then
    echo "build.sh: $c cached in $bin" >&2
    continue
  fi
  s=$(date +%s)
  echo "build.sh: building $c (cold: kube-apiserver ~5 min, the others 10 s to 1 min on 2 cores)" >&2
  (cd "$mod" && CGO_ENABLED=0 go build -trimpath -ldflags "$LD" -o "$bin/.$c.tmp" "./cmd/$c")
  mv "$bin/.$c.tmp" "$bin/$c"
  t=$(($(date +%s) - s))
  echo "$(date -u +%FT%TZ) $c ${t}s $(stat -c %s "$bin/$c") bytes" >> "$CACHE/build-times.log"
  echo "build.sh: $c built in ${t}s" >&2
done
echo "$bin"
