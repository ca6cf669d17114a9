#!/usr/bin/env bash
# Runs the operator (called by `make run`).
#
#   scripts/run-local.sh [--cluster|--local] [operator flags…]
#
# Cluster mode (--cluster or WSO_RUN_MODE=cluster, and KUBECONFIG set or ~/.kube/config present): the operator runs
# against that cluster in the foreground (CRDs and samples: kubectl apply -k config/crd; kubectl apply -k config/samples).
#
# Local mode (the default; also the fallback without a kubeconfig), for a fresh machine:
#   1. installs what is missing (scripts/install-deps.sh; awscli),
#   2. starts the project's local Ceph RGW (scripts/s3-test-server.sh up) unless it already runs,
#   3. runs the operator with --local-dir on a copy of the samples (config/samples → out/run-samples, pointed at this
#      RGW) and --output-dir out/local,
#   4. waits until every sample WorkspaceStorage is Ready, prints what was provisioned and a usage line (checked),
#   5. starts the companion API on 127.0.0.1:$WSO_API_PORT reading out/local (local workspace source, /s3 proxy on),
#      with a JWT secret generated for the session (out/api-jwt-secret, mode 0600, never printed), waits for /readyz,
#      mints a dev token for the usage workspace (WorkspaceStorage.Api dev-token) into out/local/dev-token-<W> (0600),
#      and prints curl lines for it (checked before they are shown),
#   6. starts a real Python Hypha where one can be had (scripts/hypha-python.sh: the project's .local/hypha/venv, which
#      pip fills from PyPI, or $WSO_HYPHA_PYTHON), without --enable-s3, sharing the API's JWT secret; the API registers itself in it as public/s3-storage
#      (root-token exchange) with on-demand provisioning for ws-user-* (anonymous workspaces included) through the
#      local manifests, and a Python snippet using Hypha's own client is run, then printed; without Hypha, one line says
#      so and the rest runs as before,
#   7. keeps running (edit or delete files in the samples directory and watch out/local follow) until Ctrl-C;
#      then stops the API, Hypha, the operator and, if this script started it, the RGW.
#
# Settings (environment): WSO_S3_PORT / WSO_S3_DIR (RGW, see s3-test-server.sh), WSO_OUTPUT_DIR (default out/local),
# WSO_SAMPLES_DIR (default config/samples), WSO_HEALTH_ADDR (default 127.0.0.1:8081), WSO_READY_TIMEOUT (seconds, 180),
# WSO_API_PORT (default 9527), WSO_API=0 (do not start the API), WSO_HYPHA_PORT (default 9600), WSO_HYPHA=0 (no Hypha),
# WSO_RUN_ONCE=1 (start and check everything, print, then stop: for tests), WSO_SKIP_BUILD=1, WSO_RUN_DIR (default out: logs, secrets
# files, the generated manifests and Hypha's state go there).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PROJECT=src/WorkspaceStorage.Operator

log() { printf 'run-local: %s\n' "$*" >&2; }
abs() { case $1 in /*) printf '%s' "$1" ;; *) printf '%s' "$ROOT/$1" ;; esac; }
die() { log "$*"; exit 1; }

mode=${WSO_RUN_MODE:-local}
args=()
for a in "$@"; do
  case $a in
    --cluster) mode=cluster ;;
    --local) mode=local ;;
    *) args+=("$a") ;;
  esac
done

if [ "$mode" = cluster ]; then
  if [ -n "${KUBECONFIG:-}" ] || [ -f "$HOME/.kube/config" ]; then
    log "cluster mode (kubeconfig: ${KUBECONFIG:-$HOME/.kube/config}); Ctrl-C stops"
    exec dotnet run --project "$PROJECT" -c Release --no-launch-profile -- "${args[@]}"
  fi
  log "cluster mode asked for, but no kubeconfig (KUBECONFIG unset, no ~/.kube/config): running the local mode instead"
fi

# ---- local mode ----
export WSO_S3_PORT=${WSO_S3_PORT:-7480}
export WSO_S3_DIR=${WSO_S3_DIR:-$ROOT/.local/rgw}
RUN=${WSO_RUN_DIR:-out}
OUT=${WSO_OUTPUT_DIR:-$RUN/local}
SAMPLES=${WSO_SAMPLES_DIR:-config/samples}
HEALTH=${WSO_HEALTH_ADDR:-127.0.0.1:8081}
READY_TIMEOUT=${WSO_READY_TIMEOUT:-180}
LOGFILE=$RUN/operator-local.log
ENDPOINT=http://127.0.0.1:$WSO_S3_PORT

scripts/install-deps.sh
command -v aws >/dev/null || scripts/apt-install-missing.sh awscli
command -v dotnet >/dev/null || die "dotnet is not installed (the .NET 10 SDK is needed)"

started_rgw=0
if ! scripts/s3-test-server.sh status >/dev/null 2>&1; then
  scripts/s3-test-server.sh up
  started_rgw=1
  # A fresh RGW knows none of the identities an earlier run wrote down.
  rm -rf "$OUT"
fi

operator_pid=""
api_pid=""
hypha_pid=""
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$hypha_pid" ] && kill -0 "$hypha_pid" 2>/dev/null; then
    log "stopping Hypha (pid $hypha_pid)"
    kill -TERM "$hypha_pid" 2>/dev/null || true
    wait "$hypha_pid" 2>/dev/null || true
  fi
  if [ -n "$api_pid" ] && kill -0 "$api_pid" 2>/dev/null; then
    log "stopping the API (pid $api_pid)"
    kill -TERM "$api_pid" 2>/dev/null || true
    wait "$api_pid" 2>/dev/null || true
  fi
  if [ -n "$operator_pid" ] && kill -0 "$operator_pid" 2>/dev/null; then
    log "stopping the operator (pid $operator_pid)"
    kill -TERM "$operator_pid" 2>/dev/null || true
    wait "$operator_pid" 2>/dev/null || true
  fi
  if [ "$started_rgw" = 1 ]; then
    log "stopping the RGW"
    scripts/s3-test-server.sh down >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The operator watches a copy of the samples, so editing or deleting manifests to try it never touches the
# repository; the copy points at this RGW (the samples name http://127.0.0.1:7480 and the test server's admin keys).
eval "$(scripts/s3-test-server.sh env)"
generated=$RUN/run-samples
rm -rf "$generated"; mkdir -p "$generated"
for f in "$SAMPLES"/*.yaml; do
  [ "$(basename "$f")" = kustomization.yaml ] && continue
  sed -e "s#http://127.0.0.1:7480#$ENDPOINT#g" \
      -e "s#AWS_ACCESS_KEY_ID: .*#AWS_ACCESS_KEY_ID: $WSO_TEST_S3_ADMIN_ACCESS_KEY#" \
      -e "s#AWS_SECRET_ACCESS_KEY: .*#AWS_SECRET_ACCESS_KEY: $WSO_TEST_S3_ADMIN_SECRET_KEY#" "$f" > "$generated/$(basename "$f")"
done
chmod 600 "$generated"/*.yaml
SAMPLES=$generated

# WSO_SKIP_BUILD=1: the binaries are already built (tests of `make run` running beside other test projects).
build() {
  [ "${WSO_SKIP_BUILD:-0}" = 1 ] && return 0
  log "building $1"
  dotnet build "$1" -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null || { dotnet build "$1" -c Release -nologo -v quiet -clp:ErrorsOnly; die "build of $1 failed"; }
}
build "$PROJECT"
mkdir -p "$(dirname "$LOGFILE")"
dotnet "$PROJECT/bin/Release/net10.0/WorkspaceStorage.Operator.dll" --local-dir "$SAMPLES" --output-dir "$OUT" --health-addr "$HEALTH" "${args[@]}" >"$LOGFILE" 2>&1 &
operator_pid=$!
log "operator started (pid $operator_pid), logs: $LOGFILE"

expected=$(cat "$SAMPLES"/*.yaml | grep -c '^kind: WorkspaceStorage$' || true)
metrics_url="http://$HEALTH/metrics"
deadline=$((SECONDS + READY_TIMEOUT))
ready=0
until [ "$ready" -ge "$expected" ]; do
  kill -0 "$operator_pid" 2>/dev/null || { tail -n 20 "$LOGFILE" >&2; die "the operator exited"; }
  [ $SECONDS -lt $deadline ] || { tail -n 20 "$LOGFILE" >&2; die "timed out after ${READY_TIMEOUT}s: $ready of $expected WorkspaceStorages Ready"; }
  sleep 0.5
  ready=$( (curl -s -m 2 "$metrics_url" || true) | awk '/^workspace_storage_managed_workspaces\{condition="Ready"\}/ { print int($2) }')
  ready=${ready:-0}
done

field() { awk -v k="$2" '$0 ~ "^  " k ":" { sub("^  " k ":[ ]*", ""); gsub(/"/, ""); print; exit }' "$1"; }

echo
echo "All $expected sample WorkspaceStorages are Ready (manifests: $SAMPLES, output: $OUT, S3: $ENDPOINT)"
first_secret=""; first_bucket=""; first_prefix=""
for f in "$OUT"/workspacestorages/*/*.yaml; do
  ns=$(basename "$(dirname "$f")")
  secret_file="$OUT/secrets/$ns/$(field "$f" secretName).yaml"
  printf '  %-22s workspace=%-22s bucket=%s prefix=%-24s secret=%s\n' \
    "$ns/$(basename "$f" .yaml)" "$(field "$f" workspace)" "$(field "$f" bucket)" "$(field "$f" prefix)" "$secret_file"
  # The usage line shows a workspace whose prefix needs no shell quoting (ws-alpha in the samples).
  if [ -z "$first_secret" ] && [[ $(field "$f" prefix) =~ ^[A-Za-z0-9._-]+/$ ]]; then
    first_secret=$secret_file; first_bucket=$(field "$f" bucket); first_prefix=$(field "$f" prefix)
  fi
done
[ -n "$first_secret" ] || die "no Ready WorkspaceStorage with a plain prefix to show the usage with"

# The usage line, checked before it is shown: upload with the workspace's own key, then list the prefix.
check=$(mktemp); echo "written by scripts/run-local.sh at $(date -u +%FT%TZ)" > "$check"
if ( eval "$(scripts/workspace-env.sh "$first_secret")"
     aws --endpoint-url "$AWS_ENDPOINT_URL" s3 cp "$check" "s3://$first_bucket/${first_prefix}run-local-check.txt" --only-show-errors &&
     aws --endpoint-url "$AWS_ENDPOINT_URL" s3 ls "s3://$first_bucket/$first_prefix" | grep -q run-local-check.txt ); then
  verified="checked: uploaded s3://$first_bucket/${first_prefix}run-local-check.txt with this workspace's key"
else
  verified="WARNING: the check upload with this workspace's key failed"
fi
rm -f "$check"

# ---- the companion API, reading the operator's output (local workspace source) ----
API_PORT=${WSO_API_PORT:-9527}
API_URL=http://127.0.0.1:$API_PORT
API_PROJECT=src/WorkspaceStorage.Api
API_LOG=$RUN/api-local.log
api_usage=""
if [ "${WSO_API:-1}" != 0 ]; then
  build "$API_PROJECT"
  API_DLL=$API_PROJECT/bin/Release/net10.0/WorkspaceStorage.Api.dll
  # Secrets go to 0600 files, never to the terminal or a command line.
  umask 077
  JWT_FILE=$(abs "$RUN/api-jwt-secret")
  [ -s "$JWT_FILE" ] || head -c 48 /dev/urandom | base64 | tr -d '\n=' > "$JWT_FILE"
  ADMIN_FILE=$(abs "$RUN/api-backend-admin-secret")
  printf '%s' "$WSO_TEST_S3_ADMIN_SECRET_KEY" > "$ADMIN_FILE"
  chmod 600 "$JWT_FILE" "$ADMIN_FILE"
  umask 022
  # ---- a real Hypha, where one can be had, sharing the API's JWT secret (tokens from either verify on both) ----
  HYPHA_PORT=${WSO_HYPHA_PORT:-9600}
  HYPHA_STATE=$(abs "$RUN/hypha")
  HYPHA_URL=""
  hypha_env=()
  if [ "${WSO_HYPHA:-1}" != 0 ]; then
    hypha_log=$(abs "$RUN/hypha-python.log")
    if [ -z "${WSO_HYPHA_PYTHON:-}" ] && ! scripts/hypha-python.sh path >/dev/null 2>&1; then
      log "getting Python Hypha (pip, from PyPI; minutes the first time)"
      scripts/hypha-python.sh install 2>"$hypha_log" || true
    fi
    if ! hypha_python=$(scripts/hypha-python.sh path 2>"$hypha_log"); then
      log "no Python Hypha here: $(cat "$hypha_log"); running without Hypha"
    else
      log "starting Python Hypha on 127.0.0.1:$HYPHA_PORT"
      mkdir -p "$HYPHA_STATE"
      ( umask 077; head -c 32 /dev/urandom | base64 | tr -d '\n=' | tr '+/' '-_' > "$HYPHA_STATE/root-token" )
      # The root token and JWT secret reach Hypha through its environment (--from-env), never its command line; exec makes
      # the pid Hypha's.
      ( cd "$HYPHA_STATE" && HYPHA_ROOT_TOKEN=$(cat root-token) JWT_SECRET=$(cat "$JWT_FILE") PYTHONUNBUFFERED=1 TMPDIR=$HYPHA_STATE \
          exec "$hypha_python" -m hypha.server --from-env --host 127.0.0.1 --port "$HYPHA_PORT" ) >"$HYPHA_STATE/hypha.log" 2>&1 &
      hypha_pid=$!
      deadline=$((SECONDS + READY_TIMEOUT))
      until curl -sf -m 2 "http://127.0.0.1:$HYPHA_PORT/health/readiness" >/dev/null; do
        if ! kill -0 "$hypha_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
          log "Hypha did not start ($(tail -n 1 "$HYPHA_STATE/hypha.log")); running without Hypha"
          kill -TERM "$hypha_pid" 2>/dev/null || true
          hypha_pid=""
          break
        fi
        sleep 0.5
      done
      if [ -n "$hypha_pid" ]; then
        HYPHA_URL=http://127.0.0.1:$HYPHA_PORT
        hypha_env=(HyphaRegistration__ServerUrl="$HYPHA_URL" HyphaRegistration__RootTokenFile="$HYPHA_STATE/root-token"
          Api__LocalManifestDir="$(abs "$SAMPLES")" Api__AnonymousUsersMayWrite=true
          OnDemand__Enabled=true OnDemand__Namespace=default "OnDemand__AllowedWorkspaces__0=ws-user-*"
          OnDemand__Template__DeletionPolicy=Delete OnDemand__IdleTimeout=01:00:00)
      fi
    fi
  fi

  backend=$(field "$(ls "$OUT"/workspacestorages/*/*.yaml | head -n 1)" backend)
  backend=${backend:-local-ceph}
  bucket_of_backend=$first_bucket
  first_workspace=""
  for f in "$OUT"/workspacestorages/*/*.yaml; do
    if [ "$OUT/secrets/$(basename "$(dirname "$f")")/$(field "$f" secretName).yaml" = "$first_secret" ]; then first_workspace=$(field "$f" workspace); fi
  done
  (
    export ASPNETCORE_URLS=$API_URL DOTNET_ENVIRONMENT=Production
    export Api__WorkspaceSource=local Api__LocalOutputDir=$(abs "$OUT") Api__PublicBaseUrl=$API_URL Api__S3Proxy__Enabled=true
    export Hypha__JwtSecretFile=$JWT_FILE
    exec env "${hypha_env[@]}" "OnDemand__Template__BackendRef=$backend" "Storage__Backends__${backend}__Type=ceph-rgw" \
      "Storage__Backends__${backend}__Endpoint=$ENDPOINT" \
      "Storage__Backends__${backend}__Region=$WSO_TEST_S3_REGION" \
      "Storage__Backends__${backend}__Bucket=$bucket_of_backend" \
      "Storage__Backends__${backend}__AdminAccessKeyId=$WSO_TEST_S3_ADMIN_ACCESS_KEY" \
      "Storage__Backends__${backend}__AdminSecretAccessKeyFile=$ADMIN_FILE" \
      dotnet "$API_DLL"
  ) >"$API_LOG" 2>&1 &
  api_pid=$!
  log "API started (pid $api_pid) on $API_URL, logs: $API_LOG"
  deadline=$((SECONDS + READY_TIMEOUT))
  until curl -sf -m 2 "$API_URL/readyz" >/dev/null; do
    kill -0 "$api_pid" 2>/dev/null || { tail -n 20 "$API_LOG" >&2; die "the API exited"; }
    [ $SECONDS -lt $deadline ] || { tail -n 20 "$API_LOG" >&2; die "timed out after ${READY_TIMEOUT}s waiting for $API_URL/readyz"; }
    sleep 0.5
  done

  TOKEN_FILE=$OUT/dev-token-$first_workspace
  ( umask 077; Hypha__JwtSecretFile=$JWT_FILE dotnet "$API_DLL" dev-token --workspace "$first_workspace" --permission rw --ttl 8h > "$TOKEN_FILE" ) \
    || die "could not mint a dev token"
  # The curl lines, run before they are shown: upload a file, then list the workspace through the s3-storage service.
  check=$(mktemp); echo "uploaded through the API by scripts/run-local.sh at $(date -u +%FT%TZ)" > "$check"
  TOKEN=$(cat "$TOKEN_FILE")
  put_out=$(curl -s -H "Authorization: Bearer $TOKEN" -T "$check" "$API_URL/$first_workspace/files/run-local-api-check.txt" || true)
  list_out=$(curl -s -H "Authorization: Bearer $TOKEN" "$API_URL/$first_workspace/services/s3-storage/list_files" || true)
  unset TOKEN
  rm -f "$check"
  if [[ $put_out == *'"success":true'* ]] && [[ $list_out == *run-local-api-check.txt* ]]; then
    api_verified="checked: uploaded $first_workspace/files/run-local-api-check.txt and listed it through the API"
  else
    api_verified="WARNING: the API check failed (PUT: ${put_out:0:200}; list: ${list_out:0:200})"
  fi
  api_usage=$(cat <<APIUSAGE

Use a workspace through the companion API ($API_URL, Hypha token for $first_workspace in $TOKEN_FILE, 8h):
  TOKEN=\$(cat $TOKEN_FILE)
  curl -H "Authorization: Bearer \$TOKEN" -T ./file $API_URL/$first_workspace/files/file
  curl -H "Authorization: Bearer \$TOKEN" "$API_URL/$first_workspace/services/s3-storage/list_files"
($api_verified)
API logs: $API_LOG
APIUSAGE
)
fi

hypha_usage=""
if [ -n "$HYPHA_URL" ]; then
  SNIPPET=$(abs "$RUN/hypha-snippet.py")
  cat > "$SNIPPET" <<SNIPPET_PY
import asyncio

import boto3
from hypha_rpc import connect_to_server


async def main():
    api = await connect_to_server({"server_url": "$HYPHA_URL"})
    s3 = await api.get_service("public/s3-storage")
    info = await s3.generate_credential()
    client = boto3.client("s3", endpoint_url=info["endpoint_url"], aws_access_key_id=info["access_key_id"],
                          aws_secret_access_key=info["secret_access_key"], aws_session_token=info.get("session_token"),
                          region_name=info["region_name"])
    client.put_object(Bucket=info["bucket"], Key=info["prefix"] + "hello.txt", Body=b"Hello from Hypha")
    listed = client.list_objects_v2(Bucket=info["bucket"], Prefix=info["prefix"])
    print("workspace", api.config.workspace, "holds", [o["Key"] for o in listed.get("Contents", [])])
    await api.disconnect()


asyncio.run(main())
SNIPPET_PY
  if snippet_out=$("$hypha_python" "$SNIPPET" 2>&1) && [[ $snippet_out == *hello.txt* ]]; then
    hypha_verified="checked: ran it with Hypha's own Python client; it printed: $(printf '%s' "$snippet_out" | grep '^workspace' | tail -n 1)"
  else
    hypha_verified="WARNING: the snippet failed: $(printf '%s' "$snippet_out" | tail -n 3)"
  fi
  hypha_usage=$(cat <<HYPHAUSAGE

Hypha is running at $HYPHA_URL with the companion registered as public/s3-storage; every new Hypha user (a
ws-user-* workspace, anonymous ones included) gets storage on its first call. Paste this into Python with Hypha's
client (hypha_rpc) and boto3, or run it here with: $hypha_python $SNIPPET
----8<----
$(cat "$SNIPPET")
----8<----
($hypha_verified)
Hypha logs: $HYPHA_STATE/hypha.log
HYPHAUSAGE
)
fi

cat <<USAGE

Use a workspace's storage (its own key, confined to its prefix):
  eval "\$(scripts/workspace-env.sh $first_secret)"
  aws --endpoint-url "\$AWS_ENDPOINT_URL" s3 cp ./file "s3://$first_bucket/${first_prefix}file"
  aws --endpoint-url "\$AWS_ENDPOINT_URL" s3 ls "s3://$first_bucket/$first_prefix"
($verified)
$api_usage
$hypha_usage

Edit or delete manifests in $SAMPLES and watch $OUT follow. Probes and metrics: http://$HEALTH/{healthz,readyz,metrics}
Running; Ctrl-C stops $( [ -n "$api_pid" ] && echo "the API, ")$( [ -n "$hypha_pid" ] && echo "Hypha, ")the operator$( [ "$started_rgw" = 1 ] && echo " and the RGW").
USAGE

# WSO_RUN_ONCE=1: everything above was started and checked; stop here (tests of `make run` itself).
[ "${WSO_RUN_ONCE:-0}" = 1 ] && exit 0
wait "$operator_pid"
