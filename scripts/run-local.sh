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
#   3. runs the operator with --local-dir on the samples (config/samples, rewritten into out/run-samples when the RGW
#      port or keys differ from the samples') and --output-dir out/local,
#   4. waits until every sample WorkspaceStorage is Ready, prints what was provisioned and a usage line (checked),
#   5. keeps running (edit or delete files in the samples directory and watch out/local follow) until Ctrl-C;
#      then stops the operator and, if this script started it, the RGW.
#
# Settings (environment): WSO_S3_PORT / WSO_S3_DIR (RGW, see s3-test-server.sh), WSO_OUTPUT_DIR (default out/local),
# WSO_SAMPLES_DIR (default config/samples), WSO_HEALTH_ADDR (default 127.0.0.1:8081), WSO_READY_TIMEOUT (seconds, 180).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PROJECT=src/WorkspaceStorage.Operator

log() { printf 'run-local: %s\n' "$*" >&2; }
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
OUT=${WSO_OUTPUT_DIR:-out/local}
SAMPLES=${WSO_SAMPLES_DIR:-config/samples}
HEALTH=${WSO_HEALTH_ADDR:-127.0.0.1:8081}
READY_TIMEOUT=${WSO_READY_TIMEOUT:-180}
LOGFILE=out/operator-local.log
ENDPOINT=http://127.0.0.1:$WSO_S3_PORT

scripts/install-deps.sh
if ! command -v aws >/dev/null; then
  log "installing awscli"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends awscli >/dev/null
fi
command -v dotnet >/dev/null || die "dotnet is not installed (the .NET 10 SDK is needed)"

started_rgw=0
if ! scripts/s3-test-server.sh status >/dev/null 2>&1; then
  scripts/s3-test-server.sh up
  started_rgw=1
  # A fresh RGW knows none of the identities an earlier run wrote down.
  rm -rf "$OUT"
fi

operator_pid=""
cleanup() {
  trap - EXIT INT TERM
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

# The samples point at http://127.0.0.1:7480 with the test server's admin keys; rewrite them when this RGW differs.
eval "$(scripts/s3-test-server.sh env)"
if [ "$WSO_S3_PORT" != 7480 ] || ! grep -q "$WSO_TEST_S3_ADMIN_ACCESS_KEY" "$SAMPLES"/*.yaml; then
  generated=out/run-samples
  rm -rf "$generated"; mkdir -p "$generated"
  for f in "$SAMPLES"/*.yaml; do
    [ "$(basename "$f")" = kustomization.yaml ] && continue
    sed -e "s#http://127.0.0.1:7480#$ENDPOINT#g" \
        -e "s#AWS_ACCESS_KEY_ID: .*#AWS_ACCESS_KEY_ID: $WSO_TEST_S3_ADMIN_ACCESS_KEY#" \
        -e "s#AWS_SECRET_ACCESS_KEY: .*#AWS_SECRET_ACCESS_KEY: $WSO_TEST_S3_ADMIN_SECRET_KEY#" "$f" > "$generated/$(basename "$f")"
  done
  chmod 600 "$generated"/*.yaml
  SAMPLES=$generated
fi

log "building the operator"
dotnet build "$PROJECT" -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null || { dotnet build "$PROJECT" -c Release -nologo -v quiet -clp:ErrorsOnly; die "build failed"; }
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

cat <<USAGE

Use a workspace's storage (its own key, confined to its prefix):
  eval "\$(scripts/workspace-env.sh $first_secret)"
  aws --endpoint-url "\$AWS_ENDPOINT_URL" s3 cp ./file "s3://$first_bucket/${first_prefix}file"
  aws --endpoint-url "\$AWS_ENDPOINT_URL" s3 ls "s3://$first_bucket/$first_prefix"
($verified)

Edit or delete manifests in $SAMPLES and watch $OUT follow. Probes and metrics: http://$HEALTH/{healthz,readyz,metrics}
Running; Ctrl-C stops the operator$( [ "$started_rgw" = 1 ] && echo " and the RGW").
USAGE

wait "$operator_pid"
