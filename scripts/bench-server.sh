# Shared by the benchmark scripts (sourced, not run): wrk, and a release server on a fresh
# SQLite database in a temporary folder. Extra settings come as VAR=value arguments.

ensure_wrk() {
  if ! command -v wrk >/dev/null; then
    echo "==> installing wrk"
    if [ "$(id -u)" -eq 0 ]; then apt-get update -qq && apt-get install -y -qq wrk; else sudo apt-get install -y wrk; fi
  fi
}

# launch_server PORT DIR [VAR=value ...]: a release server on 127.0.0.1:PORT with a SQLite
# database in DIR (the VAR=value settings come last, so they may replace any of these);
# sets launched_pid and returns once /health answers.
launch_server() {
  local port=$1 dir=$2
  shift 2
  env DATABASE_URL="sqlite://$dir/bench.db?mode=rwc" \
    LEPTOS_SITE_ADDR="127.0.0.1:$port" \
    LEPTOS_SITE_ROOT=target/site \
    ORGDESK_PUBLIC_URL="http://127.0.0.1:$port" \
    ORGDESK_MAIL_DIR="$dir/mail-$port" \
    "$@" \
    ./target/release/server >"$dir/server-$port.log" 2>&1 &
  launched_pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && return; sleep 0.2; done
}

# start_release_server PORT [VAR=value ...]: the benchmark's server in a new temporary
# folder; sets workdir, server_pid and BASE; stops the server and removes the folder on exit.
start_release_server() {
  local port=$1
  shift
  BASE="http://127.0.0.1:$port"
  workdir=$(mktemp -d)
  launch_server "$port" "$workdir" "$@"
  server_pid=$launched_pid
  export MAIL_DIRS="$workdir/mail-$port"
  trap 'kill $server_pid 2>/dev/null; rm -rf "$workdir"' EXIT
}

# current_organization BASE COOKIE: prints the public ID of COOKIE's user's current
# organization.
current_organization() {
  curl -sf -X POST "$1/api/organizations/mine" -H 'Accept: application/json' \
    -H 'Sec-Fetch-Site: same-origin' -H "Cookie: $2" --data 'query=&page=1' \
    | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).current.public_id))'
}

# create_organization BASE COOKIE NAME: creates it as COOKIE's user (it becomes their
# current one) and prints its public ID.
create_organization() {
  curl -sf -o /dev/null -X POST "$1/api/organizations/create" \
    -H 'Accept: application/json' -H 'Sec-Fetch-Site: same-origin' -H "Cookie: $2" \
    --data-urlencode "name=$3" || { echo "creating the organization $3 failed" >&2; return 1; }
  current_organization "$1" "$2"
}

# mailed_link TEXT TO: the first link containing TEXT in a message the server sent to TO:
# from maildev's API when MAIL_API is set, else from the mail folders in MAIL_DIRS (the
# server's default without SMTP; space-separated, several processes may share the work).
mailed_link() {
  python3 - "$1" "$2" <<'PY'
import email, glob, json, os, re, sys, urllib.request
needle, to = sys.argv[1], sys.argv[2]
texts = []
api = os.environ.get("MAIL_API")
if api:
    for message in json.load(urllib.request.urlopen(api + "/api/email")):
        if any(t.get("address") == to for t in message.get("to", [])):
            texts.append(message.get("text") or "")
else:
    for folder in os.environ.get("MAIL_DIRS", "").split():
        for path in sorted(glob.glob(os.path.join(folder, "**", "*"), recursive=True)):
            if not os.path.isfile(path):
                continue
            with open(path, "rb") as file:
                message = email.message_from_binary_file(file)
            if to not in (message.get("To") or ""):
                continue
            for part in message.walk():
                if part.get_content_type() == "text/plain":
                    texts.append(part.get_payload(decode=True).decode("utf-8", "replace"))
for text in texts:
    found = re.search(r"https?://\S*" + re.escape(needle) + r"\S*", text)
    if found:
        print(found.group(0))
        break
PY
}

# sign_up_bench_user [curl options...]: signs BENCH_NAME at BENCH_EMAIL up (Bench User,
# bench@example.com), confirms the address with the mailed link and the password as a
# person does, and prints the session cookie (name=value).
sign_up_bench_user() {
  local email=${BENCH_EMAIL:-bench@example.com} link=""
  curl -sf -o /dev/null -X POST "$BASE/api/accounts/sign_up" \
    -H 'Accept: application/json' -H 'Sec-Fetch-Site: same-origin' "$@" \
    --data-urlencode "name=${BENCH_NAME:-Bench User}" --data-urlencode "email=$email" \
    --data 'password=correct+horse+battery' || return 1
  for _ in $(seq 1 100); do
    link=$(mailed_link '/verify-email?token=' "$email")
    [ -n "$link" ] && break
    sleep 0.2
  done
  [ -n "$link" ] || { echo "no verification link reached $email" >&2; return 1; }
  curl -s -o /dev/null -D - -X POST "$BASE/api/accounts/verify_email" \
    -H 'Accept: application/json' -H 'Sec-Fetch-Site: same-origin' "$@" \
    --data "token=${link##*token=}" --data 'password=correct+horse+battery' \
    | awk -F'[ ;]' 'tolower($1) == "set-cookie:" && $2 ~ /orgdesk_session=/ { print $2 }'
}

# wrk prints "Requests/sec: N" and, with --latency, "50% X" / "99% Y".
# measure LABEL PATH [wrk options...]; a wrk script's arguments go in script_args.
script_args=()
measure() {
  local label=$1 path=$2; shift 2
  local out
  out=$(wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "$@" "$BASE$path" "${script_args[@]}")
  if echo "$out" | grep -q "Non-2xx"; then echo "$label answered errors:" >&2; echo "$out" >&2; exit 1; fi
  local rps p50 p99
  rps=$(echo "$out" | awk '/Requests\/sec/ { print $2 }')
  p50=$(echo "$out" | awk '$1 == "50%" { print $2 }')
  p99=$(echo "$out" | awk '$1 == "99%" { print $2 }')
  echo "$label|$rps|$p50|$p99"
}

# print_results: the results array as a table, each row's req/s also as a share of the
# first row's (the ceiling); sets ceiling.
print_results() {
  ceiling=$(echo "${results[0]}" | cut -d'|' -f2)
  printf '\n| %-42s | %10s | %8s | %8s | %9s |\n' "endpoint" "req/s" "p50" "p99" "vs ceiling"
  printf '|%s|%s|%s|%s|%s|\n' "--------------------------------------------" "------------" "----------" "----------" "-----------"
  for row in "${results[@]}"; do
    IFS='|' read -r label rps p50 p99 <<<"$row"
    ratio=$(awk -v a="$rps" -v b="$ceiling" 'BEGIN { printf "%.1f%%", 100 * a / b }')
    printf '| %-42s | %10s | %8s | %8s | %9s |\n' "$label" "$rps" "$p50" "$p99" "$ratio"
  done
}

# next_page_link BASE COOKIE PAGE: the Users tab's "Next page" link as page PAGE - 1 shows
# it (with its keyset cursor: the page a user reaches by pressing Next).
next_page_link() {
  curl -sf -H "Cookie: $2" "$1/access-control?tab=users&page=$(($3 - 1))" \
    | grep -o "href=\"/access-control?tab=users[^\"]*page=$3&amp;after=[^\"]*\"" | head -1 \
    | sed -e 's/^href="//' -e 's/"$//' -e 's/&amp;/\&/g'
}
