#!/usr/bin/env bash
# Installs what the tests need, only when something is missing.
#   Ceph (mon, osd, radosgw): the real S3 server the storage tests run against.
#   golang-go + madmin-go: the official MinIO admin client, built offline as an oracle for ours.
#   lua5.4: runs the Argo CD health check (config/argocd/health.lua) in its test.
# Then today's MinIO clients (mc, madmin-go 3.x) from Debian trixie, unpacked privately: install-minio-clients.sh,
# and moto (the AWS emulator the aws backend's tests run against), also from trixie, privately: install-moto.sh.
# The real Kubernetes API server (tools/kube-apiserver, etcd, kubectl from Debian sid) is install-kube-apiserver.sh,
# which make test and make run call themselves.
# The JavaScript and browser tests' own (npm packages, Chromium): scripts/install-js-clients.sh, run by make test.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
"$HERE/apt-install-missing.sh" ceph-mon ceph-osd radosgw ceph-common curl uuid-runtime python3 golang-go golang-github-minio-madmin-go-dev lua5.4
"$HERE/install-minio-clients.sh"
"$HERE/install-moto.sh"
