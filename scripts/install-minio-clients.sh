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

command -v apt-get >/dev/null && command -v dpkg >/dev/null || die "needs apt-get and dpkg (a Debian machine)"
mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9
[ -f "$DIR/tools.env" ] && exit 0 # another run finished while we waited

# This machine's Debian archive: the first deb source serving its own release (not -updates, not -security).
mirror() {
  local codename
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ -n "$codename" ] || return 1
  {
    # one-line format: deb [options] URI suite components...
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      sed -E 's/\[[^]]*\]//' | awk -v c="$codename" '$1 == "deb" && $3 == c { print $2 }'
    # deb822 format: stanzas with Types, URIs, Suites
    for f in /etc/apt/sources.list.d/*.sources; do
      [ -f "$f" ] || continue
      awk -v c="$codename" '
        function flush() { if (deb && suite) for (i = 1; i <= n; i++) print uris[i]; deb = 0; suite = 0; n = 0 }
        /^[[:space:]]*$/ { flush(); next }
        /^Types:/ { deb = ($0 ~ /[[:space:]]deb([[:space:]]|$)/) }
        /^URIs:/ { n = split(substr($0, 6), uris, " ") }
        /^Suites:/ { split(substr($0, 8), s, " "); for (i in s) if (s[i] == c) suite = 1 }
        END { flush() }' "$f"
    done
  } | grep -v -i security | head -n 1
}

URI=$(mirror) || true
[ -n "$URI" ] || die "could not read this machine's Debian mirror from /etc/apt/sources.list{,.d}"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
[ -f "$KEYRING" ] || die "$KEYRING is missing (package debian-archive-keyring)"

APT=$DIR/apt
rm -rf "$APT" "$DIR/root"
mkdir -p "$APT/parts" "$APT/preferences.d" "$APT/sources.list.d" "$APT/state/lists/partial" "$APT/cache/archives/partial" \
  "$APT/debs" "$DIR/root"
: >"$APT/state/status"
printf 'deb [signed-by=%s] %s %s main\n' "$KEYRING" "$URI" "$SUITE" >"$APT/sources.list"
# Dir::Etc::parts points at an empty directory so that the system's apt.conf.d (and its update hooks) stay out.
cat >"$APT/apt.conf" <<EOF
Dir::Etc::parts "$APT/parts";
Dir::Etc::sourcelist "$APT/sources.list";
Dir::Etc::sourceparts "$APT/sources.list.d";
Dir::Etc::preferencesparts "$APT/preferences.d";
Dir::State "$APT/state";
Dir::State::status "$APT/state/status";
Dir::Cache "$APT/cache";
APT::Architecture "$(dpkg --print-architecture)";
APT::Sandbox::User "$(id -un)";
Acquire::Languages "none";
EOF
export APT_CONFIG=$APT/apt.conf

log "reading $SUITE's package lists (private APT state under $APT)"
apt-get -qq update
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
