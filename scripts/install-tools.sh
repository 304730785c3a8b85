#!/usr/bin/env bash
# Installs what Orgdesk's build (and, with --test, its test suite) needs, skipping whatever
# is already installed at the right version. Safe to run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

# cargo-leptos 0.3.10 is the newest that builds on Rust 1.95; no_downloads makes it use
# the tools below from PATH instead of fetching its own.
CARGO_LEPTOS_VERSION=0.3.10
# The wasm-bindgen CLI must equal the wasm-bindgen crate in Cargo.lock, and nothing checks it.
WASM_BINDGEN_VERSION=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)

step() { printf '\n==> %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# C libraries the SAML crate (samael) builds against: xmlsec1 and libxml2 verify the XML
# signatures, and bindgen needs libclang to read their headers.
SYSTEM_PACKAGES=(libclang-dev libxmlsec1-dev libxml2-dev libssl-dev pkg-config)
missing=()
for package in "${SYSTEM_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  step "installing ${missing[*]} with apt (the SAML crate's C libraries)"
  as_root apt-get update
  as_root apt-get install -y --no-install-recommends "${missing[@]}"
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  step "adding the wasm32-unknown-unknown Rust target"
  rustup target add wasm32-unknown-unknown
fi
for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    rustup component add "$component"
  fi
done

if ! cargo leptos --version 2>/dev/null | grep -q "$CARGO_LEPTOS_VERSION"; then
  step "installing cargo-leptos $CARGO_LEPTOS_VERSION (a few minutes, once per machine)"
  # Its own release profile (fat LTO, one codegen unit) ends in a long single-threaded
  # link; a build tool does not need that speed, so this install uses thin-local LTO and
  # parallel codegen instead.
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install "cargo-leptos@$CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  step "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# npm tools: wasm-opt (binaryen; Debian's is too old and breaks hydration), Playwright, axe-core.
if [ ! -f end2end/node_modules/.package-lock.json ] \
  || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  step "installing the npm tools in end2end/node_modules"
  (cd end2end && npm ci --no-audit --no-fund)
fi

if [ "${1:-}" = "--test" ]; then
  # Schemathesis (PyPI) for the public API, in a virtual environment under target/.
  SCHEMATHESIS_VERSION=4.32.5
  if ! target/api-venv/bin/schemathesis --version 2>/dev/null | grep -q "$SCHEMATHESIS_VERSION"; then
    step "installing schemathesis $SCHEMATHESIS_VERSION in target/api-venv"
    python3 -m venv target/api-venv
    target/api-venv/bin/pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
  fi
  # scim2-tester (PyPI), the SCIM conformance suite, run through scim2-cli by the
  # integration tests (server/tests/integration/directory_sync.rs).
  SCIM2_CLI_VERSION=0.6.0
  SCIM2_TESTER_VERSION=0.5.2
  installed() { target/scim-venv/bin/pip show "$1" 2>/dev/null | sed -n 's/^Version: //p'; }
  if [ "$(installed scim2-tester)" != "$SCIM2_TESTER_VERSION" ] \
    || [ "$(installed scim2-cli)" != "$SCIM2_CLI_VERSION" ]; then
    step "installing scim2-tester $SCIM2_TESTER_VERSION and scim2-cli $SCIM2_CLI_VERSION in target/scim-venv"
    python3 -m venv target/scim-venv
    target/scim-venv/bin/pip install --quiet --disable-pip-version-check \
      "scim2-cli==$SCIM2_CLI_VERSION" "scim2-tester==$SCIM2_TESTER_VERSION"
  fi
  # Debian's Chromium for Playwright: Playwright's own browser download does not work here.
  if [ ! -x /usr/bin/chromium ]; then
    step "installing Debian's chromium for the browser tests"
    as_root apt-get update
    as_root apt-get install -y chromium
  fi
fi
