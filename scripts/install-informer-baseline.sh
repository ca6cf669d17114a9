#!/usr/bin/env bash
# tools/informer-baseline, make bench's Go floor for row 8, built with the same Debian sid toolchain and client-go
# sources as tools/kube-apiserver (scripts/install-kube-apiserver.sh runs first and unpacks them; cached). Cached
# too: rebuilt only when the hash of its inputs changes. Prints the binary's path on stdout.
# Settings (environment): WSO_KUBE_APISERVER_DIR (default .local/kube-apiserver).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${WSO_KUBE_APISERVER_DIR:-$ROOT/.local/kube-apiserver}
SRC=$ROOT/tools/informer-baseline
BIN=$DIR/bin/informer-baseline

log() { printf 'install-informer-baseline: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

"$ROOT/scripts/install-kube-apiserver.sh"
inputs_hash() { cat "$SRC"/*.go "$ROOT/tools/kube-apiserver/VERSIONS" "$0" "$ROOT/scripts/lib/debian-go.sh" | sha256sum | cut -d' ' -f1; }
if [ -x "$BIN" ] && [ "$(cat "$BIN.inputs" 2>/dev/null)" = "$(inputs_hash)" ]; then
  echo "$BIN"
  exit 0
fi

. "$ROOT/scripts/lib/debian-go.sh"
BUILD=$DIR/build-informer-baseline
debian_go_env "$DIR" "$BUILD" || die "no Go toolchain under $DIR/root (scripts/install-kube-apiserver.sh unpacks it)"
PKG=$BUILD/src/wso-informer-baseline
rm -rf "$PKG"
mkdir -p "$PKG" "$DIR/bin"
cp "$SRC"/*.go "$PKG/"
log "building tools/informer-baseline"
(cd "$PKG" && "$GO" build -trimpath -ldflags "-s -w" -o "$BIN.new" .) || die "tools/informer-baseline does not build against the packaged sources"
mv "$BIN.new" "$BIN"
inputs_hash >"$BIN.inputs"
echo "$BIN"
