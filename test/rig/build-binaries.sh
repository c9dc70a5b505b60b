#!/usr/bin/env bash
# Builds etcd, kube-apiserver, kube-controller-manager and kubectl from the Go module proxy into .cache/rig/bin,
# only when a binary of the pinned version is missing. First run: minutes; later runs reuse the cache.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache="${RIG_CACHE_DIR:-$root/.cache/rig}"
bin="$cache/bin"
mkdir -p "$bin"

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod
export GOPATH="${GOPATH:-$HOME/go}"

# need NAME VERSION: true when that binary is not built yet.
need() { [ ! -x "$bin/$1-$2" ]; }

build_kubernetes() {
  local ver="$KUBERNETES_VERSION" minor staging mod
  minor="v0.${ver#v1.}"
  mod="$cache/src/kubernetes-$ver"
  mkdir -p "$mod"
  # k8s.io/kubernetes points its staging modules at ./staging; a wrapper module replaces each with the
  # published v0.Y.Z of the same release. The list is read from the release's own go.mod.
  need kube-apiserver "$ver" || need kube-controller-manager "$ver" || need kubectl "$ver" || return 0
  local upstream_mod
  upstream_mod=$(cd "$cache" && go mod download -json "k8s.io/kubernetes@$ver" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  staging=$(grep -E '=> \./staging/' "$upstream_mod" | awk '{print $1}')
  {
    echo "module rig.local/kubernetes"
    echo
    echo "go 1.25.0"
    echo
    echo "require k8s.io/kubernetes $ver"
    echo
    echo "replace ("
    for m in $staging; do echo "  $m => $m $minor"; done
    echo ")"
  } >"$mod/go.mod"
  cat >"$mod/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
  local pkg="k8s.io/component-base/version"
  local ldflags="-s -w -X $pkg.gitVersion=$ver -X $pkg.gitMajor=1 -X $pkg.gitMinor=$(echo "$ver" | cut -d. -f2)"
  ldflags="$ldflags -X $pkg.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=$ver"
  (cd "$mod" && go mod tidy >/dev/null 2>&1 || true)
  for cmd in kube-apiserver kube-controller-manager kubectl; do
    if need "$cmd" "$ver"; then
      echo "rig: building $cmd $ver (first time only; several minutes)" >&2
      (cd "$mod" && go build -trimpath -ldflags "$ldflags" -o "$bin/$cmd-$ver.tmp" "k8s.io/kubernetes/cmd/$cmd")
      mv "$bin/$cmd-$ver.tmp" "$bin/$cmd-$ver"
    fi
  done
}

build_etcd() {
  local ver="$ETCD_VERSION" mod="$cache/src/etcd-$ETCD_VERSION"
  need etcd "$ver" || return 0
  echo "rig: building etcd $ver (first time only)" >&2
  mkdir -p "$mod"
  printf 'module rig.local/etcd\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ver" >"$mod/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >"$mod/tools.go"
  (cd "$mod" && go mod tidy >/dev/null 2>&1 || true)
  (cd "$mod" && go build -trimpath -ldflags "-s -w" -o "$bin/etcd-$ver.tmp" go.etcd.io/etcd/server/v3)
  mv "$bin/etcd-$ver.tmp" "$bin/etcd-$ver"
}

build_etcd
build_kubernetes
echo "rig: binaries ready in $bin" >&2
