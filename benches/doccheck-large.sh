#!/usr/bin/env bash
# Times every lab-doccheck rule on a generated 5 MB design document and on 5 MB inputs shaped to
# hit super-linear paths (one huge line, deep nesting, 100k headings, huge tables, many anchors),
# in a release build. Each rule is graded on its own, reading the document itself, and must take
# under a second; the script prints the slowest rule per input and fails when one is slower.
# The generators and the rules live in crates/lab-doccheck/tests/check/large.rs. Times are wall
# clock: on a busy machine they grow with the load, so compare runs on a quiet one.
# Measured 2026-11-29 on the shared 2-core machine at load ~1: the slowest rule on any input took
# 0.70 s (numbers-consistent on nested-lists); every input passed.
# Usage: benches/doccheck-large.sh [INPUT]   (one pathological input by name, e.g. headings-100k)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
DOCCHECK_LARGE_ONLY="${1:-}" cargo test --release -p lab-doccheck --test check large:: -- \
  --ignored --nocapture --test-threads 1 >"$out" 2>&1 || status=$?
printf "%-22s %-28s %9s %11s\n" input "slowest rule" seconds "all rules"
# a report line may follow libtest's "test ... " prefix on the same line: keep the last word
awk -F'\t' 'NF == 3 { sub(/.* /, "", $1); if (!($1 in worst) || $3 > worst[$1]) { worst[$1] = $3; rule[$1] = $2 }; total[$1] += $3 }
  END {
    for (k in worst) printf "%-22s %-28s %9.3f %11.3f%s\n", k, rule[k], worst[k], total[k], (worst[k] >= 1 ? "  SLOW" : "")
  }' "$out" | sort
if [ "$status" -ne 0 ]; then
  grep -E 'panicked|slow inputs|slowest rule took' "$out" >&2 || tail -20 "$out" >&2
  exit "$status"
fi
