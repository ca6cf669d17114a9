#!/usr/bin/env bash
# moto, the AWS emulator (IAM, STS, S3 with IAM authorization), for the AWS backend's tests (scripts/moto-test-server.sh).
#
# bookworm has no python3-moto; Debian trixie has 5.1.1. Its pure-Python packages (Architecture: all: moto, boto3,
# botocore, flask, werkzeug, responses, xmltodict, antlr4, jinja2, joserfc, jsonpath-ng …) are fetched from trixie
# with `apt-get download` under a private APT configuration (scripts/lib/private-apt.sh: this machine's own Debian
# mirror with the suite swapped, nothing written to the system's APT state) and unpacked with `dpkg -x` into
# $DIR/root. Compiled extensions (cryptography, markupsafe, yaml) must match bookworm's /usr/bin/python3, so they come
# from bookworm's own apt (scripts/apt-install-missing.sh). The private tree goes first on PYTHONPATH, so trixie's
# pure-Python versions win over any older system copy (bookworm's boto3, say). PyPI is not used. Idempotent.
#
# Settings (environment): WSO_MOTO_DIR (default .local/moto), WSO_MOTO_SUITE (trixie).
# Output: $DIR/moto.env (PYTHON, PYTHONPATH, MOTO_VERSION), read by moto-test-server.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${WSO_MOTO_DIR:-$ROOT/.local/moto}
SUITE=${WSO_MOTO_SUITE:-trixie}
PYTHON=/usr/bin/python3
# Compiled modules moto's server imports: built for bookworm's Python, from bookworm.
COMPILED=(python3-cryptography python3-markupsafe python3-yaml)
# moto's server mode needs flask-cors, which python3-moto only recommends.
WANTED=(python3-moto python3-flask-cors)

log() { printf 'install-moto: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ -f "$DIR/moto.env" ] && exit 0

"$ROOT/scripts/apt-install-missing.sh" python3 "${COMPILED[@]}"
mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9
[ -f "$DIR/moto.env" ] && exit 0 # another run finished while we waited

. "$ROOT/scripts/lib/private-apt.sh"
private_apt_tree "$DIR" "$SUITE" || die "$PRIVATE_APT_ERROR"
# With an empty status the simulation lists the whole closure; keep the python3-* packages built for every
# architecture (pure Python), minus the interpreter's own and the compiled ones taken from bookworm.
mapfile -t CANDIDATES < <(apt-get -s -qq install --no-install-recommends "${WANTED[@]}" |
  awk '/^Inst /{ print $2 }' | grep -E '^python3-' | sort -u)
PACKAGES=()
for p in "${CANDIDATES[@]}"; do
  arch=$(apt-cache show "$p" | awk '/^Architecture:/ { print $2; exit }')
  [ "$arch" = all ] || continue
  case " ${COMPILED[*]} python3-minimal python3-pkg-resources " in *" $p "*) continue ;; esac
  PACKAGES+=("$p")
done
printf '%s\n' "${PACKAGES[@]}" | grep -qx python3-moto || die "apt did not resolve python3-moto in $SUITE"
log "downloading ${#PACKAGES[@]} pure-Python packages"
(cd "$APT/debs" && apt-get -qq download "${PACKAGES[@]}")
for deb in "$APT/debs"/*.deb; do
  dpkg -x "$deb" "$DIR/root"
done

SITE=$DIR/root/usr/lib/python3/dist-packages
[ -d "$SITE/moto" ] || die "moto is missing under $SITE"
VERSION=$(PYTHONPATH=$SITE "$PYTHON" -c 'import moto; print(moto.__version__)') || die "the unpacked moto does not import on $PYTHON"
PYTHONPATH=$SITE "$PYTHON" -c 'import moto.server, moto.iam, moto.sts, moto.s3' || die "moto's server does not import on $PYTHON"
{
  echo "# written by scripts/install-moto.sh from $SUITE packages: ${PACKAGES[*]}"
  echo "PYTHON=$PYTHON"
  echo "PYTHONPATH=$SITE"
  echo "MOTO_VERSION=$VERSION"
} >"$DIR/moto.env.tmp"
rm -rf "$APT/debs" "$APT/cache" "$APT/state/lists"
mv "$DIR/moto.env.tmp" "$DIR/moto.env"
log "installed moto $VERSION under $DIR for $PYTHON"
