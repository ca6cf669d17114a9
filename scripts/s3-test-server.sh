#!/usr/bin/env bash
# A real S3 server for tests: single-node Ceph RGW (mon + memstore OSD + radosgw) on loopback, under one directory.
#
#   scripts/s3-test-server.sh up      start it (idempotent: a healthy running server is left alone)
#   scripts/s3-test-server.sh down    stop it (by saved PIDs)
#   scripts/s3-test-server.sh env     print `export …` lines for tests (endpoint, region, admin keys)
#   scripts/s3-test-server.sh status  say whether it answers
#   scripts/s3-test-server.sh rgw-stop   stop only radosgw (monitor and OSD keep the data): an S3 outage for fault tests
#   scripts/s3-test-server.sh rgw-start  start radosgw again on the same cluster and wait until it answers
#
# Settings (environment): WSO_S3_DIR (default .local/rgw), WSO_S3_PORT (RGW HTTP, default 7480),
# WSO_S3_MON_PORT (monitor, default WSO_S3_PORT-4180 → 3300). Two servers side by side need different values.
# Facts behind the settings: ../shared/reference/ceph-rgw-test-server.md.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${WSO_S3_DIR:-$ROOT/.local/rgw}
PORT=${WSO_S3_PORT:-7480}
MON_PORT=${WSO_S3_MON_PORT:-$((PORT - 4180))}
REGION=us-east-1
# Test-only keys for a throwaway server bound to 127.0.0.1; they guard nothing outside this machine.
ADMIN_ACCESS_KEY=WSOTESTADMINACCESSKEY
ADMIN_SECRET_KEY=wso-test-admin-secret-key-for-local-rgw-only
STS_KEY=wsotestststskey1   # RGW wants exactly 16 characters
CONF=$DIR/ceph.conf
CEPH=(ceph -c "$CONF" --connect-timeout 10)

log() { printf 's3-test-server: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# shellcheck source=lib/pidfile.sh
. "$ROOT/scripts/lib/pidfile.sh"

answers() { curl -s -o /dev/null -m 2 "http://127.0.0.1:$PORT/"; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

show_logs() {
  for f in "$DIR"/log/*.log; do
    [ -f "$f" ] || continue
    log "--- last lines of $f"
    tail -n 15 "$f" >&2 || true
  done
}

wait_for() { # seconds description command...
  local limit=$1 what=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@"; do
    [ $SECONDS -lt $deadline ] || { show_logs; die "timed out after ${limit}s waiting for $what"; }
    sleep 0.1
  done
}

write_conf() {
  local fsid=$1
  cat > "$CONF" <<CONF
[global]
fsid = $fsid
mon host = v2:127.0.0.1:$MON_PORT
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind msgr1 = false
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $DIR/keyring
run dir = $DIR/run
admin socket = $DIR/run/\$name.asok
log file = $DIR/log/\$name.log
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
mon data avail warn = 2
mon data avail crit = 1
paxos propose interval = 0.1
mon data = $DIR/mon/\$cluster-\$id
osd data = $DIR/osd/\$cluster-\$id

[osd]
osd objectstore = memstore
# Objects live in RAM; the device only allocates what is written. 3 GiB leaves room for the 256 MiB streaming tests.
memstore device bytes = 3221225472

[client]
objecter tick interval = 0.5

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw thread pool size = 64
rgw sts key = $STS_KEY
rgw s3 auth use sts = true
# Deleted objects wait for garbage collection (2 h by default) and keep their RAM meanwhile: collect within seconds,
# or repeated streaming tests fill the memstore and RGW stops answering.
rgw gc obj min wait = 2
rgw gc processor period = 2
rgw gc processor max time = 2
rgw data = $DIR/rgw
CONF
}

up() {
  command -v radosgw >/dev/null || die "radosgw is not installed: run scripts/install-deps.sh (apt-get install ceph-mon ceph-osd radosgw ceph-common)"
  if alive "$DIR/rgw.pid" && answers; then
    log "already running on http://127.0.0.1:$PORT ($DIR)"
    return 0
  fi
  down >/dev/null 2>&1 || true
  for p in "$PORT" "$MON_PORT"; do
    port_busy "$p" && die "port $p on 127.0.0.1 is busy: stop what uses it, or set WSO_S3_PORT / WSO_S3_MON_PORT"
  done
  local started=$SECONDS fsid osd_uuid
  rm -rf "$DIR"; mkdir -p "$DIR"/{run,log,mon,osd/ceph-0,rgw}
  fsid=$(uuidgen); osd_uuid=$(uuidgen)
  write_conf "$fsid"

  local kr=$DIR/keyring
  ceph-authtool --create-keyring "$kr" --gen-key -n mon. --cap mon 'allow *' >/dev/null
  ceph-authtool "$kr" --gen-key -n client.admin --cap mon 'allow *' --cap osd 'allow *' --cap mds 'allow *' --cap mgr 'allow *' >/dev/null
  ceph-authtool "$kr" --gen-key -n osd.0 --cap mon 'allow profile osd' --cap osd 'allow *' --cap mgr 'allow profile osd' >/dev/null
  ceph-authtool "$kr" --gen-key -n client.rgw.a --cap mon 'allow rw' --cap osd 'allow rwx' --cap mgr 'allow rw' >/dev/null
  cp "$kr" "$DIR/osd/ceph-0/keyring"

  monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT]" "$DIR/monmap" >/dev/null
  ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" --keyring "$kr" >/dev/null 2>&1 || { show_logs; die "ceph-mon --mkfs failed"; }
  setsid ceph-mon -c "$CONF" -i a --pid-file "$DIR/run/mon.pid" >/dev/null 2>&1 < /dev/null &
  wait_for 30 "the monitor" test -s "$DIR/run/mon.pid"
  cp "$DIR/run/mon.pid" "$DIR/mon.pid"

  "${CEPH[@]}" osd new "$osd_uuid" 0 >/dev/null 2>&1 || { show_logs; die "ceph osd new failed (monitor not answering?)"; }
  ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" >/dev/null 2>&1 || { show_logs; die "ceph-osd --mkfs failed"; }
  setsid ceph-osd -c "$CONF" -i 0 --pid-file "$DIR/run/osd.pid" >/dev/null 2>&1 < /dev/null &
  wait_for 30 "the OSD" test -s "$DIR/run/osd.pid"
  cp "$DIR/run/osd.pid" "$DIR/osd.pid"

  setsid radosgw -c "$CONF" -n client.rgw.a --pid-file "$DIR/run/rgw.pid" >/dev/null 2>&1 < /dev/null &
  wait_for 60 "radosgw to answer on port $PORT" answers
  cp "$DIR/run/rgw.pid" "$DIR/rgw.pid"

  radosgw-admin -c "$CONF" -n client.admin user create --uid=admin --display-name=admin \
    --access-key="$ADMIN_ACCESS_KEY" --secret-key="$ADMIN_SECRET_KEY" \
    --caps="users=*;buckets=*;metadata=*;usage=*;zone=*;roles=*;user-policy=*;oidc-provider=*" >/dev/null \
    || { show_logs; die "creating the admin user failed"; }
  log "up on http://127.0.0.1:$PORT in $((SECONDS - started))s ($DIR)"
}

down() {
  local any=0
  for name in rgw osd mon; do
    if alive "$DIR/$name.pid"; then
      kill "$(cat "$DIR/$name.pid")" 2>/dev/null || true
      any=1
    fi
  done
  for name in rgw osd mon; do
    local deadline=$((SECONDS + 10))
    while alive "$DIR/$name.pid" && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    alive "$DIR/$name.pid" && kill -9 "$(cat "$DIR/$name.pid")" 2>/dev/null || true
    rm -f "$DIR/$name.pid"
  done
  [ $any -eq 1 ] && log "stopped ($DIR)" || log "was not running ($DIR)"
}

rgw_stop() {
  alive "$DIR/rgw.pid" || { log "radosgw is not running ($DIR)"; return 0; }
  kill "$(cat "$DIR/rgw.pid")" 2>/dev/null || true
  local deadline=$((SECONDS + 10))
  while alive "$DIR/rgw.pid" && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
  alive "$DIR/rgw.pid" && kill -9 "$(cat "$DIR/rgw.pid")" 2>/dev/null || true
  rm -f "$DIR/rgw.pid"
  log "radosgw stopped; monitor and OSD still run ($DIR)"
}

rgw_start() {
  alive "$DIR/mon.pid" && alive "$DIR/osd.pid" || die "no cluster runs in $DIR: use up"
  if alive "$DIR/rgw.pid" && answers; then
    log "radosgw already answers on http://127.0.0.1:$PORT"
    return 0
  fi
  rm -f "$DIR/run/rgw.pid"
  setsid radosgw -c "$CONF" -n client.rgw.a --pid-file "$DIR/run/rgw.pid" >/dev/null 2>&1 < /dev/null &
  wait_for 60 "radosgw to answer on port $PORT" answers
  cp "$DIR/run/rgw.pid" "$DIR/rgw.pid"
  log "radosgw answers again on http://127.0.0.1:$PORT"
}

env_lines() {
  cat <<ENV
export WSO_TEST_S3_ENDPOINT=http://127.0.0.1:$PORT
export WSO_TEST_S3_REGION=$REGION
export WSO_TEST_S3_ADMIN_ACCESS_KEY=$ADMIN_ACCESS_KEY
export WSO_TEST_S3_ADMIN_SECRET_KEY=$ADMIN_SECRET_KEY
export WSO_TEST_S3_REQUIRED=1
ENV
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  env) env_lines ;;
  rgw-stop) rgw_stop ;;
  rgw-start) rgw_start ;;
  status) if alive "$DIR/rgw.pid" && answers; then echo "running on http://127.0.0.1:$PORT"; else echo "not running"; exit 1; fi ;;
  *) echo "usage: $0 up|down|env|status|rgw-stop|rgw-start" >&2; exit 2 ;;
esac
