#!/usr/bin/env bash
# Times `lab new` against a plain copy of the same rendered tree, `lab list`, and what
# `lab check` adds to its runner's own time. Needs hyperfine (Debian: apt-get install hyperfine)
# and, for the check, python3 with pytest (LAB_PYTHON, else a venv made here).
# Usage: benches/bench.sh [LAB]   (default: the lab with the most files)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "bench: hyperfine is not installed (apt-get install hyperfine)" >&2; exit 2; }
cargo build --release -q
lab="$PWD/target/release/lab"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

largest=""
most=0
for id in $("$lab" list --color never | awk '/^  [a-z]/ {print $1}'); do
  n=$("$lab" new "$id" "$tmp/count" --dry-run | grep -c '^  ' || true)
  if [ "$n" -gt "$most" ]; then most=$n; largest=$id; fi
done
subject=${1:-$largest}
echo "== lab new $subject ($most files) vs cp -r of the same tree"
"$lab" new "$subject" "$tmp/reference" --no-git >/dev/null
hyperfine -N --warmup 3 --runs 30 --prepare "rm -rf $tmp/out" \
  "$lab new $subject $tmp/out --no-git" \
  "cp -r $tmp/reference $tmp/out"

echo "== lab list"
hyperfine -N --warmup 5 --runs 50 "$lab list"

echo "== lab check vs its runner alone (fixture lab, pytest)"
python=${LAB_PYTHON:-}
if [ -z "$python" ]; then
  python3 -m venv "$tmp/venv" && "$tmp/venv/bin/pip" install -q pytest
  python="$tmp/venv/bin/python"
fi
fixtures="$PWD/tests/fixtures/labs"
"$lab" --labs-dir "$fixtures" new hello "$tmp/ws" --no-git >/dev/null
cd "$tmp/ws"
export LAB_PYTHON="$python"
"$lab" --labs-dir "$fixtures" check >/dev/null || true
# The same pytest command lab check runs, with the same environment.
raw="env PYTHONPATH=$tmp/ws/src:$tmp/ws PYTHONDONTWRITEBYTECODE=1 $python -m pytest .lab/run/grading -c .lab/run/pytest.ini --rootdir .lab/run --confcutdir .lab/run -p no:cacheprovider -q --color=no --tb=native --junitxml .lab/run/junit.xml"
hyperfine -N -i --warmup 3 --runs 30 \
  "$lab --labs-dir $fixtures check" \
  "$raw"

echo "== lab check: its own time apart from the runner's (elapsed_ms - runner_ms, 20 checks)"
for _ in $(seq 20); do
  "$lab" --labs-dir "$fixtures" check --json 2>/dev/null || true
done | python3 -c '
import json, statistics, sys
docs, buf = [], ""
for line in sys.stdin:
    buf += line
    if line.startswith("}"):
        docs.append(json.loads(buf)); buf = ""
over = sorted(d["elapsed_ms"] - d["runner_ms"] for d in docs)
print(f"overhead ms over {len(over)} checks: min {over[0]}, median {statistics.median(over)}, max {over[-1]}")
'
