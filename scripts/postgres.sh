# Shared by the PostgreSQL test run and benchmark (sourced, not run).
# local_postgres_url: sets POSTGRES_URL to this machine's PostgreSQL administrative
# database, starting the cluster if it is down and creating a role for the current OS user;
# on failure calls `skip REASON` (defined by the caller). Call it in the script's own shell,
# not in $(...), so that a skip ends the script.

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

local_postgres_url() {
  local socket=/var/run/postgresql cluster user
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
  POSTGRES_URL="postgres://$user@localhost/postgres?host=$socket"
}
