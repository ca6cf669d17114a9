#!/usr/bin/env bash
# The Hypha test server kit (shared/hypha-server beside the checkout, or beside one of its parents for worktrees, or
# $WSO_HYPHA_KIT): where it is, and getting it ready.
#
#   scripts/hypha-kit.sh path      print the kit's hypha-server.sh, or exit 1 when there is none
#   scripts/hypha-kit.sh prepare   build its chroot once (several minutes the first time, seconds after), so test
#                                  projects that start Hypha servers in parallel never race to build it; idempotent;
#                                  without a kit or root it says why and exits 0 (the tests then fail under make test)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)

find_kit() {
  if [ -n "${WSO_HYPHA_KIT:-}" ]; then printf '%s' "$WSO_HYPHA_KIT"; return 0; fi
  local dir=$ROOT
  while [ "$dir" != / ]; do
    dir=$(dirname "$dir")
    if [ -x "$dir/shared/hypha-server/hypha-server.sh" ]; then printf '%s' "$dir/shared/hypha-server/hypha-server.sh"; return 0; fi
  done
  return 1
}

case ${1:-} in
  path)
    find_kit ;;
  prepare)
    if ! kit=$(find_kit); then
      echo "hypha-kit: no Hypha kit (shared/hypha-server beside the checkout, or WSO_HYPHA_KIT)" >&2; exit 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
      echo "hypha-kit: the Hypha kit needs root (debootstrap, chroot, mount)" >&2; exit 0
    fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    state=$(mktemp -d /tmp/wso-hypha-prepare-XXXXXX)
    trap '"$kit" down --port "$port" --state "$state" >/dev/null 2>&1 || true; rm -rf "$state"' EXIT
    started=$SECONDS
    "$kit" up --port "$port" --state "$state" >/dev/null
    echo "hypha-kit: ready ($kit; a server answered in $((SECONDS - started)) s)" >&2 ;;
  *)
    echo "usage: scripts/hypha-kit.sh path|prepare" >&2; exit 2 ;;
esac
