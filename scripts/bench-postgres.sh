#!/usr/bin/env bash
# Measures Orgdesk on PostgreSQL with two release server processes on one database behind
# nginx (plain round-robin, so any process serves any request): the signed-in User
# Settings page through one process and through both, and the Users tab of a
# 100,000-member organization (first page, a search, a later page). Figures are also shown
# as a share of the bare axum handler's (the ceiling). Run by `make bench` after
# scripts/bench.sh, whose release build and seeder it uses. Asserts nothing; without
# PostgreSQL it says why and skips.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/end2end/node_modules/.bin:$HOME/.cargo/bin:$PATH"

FIRST=${BENCH_PG_FIRST_PORT:-3340}
SECOND=${BENCH_PG_SECOND_PORT:-3341}
FRONT=${BENCH_PG_FRONT_PORT:-3342}
DURATION=${BENCH_DURATION:-10s}
CONNECTIONS=${BENCH_CONNECTIONS:-32}

skip() {
  echo "==> PostgreSQL benchmark SKIPPED: $*"
  exit 0
}
# shellcheck source=scripts/postgres.sh
source scripts/postgres.sh
# shellcheck source=scripts/bench-server.sh
source scripts/bench-server.sh
ensure_wrk
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  echo "==> installing nginx (the round-robin in front of the two processes)"
  as_root apt-get install -y -qq nginx-light >/dev/null || skip "nginx could not be installed"
fi
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x ./target/release/server ] && [ -x ./target/release/examples/seed_members ] \
  || skip "run scripts/bench.sh first (it builds the release server and the seeder)"

local_postgres_url
database="orgdesk_bench_$$"
psql "$POSTGRES_URL" -qc "CREATE DATABASE $database"
DATABASE_URL="${POSTGRES_URL/\/postgres\?//$database?}"
workdir=$(mktemp -d)
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  [ -f "$workdir/nginx.pid" ] && kill "$(cat "$workdir/nginx.pid")" 2>/dev/null || true
  sleep 1
  psql "$POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" || true
  rm -rf "$workdir"
}
trap cleanup EXIT

BASE="http://127.0.0.1:$FRONT"
secret_key=$(./target/release/server generate-secret-key)
# One at a time: the first migrates the new database.
for port in "$FIRST" "$SECOND"; do
  launch_server "$port" "$workdir" DATABASE_URL="$DATABASE_URL" ORGDESK_PUBLIC_URL="$BASE" \
    ORGDESK_SECRET_KEY="$secret_key" ORGDESK_TRUST_PROXY=true RUST_LOG=warn
  pids+=("$launched_pid")
done

cat >"$workdir/nginx.conf" <<NGINX
worker_processes 1;
pid $workdir/nginx.pid;
error_log $workdir/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $workdir/body;
  proxy_temp_path $workdir/proxy;
  fastcgi_temp_path $workdir/fastcgi;
  uwsgi_temp_path $workdir/uwsgi;
  scgi_temp_path $workdir/scgi;
  upstream orgdesk {
    server 127.0.0.1:$FIRST;
    server 127.0.0.1:$SECOND;
    keepalive 64;
  }
  server {
    listen 127.0.0.1:$FRONT;
    location / {
      proxy_pass http://orgdesk;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-For \$remote_addr;
    }
  }
}
NGINX
"$NGINX" -c "$workdir/nginx.conf" -p "$workdir" -e "$workdir/nginx-error.log"
for _ in $(seq 1 50); do curl -sf "$BASE/health" >/dev/null && break; sleep 0.2; done

echo "==> the benchmark user and an organization of 100,000 members, through nginx"
cookie=$(MAIL_DIRS="$workdir/mail-$FIRST $workdir/mail-$SECOND" sign_up_bench_user)
[ -n "$cookie" ] || { echo "could not sign the benchmark user up" >&2; exit 1; }
current=$(create_organization "$BASE" "$cookie" "Benchmark Organization")
./target/release/examples/seed_members "$DATABASE_URL" "$current" 100000
psql "${POSTGRES_URL/\/postgres\?//$database?}" -qc "ANALYZE" 2>/dev/null || true
for port in "$FIRST" "$SECOND"; do
  curl -s -H "Cookie: $cookie" -H "Host: 127.0.0.1:$FRONT" "http://127.0.0.1:$port/access-control" \
    >"$workdir/users-$port.html"
  grep -q "100,001 users\|100001 users" "$workdir/users-$port.html" || {
    echo "process on $port did not count 100,001 users:" >&2
    grep -o "[0-9,]* users" "$workdir/users-$port.html" | head -3 >&2
    head -c 600 "$workdir/users-$port.html" >&2
    exit 1
  }
done

echo "==> load: $CONNECTIONS connections, $DURATION each"
results=()
BASE="http://127.0.0.1:$FIRST"
results+=("$(measure 'bare axum handler (ceiling)' /health)")
results+=("$(measure 'PostgreSQL, one process: User Settings' /settings -H "Cookie: $cookie" -H "Host: 127.0.0.1:$FRONT")")
BASE="http://127.0.0.1:$FRONT"
results+=("$(measure 'PostgreSQL, two processes behind nginx: User Settings' /settings -H "Cookie: $cookie")")
results+=("$(measure 'PostgreSQL: Users tab, 100,000 members, first page' /access-control -H "Cookie: $cookie")")
results+=("$(measure 'PostgreSQL: Users tab, 100,000 members, search' '/access-control?q=member-04242' -H "Cookie: $cookie")")
# Page 2,000 as Next opens it (its cursor), which is how a user gets there.
page_2000=$(next_page_link "$BASE" "$cookie" 2000)
[ -n "$page_2000" ] || { echo "page 1,999 of the Users tab has no Next page link" >&2; exit 1; }
results+=("$(measure 'PostgreSQL: Users tab, 100,000 members, page 2,000' "$page_2000" -H "Cookie: $cookie")")
print_results

# Directory sync: the deactivation goes through nginx to either process, and the person's
# browser asks either process for its page until one refuses it.
if [ -x ./target/release/examples/seed_directory ]; then
  echo
  echo "==> directory sync, two processes: from a deactivation to the next refused page"
  ./target/release/examples/seed_directory "$DATABASE_URL" "$current" bench.example \
    "$workdir/scim-token" "$workdir/scim-sessions" >/dev/null
  node scripts/bench-scim.mjs deactivate "$BASE" "$(cat "$workdir/scim-token")" "$workdir/scim-sessions" \
    | sed 's/$/ (two processes behind nginx, PostgreSQL)/'
else
  echo "==> directory sync on PostgreSQL SKIPPED: run scripts/bench-scim.sh first (it builds seed_directory)"
fi
