#!/usr/bin/env bash
# How soon a learner sees the stage they are on, against the full check, for every lab and track
# on its starter and on its reference solution; and `lab setup` with each Python installer.
#
# For each workspace: `lab setup` once, then RUNS checks, each with the history cleared so the
# current stage is the first one. The time to the current stage's result is the figure on the
# early result's line ("· 1.2 s"); the full check's is the report's header ("· 7.1 s"). Both
# are measured by lab from the start of the check. Prints medians and their ratio.
# `lab setup` is timed on each Python starter with LAB_INSTALLER=uv and =pip, each into a fresh
# .venv, with the package caches warm (the second install of the same set) and cold (empty
# cache folders).
# Usage: benches/feedback.sh [RUNS] [LAB ...]   (RUNS default 5; labs default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
shift || true
cargo build --release -q
lab="$PWD/target/release/lab"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

labs=("$@")
if [ ${#labs[@]} -eq 0 ]; then
  mapfile -t labs < <("$lab" list --color never | awk '/^  [a-z]/ {print $1}')
fi

# Prints "early_ms full_ms" for one check's human report (early_ms is "-" when none was shown).
measure() {
  python3 -c '
import re, sys
text = sys.stdin.read()
early = re.search(r"^. Stage \d+ .*: \d+/\d+ passing · ([0-9.]+) (m?s)$", text, re.M)
full = re.search(r"^\S+ \(\w+ track, lab v[^)]*\) · ([0-9.]+) (m?s)$", text, re.M)
if not full:
    sys.exit("no report header in:\n" + text)
shown = str(round(float(early.group(1)) * (1 if early.group(2) == "ms" else 1000))) if early else "-"
print(shown, round(float(full.group(1)) * (1 if full.group(2) == "ms" else 1000)))'
}

median() {
  python3 -c 'import statistics, sys; v = [float(x) for x in sys.argv[1:] if x != "-"]; print(round(statistics.median(v)) if v else "-")' "$@"
}

timed() {
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1 || { echo "failed"; return; }
  end=$(date +%s%N)
  echo $(((end - start) / 1000000))
}

echo "| lab | track | work | current stage shown | full check | ratio | runs |"
echo "| --- | --- | --- | ---: | ---: | ---: | ---: |"
setup_rows=()
for id in "${labs[@]}"; do
  tracks=$("$lab" show "$id" --color never | sed -n 's/^Tracks: //p' | tr ';' '\n' | sed -E 's/^ *([a-z0-9-]+).*/\1/')
  for track in $tracks; do
    for work in starter solution; do
      ws="$tmp/$id-$track-$work"
      if [ "$work" = starter ]; then
        "$lab" new "$id" "$ws" --track "$track" --no-git >/dev/null
      else
        "$lab" dev solve "$id" "$ws" --track "$track" >/dev/null
      fi
      if [ "$work" = starter ] && [ -f "$ws/pyproject.toml" ]; then
        for installer in uv pip; do
          # The first install fills the empty cache folders (cold), the second reuses them (warm).
          for cache in cold warm; do
            rm -rf "$ws/.venv"
            ms=$(cd "$ws" && UV_CACHE_DIR="$tmp/uv-cache-$id" PIP_CACHE_DIR="$tmp/pip-cache-$id-$installer" \
              LAB_INSTALLER=$installer timed "$lab" setup)
            setup_rows+=("| $id | $installer | $cache | $ms ms |")
          done
        done
      else
        (cd "$ws" && "$lab" setup >/dev/null 2>&1) || true
      fi
      earlies=() fulls=()
      for _ in $(seq "$runs"); do
        rm -f "$ws/.lab/history.jsonl"
        read -r early full < <(cd "$ws" && { NO_COLOR=1 "$lab" check 2>/dev/null || true; } | measure)
        earlies+=("$early") fulls+=("$full")
      done
      e=$(median "${earlies[@]}") f=$(median "${fulls[@]}")
      ratio=$(python3 -c 'import sys; e, f = sys.argv[1:]; print(f"{int(e) / int(f):.2f}x" if e != "-" else "-")' "$e" "$f")
      [ "$e" = "-" ] || e="$e ms"
      echo "| $id | $track | $work | $e | $f ms | $ratio | $runs |"
    done
  done
done
if [ ${#setup_rows[@]} -gt 0 ]; then
  echo
  echo "| lab | installer | package cache | lab setup |"
  echo "| --- | --- | --- | ---: |"
  printf '%s\n' "${setup_rows[@]}"
fi
