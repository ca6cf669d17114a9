#!/usr/bin/env bash
# Builds the Hypha test server's chroot once (../shared/hypha-server: several minutes the first time, seconds after),
# so the test projects that start Hypha servers in parallel never race to build it. Idempotent.
# Prints where the kit is; exits 0 without a kit (the tests then say why they cannot run, and fail under make test).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
kit=${WSO_HYPHA_KIT:-}
dir=$ROOT
while [ -z "$kit" ] && [ "$dir" != / ]; do
  dir=$(dirname "$dir")
  [ -x "$dir/shared/hypha-server/hypha-server.sh" ] && kit=$dir/shared/hypha-server/hypha-server.sh
done
if [ -z "$kit" ]; then
  echo "prepare-hypha-kit: no Hypha kit (shared/hypha-server beside the checkout, or WSO_HYPHA_KIT)" >&2
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "prepare-hypha-kit: the Hypha kit needs root (debootstrap, chroot, mount)" >&2
  exit 0
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
state=$(mktemp -d /tmp/wso-hypha-prepare-XXXXXX)
trap '"$kit" down --port "$port" --state "$state" >/dev/null 2>&1 || true; rm -rf "$state"' EXIT
started=$SECONDS
"$kit" up --port "$port" --state "$state" >/dev/null
echo "prepare-hypha-kit: Hypha kit ready ($kit; a server answered in $((SECONDS - started)) s)" >&2
