#!/usr/bin/env bash
# A real Kubernetes API server on this machine: etcd and tools/kube-apiserver (as scripts/install-kube-apiserver.sh
# built them), both on 127.0.0.1, data kept between runs.
#   up      start both (nothing to do when they run), wait for /readyz; a busy port, an unwritable data folder or a
#           missing binary is a one-line error, and every wait is bounded
#   down    stop both (data kept; delete the data folder to start empty)
#   env     print KUBECONFIG=... (export lines, for eval) once it is up
#   status  say whether it answers /readyz (exit 1 when not)
#
# Settings (environment): WSO_KUBE_DATA_DIR (default .local/kube-apiserver/data), WSO_KUBE_APISERVER_PORT (default 0:
# a free port the server picks itself and writes to its state.env), WSO_KUBE_ETCD_PORT (default: a free port),
# WSO_KUBE_SERVICE_ACCOUNTS (namespace/name,... given a token and a kubeconfig each; default the operator's and the
# companion API's, as config/rbac and config/default name them, and team-a/tenant, a tenant for the claim-ceiling tests), WSO_KUBE_APISERVER_DIR (the install).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
INSTALL=${WSO_KUBE_APISERVER_DIR:-$ROOT/.local/kube-apiserver}
DATA=${WSO_KUBE_DATA_DIR:-$INSTALL/data}
PORT=${WSO_KUBE_APISERVER_PORT:-0}
ACCOUNTS=${WSO_KUBE_SERVICE_ACCOUNTS:-system/operator,system/api,workspace-storage-system/workspace-storage-operator,workspace-storage-system/workspace-storage-api,team-a/tenant}
SERVER_DIR=$DATA/apiserver

log() { printf 'kube-apiserver: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# shellcheck source=lib/pidfile.sh
. "$ROOT/scripts/lib/pidfile.sh"

state() { # KEY from the server's state.env
  awk -F= -v k="$1" '$1 == k { print substr($0, length(k) + 2) }' "$SERVER_DIR/state.env" 2>/dev/null
}

ready() {
  local port
  port=$(state PORT)
  [ -n "$port" ] && [ "$(curl -s -m 2 --cacert "$SERVER_DIR/apiserver.crt" "https://127.0.0.1:$port/readyz" 2>/dev/null)" = ok ]
}

etcd_healthy() { curl -s -m 2 "http://127.0.0.1:$(cat "$DATA/etcd.port")/health" 2>/dev/null | grep -q '"health":"true"'; }

last_line() { tail -n 1 "$1" 2>/dev/null | cut -c1-300; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A port nothing listens on, for etcd (which cannot pick its own; the API server binds port 0 itself). It is taken
# below the kernel's ephemeral range, where no outgoing connection can hold it; another process (a second test
# assembly starting its own server at the same moment) may still take it first: start_etcd then tries new ports.
free_port() {
  local low port i
  low=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "$low" -gt 11000 ] 2>/dev/null || low=32768
  for i in $(seq 50); do
    port=$((10000 + RANDOM % (low - 10000)))
    port_busy "$port" || { echo "$port"; return 0; }
  done
  die "found no free port for etcd"
}

# etcd on a free client and peer port, ready; up to five tries when a port it was given is taken as it binds.
start_etcd() {
  local attempt etcd_port peer_port deadline
  for attempt in 1 2 3 4 5; do
    etcd_port=${WSO_KUBE_ETCD_PORT:-$(free_port)}
    peer_port=$(free_port)
    [ "$peer_port" != "$etcd_port" ] || peer_port=$(free_port)
    port_busy "$etcd_port" && die "etcd's port 127.0.0.1:$etcd_port is busy"
    echo "$etcd_port" >"$DATA/etcd.port"
    setsid "$ETCD" --name wso --data-dir "$DATA/etcd" \
      --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
      --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
      --initial-cluster "wso=http://127.0.0.1:$peer_port" --log-level warn --quota-backend-bytes 2147483648 \
      </dev/null >"$DATA/etcd.log" 2>&1 &
    echo $! >"$DATA/etcd.pid"
    deadline=$((SECONDS + 30))
    until etcd_healthy; do
      if ! alive "$DATA/etcd.pid"; then
        if grep -q "address already in use" "$DATA/etcd.log" && [ -z "${WSO_KUBE_ETCD_PORT:-}" ] && [ "$attempt" -lt 5 ]; then
          continue 2
        fi
        stop
        die "etcd exited: $(last_line "$DATA/etcd.log")"
      fi
      [ $SECONDS -lt $deadline ] || { stop; die "timed out after 30s waiting for etcd ($DATA/etcd.log)"; }
      sleep 0.1
    done
    return 0
  done
}

# wait_for SECONDS PIDFILE WHAT LOG COMMAND...: until COMMAND succeeds; fails at once when the process dies.
wait_for() {
  local limit=$1 pidfile=$2 what=$3 logfile=$4; shift 4
  local deadline=$((SECONDS + limit))
  until "$@"; do
    alive "$pidfile" || { stop; die "$what exited: $(last_line "$logfile")"; }
    [ $SECONDS -lt $deadline ] || { stop; die "timed out after ${limit}s waiting for $what ($logfile)"; }
    sleep 0.1
  done
}

stop_one() { # pidfile: TERM, then KILL after 10 s
  local pidfile=$1 i
  alive "$pidfile" || { rm -f "$pidfile"; return 0; }
  kill "$(cat "$pidfile")" 2>/dev/null || true
  for i in $(seq 100); do
    alive "$pidfile" || break
    sleep 0.1
  done
  alive "$pidfile" && kill -9 "$(cat "$pidfile")" 2>/dev/null || true
  rm -f "$pidfile"
}

stop() {
  stop_one "$DATA/apiserver.pid"
  stop_one "$DATA/etcd.pid"
}

up() {
  if alive "$DATA/apiserver.pid" && alive "$DATA/etcd.pid" && ready; then
    return 0
  fi
  [ -f "$INSTALL/tools.env" ] || die "not installed ($INSTALL/tools.env is missing): run scripts/install-kube-apiserver.sh"
  # shellcheck disable=SC1091
  . "$INSTALL/tools.env"
  for binary in "$KUBE_APISERVER" "$ETCD"; do
    [ -x "$binary" ] || die "$binary is missing: run scripts/install-kube-apiserver.sh"
  done
  mkdir -p "$DATA" 2>/dev/null && [ -w "$DATA" ] && touch "$DATA/.writable" 2>/dev/null ||
    die "data folder $DATA is not writable"
  rm -f "$DATA/.writable"
  command -v curl >/dev/null || die "needs curl"
  stop # whatever half of a previous run is left

  if [ "$PORT" != 0 ] && port_busy "$PORT"; then
    die "port 127.0.0.1:$PORT is busy"
  fi
  mkdir -p "$DATA/etcd" "$SERVER_DIR"
  chmod 700 "$DATA/etcd"
  start_etcd
  local etcd_port
  etcd_port=$(cat "$DATA/etcd.port")

  rm -f "$SERVER_DIR/state.env"
  setsid "$KUBE_APISERVER" --etcd "http://127.0.0.1:$etcd_port" --data-dir "$SERVER_DIR" --port "$PORT" \
    --service-accounts "$ACCOUNTS" </dev/null >"$DATA/apiserver.log" 2>&1 &
  echo $! >"$DATA/apiserver.pid"
  wait_for 60 "$DATA/apiserver.pid" "the API server" "$DATA/apiserver.log" test -f "$SERVER_DIR/state.env"
  wait_for 60 "$DATA/apiserver.pid" "the API server's /readyz" "$DATA/apiserver.log" ready
  log "ready on https://127.0.0.1:$(state PORT) (data under $DATA)"
}

env_lines() {
  ready || die "not running (scripts/kube-apiserver.sh up)"
  echo "export KUBECONFIG=$(state KUBECONFIG)"
  # shellcheck disable=SC1091
  . "$INSTALL/tools.env"
  echo "export WSO_KUBECTL=$KUBECTL"
  echo "export WSO_KUBE_CONFIG_DIR=$SERVER_DIR"
}

case "${1:-}" in
  up) up ;;
  down) stop ;;
  env) env_lines ;;
  status) if alive "$DATA/apiserver.pid" && ready; then echo "running on https://127.0.0.1:$(state PORT)"; else echo "not running"; exit 1; fi ;;
  *) echo "usage: $0 up|down|env|status" >&2; exit 2 ;;
esac
