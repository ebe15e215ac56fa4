"""Summarise a finished `cargo mutants` run for benches/mutation-score.sh.

    python3 cargo_mutants_report.py MUTANTS_OUT WORKSPACE TABLE_FILE SURVIVORS_FILE

Reads MUTANTS_OUT/outcomes.json and writes a tab-separated per-file table (module, generated,
killed, survived, timeout, no_tests, unviable, other) and, for every missed mutant, its
file:line, its description and its diff. cargo-mutants has no "no tests" verdict (that column is
0): a mutant that no test reaches is missed. "other" is a failed scenario.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

VERDICT = {
    "CaughtMutant": "killed",
    "MissedMutant": "survived",
    "Timeout": "timeout",
    "Unviable": "unviable",
}


def main() -> None:
    out_dir, table_path, survivors_path = Path(sys.argv[1]), Path(sys.argv[3]), Path(sys.argv[4])
    outcomes = json.loads((out_dir / "outcomes.json").read_text())["outcomes"]
    counts: dict[str, Counter] = defaultdict(Counter)
    missed = []
    for o in outcomes:
        scenario = o["scenario"]
        if not isinstance(scenario, dict) or "Mutant" not in scenario:
            continue  # the baseline
        mutant = scenario["Mutant"]
        verdict = VERDICT.get(o["summary"], "other")
        counts[mutant["file"]][verdict] += 1
        if verdict in ("survived", "other"):
            line = mutant["span"]["start"]["line"]
            diff = ""
            if o.get("diff_path"):
                diff_file = out_dir / o["diff_path"]
                if diff_file.is_file():
                    diff = diff_file.read_text()
            # The name starts with "file:line:col: "; keep the description after it.
            what = mutant["name"].split(": ", 1)[-1]
            missed.append((mutant["file"], line, f"## {verdict} {mutant['file']}:{line} {what}\n{diff}\n"))
    rows = []
    for file in sorted(counts):
        c = counts[file]
        rows.append(
            [file, sum(c.values()), c["killed"], c["survived"], c["timeout"], 0, c["unviable"], c["other"]]
        )
    table_path.write_text("".join("\t".join(map(str, r)) + "\n" for r in rows))
    survivors_path.write_text("\n".join(text for _, _, text in sorted(missed)))


if __name__ == "__main__":
    main()
