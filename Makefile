# Orgdesk's two commands: `make run` serves the app, `make test` runs every test.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
export PATH := $(CURDIR)/end2end/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

.PHONY: run test tools test-tools lint unit-test postgres-test e2e bench bench-abuse release

## Serve Orgdesk on http://127.0.0.1:3000 with the embedded SQLite database under data/.
run: tools
	cargo leptos serve

## Every check and test: formatting, lints (server and wasm), unit and integration tests on
## SQLite and PostgreSQL, and the browser suite.
## Each step is timed; the times are printed together at the end.
test:
	@rm -f target/step-times.txt
	scripts/timed.sh "tools" $(MAKE) --no-print-directory test-tools
	scripts/timed.sh "lint (fmt, clippy x2, tsc)" $(MAKE) --no-print-directory lint
	scripts/timed.sh "tests on SQLite" $(MAKE) --no-print-directory unit-test
	scripts/timed.sh "tests on PostgreSQL" $(MAKE) --no-print-directory postgres-test
	scripts/timed.sh "browser suite (build + run)" $(MAKE) --no-print-directory e2e
	@echo "==> time per step"; cat target/step-times.txt

# cargo-leptos builds the server for the browser suite with `--cfg erase_components` and
# LEPTOS_OUTPUT_NAME set (leptos reads it at compile time). The lints and the tests see the
# same, so `cargo leptos build` reuses their build of every dependency instead of compiling
# them again (the dependencies' features are kept equal in server/Cargo.toml).
lint unit-test postgres-test: export RUSTFLAGS := --cfg erase_components
lint unit-test postgres-test: export LEPTOS_OUTPUT_NAME := orgdesk

tools:
	scripts/install-tools.sh

test-tools:
	scripts/install-tools.sh --test

lint:
	cargo fmt --all --check
	cargo clippy -p app -p server -p migration --all-targets --features app/ssr -- -D warnings
	cargo clippy -p frontend --target wasm32-unknown-unknown -- -D warnings
	cd end2end && tsc -p .

unit-test:
	@echo "==> unit and integration tests on SQLite"
	cargo test -p app -p server -p migration --features app/ssr

postgres-test:
	scripts/test-postgres.sh

e2e:
	cargo leptos build
	cd end2end && playwright test

## Throughput and latency figures on SQLite, then on PostgreSQL with two processes behind
## nginx, the release wasm bundle size and the goals table (see README).
bench: test-tools
	scripts/bench.sh
	scripts/bench-postgres.sh

## Memory, refusals and a signed-in page's latency under a storm of sign-ups and wrong
## logins (see README).
bench-abuse: test-tools
	scripts/bench-abuse.sh

release: tools
	cargo leptos build --release --precompress
