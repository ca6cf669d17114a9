#!/usr/bin/env bash
# The project's own Kubernetes API server (tools/kube-apiserver), etcd and kubectl, for the tests and `make run`:
# Debian sid's .debs, pinned in tools/kube-apiserver/VERSIONS (Go 1.27, the golang-k8s-*-dev sources the program
# compiles, etcd-server, kubectl), fetched with `apt-get download` under a private APT configuration
# (scripts/lib/private-apt.sh: this machine's own mirror with the suite swapped), unpacked with `dpkg -x` under
# $DIR/root, and the program built there in GOPATH mode, offline (scripts/lib/debian-go.sh).
# Nothing is installed into the system.
#
# Cached: the binary is rebuilt only when the hash of its inputs (the Go sources, VERSIONS, this script) changes, so
# a second run returns at once; the Go build cache ($DIR/gocache) makes a rebuild after an edit take seconds.
#
# Settings (environment): WSO_KUBE_APISERVER_DIR (default .local/kube-apiserver), WSO_KUBE_APISERVER_SUITE (sid).
# WSO_KUBE_APISERVER_REPIN=1: resolve today's versions from the mirror instead of VERSIONS, build, and rewrite
# VERSIONS with exactly the packages the build used (what to do when the mirror stops serving a pinned version).
# Output: $DIR/tools.env (KUBE_APISERVER, ETCD, KUBECTL and their versions), read by scripts/kube-apiserver.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${WSO_KUBE_APISERVER_DIR:-$ROOT/.local/kube-apiserver}
SUITE=${WSO_KUBE_APISERVER_SUITE:-sid}
SRC=$ROOT/tools/kube-apiserver
PINS=$SRC/VERSIONS
REPIN=${WSO_KUBE_APISERVER_REPIN:-0}
# What the program needs; apt resolves the rest (their golang-*-dev dependencies) when re-pinning.
WANTED=(golang-go golang-k8s-apiserver-dev golang-k8s-apiextensions-apiserver-dev golang-k8s-kube-openapi-dev etcd-server kubectl)
# Kubernetes' version these sources are (kubectl reads the server's version; component-base's default is unparsable).
KUBE_VERSION=v1.36.4

log() { printf 'install-kube-apiserver: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

inputs_hash() {
  cat "$SRC"/*.go "$PINS" "$0" "$ROOT/scripts/lib/private-apt.sh" "$ROOT/scripts/lib/debian-go.sh" 2>/dev/null | sha256sum | cut -d' ' -f1
}
up_to_date() {
  [ "$REPIN" != 1 ] && [ -f "$DIR/tools.env" ] && [ -x "$DIR/bin/kube-apiserver" ] &&
    [ "$(cat "$DIR/bin/kube-apiserver.inputs" 2>/dev/null)" = "$(inputs_hash)" ]
}

up_to_date && exit 0
mkdir -p "$DIR" || die "cannot create $DIR"
exec 9>"$DIR/.lock"
flock 9
up_to_date && exit 0 # another run finished while we waited

. "$ROOT/scripts/lib/private-apt.sh"
APT=$DIR/apt

# fetch PACKAGE=VERSION...: downloads the .debs and unpacks them into a fresh $DIR/root.
fetch() {
  rm -rf "$APT/debs" "$DIR/root"
  mkdir -p "$APT/debs" "$DIR/root"
  log "downloading $# packages from $SUITE"
  (cd "$APT/debs" && apt-get -qq download "$@" >/dev/null) || die "apt-get download failed (is the mirror reachable?)"
  log "unpacking under $DIR/root"
  for deb in "$APT/debs"/*.deb; do
    dpkg -x "$deb" "$DIR/root" || die "cannot unpack $(basename "$deb")"
  done
}

if [ "$REPIN" = 1 ] || [ "$(cat "$DIR/root/.versions" 2>/dev/null)" != "$(cat "$PINS" 2>/dev/null)" ]; then
  private_apt "$APT" "$SUITE" || die "$PRIVATE_APT_ERROR"
  log "reading $SUITE's package lists (private APT state under $APT)"
  apt-get -qq update || die "apt-get update failed for $SUITE on this machine's mirror"
  if [ "$REPIN" = 1 ]; then
    # With an empty status, the simulation lists the whole dependency closure; keep the Go sources, the toolchain,
    # etcd and kubectl (the rest, libc and the like, is the system's own). VERSIONS keeps only what the build uses.
    mapfile -t SPECS < <(apt-get -s -qq install --no-install-recommends "${WANTED[@]}" |
      awk '/^Inst /{ v = $3; gsub(/[\[\]()]/, "", v); print $2 "=" v }' |
      grep -E '^(golang-[0-9.]+-(go|src)|golang-.*-dev|etcd-server|kubectl)=' | sort -u)
    [ ${#SPECS[@]} -gt 10 ] || die "apt resolved too little for ${WANTED[*]}"
  else
    [ -f "$PINS" ] || die "$PINS is missing (re-pin with WSO_KUBE_APISERVER_REPIN=1 $0)"
    SPECS=()
    while read -r package version; do
      case $package in '' | '#'*) continue ;; esac
      available=$(apt-cache madison "$package" 2>/dev/null | awk -v v="$version" '$3 == v { print "yes"; exit }')
      [ -n "$available" ] ||
        die "the $SUITE mirror no longer serves $package $version (pinned in tools/kube-apiserver/VERSIONS); re-pin with WSO_KUBE_APISERVER_REPIN=1 $0"
      SPECS+=("$package=$version")
    done <"$PINS"
  fi
  fetch "${SPECS[@]}"
  rm -rf "$APT/cache/archives"/*.deb "$APT/cache"/*.bin
fi

. "$ROOT/scripts/lib/debian-go.sh"
BUILD=$DIR/build
debian_go_env "$DIR" "$BUILD" || die "no Go toolchain under $DIR/root/usr/lib (golang-1.*-go missing from the download)"
ETCD=$DIR/root/usr/bin/etcd
KUBECTL=$DIR/root/usr/bin/kubectl
"$GO" version >/dev/null || die "the unpacked Go toolchain does not run"
[ -x "$ETCD" ] && "$ETCD" --version >/dev/null || die "the unpacked etcd does not run ($ETCD)"
[ -x "$KUBECTL" ] && "$KUBECTL" version --client >/dev/null || die "the unpacked kubectl does not run ($KUBECTL)"

# The build: the program's sources copied into a GOPATH of its own, beside Debian's.
PKG=$BUILD/src/wso-kube-apiserver
rm -rf "$PKG"
mkdir -p "$PKG/builtinopenapi" "$DIR/bin"
cp "$SRC"/*.go "$PKG/"
started=$(date +%s)
log "building openapi-gen (kube-openapi) and generating the built-in types' OpenAPI definitions"
"$GO" build -o "$BUILD/openapi-gen" k8s.io/kube-openapi/cmd/openapi-gen || die "openapi-gen does not build from the packaged sources"
printf '// Code generated by openapi-gen from Debian'"'"'s k8s.io/api, at build time; not kept in the repository.\n' >"$BUILD/header.txt"
# The built-in groups and the apimachinery types they refer to (so references use the packages' model names, as
# apiextensions' definitions do); all read-only: nothing is written into Debian's tree.
OPENAPI_PACKAGES=(k8s.io/api/core/v1 k8s.io/api/apps/v1 k8s.io/api/coordination/v1 k8s.io/api/events/v1 k8s.io/api/rbac/v1
  k8s.io/apimachinery/pkg/apis/meta/v1 k8s.io/apimachinery/pkg/runtime k8s.io/apimachinery/pkg/api/resource
  k8s.io/apimachinery/pkg/util/intstr)
"$BUILD/openapi-gen" --go-header-file "$BUILD/header.txt" --output-dir "$PKG/builtinopenapi" \
  --output-pkg wso-kube-apiserver/builtinopenapi --output-file zz_generated.openapi.go --report-filename /dev/null \
  $(printf -- '--readonly-pkg %s ' "${OPENAPI_PACKAGES[@]}") "${OPENAPI_PACKAGES[@]}" || die "openapi-gen failed"
log "building tools/kube-apiserver (a few minutes the first time)"
V=k8s.io/component-base/version
(cd "$PKG" && "$GO" build -trimpath -o "$DIR/bin/kube-apiserver.new" \
  -ldflags "-s -w -X $V.gitVersion=$KUBE_VERSION -X $V.gitMajor=$(echo "$KUBE_VERSION" | cut -d. -f1 | tr -d v) -X $V.gitMinor=$(echo "$KUBE_VERSION" | cut -d. -f2)" .) ||
  die "tools/kube-apiserver does not build against the packaged sources"
log "built in $(($(date +%s) - started)) s"

if [ "$REPIN" = 1 ]; then
  # Keep only the packages that own a directory the build compiled (plus the toolchain, etcd and kubectl).
  (cd "$PKG" && "$GO" list -deps -f '{{.Dir}}' . k8s.io/kube-openapi/cmd/openapi-gen) >"$BUILD/dirs.txt"
  for deb in "$APT/debs"/*.deb; do
    dpkg-deb -f "$deb" Package Version | paste -sd' ' | tr -d '\n'
    printf '\t'
    dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' | paste -sd' '
  done >"$BUILD/contents.txt"
  python3 - "$DIR/root" "$BUILD/dirs.txt" "$BUILD/contents.txt" >"$PINS.new" <<'PY'
import os, sys
root, dirs_file, contents_file = sys.argv[1:4]
owners = {}  # directory (absolute, under root) -> packages owning an entry directly in it or the entry itself
always = []
for line in open(contents_file):
    head, _, files = line.rstrip("\n").partition("\t")
    fields = head.split()  # "Package: NAME Version: VERSION"
    package, version = fields[1], fields[3]
    if package.startswith("golang-1.") or package in ("etcd-server", "kubectl"):
        always.append((package, version))
    for f in files.split(" "):
        if f.startswith("/usr/share/gocode/src/") and not f.endswith("/"):
            owners.setdefault(os.path.dirname(root + f), set()).add((package, version))
            owners.setdefault(root + f, set()).add((package, version))  # a symlinked directory
used = set(always)
for d in open(dirs_file):
    d = d.strip()
    if not d.startswith(root + "/usr/share/gocode/"):
        continue
    probe = d
    while probe.startswith(root + "/usr/share/gocode/src/") and probe not in owners:
        probe = os.path.dirname(probe)
    used |= owners.get(probe, set())
print("# Debian sid packages tools/kube-apiserver is built against (scripts/install-kube-apiserver.sh); one per line:")
print("# package version. Re-pin with WSO_KUBE_APISERVER_REPIN=1 scripts/install-kube-apiserver.sh.")
for package, version in sorted(used):
    print(package, version)
PY
  mv "$PINS.new" "$PINS"
  log "pinned $(grep -vc '^#' "$PINS") packages in tools/kube-apiserver/VERSIONS"
fi
cp "$PINS" "$DIR/root/.versions"

mv "$DIR/bin/kube-apiserver.new" "$DIR/bin/kube-apiserver"
version() { awk -v p="$1" '$1 == p { print $2 }' "$PINS"; }
{
  echo "# written by scripts/install-kube-apiserver.sh from $SUITE packages (tools/kube-apiserver/VERSIONS)"
  echo "KUBE_APISERVER=$DIR/bin/kube-apiserver"
  echo "ETCD=$ETCD"
  echo "KUBECTL=$KUBECTL"
  echo "KUBE_VERSION=$KUBE_VERSION"
  echo "APISERVER_PACKAGE_VERSION=$(version golang-k8s-apiserver-dev)"
  echo "ETCD_PACKAGE_VERSION=$(version etcd-server)"
  echo "KUBECTL_PACKAGE_VERSION=$(version kubectl)"
} >"$DIR/tools.env.tmp"
mv "$DIR/tools.env.tmp" "$DIR/tools.env"
inputs_hash >"$DIR/bin/kube-apiserver.inputs"
rm -rf "$APT/debs" "$APT/state/lists" # the indexes are needed again only by a fresh download
log "ready: $DIR/bin/kube-apiserver ($KUBE_VERSION), etcd $(version etcd-server), kubectl $(version kubectl)"
