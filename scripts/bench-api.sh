#!/usr/bin/env bash
# Measures the public API on this machine (wrk, loopback, like bench.sh): a bare axum
# handler (the ceiling), GET /api/v1/organization with a key (the gate's key check and
# shared rate-limit count included), and GET /api/v1/memberships of a 100,000-member
# organization, the first page and the page 2,000 pages in (reached by its cursor); then
# 1,000 webhook deliveries to a local receiver (scripts/bench-webhooks.mjs). The rate
# limits are raised out of the way: the figures are the work of a request, not the limit.
# Reports figures; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"

PORT=${BENCH_API_PORT:-3340}
DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
# shellcheck source=scripts/bench-server.sh
source scripts/bench-server.sh
ensure_wrk

echo "==> building the release server and the benchmark data seeder"
cargo leptos build --release --precompress
cargo build --release -p server --example seed_members

start_release_server "$PORT" RUST_LOG=warn \
  ORGDESK_API_KEY_REQUESTS_PER_MINUTE=1000000000 \
  ORGDESK_API_ORGANIZATION_REQUESTS_PER_MINUTE=1000000000 \
  ORGDESK_PRIVATE_WEBHOOK_DESTINATIONS=true
cookie=$(BENCH_EMAIL=api-bench@example.com sign_up_bench_user)
[ -n "$cookie" ] || { echo "could not sign the benchmark user up" >&2; exit 1; }
org=$(create_organization "$BASE" "$cookie" "API Benchmark")

echo "==> a key with every scope"
scopes=()
for scope in view_organization manage_profile view_roles manage_invitations remove_users \
  manage_roles review_audit_events manage_sso manage_security manage_webhooks; do
  scopes+=(--data "scopes[]=$scope")
done
curl -sf -o /dev/null -X POST "$BASE/api/api_keys/create" -H 'Accept: application/json' \
  -H 'Sec-Fetch-Site: same-origin' -H "Cookie: $cookie" \
  --data "organization_id=$org" --data "name=Benchmark" --data expires=30 "${scopes[@]}"
key=$(curl -sf -X POST "$BASE/api/api_keys/list" -H 'Accept: application/json' \
  -H 'Sec-Fetch-Site: same-origin' -H "Cookie: $cookie" \
  | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).new_key.key))')
auth=(-H "Authorization: Bearer $key")

echo "==> adding 100,000 members"
./target/release/examples/seed_members "sqlite://$workdir/bench.db?mode=rwc" "$org" 100000 >/dev/null

echo "==> following 1,999 next links of GET /api/v1/memberships?limit=50"
page_2000=$(BASE="$BASE" KEY="$key" node -e '
  let path = "/api/v1/memberships?limit=50";
  (async () => {
    for (let i = 1; i < 2000; i++) {
      const page = await (await fetch(process.env.BASE + path, { headers: { Authorization: "Bearer " + process.env.KEY } })).json();
      if (!page.next) throw new Error("page " + i + " has no next link");
      path = page.next;
    }
    console.log(path);
  })();')
[ -n "$page_2000" ] || { echo "no cursor for page 2,000" >&2; exit 1; }

echo "==> load: $CONNECTIONS connections, $DURATION each, wrk and server sharing this machine's $(nproc) cores"
results=()
results+=("$(measure 'bare axum handler (ceiling)' /health)")
results+=("$(measure 'GET /api/v1/organization' /api/v1/organization "${auth[@]}")")
results+=("$(measure 'GET /api/v1/memberships, 100,000, first page' '/api/v1/memberships?limit=50' "${auth[@]}")")
results+=("$(measure 'GET /api/v1/memberships, 100,000, page 2,000' "$page_2000" "${auth[@]}")")

echo "==> 1,000 webhook deliveries"
webhooks=$(node scripts/bench-webhooks.mjs "$BASE" "$key")

print_results
echo
echo "$webhooks"
