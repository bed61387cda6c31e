#!/usr/bin/env bash
# images.sh: build the test cluster's images without Docker or a registry and import them into
# up.sh's containerd (namespace k8s.io). Pods use them with imagePullPolicy: Never.
#
#   lameduck.local/pause:1     the pod sandbox (containerd's sandbox_image): waits for SIGTERM
#   lameduck.local/redis:1     a Redis-protocol server (miniredis) for the demo counter service
#   lameduck.local/lameduck:1  the lameduck CLI: `lameduck demo [--naive]` and the load mode
#
# Each is a static Go binary on an empty base, one layer, written by imagetool/mkimage
# (go-containerregistry). Tarballs are kept in $LAMEDUCK_KUBE_CACHE/images; an image is
# re-imported only when its tarball changed since the last import.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
root=$(cd "$KUBE_SCRIPTS/../.." && pwd)
img=$KUBE_CACHE/images
mkdir -p "$img" "$B/run/images"
tool=$KUBE_CACHE/images/bin
mkdir -p "$tool"
build() { # build DIR PKG OUT: static, stripped
  (cd "$1" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$3" "$2")
}
build "$KUBE_SCRIPTS/imagetool" ./mkimage "$tool/mkimage"
build "$KUBE_SCRIPTS/imagetool" ./pause "$tool/pause"
build "$KUBE_SCRIPTS/imagetool" ./redis "$tool/redis"
build "$root" ./cmd/lameduck "$tool/lameduck"

mk() { # mk NAME ENTRYPOINT IMAGE_PATH=HOST_FILE
  local n=$1
  "$tool/mkimage" -tag "lameduck.local/$n:1" -o "$img/$n.tar.new" -entrypoint "$2" "$3"
  if [ -f "$img/$n.tar" ] && cmp -s "$img/$n.tar" "$img/$n.tar.new"; then rm "$img/$n.tar.new"; else mv "$img/$n.tar.new" "$img/$n.tar"; fi
  local sum
  sum=$(sha256sum <"$img/$n.tar" | cut -c1-64)
  # (the list first: grep -q would close the pipe early and pipefail would see ctr's SIGPIPE)
  local have
  have=$(ctr -n k8s.io images ls -q)
  if [ "$(cat "$B/run/images/$n.sha" 2>/dev/null)" = "$sum" ] && grep -qx "lameduck.local/$n:1" <<<"$have"; then
    return
  fi
  ctr -n k8s.io images import "$img/$n.tar" >/dev/null
  echo "$sum" >"$B/run/images/$n.sha"
  echo "images.sh: imported lameduck.local/$n:1 ($(stat -c %s "$img/$n.tar") bytes)" >&2
}
mk pause /pause "/pause=$tool/pause"
mk redis /redis "/redis=$tool/redis"
mk lameduck /lameduck "/lameduck=$tool/lameduck"
