#!/usr/bin/env bash
# The compiler of the workspace's own crates in `make test` (Cargo's
# RUSTC_WORKSPACE_WRAPPER): clippy-driver, which compiles like rustc and runs clippy's lints
# on the way. So the build for the tests and the browser suite is also the lint, instead
# of a `cargo clippy` pass beside it that checks every dependency once more. Warnings are
# errors, as with `cargo clippy -- -D warnings`. Dependencies are compiled by plain rustc.
set -euo pipefail
rustc=$1
shift
case " $* " in
  # A crate being compiled (not Cargo asking the compiler for its version or its targets).
  *" --crate-name "*) exec clippy-driver "$rustc" "$@" -D warnings ;;
  *) exec clippy-driver "$rustc" "$@" ;;
esac
