#!/usr/bin/env bash
# Runs the server's integration tests against a real PostgreSQL. Uses TEST_DATABASE_URL when
# given (a URL to an administrative database; each test creates and drops its own database);
# otherwise starts this machine's PostgreSQL cluster if it is down. When none can be had, it
# says so loudly and exits successfully: the SQLite run has already passed.
set -euo pipefail
cd "$(dirname "$0")/.."

skip() {
  printf '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n'
  printf '!!  PostgreSQL run SKIPPED: %s\n' "$*"
  printf '!!  Set TEST_DATABASE_URL=postgres://user:password@host/postgres to run it.\n'
  printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n'
  exit 0
}

# shellcheck source=scripts/postgres.sh
source scripts/postgres.sh
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  local_postgres_url
  TEST_DATABASE_URL=$POSTGRES_URL
fi

echo "==> integration tests on PostgreSQL"
# The same command line as the SQLite run, so nothing is rebuilt.
# Only the integration tests use a database; the rest ran on the SQLite step.
TEST_DATABASE_URL="$TEST_DATABASE_URL" cargo test -p server --features app/ssr --test integration
