#!/usr/bin/env bash
# Measures Orgdesk under an abuse storm (issue: hardening): 300 sign-ups and 300
# wrong-password logins sent at once to one release server, each from its own client
# address. Reports the server's peak memory (VmHWM), how each storm request was answered
# (503 = refused by the password-work limit), and the p99 latency of a signed-in page
# (wrk) while the storm runs, compared with the same page idle. Asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"

PORT=${BENCH_PORT:-3310}
SIGNUPS=${BENCH_SIGNUPS:-300}
LOGINS=${BENCH_LOGINS:-300}
# shellcheck source=scripts/bench-server.sh
source scripts/bench-server.sh
ensure_wrk

echo "==> building the release server"
true

# Each storm request comes from its own client address (X-Forwarded-For), and sign-ups
# are not limited per address, so every one reaches the password hashing.
start_release_server "$PORT" ${EXTRA_ENV:-} ORGDESK_TRUST_PROXY=true ORGDESK_SIGNUPS_PER_ADDRESS=100000 RUST_LOG=error
cookie=$(sign_up_bench_user -H 'X-Forwarded-For: 192.0.2.1')
[ -n "$cookie" ] || { echo "could not sign the benchmark user up" >&2; exit 1; }
curl -sf -H "Cookie: $cookie" "$BASE/settings" | grep -q "User Settings" \
  || { echo "the signed-in settings page did not render" >&2; exit 1; }

p99() { awk '$1 == "99%" { print $2 }'; }
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$server_pid/status"; }

echo "==> the signed-in page idle (wrk, 4 connections, 10 s)"
idle=$(wrk -t2 -c4 -d10s --latency -H "Cookie: $cookie" "$BASE/settings" | p99)
idle_rss=$(rss_kib)

echo "==> the storm: $SIGNUPS sign-ups and $LOGINS wrong-password logins at once, the page measured meanwhile"
wrk -t1 -c4 -d15s --latency -H "Cookie: $cookie" "$BASE/settings" >"$workdir/during.txt" &
wrk_pid=$!
sleep 1
storm=$(node scripts/abuse-storm.mjs "$BASE" "$SIGNUPS" "$LOGINS")
wait $wrk_pid
during=$(p99 <"$workdir/during.txt")
peak_kib=$(awk '/^VmHWM/ { print $2 }' "/proc/$server_pid/status")

echo
echo "Storm answers (status: count):     $storm"
echo "Signed-in page p99, idle:           $idle"
echo "Signed-in page p99, during storm:   $during"
echo "Server memory: idle $((idle_rss / 1024)) MiB, peak $((peak_kib / 1024)) MiB (VmHWM)"
