#!/usr/bin/env bash
# An AWS emulator for the AWS backend's tests: moto's server (IAM, STS, S3) on loopback, with IAM authorization on.
#
#   scripts/moto-test-server.sh up      start it (idempotent: a healthy running server is left alone)
#   scripts/moto-test-server.sh down    stop it (by its saved PID)
#   scripts/moto-test-server.sh env     print `export …` lines for tests (endpoint, region, admin keys)
#   scripts/moto-test-server.sh status  say whether it answers
#
# Settings (environment): WSO_MOTO_PORT (default 7590), WSO_MOTO_STATE_DIR (PID, log, admin keys; default
# .local/moto-server), WSO_MOTO_DIR (where scripts/install-moto.sh unpacked moto; default .local/moto).
#
# Authorization: moto checks signatures and IAM policies only once INITIAL_NO_AUTH_ACTION_COUNT requests have passed
# unchecked. `up` spends exactly those on creating the admin user (CreateUser, PutUserPolicy, CreateAccessKey), so
# from then on every call, the operator's and the workspace identities' alike, is authenticated and authorized by the
# policies moto holds. The admin's keys are moto's own random ones, kept 0600 in the state directory.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MOTO=${WSO_MOTO_DIR:-$ROOT/.local/moto}
DIR=${WSO_MOTO_STATE_DIR:-$ROOT/.local/moto-server}
PORT=${WSO_MOTO_PORT:-7590}
REGION=us-east-1
ADMIN_USER=wso-test-admin
BOOTSTRAP_CALLS=3

log() { printf 'moto-test-server: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# shellcheck source=lib/pidfile.sh
. "$ROOT/scripts/lib/pidfile.sh"

# /moto-api/ is moto's own dashboard API: answering it spends none of the unauthenticated calls.
answers() { curl -s -o /dev/null -f -m 2 "http://127.0.0.1:$PORT/moto-api/data.json"; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

load_moto() {
  [ -f "$MOTO/moto.env" ] || die "moto is not installed: run scripts/install-moto.sh"
  # shellcheck disable=SC1091
  . "$MOTO/moto.env"
}

up() {
  load_moto
  if alive "$DIR/moto.pid" && answers && [ -s "$DIR/admin.env" ]; then
    log "already running on http://127.0.0.1:$PORT ($DIR)"
    return 0
  fi
  down >/dev/null 2>&1 || true
  port_busy "$PORT" && die "port $PORT on 127.0.0.1 is busy: stop what uses it, or set WSO_MOTO_PORT"
  local started=$SECONDS
  rm -rf "$DIR"; mkdir -p "$DIR"
  INITIAL_NO_AUTH_ACTION_COUNT=$BOOTSTRAP_CALLS PYTHONPATH=$PYTHONPATH PYTHONDONTWRITEBYTECODE=1 \
    setsid "$PYTHON" -W ignore -m moto.server -H 127.0.0.1 -p "$PORT" >"$DIR/moto.log" 2>&1 </dev/null &
  echo $! >"$DIR/moto.pid"
  local deadline=$((SECONDS + 30))
  until answers; do
    alive "$DIR/moto.pid" || { tail -n 20 "$DIR/moto.log" >&2; die "moto exited while starting"; }
    [ $SECONDS -lt $deadline ] || { tail -n 20 "$DIR/moto.log" >&2; die "timed out after 30s waiting for moto on port $PORT"; }
    sleep 0.1
  done

  # The three unauthenticated calls: an admin user allowed everything, and its key.
  (umask 077; PYTHONPATH=$PYTHONPATH "$PYTHON" -W ignore - "$PORT" "$REGION" "$ADMIN_USER" >"$DIR/admin.env") <<'PY' \
    || { tail -n 20 "$DIR/moto.log" >&2; die "creating the admin user failed"; }
import sys, boto3
port, region, user = sys.argv[1:4]
iam = boto3.client("iam", endpoint_url=f"http://127.0.0.1:{port}", region_name=region,
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName=user)
iam.put_user_policy(UserName=user, PolicyName="admin",
                    PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}')
key = iam.create_access_key(UserName=user)["AccessKey"]
print(f"ADMIN_ACCESS_KEY={key['AccessKeyId']}")
print(f"ADMIN_SECRET_KEY={key['SecretAccessKey']}")
PY
  log "up on http://127.0.0.1:$PORT in $((SECONDS - started))s, IAM authorization on ($DIR)"
}

down() {
  if alive "$DIR/moto.pid"; then
    kill "$(cat "$DIR/moto.pid")" 2>/dev/null || true
    local deadline=$((SECONDS + 10))
    while alive "$DIR/moto.pid" && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
    alive "$DIR/moto.pid" && kill -9 "$(cat "$DIR/moto.pid")" 2>/dev/null || true
    log "stopped ($DIR)"
  else
    log "was not running ($DIR)"
  fi
  rm -f "$DIR/moto.pid"
}

env_lines() {
  [ -s "$DIR/admin.env" ] || die "no admin keys in $DIR: run up first"
  # shellcheck disable=SC1091
  . "$DIR/admin.env"
  cat <<ENV
export WSO_TEST_MOTO_ENDPOINT=http://127.0.0.1:$PORT
export WSO_TEST_MOTO_REGION=$REGION
export WSO_TEST_MOTO_ADMIN_ACCESS_KEY=$ADMIN_ACCESS_KEY
export WSO_TEST_MOTO_ADMIN_SECRET_KEY=$ADMIN_SECRET_KEY
export WSO_TEST_MOTO_REQUIRED=1
ENV
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  env) env_lines ;;
  status) if alive "$DIR/moto.pid" && answers; then echo "running on http://127.0.0.1:$PORT"; else echo "not running"; exit 1; fi ;;
  *) echo "usage: $0 up|down|env|status" >&2; exit 2 ;;
esac
