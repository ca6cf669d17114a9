#!/usr/bin/env bash
# Today's MinIO clients, for the tests that hold our MinIO admin client and fake server against them:
#   mc (Debian trixie's minio-client, a 2025 build) and madmin-go 3.x (golang-github-minio-madmin-go-dev) with its Go
#   dependencies and the Go toolchain that builds it (golang-1.xx-go), all from trixie's .debs.
#
# Nothing is installed into the system: the .debs are fetched with `apt-get download` under a private APT configuration
# (its own sources list, state, cache and config parts under $DIR/apt) whose one sources line is this machine's own
# Debian mirror with the suite swapped to trixie, then unpacked with `dpkg -x` into $DIR/root. The system's APT state
# is only read (its sources list, to learn the mirror). Idempotent: a complete install is left alone.
#
# Settings (environment): WSO_MINIO_CLIENTS_DIR (default .local/minio-clients), WSO_MINIO_CLIENTS_SUITE (trixie).
# Output: $DIR/tools.env (MC, GOROOT, GOCODE), read by tests/WorkspaceStorage.Storage.Tests/Minio/Clients, and a Go
# build cache ($DIR/gocache) holding madmin-go compiled.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${WSO_MINIO_CLIENTS_DIR:-$ROOT/.local/minio-clients}
SUITE=${WSO_MINIO_CLIENTS_SUITE:-trixie}
# What the tests use; apt resolves the rest (madmin-go's golang-*-dev dependencies, Go's -src package).
WANTED=(minio-client golang-go golang-github-minio-madmin-go-dev)

log() { printf 'install-minio-clients: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ -f "$DIR/tools.env" ] && exit 0

mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9
[ -f "$DIR/tools.env" ] && exit 0 # another run finished while we waited

. "$ROOT/scripts/lib/private-apt.sh"
private_apt_tree "$DIR" "$SUITE" || die "$PRIVATE_APT_ERROR"
# With an empty status, the simulation lists the whole dependency closure; keep only the Go sources, the toolchain and
# mc (everything else, libc and the like, is the system's own).
mapfile -t PACKAGES < <(apt-get -s -qq install --no-install-recommends "${WANTED[@]}" |
  awk '/^Inst /{ print $2 }' | grep -E '^(minio-client|golang-go|golang-[0-9.]+-(go|src)|golang-.*-dev)$' | sort -u)
[ ${#PACKAGES[@]} -gt 3 ] || die "apt resolved too little: ${PACKAGES[*]}"
log "downloading ${#PACKAGES[@]} packages"
(cd "$APT/debs" && apt-get -qq download "${PACKAGES[@]}")
for deb in "$APT/debs"/*.deb; do
  dpkg -x "$deb" "$DIR/root"
done

MC=$DIR/root/usr/bin/minio-client
GO=$(ls -d "$DIR"/root/usr/lib/go-*/bin/go | sort -V | tail -n 1)
GOROOT=$(dirname "$(dirname "$GO")")
GOCODE=$DIR/root/usr/share/gocode
"$MC" --version >/dev/null || die "the unpacked mc does not run"
"$GO" version >/dev/null || die "the unpacked Go toolchain does not run"
[ -f "$GOCODE/src/github.com/minio/madmin-go/go.mod" ] || die "madmin-go is missing under $GOCODE"

rm -rf "$APT/debs" "$APT/cache/archives"/*.deb

# Compile madmin-go and its dependencies once into the build cache the tests use (Clients/MinioClientTools.cs: same
# GOROOT, GOCACHE and flags), so that a test run compiles only the oracle's main package.
log "compiling madmin-go into $DIR/gocache (a few minutes, once)"
env -u GOFLAGS GO111MODULE=off GOPATH="$GOCODE" GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=0 GOROOT="$GOROOT" GOCACHE="$DIR/gocache" \
  "$GO" build github.com/minio/madmin-go || die "madmin-go does not build offline"
version() { apt-cache show "$1" | awk '/^Version:/ { print $2; exit }'; }
{
  echo "# written by scripts/install-minio-clients.sh from $SUITE packages: ${PACKAGES[*]}"
  echo "MC=$MC"
  echo "GOROOT=$GOROOT"
  echo "GOCODE=$GOCODE"
  echo "MC_PACKAGE_VERSION=$(version minio-client)"
  echo "MADMIN_VERSION=$(version golang-github-minio-madmin-go-dev)"
} >"$DIR/tools.env.tmp"
log "installed under $DIR: minio-client $(version minio-client), madmin-go $(version golang-github-minio-madmin-go-dev), $("$GO" version)"
rm -rf "$APT/cache" "$APT/state/lists" # 140 MB of indexes, needed again only by a fresh install
mv "$DIR/tools.env.tmp" "$DIR/tools.env"
