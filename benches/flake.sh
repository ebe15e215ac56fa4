#!/usr/bin/env bash
# Grades a lab track's reference solution N times in a row (default 20): once as the learner's
# machine has it (no REDIS_URL: the suites use an in-process fake), and once against a real Redis
# on a loopback port when redis-server is installed. A suite that is not green every time is
# flaky. Prints one line per backend, e.g. `rate-limiter python fake: 20/20 passed`.
#
#   benches/flake.sh LAB [TRACK] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
lab_id=${1:?usage: benches/flake.sh LAB [TRACK] [N]}
track=${2:-}
runs=${3:-20}

cargo build -q --release --locked
lab="$PWD/target/release/lab"
work=$(mktemp -d)
port=6419
cleanup() {
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

"$lab" dev solve "$lab_id" "$work/ws" ${track:+--track "$track"} -q
cd "$work/ws"
track=$(sed -n 's/^track = "\(.*\)"/\1/p' .lab/workspace.toml)
"$lab" setup -q

loop() {
  local backend=$1 passed=0
  for _ in $(seq "$runs"); do
    if "$lab" check -q >/dev/null; then passed=$((passed + 1)); fi
  done
  echo "$lab_id $track $backend: $passed/$runs passed"
  [ "$passed" -eq "$runs" ]
}

status=0
(unset REDIS_URL; loop fake) || status=1
if command -v redis-server >/dev/null; then
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes >/dev/null
  REDIS_URL="redis://127.0.0.1:$port/0" loop redis || status=1
else
  echo "$lab_id $track redis: skipped: redis-server is not installed (apt-get install redis-server)"
fi
exit "$status"
