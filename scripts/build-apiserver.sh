#!/usr/bin/env bash
# Builds the real-apiserver test tier's binaries from test/support/apiserver/go.mod:
#   kube-apiserver  (k8s.io/kubernetes/cmd/kube-apiserver at the release go.mod pins)
#   krt-etcd        (test/support/apiserver/etcd: go.etcd.io/etcd/server/v3 embedded)
# into ${KRT_GO_CACHE:-/var/cache/kube-router-ts}/apiserver-<key>/bin, where <key> hashes
# go.mod, go.sum and the etcd main. Idempotent: when that directory already holds both
# binaries it prints their paths and builds nothing. Prints the build time and records it
# in build-time.txt beside the binaries. The tests find the binaries through
# `scripts/build-apiserver.sh --print-dir` (no build) or KRT_APISERVER_BIN.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/test/support/apiserver"
cache="${KRT_GO_CACHE:-/var/cache/kube-router-ts}"
key="$(cat "$src/go.mod" "$src/go.sum" "$src/etcd/main.go" | sha256sum | cut -c1-12)"
k8s="$(awk '$1=="k8s.io/kubernetes"{print $2; exit}' "$src/go.mod")"
out="$cache/apiserver-$k8s-$key"
bin="$out/bin"

if [[ "${1:-}" == "--print-dir" ]]; then
  echo "$bin"
  exit 0
fi

if [[ -x "$bin/kube-apiserver" && -x "$bin/krt-etcd" ]]; then
  echo "cached: $bin/kube-apiserver ($(du -h "$bin/kube-apiserver" | cut -f1))"
  echo "cached: $bin/krt-etcd ($(du -h "$bin/krt-etcd" | cut -f1))"
  [[ -f "$out/build-time.txt" ]] && cat "$out/build-time.txt"
  exit 0
fi

command -v go >/dev/null || { echo "build-apiserver: no Go toolchain on PATH (need go >= 1.24)" >&2; exit 1; }
mkdir -p "$out"
tmp="$(mktemp -d "$out/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
export GOFLAGS=-mod=mod CGO_ENABLED=0
# the Go build cache lives beside the binaries' cache so CI runs that keep $cache reuse it
export GOCACHE="${GOCACHE:-$cache/go-build}"
cold=yes; [[ -d "$GOCACHE" ]] && cold=no
# nice 19 keeps it off other work's CPU; KRT_GO_BUILD_P=1 serialises the packages too
par="${KRT_GO_BUILD_P:-$(nproc)}"
start=$(date +%s)
cd "$src"
nice -n 19 go mod download
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$k8s -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$k8s" | cut -d. -f2)"
echo "building krt-etcd ..."
nice -n 19 go build -p "$par" -trimpath -ldflags "-s -w" -o "$tmp/krt-etcd" ./etcd
echo "building kube-apiserver $k8s (long: tens of minutes on 2 cores) ..."
nice -n 19 go build -p "$par" -trimpath -ldflags "$ldflags" -o "$tmp/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
secs=$(( $(date +%s) - start ))
mkdir -p "$bin"
mv "$tmp/krt-etcd" "$tmp/kube-apiserver" "$bin/"
echo "built kube-apiserver $k8s and krt-etcd in ${secs}s on $(nproc) cores (go build -p $par, $(go version | cut -d' ' -f3), cold build cache: $cold) at $(date -u +%FT%TZ)" > "$out/build-time.txt"
echo "built: $bin/kube-apiserver ($(du -h "$bin/kube-apiserver" | cut -f1))"
echo "built: $bin/krt-etcd ($(du -h "$bin/krt-etcd" | cut -f1))"
cat "$out/build-time.txt"
