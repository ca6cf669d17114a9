#!/usr/bin/env bash
# `make run`: the whole system on one machine, on a real Kubernetes API server that kubectl talks to.
#
#   scripts/run-local.sh [operator flags…]
#
#   1. installs what is missing (scripts/install-deps.sh; awscli; scripts/install-kube-apiserver.sh: the project's
#      Kubernetes API server from Kubernetes' own code, minutes the first time, cached after) and builds the operator
#      and the companion API,
#   2. starts the local Ceph RGW (scripts/s3-test-server.sh up) unless it already runs, and etcd + the API server
#      (scripts/kube-apiserver.sh up) with their data in $WSO_RUN_DIR/kube, so the next run resumes where this one
#      stopped (delete that folder to start empty),
#   3. applies config/overlays/make-run (the CRDs, config/rbac as config/default names it, the on-demand namespace and
#      Role) and config/samples, pointed at this RGW (one copy in $WSO_RUN_DIR/samples),
#   4. runs the operator in cluster mode with its service account's kubeconfig, so config/rbac is what it may do (a
#      request the API server refuses it, or the API, ends the run naming the refusal), with leader election, and
#      waits until every sample is Ready,
#   5. starts the companion API with the API service account's kubeconfig, reading workspaces from Kubernetes, with
#      on-demand provisioning for ws-user-* (config/overlays/make-run/base/on-demand.env), and a JWT secret generated
#      for the session (0600 file, never printed); mints dev tokens into 0600 files,
#   6. starts a real Python Hypha where one can be had (scripts/hypha-python.sh, or $WSO_HYPHA_PYTHON), without
#      --enable-s3, sharing the API's JWT secret, and registers the API in it as public/s3-storage; without Hypha one
#      line says why and the rest runs,
#   7. prints the KUBECONFIG export line, kubectl, aws, curl and Python usage, each run and checked before it is shown,
#   8. keeps running until Ctrl-C, then stops the API, Hypha, the operator, and the API server, etcd and the RGW if it
#      started them.
# A missing piece or a wait that runs out is a one-line error, and everything started so far is stopped.
#
# Settings (environment): WSO_RUN_DIR (default out: the cluster's data, logs, the samples copy, token and secret
# files), WSO_KUBE_DATA_DIR (default $WSO_RUN_DIR/kube), WSO_S3_PORT / WSO_S3_DIR (RGW, see s3-test-server.sh),
# WSO_SAMPLES_DIR (default config/samples), WSO_HEALTH_ADDR (default 127.0.0.1:8081), WSO_READY_TIMEOUT (seconds, 180),
# WSO_API_PORT (default 9527), WSO_API=0 (no API), WSO_HYPHA_PORT (default 9600), WSO_HYPHA=0 (no Hypha),
# WSO_RUN_ONCE=1 (start and check everything, print, then stop: for tests), WSO_SKIP_BUILD=1 (binaries already built),
# WSO_CLUSTER_CONFIG (default config/overlays/make-run: the kustomization applied before the samples).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

log() { printf 'run-local: %s\n' "$*" >&2; }
abs() { case $1 in /*) printf '%s' "$1" ;; *) printf '%s' "$ROOT/$1" ;; esac; }
die() { log "$*"; exit 1; }

export WSO_S3_PORT=${WSO_S3_PORT:-7480}
export WSO_S3_DIR=${WSO_S3_DIR:-$ROOT/.local/rgw}
RUN=$(abs "${WSO_RUN_DIR:-out}")
export WSO_KUBE_DATA_DIR=${WSO_KUBE_DATA_DIR:-$RUN/kube}
SAMPLES_SOURCE=${WSO_SAMPLES_DIR:-config/samples}
SAMPLES=$RUN/samples
HEALTH=${WSO_HEALTH_ADDR:-127.0.0.1:8081}
READY_TIMEOUT=${WSO_READY_TIMEOUT:-180}
ENDPOINT=http://127.0.0.1:$WSO_S3_PORT
OPERATOR_PROJECT=src/WorkspaceStorage.Operator
API_PROJECT=src/WorkspaceStorage.Api
OPERATOR_LOG=$RUN/operator.log
API_LOG=$RUN/api.log
# What make run applies; base/ names the operator's namespace and service accounts as config/default does.
CLUSTER_CONFIG=${WSO_CLUSTER_CONFIG:-config/overlays/make-run}
ON_DEMAND_SETTINGS=config/overlays/make-run/base/on-demand.env
SYSTEM_NAMESPACE=workspace-storage-system
OPERATOR_ACCOUNT=workspace-storage-operator
API_ACCOUNT=workspace-storage-api

mkdir -p "$RUN"
: >"$OPERATOR_LOG"; : >"$API_LOG" # this run's only: a refusal in them fails the run
scripts/install-deps.sh
command -v aws >/dev/null || scripts/apt-install-missing.sh awscli
command -v dotnet >/dev/null || die "dotnet is not installed (the .NET 10 SDK is needed)"
scripts/install-kube-apiserver.sh

# WSO_SKIP_BUILD=1: the binaries are already built (tests of `make run` running beside other test projects).
build() {
  [ "${WSO_SKIP_BUILD:-0}" = 1 ] && return 0
  log "building $1"
  dotnet build "$1" -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null || { dotnet build "$1" -c Release -nologo -v quiet -clp:ErrorsOnly; die "build of $1 failed"; }
}
build "$OPERATOR_PROJECT"
[ "${WSO_API:-1}" = 0 ] || build "$API_PROJECT"

started_rgw=0
started_kube=0
operator_pid=""
api_pid=""
hypha_pid=""
stop_pid() { # name pid: TERM, and wait for it
  if [ -n "$2" ] && kill -0 "$2" 2>/dev/null; then
    log "stopping $1 (pid $2)"
    kill -TERM "$2" 2>/dev/null || true
    wait "$2" 2>/dev/null || true
  fi
}
cleanup() {
  trap - EXIT INT TERM
  stop_pid Hypha "$hypha_pid"
  stop_pid "the API" "$api_pid"
  stop_pid "the operator" "$operator_pid"
  if [ "$started_kube" = 1 ]; then
    log "stopping the Kubernetes API server and etcd (data kept in $WSO_KUBE_DATA_DIR)"
    scripts/kube-apiserver.sh down >/dev/null 2>&1 || true
  fi
  if [ "$started_rgw" = 1 ]; then
    log "stopping the RGW"
    scripts/s3-test-server.sh down >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if ! scripts/s3-test-server.sh status >/dev/null 2>&1; then
  started_rgw=1
  scripts/s3-test-server.sh up
fi
eval "$(scripts/s3-test-server.sh env)"
if ! scripts/kube-apiserver.sh status >/dev/null 2>&1; then
  started_kube=1
  scripts/kube-apiserver.sh up
fi
eval "$(scripts/kube-apiserver.sh env)"
kubectl() { "$WSO_KUBECTL" --request-timeout=30s "$@"; }
service_account_config() { # namespace name: the kubeconfig scripts/kube-apiserver.sh wrote for that service account
  local file=$WSO_KUBE_CONFIG_DIR/kubeconfig-$1-$2
  [ -f "$file" ] || die "no kubeconfig for service account $1/$2 in $WSO_KUBE_CONFIG_DIR (WSO_KUBE_SERVICE_ACCOUNTS must name it)"
  printf '%s' "$file"
}
OPERATOR_KUBECONFIG=$(service_account_config "$SYSTEM_NAMESPACE" "$OPERATOR_ACCOUNT")
API_KUBECONFIG=$(service_account_config "$SYSTEM_NAMESPACE" "$API_ACCOUNT")

# The first request the API server refused a service account (403), from a JSON log: RBAC lacks a verb. Names only.
forbidden() {
  [ -f "$1" ] || return 1
  grep -m 1 -o '"Message":"[^"]*403 Forbidden[^"]*' "$1" | sed -e 's/^"Message":"//' -e 's/\\u0022/"/g' -e 's/\\u0027/'"'"'/g' -e 's/; retrying in .*//' | cut -c1-400 | grep .
}

# until_ok SECONDS WHAT COMMAND...: retries COMMAND until it succeeds; a one-line error naming WHAT when time runs out,
# or at once when a process of ours died (its log's last lines go first) or was refused by RBAC (the refusal).
until_ok() {
  local limit=$1 what=$2 refused; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if [ -n "$operator_pid" ] && ! kill -0 "$operator_pid" 2>/dev/null; then tail -n 20 "$OPERATOR_LOG" >&2; die "the operator exited (log: $OPERATOR_LOG)"; fi
    if [ -n "$api_pid" ] && ! kill -0 "$api_pid" 2>/dev/null; then tail -n 20 "$API_LOG" >&2; die "the API exited (log: $API_LOG)"; fi
    if refused=$(forbidden "$OPERATOR_LOG"); then die "the operator's service account lacks a verb in config/rbac: $refused"; fi
    if refused=$(forbidden "$API_LOG"); then die "the API's service account lacks a verb in config/rbac: $refused"; fi
    [ $SECONDS -lt $deadline ] || die "timed out after ${limit}s waiting for $what"
    sleep 0.5
  done
}

# The samples, pointed at this RGW (they name http://127.0.0.1:7480 and the test server's admin keys): the one place
# that rewrites them. The copy is what is applied; editing it, or the objects with kubectl, never touches the repository.
rm -rf "$SAMPLES"; mkdir -p "$SAMPLES"
for f in "$SAMPLES_SOURCE"/*.yaml; do
  sed -e "s#http://127.0.0.1:7480#$ENDPOINT#g" \
      -e "s#AWS_ACCESS_KEY_ID: .*#AWS_ACCESS_KEY_ID: $WSO_TEST_S3_ADMIN_ACCESS_KEY#" \
      -e "s#AWS_SECRET_ACCESS_KEY: .*#AWS_SECRET_ACCESS_KEY: $WSO_TEST_S3_ADMIN_SECRET_KEY#" "$f" > "$SAMPLES/$(basename "$f")"
done
chmod 600 "$SAMPLES"/*.yaml

log "applying $CLUSTER_CONFIG (CRDs, RBAC) and the samples"
kubectl apply -k "$CLUSTER_CONFIG" >"$RUN/apply.log" 2>&1 || { cat "$RUN/apply.log" >&2; die "kubectl apply -k $CLUSTER_CONFIG failed"; }
kubectl wait --for=condition=Established --timeout=60s crd/workspacestorages.workspacestorage.hypha.amun.ai \
  crd/storagebackends.workspacestorage.hypha.amun.ai >/dev/null || die "the CRDs did not become Established"
kubectl apply -k "$SAMPLES" >>"$RUN/apply.log" 2>&1 || { cat "$RUN/apply.log" >&2; die "kubectl apply -k $SAMPLES failed"; }
# namespace/name of each sample WorkspaceStorage
mapfile -t samples < <(kubectl get -k "$SAMPLES" -o jsonpath='{range .items[?(@.kind=="WorkspaceStorage")]}{.metadata.namespace}/{.metadata.name}{"\n"}{end}')
[ "${#samples[@]}" -gt 0 ] || die "no WorkspaceStorage in $SAMPLES_SOURCE"

# The authorizer learns new bindings from a watch: wait until each service account may list what it reads.
until_ok 30 "the operator's RBAC (config/rbac) to take effect" env KUBECONFIG="$OPERATOR_KUBECONFIG" "$WSO_KUBECTL" get wss -A
until_ok 30 "the API's RBAC (config/rbac) to take effect" env KUBECONFIG="$API_KUBECONFIG" "$WSO_KUBECTL" get wss -A

# ---- the operator: cluster mode, the operator's service account, leader election in its namespace ----
# (The admin's KUBECONFIG is kept out of its environment, and the API's: each has its service account's only.)
env -u KUBECONFIG dotnet "$OPERATOR_PROJECT/bin/Release/net10.0/WorkspaceStorage.Operator.dll" --kubeconfig "$OPERATOR_KUBECONFIG" \
  --leader-elect --leader-election-namespace "$SYSTEM_NAMESPACE" --health-addr "$HEALTH" --usage-period 10s "$@" >"$OPERATOR_LOG" 2>&1 &
operator_pid=$!
log "operator started (pid $operator_pid) as $SYSTEM_NAMESPACE/$OPERATOR_ACCOUNT, logs: $OPERATOR_LOG"

# Ready, as kubectl shows it: the READY column of every sample is True and its status is of the current generation.
samples_ready() {
  local table
  table=$(kubectl get wss -A --no-headers -o custom-columns='KEY:.metadata.namespace,NAME:.metadata.name,READY:.status.conditions[?(@.type=="Ready")].status,SEEN:.status.observedGeneration,GEN:.metadata.generation') || return 1
  local s
  for s in "${samples[@]}"; do
    awk -v ns="${s%%/*}" -v n="${s#*/}" '$1 == ns && $2 == n && $3 == "True" && $4 == $5 { found = 1 } END { exit !found }' <<<"$table" || return 1
  done
}
until_ok "$READY_TIMEOUT" "every sample WorkspaceStorage to be Ready (kubectl get wss -A; operator log: $OPERATOR_LOG)" samples_ready

# The workspace the usage lines show: the first ReadWrite sample whose prefix needs no shell quoting (ws-alpha in the
# samples). A sample made ReadOnly with kubectl stays so on the next run (the samples do not set the field).
usage_ns=""; usage_name=""
for s in "${samples[@]}"; do
  read -r prefix access < <(kubectl get wss "${s#*/}" -n "${s%%/*}" -o jsonpath='{.status.prefix} {.spec.access}{"\n"}')
  if [[ $prefix =~ ^[A-Za-z0-9._-]+/$ ]] && [ "$access" != ReadOnly ]; then usage_ns=${s%%/*}; usage_name=${s#*/}; break; fi
done
[ -n "$usage_name" ] || die "no sample WorkspaceStorage is ReadWrite with a plain prefix to show the usage with (kubectl patch wss ws-alpha -n default --type merge -p '{\"spec\":{\"access\":\"ReadWrite\"}}', or delete $WSO_KUBE_DATA_DIR to start over)"
# The sample the "change it" lines name: another one where there is one, so trying them leaves the usage lines working.
change_ns=$usage_ns; change_name=$usage_name
for s in "${samples[@]}"; do
  if [ "$s" != "$usage_ns/$usage_name" ]; then change_ns=${s%%/*}; change_name=${s#*/}; break; fi
done
status_field() { kubectl get wss "$usage_name" -n "$usage_ns" -o jsonpath="{.status.$1}"; }
usage_secret=$(status_field secretName)
usage_bucket=$(status_field bucket)
usage_prefix=$(status_field prefix)
usage_workspace=$(status_field workspace)
backend=$(kubectl get wss "$usage_name" -n "$usage_ns" -o jsonpath='{.spec.backendRef.name}')

# The kubectl lines, run as pasted (the admin's kubeconfig): READY True for every sample, the Secret's keys there.
wss_table=$(kubectl get wss -A)
for s in "${samples[@]}"; do
  awk -v ns="${s%%/*}" -v n="${s#*/}" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "READY") col = i; next }
    $1 == ns && $2 == n && col && $col == "True" { found = 1 } END { exit !found }' <<<"$wss_table" \
    || die "kubectl get wss -A does not show $s READY True:"$'\n'"$wss_table"
done
secret_keys=$(kubectl get secret "$usage_secret" -n "$usage_ns" -o yaml | awk '/^[^ ]/ { d = ($0 ~ /^data:/); next } d && /^  [A-Z]/ { sub(/:.*/, ""); sub(/^  /, ""); printf "%s ", $0 }')
[[ $secret_keys == *AWS_ACCESS_KEY_ID*AWS_SECRET_ACCESS_KEY* ]] || die "kubectl get secret $usage_secret -n $usage_ns -o yaml shows no AWS keys"
kubectl_verified="checked: READY True for ${samples[*]}; the Secret holds $(wc -w <<<"$secret_keys") keys, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY among them"

# The aws lines, run before they are shown: upload with the workspace's own key, then list the prefix. Retried: on a
# resumed cluster with a fresh RGW the status was Ready before this run's operator re-created the identity.
check=$RUN/make-run-check.txt
echo "written by make run at $(date -u +%FT%TZ)" > "$check"
s3_check() (
  eval "$(kubectl get secret "$usage_secret" -n "$usage_ns" -o yaml | scripts/workspace-env.sh -)"
  aws --endpoint-url "$AWS_ENDPOINT_URL" s3 cp "$check" "s3://$usage_bucket/${usage_prefix}make-run-check.txt" --only-show-errors &&
    aws --endpoint-url "$AWS_ENDPOINT_URL" s3 ls "s3://$usage_bucket/$usage_prefix" | grep -q make-run-check.txt
)
until_ok 60 "an upload with $usage_ns/$usage_secret's key to s3://$usage_bucket/$usage_prefix" s3_check
s3_verified="checked: uploaded s3://$usage_bucket/${usage_prefix}make-run-check.txt with this workspace's key and listed it"

# The usage, measured by the operator (a bounded listing, at most once per --usage-period: 10s here, 5m by default)
# after the upload: an annotation wakes the reconcile, and the line shown is the one run.
usage_query='{.status.usage.bytes} bytes, {.status.usage.objects} objects, read at {.status.usage.readAt}{"\n"}'
usage_line="kubectl get wss $usage_name -n $usage_ns -o jsonpath='$usage_query'"
usage_check() {
  kubectl annotate wss "$usage_name" -n "$usage_ns" workspacestorage.hypha.amun.ai/make-run-usage="$SECONDS" --overwrite >/dev/null &&
    [ "$(kubectl get wss "$usage_name" -n "$usage_ns" -o jsonpath='{.status.usage.objects}')" -ge 1 ]
}
until_ok 60 "the operator to measure $usage_ns/$usage_name's usage after the upload" usage_check
usage_shown=$(eval "$usage_line")

# The claim ceiling, shown by trying it: a claim in $usage_ns on a workspace its StorageBackend does not let it have is
# refused (no key, no Secret), then removed. Skipped when the sample StorageBackend lets every namespace claim anything.
ceiling_usage=""
if [ -n "$backend" ] && [ "$(kubectl get wsb "$backend" -o jsonpath='{.spec.allowClaimsFromAnyNamespace}')" != true ]; then
  squat=make-run-squat
  kubectl apply -f - >/dev/null <<SQUAT
apiVersion: workspacestorage.hypha.amun.ai/v1alpha1
kind: WorkspaceStorage
metadata: {name: $squat, namespace: $usage_ns}
spec: {workspace: "ws-not-yours-make-run", backendRef: {name: $backend}}
SQUAT
  refused_reason() { [ "$(kubectl get wss "$squat" -n "$usage_ns" -o jsonpath='{.status.conditions[?(@.type=="Stalled")].reason}')" = ClaimNotAllowed ]; }
  until_ok 30 "$usage_ns/$squat to be refused by $backend's spec.allowedClaims" refused_reason
  refusal=$(kubectl get wss "$squat" -n "$usage_ns" -o jsonpath='{.status.conditions[?(@.type=="Stalled")].message}')
  kubectl delete wss "$squat" -n "$usage_ns" --wait=false >/dev/null
  ceiling_usage="
Who may claim which workspace is the StorageBackend's to say (spec.allowedClaims; docs/deploy.md, \"Many teams, one cluster\"):
  kubectl get wsb $backend -o jsonpath='{.spec.allowedClaims}'
(checked: a WorkspaceStorage in $usage_ns for ws-not-yours-make-run was refused, no key: $refusal)
A single-tenant cluster lets every namespace claim every workspace instead:
  kubectl patch wsb $backend --type merge -p '{\"spec\":{\"allowClaimsFromAnyNamespace\":true}}'"
fi

# ---- the companion API: workspaces from Kubernetes, as its service account; on-demand provisioning ----
API_PORT=${WSO_API_PORT:-9527}
API_URL=http://127.0.0.1:$API_PORT
API_DLL=$API_PROJECT/bin/Release/net10.0/WorkspaceStorage.Api.dll
api_usage=""
on_demand_usage=""
HYPHA_URL=""
if [ "${WSO_API:-1}" != 0 ]; then
  # Secrets go to 0600 files, never to the terminal or a command line.
  JWT_FILE=$RUN/api-jwt-secret
  ( umask 077; [ -s "$JWT_FILE" ] || head -c 48 /dev/urandom | base64 | tr -d '\n=' > "$JWT_FILE" )
  api_settings=()
  while IFS= read -r line; do
    case $line in '' | '#'*) ;; *) api_settings+=("$line") ;; esac
  done < "$ON_DEMAND_SETTINGS"
  on_demand_namespace=$(awk -F= '$1 == "OnDemand__Namespace" { print $2 }' "$ON_DEMAND_SETTINGS")

  # ---- a real Hypha, where one can be had, sharing the API's JWT secret (tokens from either verify on both) ----
  HYPHA_PORT=${WSO_HYPHA_PORT:-9600}
  HYPHA_STATE=$RUN/hypha
  if [ "${WSO_HYPHA:-1}" != 0 ]; then
    hypha_log=$RUN/hypha-python.log
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
        api_settings+=(HyphaRegistration__ServerUrl="$HYPHA_URL" HyphaRegistration__RootTokenFile="$HYPHA_STATE/root-token"
          Api__AnonymousUsersMayWrite=true)
      fi
    fi
  fi

  (
    export ASPNETCORE_URLS=$API_URL DOTNET_ENVIRONMENT=Production
    export Api__WorkspaceSource=kubernetes Kubernetes__Kubeconfig=$API_KUBECONFIG Api__PublicBaseUrl=$API_URL Api__S3Proxy__Enabled=true
    export Hypha__JwtSecretFile=$JWT_FILE
    exec env -u KUBECONFIG "${api_settings[@]}" dotnet "$API_DLL"
  ) >"$API_LOG" 2>&1 &
  api_pid=$!
  log "API started (pid $api_pid) on $API_URL as $SYSTEM_NAMESPACE/$API_ACCOUNT, logs: $API_LOG"
  until_ok "$READY_TIMEOUT" "$API_URL/readyz (API log: $API_LOG)" curl -sf -m 2 "$API_URL/readyz"

  mint() { # workspace: a dev token for it in a 0600 file; prints the file's name
    local file=$RUN/dev-token-$1
    ( umask 077; Hypha__JwtSecretFile=$JWT_FILE dotnet "$API_DLL" dev-token --workspace "$1" --permission rw --ttl 8h > "$file" ) \
      || die "could not mint a dev token for $1"
    printf '%s' "$file"
  }
  # The curl lines, run before they are shown: upload a file, then list the workspace through the s3-storage service.
  api_check() { # workspace token-file
    local token put_out list_out
    token=$(cat "$2")
    put_out=$(curl -s -m 90 -H "Authorization: Bearer $token" -T "$check" "$API_URL/$1/files/make-run-check.txt" || true)
    list_out=$(curl -s -m 30 -H "Authorization: Bearer $token" "$API_URL/$1/services/s3-storage/list_files" || true)
    [[ $put_out == *'"success":true'* ]] && [[ $list_out == *make-run-check.txt* ]]
  }
  TOKEN_FILE=$(mint "$usage_workspace")
  until_ok 60 "an upload through the API to $usage_workspace (API log: $API_LOG)" api_check "$usage_workspace" "$TOKEN_FILE"
  api_usage=$(cat <<APIUSAGE

Use a workspace through the companion API ($API_URL, Hypha token for $usage_workspace in $TOKEN_FILE, 8h):
  TOKEN=\$(cat $TOKEN_FILE)
  curl -H "Authorization: Bearer \$TOKEN" -T ./file $API_URL/$usage_workspace/files/file
  curl -H "Authorization: Bearer \$TOKEN" "$API_URL/$usage_workspace/services/s3-storage/list_files"
(checked: uploaded $usage_workspace/files/make-run-check.txt and listed it through the API)
APIUSAGE
)

  # On demand: the first call for a new ws-user-* workspace makes the API create its WorkspaceStorage in Kubernetes.
  demo_workspace=ws-user-make-run-demo
  DEMO_TOKEN_FILE=$(mint "$demo_workspace")
  on_demand_query="{range .items[?(@.spec.workspace==\"$demo_workspace\")]}{.metadata.name}{end}"
  demo_before=$(kubectl get wss -n "$on_demand_namespace" -o jsonpath="$on_demand_query")
  until_ok 120 "on-demand storage for $demo_workspace through the API (API log: $API_LOG)" api_check "$demo_workspace" "$DEMO_TOKEN_FILE"
  demo_object=$(kubectl get wss -n "$on_demand_namespace" -o jsonpath="$on_demand_query")
  [ -n "$demo_object" ] || die "the API answered for $demo_workspace, but kubectl get wss -n $on_demand_namespace shows no WorkspaceStorage for it"
  [ "$(kubectl get wss "$demo_object" -n "$on_demand_namespace" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ] \
    || die "kubectl get wss $demo_object -n $on_demand_namespace is not Ready after the API answered for it"
  on_demand_usage=$(cat <<ONDEMAND

A new ws-user-* workspace gets its storage on its first call: the API creates its WorkspaceStorage in Kubernetes.
  curl -H "Authorization: Bearer \$(cat $DEMO_TOKEN_FILE)" -T ./file $API_URL/$demo_workspace/files/file
  kubectl get wss -n $on_demand_namespace
(checked: $( [ -n "$demo_before" ] && echo "an upload to $demo_workspace works; $on_demand_namespace/$demo_object, made on demand by an earlier run, is Ready" || echo "the first upload to $demo_workspace created $on_demand_namespace/$demo_object, Ready"))
ONDEMAND
)
fi

hypha_usage=""
if [ -n "$HYPHA_URL" ]; then
  SNIPPET=$RUN/hypha-snippet.py
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

stopping_list() { # what Ctrl-C stops, as a sentence's list
  local parts=() i out=""
  [ -n "$api_pid" ] && parts+=("the API")
  [ -n "$hypha_pid" ] && parts+=("Hypha")
  parts+=("the operator")
  [ "$started_kube" = 1 ] && parts+=("the Kubernetes API server" "etcd")
  [ "$started_rgw" = 1 ] && parts+=("the RGW")
  for i in "${!parts[@]}"; do
    if [ "$i" = 0 ]; then out=${parts[0]}; elif [ "$i" = $((${#parts[@]} - 1)) ]; then out+=" and ${parts[$i]}"; else out+=", ${parts[$i]}"; fi
  done
  printf '%s' "$out"
}

# kubectl is the project's (Debian sid's, the server's version) unless the same one comes first on PATH.
path_line=""
[ "$(command -v kubectl 2>/dev/null)" = "$WSO_KUBECTL" ] || path_line="  export PATH=$(dirname "$WSO_KUBECTL"):\$PATH"$'\n'
server=$(awk -F= '$1 == "PORT" { print "https://127.0.0.1:" $2 }' "$WSO_KUBE_CONFIG_DIR/state.env")

cat <<USAGE

All ${#samples[@]} sample WorkspaceStorages are Ready on the Kubernetes API server $server (data: $WSO_KUBE_DATA_DIR; S3: $ENDPOINT).
Everything started and checked in ${SECONDS}s.
$wss_table

Use the cluster with kubectl (admin):
  export KUBECONFIG=$KUBECONFIG
${path_line}  kubectl get wss -A
  kubectl get secret $usage_secret -n $usage_ns -o yaml
($kubectl_verified)

Use a workspace's storage (its own key, confined to its prefix):
  eval "\$(kubectl get secret $usage_secret -n $usage_ns -o yaml | scripts/workspace-env.sh -)"
  aws --endpoint-url "\$AWS_ENDPOINT_URL" s3 cp ./file "s3://$usage_bucket/${usage_prefix}file"
  aws --endpoint-url "\$AWS_ENDPOINT_URL" s3 ls "s3://$usage_bucket/$usage_prefix"
($s3_verified)
  $usage_line
(checked: $usage_shown)
$ceiling_usage
$api_usage
$on_demand_usage
$hypha_usage

Change a WorkspaceStorage with kubectl and watch the operator follow (its events at the end), e.g.:
  kubectl patch wss $change_name -n $change_ns --type merge -p '{"spec":{"access":"ReadOnly"}}'
  kubectl describe wss $change_name -n $change_ns
Logs: $OPERATOR_LOG$( [ -n "$api_pid" ] && echo ", $API_LOG"). Probes and metrics: http://$HEALTH/{healthz,readyz,metrics}
Running; Ctrl-C stops $(stopping_list).
USAGE

# WSO_RUN_ONCE=1: everything above was started and checked; stop here (tests of `make run` itself).
[ "${WSO_RUN_ONCE:-0}" = 1 ] && exit 0
# Until Ctrl-C, or until the operator or the API ends on its own (then its log's last lines say why).
wait -n $operator_pid $api_pid || true
for pid_log in "$operator_pid:$OPERATOR_LOG" "$api_pid:$API_LOG"; do
  pid=${pid_log%%:*}
  if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then tail -n 20 "${pid_log#*:}" >&2; die "pid $pid exited (log: ${pid_log#*:})"; fi
done
