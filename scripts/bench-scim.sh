#!/usr/bin/env bash
# Measures directory sync (SCIM) on this machine, release build, SQLite, one process:
# an initial sync of 10,000 users and 20 groups, 8 requests at a time
# (scripts/bench-scim.mjs); GET /scim/v2/Users?filter=userName eq "…" in an organization
# of 100,000 provisioned members (wrk); and the time from a deactivation to that person's
# next refused page. scripts/bench-postgres.sh measures the last on two processes sharing
# PostgreSQL. The organizations are made SSO organizations by the seeder (a verified
# domain, a connection on) since no provider signs anyone in here. Reports figures;
# asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"

PORT=${BENCH_SCIM_PORT:-3350}
DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
# shellcheck source=scripts/bench-server.sh
source scripts/bench-server.sh
ensure_wrk

echo "==> building the release server and the benchmark data seeders"
cargo leptos build --release --precompress
cargo build --release -p server --example seed_members --example seed_directory

start_release_server "$PORT" RUST_LOG=warn
db="sqlite://$workdir/bench.db?mode=rwc"
cookie=$(BENCH_EMAIL=scim-bench@example.com sign_up_bench_user)
[ -n "$cookie" ] || { echo "could not sign the benchmark user up" >&2; exit 1; }

echo "==> an initial sync: 10,000 users and 20 groups, 8 requests at a time"
synced=$(create_organization "$BASE" "$cookie" "Sync Benchmark")
./target/release/examples/seed_directory "$db" "$synced" sync.bench.example "$workdir/sync-token" >/dev/null
initial=$(node scripts/bench-scim.mjs initial "$BASE" "$(cat "$workdir/sync-token")" sync.bench.example)

echo "==> an organization of 100,000 provisioned members"
big=$(create_organization "$BASE" "$cookie" "Directory Benchmark")
./target/release/examples/seed_members "$db" "$big" 100000 person >/dev/null
./target/release/examples/seed_directory "$db" "$big" bench.example "$workdir/big-token" \
  "$workdir/sessions" >/dev/null
token=$(cat "$workdir/big-token")

echo "==> load: $CONNECTIONS connections, $DURATION each, wrk and server sharing this machine's $(nproc) cores"
results=()
results+=("$(measure 'bare axum handler (ceiling)' /health)")
results+=("$(measure 'GET /scim/v2/Users?filter=userName eq, 100,000' \
  '/scim/v2/Users?filter=userName%20eq%20%22person-054321%40bench.example%22' \
  -H "Authorization: Bearer $token")")

echo "==> from a deactivation to the next refused page, 20 people"
deactivation=$(node scripts/bench-scim.mjs deactivate "$BASE" "$token" "$workdir/sessions")

print_results
echo
echo "$initial"
echo "$deactivation (one process, SQLite)"
