#!/usr/bin/env bash
# Measures Orgdesk on this machine: requests per second and p50/p99 latency (wrk, loopback)
# for a bare axum handler (the machine's ceiling), the login page, the signed-in User
# Settings page, Manage Organizations for a user in 400 organizations, the Organization
# Profile page, and the Access Control Users tab of an organization with 100,000 members
# (first page and a search), each also as a share of the ceiling; the time to create 1,000
# invitations with their mail queued; then the release wasm bundle size raw, gzip and
# brotli. Reports figures; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"

PORT=${BENCH_PORT:-3300}
DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
# shellcheck source=scripts/bench-server.sh
source scripts/bench-server.sh
ensure_wrk

echo "==> building the release server and wasm bundle, and the benchmark data seeder"
cargo leptos build --release --precompress
cargo build --release -p server --example seed_members

start_release_server "$PORT" RUST_LOG=warn,server::mail=info
cookie=$(sign_up_bench_user)
[ -n "$cookie" ] || { echo "could not sign the benchmark user up" >&2; exit 1; }
curl -sf -H "Cookie: $cookie" "$BASE/settings" | grep -q "User Settings" \
  || { echo "the signed-in settings page did not render" >&2; exit 1; }

echo "==> putting the benchmark user in 400 organizations"
for i in $(seq 1 400); do
  curl -sf -o /dev/null -X POST "$BASE/api/organizations/create" \
    -H 'Accept: application/json' -H 'Sec-Fetch-Site: same-origin' -H "Cookie: $cookie" \
    --data "name=Benchmark+Organization+$i" || { echo "creating organization $i failed" >&2; exit 1; }
done
curl -sf -H "Cookie: $cookie" "$BASE/organizations" | grep -q "400 organizations" \
  || { echo "Manage Organizations did not list the organizations" >&2; exit 1; }

echo "==> verifying the benchmark user's address (the link is in the mail folder)"
# The first link in the mail folder's messages (decoded: lines may be quoted-printable).
mailed_link() {
  python3 - "$workdir/mail" "$1" <<'PY'
import email, glob, re, sys
for path in sorted(glob.glob(sys.argv[1] + "/*.eml")):
    message = email.message_from_binary_file(open(path, "rb"))
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            found = re.search(r"http://\S*" + re.escape(sys.argv[2]) + r"[0-9a-f]+", part.get_payload(decode=True).decode())
            if found:
                print(found.group(0))
                sys.exit(0)
PY
}
for _ in $(seq 1 50); do [ -n "$(mailed_link '/verify-email?token=')" ] && break; sleep 0.2; done
verify=$(mailed_link '/verify-email?token=')
# The link opens a page with Confirm my email; the button posts its token.
curl -sf -o /dev/null -X POST "$BASE/api/accounts/verify_email" \
  -H 'Accept: application/json' -H 'Sec-Fetch-Site: same-origin' -H "Cookie: $cookie" \
  --data "token=${verify##*token=}" || { echo "could not verify the benchmark user" >&2; exit 1; }

echo "==> creating 1,000 invitations"
invitations=$(node scripts/bench-invitations.mjs "$BASE" "$cookie")
echo "$invitations"

echo "==> adding 100,000 members to the current organization"
current=$(curl -sf -X POST "$BASE/api/organizations/mine" -H 'Accept: application/json' \
  -H 'Sec-Fetch-Site: same-origin' -H "Cookie: $cookie" --data 'query=&page=1' \
  | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).current.public_id))')
./target/release/examples/seed_members "sqlite://$workdir/bench.db?mode=rwc" "$current" 100000
curl -sf -H "Cookie: $cookie" "$BASE/access-control" | grep -q "100,001 users\|100001 users" \
  || { echo "the Users tab did not count 100,001 users" >&2; exit 1; }

# wrk prints "Requests/sec: N" and, with --latency, "50% X" / "99% Y".
measure() {
  local label=$1 path=$2; shift 2
  local out
  out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "$BASE$path")
  if echo "$out" | grep -q "Non-2xx"; then echo "$label answered errors:" >&2; echo "$out" >&2; exit 1; fi
  local rps p50 p99
  rps=$(echo "$out" | awk '/Requests\/sec/ { print $2 }')
  p50=$(echo "$out" | awk '$1 == "50%" { print $2 }')
  p99=$(echo "$out" | awk '$1 == "99%" { print $2 }')
  echo "$label|$rps|$p50|$p99"
}

echo "==> load: $CONNECTIONS connections, $DURATION each, wrk and server sharing this machine's $(nproc) cores"
results=()
results+=("$(measure 'bare axum handler (ceiling)' /health)")
results+=("$(measure 'login page (SSR)' /login)")
results+=("$(measure 'User Settings, signed in (SSR + session)' /settings -H "Cookie: $cookie")")
results+=("$(measure 'Manage Organizations, 400 organizations' /organizations -H "Cookie: $cookie")")
results+=("$(measure 'Organization Profile' /organization/profile -H "Cookie: $cookie")")
results+=("$(measure 'Users tab, 100,000 members, first page' /access-control -H "Cookie: $cookie")")
results+=("$(measure 'Users tab, 100,000 members, search' '/access-control?q=member-04242' -H "Cookie: $cookie")")

ceiling=$(echo "${results[0]}" | cut -d'|' -f2)
printf '\n| %-42s | %10s | %8s | %8s | %9s |\n' "endpoint" "req/s" "p50" "p99" "vs ceiling"
printf '|%s|%s|%s|%s|%s|\n' "--------------------------------------------" "------------" "----------" "----------" "-----------"
for row in "${results[@]}"; do
  IFS='|' read -r label rps p50 p99 <<<"$row"
  ratio=$(awk -v a="$rps" -v b="$ceiling" 'BEGIN { printf "%.1f%%", 100 * a / b }')
  printf '| %-42s | %10s | %8s | %8s | %9s |\n' "$label" "$rps" "$p50" "$p99" "$ratio"
done

echo
echo "$invitations"

wasm=$(ls target/site/pkg/orgdesk*.wasm | head -1)
node -e '
  const fs = require("fs"), zlib = require("zlib");
  const raw = fs.readFileSync(process.argv[1]);
  const gz = zlib.gzipSync(raw, { level: 9 }).length;
  const br = zlib.brotliCompressSync(raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  const kb = (n) => (n / 1024).toFixed(0) + " KiB";
  console.log(`\nrelease wasm bundle: ${kb(raw.length)} raw, ${kb(gz)} gzip, ${kb(br)} brotli`);
' "$wasm"
