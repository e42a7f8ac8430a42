#!/usr/bin/env bash
# Builds GoBGP's gobgpd and gobgp CLI from the Go module github.com/osrg/gobgp/v4 into a cache
# directory outside the repository, and downloads the module so its .proto files (proto/api/*.proto)
# sit in the Go module cache for test/apply/gobgp-schema.test.ts.
#
# Idempotent: when both binaries exist and report the wanted version, nothing is built.
# Prints the bin directory on its last stdout line (`KRT_GOBGP_BIN=<dir>`).
# Env: KRT_GO_CACHE (default /var/cache/kube-router-ts), KRT_GOBGP_VERSION (default v4.8.0),
#      GO (default: go on PATH, else /usr/local/go/bin/go).
# Fails (exit ≠ 0, one line on stderr) when Go is missing or the module proxy is unreachable.
set -euo pipefail
version="${KRT_GOBGP_VERSION:-v4.8.0}"
cache="${KRT_GO_CACHE:-/var/cache/kube-router-ts}"
bin="$cache/gobgp-$version/bin"
go="${GO:-$(command -v go || echo /usr/local/go/bin/go)}"
if [ ! -x "$go" ]; then echo "build-gobgp: no Go toolchain (set GO= or install Go at /usr/local/go)" >&2; exit 1; fi
mod="github.com/osrg/gobgp/v4"

# the .proto files: cheap when already in the module cache
GOFLAGS=-mod=mod "$go" mod download "$mod@$version" >/dev/null
protodir="$("$go" env GOMODCACHE)/$mod@$version/proto/api"
[ -f "$protodir/gobgp.proto" ] || { echo "build-gobgp: $protodir/gobgp.proto missing after go mod download" >&2; exit 1; }

if [ -x "$bin/gobgpd" ] && [ -x "$bin/gobgp" ] && "$bin/gobgpd" --version 2>/dev/null | grep -q "${version#v}"; then
  echo "build-gobgp: $version already built in $bin" >&2
else
  mkdir -p "$bin"
  start=$(date +%s)
  GOBIN="$bin" CGO_ENABLED=0 nice -n 10 "$go" install -trimpath -ldflags "-s -w" \
    "$mod/cmd/gobgpd@$version" "$mod/cmd/gobgp@$version"
  echo "build-gobgp: built $version in $(( $(date +%s) - start ))s" >&2
fi
echo "KRT_GOBGP_PROTO=$protodir"
echo "KRT_GOBGP_BIN=$bin"
