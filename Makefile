# Two commands for a newcomer: `make dev` and `make test`. Everything else is a helper of theirs.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: dev test fmt

## Build and run the whole API locally on the embedded store, with demo data (PORT=3000 by default).
dev:
	$(CARGO) build --bin kyc-dev-server
	./target/debug/kyc-dev-server

## Everything CI checks: formatting, lints (warnings are errors) and every test.
test:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) test --workspace

## Reformat the code.
fmt:
	$(CARGO) fmt --all
