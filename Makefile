# Two commands for a newcomer: `make dev` and `make test`. Everything else is a helper of theirs.
SHELL := /bin/bash
CARGO ?= cargo
PYTHON ?= python3
VENV := .venv

.PHONY: dev test test-browser fmt venv lint-template package bench-cold bench-load bench-load-emulator bench-core cost cost-counts venv-package web-liveness fuzz openapi

## Build and run the whole API locally on the embedded store, with demo data (PORT=3000 by default).
dev:
	$(CARGO) build --bin kyc-dev-server
	./target/debug/kyc-dev-server

## Everything CI checks: formatting, lints (warnings are errors) and every test, the AWS adapters'
## against an emulator (moto) that infra/with-emulator.sh runs on loopback for the tests' duration.
test: venv lint-template
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	infra/with-emulator.sh $(CARGO) test --workspace
	$(MAKE) fuzz
	$(MAKE) test-browser

## Schemathesis on docs/openapi.json (validated as OpenAPI 3.1 first) against a dev server it
## starts on a free loopback port: every check, seeded and deterministic, ~1 minute.
fuzz: venv
	$(VENV)/bin/openapi-spec-validator docs/openapi.json
	$(CARGO) build --bin kyc-dev-server
	$(VENV)/bin/python tests/fuzz/run.py

## Regenerate docs/openapi.json from the code (a test fails while it differs).
openapi:
	KYC_UPDATE_OPENAPI=1 $(CARGO) test -p kyc-http --test openapi

## The reference frontend (web/app) in the system's headless Chromium, driven by playwright-core
## against a dev server of its own (tests/browser). Chromium, Node and npm come from the OS
## packages: installed when missing if we are root, else the one command to run is printed.
## Screenshots of every step (desktop and 360 px) land in target/browser-screenshots/.
BROWSER_PACKAGES := $(if $(shell command -v chromium),,chromium) $(if $(shell command -v npm),,nodejs npm)
test-browser:
	@if [ -n "$(strip $(BROWSER_PACKAGES))" ]; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(BROWSER_PACKAGES); \
		else echo "missing $(strip $(BROWSER_PACKAGES)): run  sudo apt-get install -y $(strip $(BROWSER_PACKAGES))" >&2; exit 1; fi; fi
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error
	$(CARGO) build --bin kyc-dev-server
	cd tests/browser && KYC_DEV_SERVER="$(abspath $(or $(CARGO_TARGET_DIR),target))/debug/kyc-dev-server" \
		node --test flow.test.js

## Reformat the code.
fmt:
	$(CARGO) fmt --all

## The Python test tools (moto) in .venv/, installed once and again when their pins change.
venv: $(VENV)/.installed

$(VENV)/.installed: infra/requirements-test.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r infra/requirements-test.txt
	@touch $@

## Lint template.yaml with cfn-lint and with SAM's own validation (which runs cfn-lint on the
## transformed template): no error and no warning may remain.
lint-template: venv
	$(VENV)/bin/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 $(VENV)/bin/sam validate --lint --template template.yaml

## Build every function for Lambda into .aws-sam/build (`sam build`, then `sam deploy`), arm64 by
## default (ARCH=x86_64 for Intel); cargo-lambda and its Zig linker come from .venv/.
ARCH ?= arm64
package: venv-package web-liveness
	rustup target add $(if $(filter arm64,$(ARCH)),aarch64,x86_64)-unknown-linux-gnu
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 sam build --parameter-overrides Architecture=$(ARCH)
	@for f in .aws-sam/build/*Function/bootstrap; do \
		awk -v f="$$f" -v s="$$(stat -c %s "$$f")" 'BEGIN { printf "%-45s %6.2f MB\n", f, s / 1e6 }'; done
	@if [ "$(ARCH)" != arm64 ]; then echo "built for $(ARCH): deploy with --parameter-overrides Architecture=$(ARCH)"; fi

## The live-mode liveness bundle of the reference frontend (AWS Amplify UI's
## FaceLivenessDetectorCore, pinned in web/liveness/package-lock.json) into
## target/web/app/liveness/, which infra/deploy-web.sh uploads beside web/app. Only `make package`
## needs it: `make dev` and `make test` run test-mode sessions, whose liveness is the sandbox.
web-liveness:
	cd web/liveness && npm ci --no-audit --no-fund --loglevel=error
	rm -rf target/web/app/liveness
	cd web/liveness && OUT_DIR="$(CURDIR)/target/web/app/liveness" npm run build

## Cold start of each function binary against a hello-world lambda_http one (bench/cold_start.py).
bench-cold:
	$(PYTHON) bench/cold_start.py

## 1,000 sessions at once through the whole demo workflow on a release dev server (bench/load.py):
## throughput, p50/p99 per route, and no errors.
bench-load:
	$(PYTHON) bench/load.py

## 50 sessions at once through the same flow on the AWS adapters (DynamoDB and S3 on the
## emulator): that nothing is lost or doubled under concurrency there, not speed.
bench-load-emulator: venv
	infra/with-emulator.sh $(PYTHON) bench/load.py --emulator --sessions 50 --concurrency 16

## The request paths' own work without store or HTTP (criterion, crates/core/benches).
bench-core:
	$(CARGO) bench -p kyc-core --bench core_paths

## What one verification costs in AWS (MRZ route, AnalyzeID on two pages, test mode), from the
## calls counted in bench/cost-counts.json and the dated unit prices in bench/cost.py.
cost:
	$(PYTHON) bench/cost.py

## Counts the calls of one verification again (tests/api/cost_counts.rs) into bench/cost-counts.json;
## `make test` fails while the committed file is out of date.
cost-counts:
	KYC_WRITE_COST_COUNTS=1 $(CARGO) test -p kyc-api-tests --test api cost_counts

## The packaging tools (cargo-lambda with Zig, ~450 MB) in .venv/, only for `make package`.
venv-package: venv $(VENV)/.installed-package

$(VENV)/.installed-package: infra/requirements-package.txt $(VENV)/.installed
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r infra/requirements-package.txt
	@touch $@
