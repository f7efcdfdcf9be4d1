# Two commands for a newcomer: `make dev` and `make test`. Everything else is a helper of theirs.
SHELL := /bin/bash
CARGO ?= cargo
PYTHON ?= python3
VENV := .venv

.PHONY: dev test fmt venv

## Build and run the whole API locally on the embedded store, with demo data (PORT=3000 by default).
dev:
	$(CARGO) build --bin kyc-dev-server
	./target/debug/kyc-dev-server

## Everything CI checks: formatting, lints (warnings are errors) and every test, the AWS adapters'
## against an emulator (moto) that infra/with-emulator.sh runs on loopback for the tests' duration.
test: venv
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	infra/with-emulator.sh $(CARGO) test --workspace

## Reformat the code.
fmt:
	$(CARGO) fmt --all

## The Python test tools (moto) in .venv/, installed once and again when their pins change.
venv: $(VENV)/.installed

$(VENV)/.installed: infra/requirements-test.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r infra/requirements-test.txt
	@touch $@
