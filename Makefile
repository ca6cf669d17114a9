# WorkspaceStorageOperator. Two commands on a fresh Debian machine: `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
DOTNET ?= dotnet
RESULTS := out/test-results
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1

.PHONY: run test bench crds deps js-deps build images s3-up s3-down clean

## run: the whole system on this machine, on a real Kubernetes API server (scripts/run-local.sh): start the local
## Ceph RGW and etcd + the project's API server (data in out/kube, kept for the next run), apply
## config/overlays/make-run (CRDs, RBAC) and config/samples/, run the operator and the companion API with their service
## accounts' kubeconfigs (and Python Hypha where PyPI answers), wait until the samples are Ready, and print the
## KUBECONFIG line and kubectl, aws and curl usage, each checked first. Ctrl-C stops everything it started.
run:
	scripts/run-local.sh

## bench: every benchmark of issue 5 against the local Ceph RGW; prints a table, writes bench/results/*.json.
bench: deps
	scripts/bench.sh

## crds: regenerate crds/ and config/crd/bases/ from the C# model (a test fails when they drift).
crds:
	WSO_UPDATE_CRDS=1 $(DOTNET) test tests/WorkspaceStorage.Operator.Tests --filter FullyQualifiedName~Crds -v quiet

## deps: install what the tests need (Ceph RGW, Go + madmin-go as the MinIO oracle; mc and madmin-go 3 from Debian
## trixie, unpacked under .local/minio-clients; moto, the AWS emulator, from trixie under .local/moto). Idempotent.
deps:
	scripts/install-deps.sh

## js-deps: the pinned npm packages of the JavaScript client and browser tests, and Debian's Chromium. Idempotent.
js-deps:
	scripts/install-js-clients.sh

build:
	$(DOTNET) build WorkspaceStorageOperator.sln -c Release -warnaserror -v quiet -nologo

## images: the operator's and the companion's OCI images under out/images (scripts/build-images.sh: a base from
## Debian packages, the apps self-contained, assembled with umoci; tag = VersionPrefix), and podman + runc to run them.
images:
	scripts/apt-install-missing.sh podman runc
	scripts/build-images.sh

## test: install, start the local Ceph RGW and moto (scripts/moto-test-server.sh: IAM, STS and S3 with IAM
## authorization on, for the aws backend), pip-install Python Hypha where PyPI answers (scripts/hypha-python.sh:
## real Hypha servers for the RPC and system tests), build the real Kubernetes API server from Debian sid's sources
## (scripts/install-kube-apiserver.sh: minutes the first time, cached after), build the images, run every test project,
## stop RGW and moto, print the totals. Missing RGW, moto, MinIO clients, the images or podman, kubectl, Node.js packages
## or Chromium fail the tests, never skip them;
## without PyPI the Python Hypha tier skips, saying so (WSO_TEST_PYTHON_HYPHA_REQUIRED=1, for machines that reach
## PyPI, makes it fail instead).
test: deps js-deps build images
	rm -rf $(RESULTS)
	scripts/hypha-python.sh install
	scripts/install-kube-apiserver.sh
	scripts/s3-test-server.sh up
	scripts/moto-test-server.sh up
	trap 'scripts/s3-test-server.sh down; scripts/moto-test-server.sh down' EXIT; \
	  eval "$$(scripts/s3-test-server.sh env)"; \
	  eval "$$(scripts/moto-test-server.sh env)"; \
	  export WSO_TEST_MINIO_CLIENTS_REQUIRED=1 WSO_TEST_IMAGES_REQUIRED=1 WSO_TEST_KUBECTL_REQUIRED=1 WSO_TEST_JS_REQUIRED=1 WSO_TEST_BROWSER_REQUIRED=1; \
	  status=0; \
	  $(DOTNET) test WorkspaceStorageOperator.sln -c Release --no-build --results-directory $(RESULTS) \
	    --logger "trx" --logger "console;verbosity=minimal" || status=$$?; \
	  scripts/test-summary.py $(RESULTS) && exit $$status

s3-up:
	scripts/s3-test-server.sh up

s3-down:
	scripts/s3-test-server.sh down

clean:
	rm -rf out .local tests/WorkspaceStorage.EndToEnd.Tests/WholeSystem/JavaScript/node_modules
	$(DOTNET) clean WorkspaceStorageOperator.sln -v quiet
