#!/usr/bin/env bash
# Mutation score of a lab track's reference solution against its own grading suite, per module.
#
#   benches/mutation-score.sh [options] LAB TRACK [MODULE...]
#
#   benches/mutation-score.sh rate-limiter python
#   benches/mutation-score.sh rate-limiter rust ratelimit auth
#   benches/mutation-score.sh --shard 0/3 rate-limiter rust        # every third mutant
#   benches/mutation-score.sh microservices python common/resilience
#
# A MODULE is a path inside the learner's package without its extension: `ratelimit` is
# src/<package>/ratelimit.py on a Python track and src/ratelimit.rs on a Rust track;
# `common/resilience` is src/<package>/common/resilience.py. Without modules, the ones the
# grading is about (see default_modules below).
#
# What it does: builds `lab`, solves the lab into a temporary folder (`lab dev solve`), sets it up
# and grades it once with `lab check` (the reference must be green, and this renders the pristine
# suite into .lab/run/grading). Then:
#   python: installs mutmut (pip) into the workspace's .venv, replaces tests/ with the pristine
#           suite only (the learner's own tests and conftest.py do not count, as in `lab check`),
#           mutates the chosen modules and runs tests/grading with an empty pytest config, no
#           REDIS_URL (fakeredis), PYTEST_ADDOPTS/PYTEST_PLUGINS cleared.
#   rust:   installs cargo-mutants (cargo install) if `cargo mutants` is missing, copies the pristine
#           suite to <workspace>/mutation-grading as a member of a [workspace] with the learner's
#           crate, and runs `cargo mutants -p <crate> --test-package grading` on the chosen files,
#           so every mutant is judged by the grading suite's tests only.
# It prints a per-module table (generated, killed, survived, timeout, no tests, unviable, other,
# score) and the mutants that were not caught, each with its file:line, then deletes the temporary
# folder (--out DIR keeps the table, the survivors with their diffs and the tool's log; --keep
# keeps everything).
#
# Score = (killed + timeout) / (generated - unviable). A timeout counts as caught (`lab check`
# would fail on it too). "no tests" (mutmut: no grading test reaches that function) counts as not
# caught. "unviable" (cargo-mutants: the mutant does not compile) is left out. "other" (mutmut's
# suspicious or segfault, a failed cargo-mutants scenario) counts as not caught; it should be 0.
#
# Needs: cargo, python3 (the Python tracks' venv and the report helpers), network access
# to the Python package index (mutmut) or the Rust crate registry (cargo-mutants on first use,
# about 4 minutes to build).
# Time on 2 cores shared with other work (see docs/grading-strength.md): rate-limiter python
# about 40 min for the six default modules (802 mutants, --jobs 2); rate-limiter rust about
# 15 s a mutant after a first build of 4 min (343 mutants, about 90 min with --jobs 1, so
# --shard 0/4 takes about 22 min); microservices python about 11 min (455 mutants).
#
# Options:
#   --jobs N         parallel mutant runs (mutmut --max-children); default 1. Python only: on a
#                    rust track parallel cargo-mutants jobs share one target folder and run each
#                    other's test binaries, so run shards side by side instead
#   --shard K/N      rust only: run shard K of N (round-robin, so a systematic 1-in-N sample)
#   --out DIR        also write table.tsv, survivors.txt and the tool's log to DIR
#   --keep           keep the temporary workspace and print where it is
# Environment: MUTMUT_VERSION (default 3.8.1), CARGO_MUTANTS_VERSION (default 27.1.0, used when
# installing), MUTATION_TARGET_DIR (a cargo target folder to reuse between runs; default: a
# fresh one inside the temporary folder).
set -euo pipefail
self="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$0")/.."
repo=$PWD
helpers="$repo/benches/mutation"

usage() { sed -n '2,8p' "$self" | sed 's/^# \{0,1\}//' >&2; exit 2; }

jobs=1 shard="" out="" keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --jobs) jobs=${2:?--jobs N}; shift 2 ;;
    --shard) shard=${2:?--shard K/N}; shift 2 ;;
    --out) out=${2:?--out DIR}; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage ;;
    --*) echo "unknown option $1" >&2; usage ;;
    *) break ;;
  esac
done
[ $# -ge 2 ] || usage
if [ "$2" = rust ] && [ "$jobs" != 1 ]; then
  echo "--jobs $jobs: on a rust track parallel jobs share one target folder and judge mutants by each other's test binaries; run --shard K/N scripts side by side, each with its own MUTATION_TARGET_DIR" >&2
  exit 2
fi
lab_id=$1 track=$2
shift 2
modules=("$@")

default_modules() {
  case "$1/$2" in
    rate-limiter/python|rate-limiter/rust)
      echo ratelimit auth tokens passwords distributed http_limits ;;
    microservices/python)
      echo users/app payments/app common/events notifications/worker common/resilience ;;
    *) echo "no default modules for $1 $2: name them" >&2; return 1 ;;
  esac
}
if [ ${#modules[@]} -eq 0 ]; then
  defaults=$(default_modules "$lab_id" "$track") || exit 2
  read -r -a modules <<<"$defaults"
fi
if [ -n "$shard" ] && [ "$track" != rust ]; then
  echo "--shard is for the rust track (cargo-mutants) only" >&2; exit 2
fi

cargo build -q --release --locked
lab="$repo/target/release/lab"
work=$(mktemp -d "${TMPDIR:-/tmp}/mutation-score.XXXXXX")
cleanup() {
  # Whatever there is, even after a failure: the tool's log says what went wrong.
  if [ -n "$out" ] && [ -d "$work/results" ]; then mkdir -p "$out" && cp -r "$work/results"/. "$out"/; fi
  if [ "$keep" = 1 ]; then echo "kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

ws="$work/ws"
results="$work/results"
mkdir -p "$results"
target=${MUTATION_TARGET_DIR:-$work/target}
export LAB_CARGO_TARGET_DIR="$target"
unset REDIS_URL

started=$(date +%s)
"$lab" dev solve "$lab_id" "$ws" --track "$track" -q
cd "$ws"
pkg=$(sed -n 's/^package_name = "\(.*\)"/\1/p' .lab/workspace.toml)
[ -n "$pkg" ] || { echo "no package_name in .lab/workspace.toml" >&2; exit 1; }
[ "$track" = python ] && "$lab" setup -q
if ! "$lab" check -q >"$results/baseline-check.txt" 2>&1; then
  cat "$results/baseline-check.txt" >&2
  echo "the reference solution does not pass its grading suite: no mutation score" >&2
  exit 1
fi

run_python() {
  local files=() m
  for m in "${modules[@]}"; do
    [ -f "src/$pkg/$m.py" ] || { echo "no module src/$pkg/$m.py" >&2; exit 2; }
    files+=("\"src/$pkg/$m.py\"")
  done
  .venv/bin/python -m pip install -q "mutmut==${MUTMUT_VERSION:-3.8.1}"
  # Only the pristine grading suite, as `lab check` runs it.
  rm -rf tests
  mkdir tests
  cp -r .lab/run/grading tests/grading
  printf '[pytest]\n' >mutmut-pytest.ini
  local IFS=,
  cat >>pyproject.toml <<EOF

[tool.mutmut]
source_paths = ["src"]
only_mutate = [${files[*]}]
pytest_add_cli_args_test_selection = ["tests/grading"]
pytest_add_cli_args = ["-c", "mutmut-pytest.ini", "-p", "no:cacheprovider"]
also_copy = ["mutmut-pytest.ini"]
EOF
  unset IFS
  # mutmut runs the suite from ./mutants; suites that read the learner's other files (Dockerfiles,
  # manifests) find the workspace through LAB_WORKSPACE.
  env -u PYTEST_ADDOPTS -u PYTEST_PLUGINS PYTHONDONTWRITEBYTECODE=1 LAB_WORKSPACE="$ws" \
    .venv/bin/mutmut run --max-children "$jobs" >"$results/tool.log" 2>&1 || {
    tail -n 40 "$results/tool.log" >&2
    echo "mutmut run failed (log above)" >&2
    exit 1
  }
  .venv/bin/python "$helpers/mutmut_report.py" "$results/table.tsv" "$results/survivors.txt"
}

run_rust() {
  local args=() m
  for m in "${modules[@]}"; do
    [ -f "src/$m.rs" ] || { echo "no module src/$m.rs" >&2; exit 2; }
    args+=(-f "src/$m.rs")
  done
  if ! cargo mutants --version >/dev/null 2>&1; then
    cargo install -q cargo-mutants --locked --version "${CARGO_MUTANTS_VERSION:-27.1.0}"
  fi
  # The pristine suite as a workspace member beside the learner's crate, with the same lock file.
  cp -r .lab/run/grading mutation-grading
  cp .lab/run/grading/Cargo.lock Cargo.lock
  sed -i 's#path = "\.\./\.\./\.\."#path = ".."#; /^\[workspace\]$/d' mutation-grading/Cargo.toml
  # Profiles only count in the workspace root, which already has the same ones.
  sed -i '/^\[profile\./,$d' mutation-grading/Cargo.toml
  printf '\n[workspace]\nmembers = ["mutation-grading"]\n' >>Cargo.toml
  [ -n "$shard" ] && args+=(--shard "$shard" --sharding round-robin)
  # The suite runs in a few seconds; the 60 s floor keeps a loaded machine from passing slow
  # tests off as timeouts (which count as caught).
  local rc=0
  CARGO_TARGET_DIR="$target" cargo mutants -d "$ws" -p "$pkg" --test-package grading \
    -j "$jobs" --no-shuffle --colors never --minimum-test-timeout 60 --output "$work" "${args[@]}" \
    >"$results/tool.log" 2>&1 || rc=$?
  # 0: all caught, 2: some missed, 3: some timed out; anything else is a failed run.
  case $rc in
    0|2|3) ;;
    *) tail -n 40 "$results/tool.log" >&2; echo "cargo mutants failed ($rc)" >&2; exit 1 ;;
  esac
  python3 "$helpers/cargo_mutants_report.py" "$work/mutants.out" "$ws" \
    "$results/table.tsv" "$results/survivors.txt"
}

case $track in
  python) run_python ;;
  rust) run_rust ;;
  *) echo "unknown track $track (python or rust)" >&2; exit 2 ;;
esac
elapsed=$(($(date +%s) - started))

echo "Mutation score: $lab_id $track${shard:+ (shard $shard)}, $(date -u +%Y-%m-%d), $(nproc) cores, $((elapsed / 60)) min $((elapsed % 60)) s"
awk -F'\t' '
  function row(m, g, k, s, t, n, u, o,   d) {
    d = g - u
    printf "%-44s %9d %7d %8d %7d %8d %8d %5d %7s\n", m, g, k, s, t, n, u, o, d ? sprintf("%.1f%%", 100 * (k + t) / d) : "-"
  }
  BEGIN { printf "%-44s %9s %7s %8s %7s %8s %8s %5s %7s\n", "module", "generated", "killed", "survived", "timeout", "no tests", "unviable", "other", "score" }
  { row($1, $2, $3, $4, $5, $6, $7, $8); G += $2; K += $3; S += $4; T += $5; N += $6; U += $7; O += $8 }
  END { row("total", G, K, S, T, N, U, O) }
' "$results/table.tsv"
echo
echo "Not caught, with file:line in the solved workspace (the same lines as the lab's solution/):"
grep '^## ' "$results/survivors.txt" | sed 's/^## /  /' || echo "  none"
[ -z "$out" ] || echo "results in $out (survivors.txt has the diffs)"
