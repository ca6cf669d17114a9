#!/usr/bin/env bash
# make bench: benchmarks of the operator and the API beside their baselines (bench/README.md).
# Installs what the baselines need (python3-boto3, wrk, curl) when missing, starts a fresh local Ceph RGW of its own
# (port WSO_BENCH_PORT, default 7489, under .local/bench-rgw: a `make test` RGW on 7480 is left alone), runs
# bench/WorkspaceStorage.Benchmarks (arguments pass through, e.g. --only 1,2 --rounds 3), and stops that RGW; rows 14
# and 15 (the aws backend) run against a moto of its own (port WSO_BENCH_MOTO_PORT, default 7591).
# Prints the table on stdout; writes bench/results/latest.json. Takes ~12 minutes on 2 cores.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
DOTNET=${DOTNET:-dotnet}

scripts/apt-install-missing.sh python3-boto3 wrk curl
command -v radosgw >/dev/null || scripts/install-deps.sh
scripts/hypha-python.sh install   # rows 10 and 12: Python Hypha where PyPI answers (they report skipped without it)

export WSO_S3_PORT=${WSO_BENCH_PORT:-7489}
export WSO_S3_DIR=${WSO_BENCH_DIR:-$ROOT/.local/bench-rgw}
export WSO_S3_MON_PORT=${WSO_BENCH_MON_PORT:-$((WSO_S3_PORT - 4180))}

$DOTNET build bench/WorkspaceStorage.Benchmarks -c Release -warnaserror -v quiet -nologo >&2
# The real API server the operator rows run on, and row 8's Go floor built from the same Debian sources (cached).
WSO_BENCH_INFORMER_BASELINE=$(scripts/install-informer-baseline.sh)
export WSO_BENCH_INFORMER_BASELINE

# A fresh cluster every run: earlier objects and users would change the figures.
scripts/s3-test-server.sh down >/dev/null 2>&1 || true
scripts/s3-test-server.sh up >&2
trap 'scripts/s3-test-server.sh down >&2' EXIT
eval "$(scripts/s3-test-server.sh env)"
export WSO_BENCH_RGW_CONF=$WSO_S3_DIR/ceph.conf

# Rows 14 and 15 (the aws backend): a fresh moto of the bench's own (port WSO_BENCH_MOTO_PORT, default 7591).
export WSO_MOTO_PORT=${WSO_BENCH_MOTO_PORT:-7591}
export WSO_MOTO_STATE_DIR=${WSO_BENCH_MOTO_DIR:-$ROOT/.local/bench-moto}
scripts/install-moto.sh
scripts/moto-test-server.sh down >/dev/null 2>&1 || true
scripts/moto-test-server.sh up >&2
trap 'scripts/s3-test-server.sh down >&2; scripts/moto-test-server.sh down >&2' EXIT
eval "$(scripts/moto-test-server.sh env)"

$DOTNET bench/WorkspaceStorage.Benchmarks/bin/Release/net10.0/WorkspaceStorage.Benchmarks.dll \
  --baselines bench/baselines --results bench/results "$@"
