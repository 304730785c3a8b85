# Orgdesk's two commands: `make run` serves the app, `make test` runs every test.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
export PATH := $(CURDIR)/end2end/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

.PHONY: run test tools test-tools lint format-check unit-test postgres-test e2e bench bench-abuse release

## Serve Orgdesk on http://127.0.0.1:3000 with the embedded SQLite database under data/.
run: tools
	cargo leptos serve

## Every check and test: formatting, lints (server and wasm), unit and integration tests on
## SQLite and PostgreSQL, and the browser suite.
## Clippy is the compiler of the workspace's own crates in the builds for the tests
## (scripts/lint-rustc.sh): the server build (every target, as `--all-targets`) and the
## wasm build are linted with `-D warnings` as they compile, instead of a `cargo clippy`
## pass beside them that checks every dependency again (`make lint` still runs that).
## Each step is timed; the times are printed together at the end.
test:
	@rm -f target/step-times.txt
	scripts/timed.sh "tools" $(MAKE) --no-print-directory test-tools
	scripts/timed.sh "format (rustfmt, tsc)" $(MAKE) --no-print-directory format-check
	scripts/timed.sh "clippy + tests on SQLite" $(MAKE) --no-print-directory unit-test
	scripts/timed.sh "tests on PostgreSQL" $(MAKE) --no-print-directory postgres-test
	scripts/timed.sh "clippy (wasm) + browser suite" $(MAKE) --no-print-directory e2e
	@echo "==> time per step"; cat target/step-times.txt

# cargo-leptos builds the server for the browser suite with `--cfg erase_components` and
# LEPTOS_OUTPUT_NAME set (leptos reads it at compile time). The lints and the tests see the
# same, so `cargo leptos build` reuses their build of every dependency instead of compiling
# them again (the dependencies' features are kept equal in server/Cargo.toml).
lint unit-test postgres-test: export RUSTFLAGS := --cfg erase_components
lint unit-test postgres-test: export LEPTOS_OUTPUT_NAME := orgdesk
# The same compiler in every build of the test run, so the browser suite's server build
# reuses the tests' build of the app.
unit-test postgres-test e2e: export RUSTC_WORKSPACE_WRAPPER := $(CURDIR)/scripts/lint-rustc.sh
# Redocly's CLI: no usage reports, no update checks (the tests run offline-friendly).
e2e: export REDOCLY_TELEMETRY := off
e2e: export REDOCLY_SUPPRESS_UPDATE_NOTICE := true

tools:
	scripts/install-tools.sh

test-tools:
	scripts/install-tools.sh --test

## The lints alone (what `make test` lints while it builds).
lint: format-check
	cargo clippy -p app -p server -p migration --all-targets --features app/ssr -- -D warnings
	cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings

format-check:
	cargo fmt --all --check
	cd end2end && tsc -p .

unit-test:
	@echo "==> unit and integration tests on SQLite"
	cargo test -p app -p server -p migration --features app/ssr

postgres-test:
	scripts/test-postgres.sh

e2e:
	cargo leptos build
	@echo "==> the OpenAPI document, linted (Redocly)"
	target/debug/server openapi > target/openapi.json
	redocly lint --config end2end/redocly.yaml target/openapi.json
	scripts/api-fuzz.sh
	cd end2end && playwright test

## Throughput and latency figures on SQLite, then on PostgreSQL with two processes behind
## nginx, the release wasm bundle size and the goals table (see README).
bench: test-tools
	scripts/bench.sh
	scripts/bench-api.sh
	scripts/bench-scim.sh
	scripts/bench-postgres.sh

## Memory, refusals and a signed-in page's latency under a storm of sign-ups and wrong
## logins (see README).
bench-abuse: test-tools
	scripts/bench-abuse.sh

release: tools
	cargo leptos build --release --precompress
