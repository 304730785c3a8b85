#!/usr/bin/env bash
# Measures Orgdesk on this machine: requests per second and p50/p99 latency (wrk, loopback)
# for a bare axum handler (the machine's ceiling), the login page, the signed-in User
# Settings page, Manage Organizations for a user in 400 organizations, the Organization
# Profile page, and the Access Control Users tab of an organization with 100,000 members
# (first page, a search, a later page) and User Settings spread over 10,000 signed-in
# members' sessions, each also as a share of the ceiling; the server's memory holding those
# sessions; the time to create 1,000 invitations with their mail queued and until maildev
# (a real SMTP server) has received all 1,000; password logins per second per core; SAML
# ACS verifications per second on one core and the ACS's p99 with 32 at once;
# Lighthouse scores of the Welcome and Access Control pages; then the release wasm bundle
# size raw, gzip and brotli, and the goals table of issue 12.
# Reports figures; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"

PORT=${BENCH_PORT:-3300}
SMTP_PORT=${BENCH_SMTP_PORT:-3325}
MAIL_API_PORT=${BENCH_MAIL_API_PORT:-3326}
DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
# shellcheck source=scripts/bench-server.sh
source scripts/bench-server.sh
ensure_wrk

echo "==> building the release server and wasm bundle, and the benchmark data seeder"
cargo leptos build --release --precompress
cargo build --release -p server --example seed_members --example seed_sessions --example bench_saml

echo "==> starting maildev (SMTP on $SMTP_PORT): the server's mail goes to a real SMTP server"
maildev --smtp "$SMTP_PORT" --ip 127.0.0.1 --web "$MAIL_API_PORT" --web-ip 127.0.0.1 --silent &
maildev_pid=$!
export MAIL_API="http://127.0.0.1:$MAIL_API_PORT"
for _ in $(seq 1 50); do curl -sf "$MAIL_API/api/healthz" >/dev/null && break; sleep 0.2; done
# Logins in the benchmark come from many client addresses (X-Forwarded-For), as through
# a proxy, so that no per-address throttle decides the logins-per-second figure.
start_release_server "$PORT" RUST_LOG=warn SMTP_URL="smtp://127.0.0.1:$SMTP_PORT" ORGDESK_TRUST_PROXY=true
trap 'kill $server_pid $maildev_pid 2>/dev/null; rm -rf "$workdir"' EXIT
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

echo "==> creating 1,000 invitations"
invitations=$(node scripts/bench-invitations.mjs "$BASE" "$cookie" "$MAIL_API")
echo "$invitations"

echo "==> a second user whose organization has 10 members"
small_cookie=$(BENCH_NAME="Small Owner" BENCH_EMAIL=small@example.com \
  sign_up_bench_user -H 'X-Forwarded-For: 192.0.2.10')
small_org=$(create_organization "$BASE" "$small_cookie" "Small Organization")
./target/release/examples/seed_members "sqlite://$workdir/bench.db?mode=rwc" "$small_org" 9 small
curl -sf -H "Cookie: $small_cookie" "$BASE/access-control" | grep -q ">10 users\|10 users" \
  || { echo "the small organization's Users tab did not count 10 users" >&2; exit 1; }

echo "==> adding 100,000 members to the current organization"
current=$(current_organization "$BASE" "$cookie")
./target/release/examples/seed_members "sqlite://$workdir/bench.db?mode=rwc" "$current" 100000
curl -sf -H "Cookie: $cookie" "$BASE/access-control" | grep -q "100,001 users\|100001 users" \
  || { echo "the Users tab did not count 100,001 users" >&2; exit 1; }


echo "==> load: $CONNECTIONS connections, $DURATION each, wrk and server sharing this machine's $(nproc) cores"
results=()
results+=("$(measure 'bare axum handler (ceiling)' /health)")
results+=("$(measure 'login page (SSR)' /login)")
results+=("$(measure 'User Settings, signed in (SSR + session)' /settings -H "Cookie: $cookie")")
results+=("$(measure 'Users tab, 10 members' /access-control -H "Cookie: $small_cookie")")
results+=("$(measure 'Welcome page, 400 organizations' / -H "Cookie: $cookie")")
results+=("$(measure 'Manage Organizations, 400 organizations' /organizations -H "Cookie: $cookie")")
results+=("$(measure 'Organization Profile' /organization/profile -H "Cookie: $cookie")")
results+=("$(measure 'Users tab, 100,000 members, first page' /access-control -H "Cookie: $cookie")")
results+=("$(measure 'Users tab, 100,000 members, search' '/access-control?q=member-04242' -H "Cookie: $cookie")")
# Page 2,000 as Next opens it (its cursor), which is how a user gets there.
page_2000=$(next_page_link "$BASE" "$cookie" 2000)
[ -n "$page_2000" ] || { echo "page 1,999 of the Users tab has no Next page link" >&2; exit 1; }
results+=("$(measure 'Users tab, 100,000 members, page 2,000' "$page_2000" -H "Cookie: $cookie")")

echo "==> signing in 10,000 of the members; User Settings for each session in turn"
./target/release/examples/seed_sessions "sqlite://$workdir/bench.db?mode=rwc" 10000 "$workdir/tokens.txt"
script_args=("$workdir/tokens.txt")
results+=("$(measure 'User Settings, 10,000 sessions in turn' /settings -s scripts/wrk-sessions.lua)")
script_args=()
busy_rss_mib=$(awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$server_pid/status")

# The memory that 10,000 live sessions take: a fresh server whose only work is them (the
# server above has also served every other benchmark, and its memory shows that too).
echo "==> a fresh server holding 10,000 members' sessions, each used in turn for $DURATION"
memdir=$(mktemp -d)
mem_base="http://127.0.0.1:$((PORT + 1))"
launch_server "$((PORT + 1))" "$memdir" RUST_LOG=warn
mem_pid=$launched_pid
mem_cookie=$(MAIL_API="" MAIL_DIRS="$memdir/mail-$((PORT + 1))" BASE=$mem_base sign_up_bench_user)
mem_org=$(create_organization "$mem_base" "$mem_cookie" "Sessions")
./target/release/examples/seed_members "sqlite://$memdir/bench.db?mode=rwc" "$mem_org" 10000 >/dev/null
./target/release/examples/seed_sessions "sqlite://$memdir/bench.db?mode=rwc" 10000 "$memdir/tokens.txt" >/dev/null
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s scripts/wrk-sessions.lua "$mem_base/settings" "$memdir/tokens.txt" >/dev/null
rss_mib=$(awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$mem_pid/status")
peak_mib=$(awk '/^VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$mem_pid/status")
kill "$mem_pid"; rm -rf "$memdir"
sessions_memory="server memory holding 10,000 sessions, each used: ${rss_mib} MiB resident (peak ${peak_mib} MiB); the benchmark server after everything above: ${busy_rss_mib} MiB"
echo "$sessions_memory"

echo "==> password logins (argon2id, 19 MiB, 2 passes), 4 at a time"
logins=$(node scripts/bench-logins.mjs "$BASE" bench@example.com 'correct horse battery' 300 4)
echo "$logins"

echo "==> SAML: ACS verifications on one core, and the ACS with 32 posts at once (in-process)"
saml=$(./target/release/examples/bench_saml)
echo "$saml"

echo "==> Lighthouse (mobile, simulated slow 4G) for the Welcome and Access Control pages"
lighthouse_rows=$(scripts/lighthouse.sh "$BASE" "$cookie" / /access-control)
echo "$lighthouse_rows"

print_results

echo
echo "$invitations"
echo "$sessions_memory"
echo "$logins"
echo "$saml"
echo "$lighthouse_rows" | awk -F'|' '{ printf "Lighthouse %s: performance %s, accessibility %s\n", $1, $2, $3 }'

# The uncompressed bundle (cargo-leptos also wrote .br and .gz copies beside it).
wasm=$(ls target/site/pkg/orgdesk*.wasm | head -1)
bundle=$(node -e '
  const fs = require("fs"), zlib = require("zlib");
  const raw = fs.readFileSync(process.argv[1]);
  const gz = zlib.gzipSync(raw, { level: 9 }).length;
  const br = zlib.brotliCompressSync(raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  const kb = (n) => (n / 1024).toFixed(0) + " KiB";
  console.log(`release wasm bundle: ${kb(raw.length)} raw, ${kb(gz)} gzip, ${kb(br)} brotli`);
' "$wasm")
echo
echo "$bundle"

# The goals of issue 12 next to this run's figures.
column_of() { # LABEL COLUMN(2 = req/s, 3 = p50, 4 = p99)
  local row
  for row in "${results[@]}"; do
    if [ "${row%%|*}" = "$1" ]; then echo "$row" | cut -d'|' -f"$2"; return; fi
  done
}
share_of() { awk -v a="$(column_of "$1" 2)" -v b="$ceiling" 'BEGIN { printf "%.1f %%", 100 * a / b }'; }
echo
echo "Goals (issue 12) and this run"
printf '| %-62s | %-24s | %-12s |\n' "figure" "measured" "goal"
printf '|%s|%s|%s|\n' "----------------------------------------------------------------" "--------------------------" "--------------"
goal() { printf '| %-62s | %-24s | %-12s |\n' "$1" "$2" "$3"; }
goal "User Settings, signed in: share of the ceiling" "$(share_of 'User Settings, signed in (SSR + session)')" "≥ 10 %"
goal "Users tab of a 10-member organization: share of the ceiling" "$(share_of 'Users tab, 10 members')" "≥ 10 %"
goal "Organization Profile p99 under load" "$(column_of 'Organization Profile' 4)" "≤ 20 ms"
goal "Manage Organizations, 400 organizations, p50" "$(column_of 'Manage Organizations, 400 organizations' 3)" "≤ 20 ms"
goal "Welcome page, 400 organizations, p50" "$(column_of 'Welcome page, 400 organizations' 3)" "≤ 20 ms"
goal "Users tab, 100,000 members, first page / search / page 2,000, p50" \
  "$(column_of 'Users tab, 100,000 members, first page' 3) / $(column_of 'Users tab, 100,000 members, search' 3) / $(column_of 'Users tab, 100,000 members, page 2,000' 3)" "≤ 20 ms each"
goal "1,000 invitations through the server function, mail queued" "$(echo "$invitations" | awk '/mail queued/ { print $5, $6 }' | tr -d ,)" "≤ 1 s"
goal "all 1,000 invitation emails received by maildev" "$(echo "$invitations" | awk '/received by maildev/ { print $(NF-6), "s" } /only/ { print "not all" }')" "≤ 30 s"
goal "release wasm, brotli (the only bundle; first load)" "$(echo "$bundle" | awk '{ print $(NF-2), $(NF-1) }' | tr -d ,)" "≤ 150 KB"
goal "resident memory of a server holding 10,000 live sessions" "${rss_mib} MiB" "≤ 60 MB"
lighthouse_of() { echo "$lighthouse_rows" | awk -F'|' -v p="$1" '$1 == p { print $2 " / " $3 }'; }
goal "Lighthouse performance / accessibility, Welcome" "$(lighthouse_of /)" "≥ 95 each"
goal "Lighthouse performance / accessibility, Access Control" "$(lighthouse_of /access-control)" "≥ 95 each"
goal "password logins per second per core" "$(echo "$logins" | awk '{ for (i = 1; i <= NF; i++) if ($i == "per" && $(i+1) == "core,") print $(i-1) }' | sed 's|/s||')" "≥ 20"
