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

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  socket=/var/run/postgresql
  command -v pg_isready >/dev/null || skip "no PostgreSQL client tools (pg_isready) on this machine"
  if ! pg_isready -q -h "$socket"; then
    command -v pg_ctlcluster >/dev/null || skip "PostgreSQL is down and pg_ctlcluster is missing"
    cluster=$(pg_lsclusters -h 2>/dev/null | awk 'NR == 1 { print $1 " " $2 }')
    [ -n "$cluster" ] || skip "no PostgreSQL cluster exists on this machine"
    echo "==> starting PostgreSQL cluster $cluster"
    # shellcheck disable=SC2086
    as_root pg_ctlcluster $cluster start || skip "could not start PostgreSQL cluster $cluster"
    for _ in $(seq 1 30); do pg_isready -q -h "$socket" && break; sleep 1; done
    pg_isready -q -h "$socket" || skip "PostgreSQL did not come up"
  fi
  user=$(id -un)
  # Local socket logins use peer authentication: the OS user needs a role of the same name.
  if ! psql -h "$socket" -d postgres -Atc 'select 1' >/dev/null 2>&1; then
    as_root su postgres -c "createuser --superuser $user" \
      || skip "could not create a PostgreSQL role for $user"
  fi
  TEST_DATABASE_URL="postgres://$user@localhost/postgres?host=$socket"
fi

echo "==> integration tests on PostgreSQL"
# The same command line as the SQLite run, so nothing is rebuilt.
TEST_DATABASE_URL="$TEST_DATABASE_URL" cargo test -p app -p server -p migration --features app/ssr
