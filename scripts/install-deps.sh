#!/usr/bin/env bash
# Installs the Debian packages the tests need, only when something is missing.
#   Ceph (mon, osd, radosgw): the real S3 server the storage tests run against.
#   golang-go + madmin-go: the official MinIO admin client, built offline as an oracle for ours.
#   lua5.4: runs the Argo CD health check (config/argocd/health.lua) in its test.
# Then today's MinIO clients (mc, madmin-go 3.x) from Debian trixie, unpacked privately: install-minio-clients.sh.
set -euo pipefail
packages=(ceph-mon ceph-osd radosgw ceph-common curl uuid-runtime python3 golang-go golang-github-minio-madmin-go-dev lua5.4)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
"$(dirname "$0")/install-minio-clients.sh"
