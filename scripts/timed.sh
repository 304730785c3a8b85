#!/usr/bin/env bash
# timed.sh STEP COMMAND...: runs COMMAND, then prints and records (in target/step-times.txt)
# how long STEP took, so `make test` ends with each step's time.
set -euo pipefail
step=$1
shift
start=$SECONDS
"$@"
mkdir -p target
printf '%-28s %4d s\n' "$step" $((SECONDS - start)) | tee -a target/step-times.txt
