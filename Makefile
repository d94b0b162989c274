# My Health Connection: `make run` starts the portal with demo data; `make test` checks everything.
SHELL := /bin/bash
TOOLS ?= $(HOME)/.cache/mhc-tools
export PATH := $(TOOLS)/npm/node_modules/.bin:$(TOOLS)/bin:$(HOME)/.cargo/bin:$(PATH)
# cargo-leptos compiles the server with LEPTOS_OUTPUT_NAME set, and Leptos bakes it in (it names
# the wasm file the page loads). Every cargo command here sets it too, so tests and clippy reuse
# the same build instead of recompiling Leptos into a binary that looks for the wrong file.
export LEPTOS_OUTPUT_NAME := mhc
# Tests share the release build's compiled dependencies instead of building everything twice.
CARGO_TEST := cargo test --release --locked

.PHONY: run test tools build bench fmt-check lint unit e2e e2e-deps load wasm-size clean-data help

help:
	@echo "make run    build and start the portal at http://127.0.0.1:3000 with demo data"
	@echo "make test   formatting, clippy, all cargo tests, release build, Playwright in Chromium"
	@echo "make bench  measure reads and sign-ins under load; writes docs/PERFORMANCE.md"

tools:
	@scripts/install-tools.sh

build: tools
	cargo leptos build --release --split
	node scripts/seal-static.mjs

run: build
	PORTAL_DEMO=1 ./target/release/mhc serve

test: export MHC_NEED_BROWSER = 1
test: tools fmt-check build lint unit e2e load wasm-size

fmt-check:
	cargo fmt --all -- --check

lint:
	cargo clippy --release --locked -p domain -p backend -p server --all-targets -- -D warnings
	cargo clippy --release --locked -p frontend --target wasm32-unknown-unknown -- -D warnings

unit:
	$(CARGO_TEST) -p domain -p backend -p server -p app --features app/ssr

e2e-deps:
	cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund

e2e: e2e-deps
	cd end2end && npx playwright test

# Latency under load against the release binary, held to p95 budgets.
load:
	node scripts/load-budget.mjs

# The size of the shipped wasm, held to a budget (brotli).
wasm-size:
	node scripts/wasm-budget.mjs

# Figures that depend on the machine (not part of `make test`): docs/PERFORMANCE.md.
bench: build
	node scripts/bench.mjs
