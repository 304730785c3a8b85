#!/usr/bin/env bash
# Measures Orgdesk on this machine: requests per second and p50/p99 latency (wrk, loopback)
# for a bare axum handler (the machine's ceiling), the login page, the signed-in User
# Settings page, Manage Organizations for a user in 400 organizations, and the Organization
# Profile page, each also as a share of the ceiling; then the release wasm bundle size raw,
# gzip and brotli. Reports figures; asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"

PORT=${BENCH_PORT:-3300}
DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
BASE="http://127.0.0.1:$PORT"

if ! command -v wrk >/dev/null; then
  echo "==> installing wrk"
  if [ "$(id -u)" -eq 0 ]; then apt-get update -qq && apt-get install -y -qq wrk; else sudo apt-get install -y wrk; fi
fi

echo "==> building the release server and wasm bundle"
cargo leptos build --release

workdir=$(mktemp -d)
DATABASE_URL="sqlite://$workdir/bench.db?mode=rwc" \
LEPTOS_SITE_ADDR="127.0.0.1:$PORT" \
LEPTOS_SITE_ROOT=target/site \
ORGDESK_PUBLIC_URL="$BASE" \
ORGDESK_MAIL_DIR="$workdir/mail" \
RUST_LOG=warn \
  ./target/release/server &
server_pid=$!
trap 'kill $server_pid 2>/dev/null; rm -rf "$workdir"' EXIT
for _ in $(seq 1 50); do curl -sf "$BASE/health" >/dev/null && break; sleep 0.2; done

cookie=$(curl -s -o /dev/null -D - -X POST "$BASE/api/accounts/sign_up" \
  -H 'Accept: application/json' -H 'Sec-Fetch-Site: same-origin' \
  --data 'name=Bench+User&email=bench%40example.com&password=correct+horse+battery' \
  | awk -F'[ ;]' 'tolower($1) == "set-cookie:" { print $2 }')
[ -n "$cookie" ] || { echo "could not sign the benchmark user up" >&2; exit 1; }
curl -sf -H "Cookie: $cookie" "$BASE/settings" | grep -q "User Settings" \
  || { echo "the signed-in settings page did not render" >&2; exit 1; }

echo "==> putting the benchmark user in 400 organizations"
for i in $(seq 1 400); do
  curl -sf -o /dev/null -X POST "$BASE/api/organizations/create" \
    -H 'Accept: application/json' -H 'Sec-Fetch-Site: same-origin' -H "Cookie: $cookie" \
    --data "name=Benchmark+Organization+$i" || { echo "creating organization $i failed" >&2; exit 1; }
done
curl -sf -H "Cookie: $cookie" "$BASE/organizations" | grep -q "Benchmark Organization 400" \
  || { echo "Manage Organizations did not list the organizations" >&2; exit 1; }

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

ceiling=$(echo "${results[0]}" | cut -d'|' -f2)
printf '\n| %-42s | %10s | %8s | %8s | %9s |\n' "endpoint" "req/s" "p50" "p99" "vs ceiling"
printf '|%s|%s|%s|%s|%s|\n' "--------------------------------------------" "------------" "----------" "----------" "-----------"
for row in "${results[@]}"; do
  IFS='|' read -r label rps p50 p99 <<<"$row"
  ratio=$(awk -v a="$rps" -v b="$ceiling" 'BEGIN { printf "%.1f%%", 100 * a / b }')
  printf '| %-42s | %10s | %8s | %8s | %9s |\n' "$label" "$rps" "$p50" "$p99" "$ratio"
done

wasm=target/site/pkg/orgdesk.wasm
node -e '
  const fs = require("fs"), zlib = require("zlib");
  const raw = fs.readFileSync(process.argv[1]);
  const gz = zlib.gzipSync(raw, { level: 9 }).length;
  const br = zlib.brotliCompressSync(raw, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  const kb = (n) => (n / 1024).toFixed(0) + " KiB";
  console.log(`\nrelease wasm bundle: ${kb(raw.length)} raw, ${kb(gz)} gzip, ${kb(br)} brotli`);
' "$wasm"
