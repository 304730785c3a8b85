#!/usr/bin/env bash
# Lighthouse (npm, in Debian's Chromium, mobile emulation with simulated throttling) for
# signed-in pages: prints "PAGE|performance|accessibility" per page, scores 0-100.
# Usage: scripts/lighthouse.sh BASE COOKIE PATH...   (COOKIE as name=value)
# Installs lighthouse under target/lighthouse the first time (not part of `make test`).
set -euo pipefail
cd "$(dirname "$0")/.."
base=$1 cookie=$2
shift 2

LIGHTHOUSE_VERSION=13.5.0
lighthouse=target/lighthouse/node_modules/.bin/lighthouse
if [ ! -x "$lighthouse" ] || ! grep -q "\"version\": \"$LIGHTHOUSE_VERSION\"" target/lighthouse/node_modules/lighthouse/package.json; then
  echo "==> installing lighthouse $LIGHTHOUSE_VERSION under target/lighthouse" >&2
  npm install --silent --no-audit --no-fund --prefix target/lighthouse "lighthouse@$LIGHTHOUSE_VERSION" >&2
fi

report=$(mktemp --suffix=.json)
trap 'rm -f "$report"' EXIT
for path in "$@"; do
  "$lighthouse" "$base$path" --quiet --output=json --output-path="$report" \
    --only-categories=performance,accessibility \
    --chrome-path="${CHROMIUM_PATH:-/usr/bin/chromium}" \
    --chrome-flags="--headless=new --no-sandbox --disable-gpu" \
    --extra-headers="{\"Cookie\": \"$cookie\"}"
  node -e '
    const report = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const score = (c) => Math.round(report.categories[c].score * 100);
    if (report.finalDisplayedUrl !== process.argv[2]) {
      console.error(`lighthouse measured ${report.finalDisplayedUrl}, not ${process.argv[2]}`);
      process.exit(1);
    }
    console.log(`${process.argv[3]}|${score("performance")}|${score("accessibility")}`);
  ' "$report" "$base$path" "$path"
done
