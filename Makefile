# WorkspaceStorageOperator. Two commands on a fresh Debian machine: `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
DOTNET ?= dotnet
RESULTS := out/test-results
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1

.PHONY: test deps build s3-up s3-down clean

## deps: install what the tests need (Ceph RGW, Go + madmin-go as the MinIO oracle). Idempotent.
deps:
	scripts/install-deps.sh

build:
	$(DOTNET) build WorkspaceStorageOperator.sln -c Release -warnaserror -v quiet -nologo

## test: install, start the local Ceph RGW, run every test project, stop RGW, print the totals.
test: deps build
	rm -rf $(RESULTS)
	scripts/s3-test-server.sh up
	trap 'scripts/s3-test-server.sh down' EXIT; \
	  eval "$$(scripts/s3-test-server.sh env)"; \
	  status=0; \
	  $(DOTNET) test WorkspaceStorageOperator.sln -c Release --no-build --results-directory $(RESULTS) \
	    --logger "trx" --logger "console;verbosity=minimal" || status=$$?; \
	  scripts/test-summary.py $(RESULTS) && exit $$status

s3-up:
	scripts/s3-test-server.sh up

s3-down:
	scripts/s3-test-server.sh down

clean:
	rm -rf out .local
	$(DOTNET) clean WorkspaceStorageOperator.sln -v quiet
