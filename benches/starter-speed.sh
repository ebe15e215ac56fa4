#!/usr/bin/env bash
# Compares how long `lab check` takes on a lab's fresh starter under two lab binaries (e.g.
# one built from an older commit), interleaving the runs so machine load hits both alike.
# Prints each binary's median of the elapsed time the report states.
# Usage: benches/starter-speed.sh OLD_LAB NEW_LAB LAB [TRACK] [RUNS]   (RUNS default 7)
# Python tracks use LAB_PYTHON when set (an interpreter with the lab's dev dependencies).
set -euo pipefail
[ $# -ge 3 ] || { sed -n 2,6p "$0" >&2; exit 2; }
old=$(realpath "$1") new=$(realpath "$2") lab_id=$3 track=${4:-} runs=${5:-7}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
track_args=()
[ -n "$track" ] && track_args=(--track "$track")
for who in old new; do
  bin=${!who}
  "$bin" new "$lab_id" "$tmp/$who" --no-git "${track_args[@]}" >/dev/null
  (cd "$tmp/$who" && "$bin" check >/dev/null 2>&1 || true)   # warm-up, builds caches
done
for _ in $(seq "$runs"); do
  for who in old new; do
    bin=${!who}
    (cd "$tmp/$who" && "$bin" check --json 2>/dev/null || true) \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["elapsed_ms"])' >>"$tmp/$who.ms"
  done
done
for who in old new; do
  python3 - "$who" "$tmp/$who.ms" <<'PY'
import statistics, sys
ms = sorted(int(x) for x in open(sys.argv[2]))
print(f"{sys.argv[1]}: median {statistics.median(ms):.0f} ms over {len(ms)} runs (min {ms[0]}, max {ms[-1]})")
PY
done
