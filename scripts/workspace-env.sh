#!/usr/bin/env bash
# Prints `export AWS_…=…` lines from a credential Secret as YAML (a file, or - for standard input), for eval:
#   eval "$(kubectl get secret ws-alpha-s3 -n default -o yaml | scripts/workspace-env.sh -)"
#   aws --endpoint-url "$AWS_ENDPOINT_URL" s3 cp ./file s3://hypha-workspaces/ws-alpha/file
# Exports the AWS_* keys of the Secret's data (access key, secret key, endpoint, region). Prints nothing secret to
# the terminal by itself: the values only reach the shell that evals the output.
set -euo pipefail
file=${1:?usage: scripts/workspace-env.sh <secret.yaml> | - (standard input)}
[ "$file" = - ] || [ -r "$file" ] || { echo "workspace-env: cannot read $file" >&2; exit 1; }
found=0
# The top-level `data:` map: two-space indented `KEY: base64` lines (values may be quoted).
while IFS=$'\t' read -r key value; do
  case $key in AWS_*) ;; *) continue ;; esac
  decoded=$(printf '%s' "$value" | base64 -d) || { echo "workspace-env: $key in $file is not base64" >&2; exit 1; }
  printf "export %s='%s'\n" "$key" "${decoded//\'/\'\\\'\'}"
  found=1
done < <(awk '
  /^[^ ]/ { in_data = ($0 ~ /^data:[ ]*$/); next }
  in_data && /^  [A-Za-z0-9_.-]+:/ {
    key = $1; sub(/:$/, "", key)
    value = $0; sub(/^  [^:]+:[ ]*/, "", value); gsub(/["\047]/, "", value)
    printf "%s\t%s\n", key, value
  }' "$file")
[ "$found" = 1 ] || { echo "workspace-env: no AWS_* keys in the data of $( [ "$file" = - ] && echo "the Secret on standard input" || echo "$file")" >&2; exit 1; }
