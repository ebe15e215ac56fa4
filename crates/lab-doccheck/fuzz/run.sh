#!/usr/bin/env bash
# Runs lab-doccheck's seeded fuzz tests (tests/check/fuzz.rs) for longer than the test suite
# does, in a release build: random and mutated Markdown through every rule kind, and mutated
# rules files through the parser and the rules. An input that panics or hangs is kept as
# fuzz/corpus/<markdown|rules>/crash-<seed>-<n>.* ; fix the bug and commit the input.
# Usage: crates/lab-doccheck/fuzz/run.sh [SECONDS per fuzzer, default 60] [SEED, default random]
set -euo pipefail
cd "$(dirname "$0")/../../.."
secs=${1:-60}
seed=${2:-$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')}
echo "fuzzing for ${secs}s per fuzzer with seed $seed (rerun: $0 $secs $seed)"
DOCCHECK_FUZZ_SECS="$secs" DOCCHECK_FUZZ_SEED="$seed" \
  cargo test --release -p lab-doccheck --test check fuzz::seeded -- --nocapture 2>&1 |
  grep -E 'fuzz:|panicked|kept as|test result'
