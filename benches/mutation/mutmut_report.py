"""Summarise a finished `mutmut run` (mutmut 3) for benches/mutation-score.sh.

Run with the workspace's venv python from the workspace root, after `mutmut run`:

    python mutmut_report.py TABLE_FILE SURVIVORS_FILE

Prints nothing; writes a tab-separated per-module table (module, generated, killed, survived,
timeout, no_tests, unviable, other) and, for every mutant that was not caught, its location
(file:line of the first changed line in the original source) and its diff. mutmut has no
unviable mutants (that column is 0); "other" is mutmut's suspicious, segfault or skipped.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from collections import Counter
from pathlib import Path

from mutmut.mutation.diff_apply import get_diff_for_mutant

KILLED = {1, 3, 37}
SURVIVED = {0}
TIMEOUT = {36, 24, -24, 152, 255}
NO_TESTS = {5, 33}


def verdict(code: int | None) -> str:
    if code in KILLED:
        return "killed"
    if code in SURVIVED:
        return "survived"
    if code in TIMEOUT:
        return "timeout"
    if code in NO_TESTS:
        return "no_tests"
    return "other"


def function_start(tree: ast.Module, mutant: str) -> int | None:
    """First line (decorators included) of the function a mutant name points at."""
    name = re.sub(r"__mutmut_\d+$", "", mutant.rpartition(".")[2])
    if name.startswith("xǁ"):
        _, cls, meth = name.split("ǁ", 2)
        scopes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls]
        body = scopes[0].body if scopes else []
        target = meth
    else:
        body, target = tree.body, name[2:]  # "x_" + function name
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == target:
            return min([node.lineno] + [d.lineno for d in node.decorator_list])
    return None


def changed_line(diff: str, start: int | None) -> int | None:
    if start is None:
        return None
    old = None
    for line in diff.splitlines():
        m = re.match(r"^@@ -(\d+)", line)
        if m:
            old = int(m.group(1))
            continue
        if old is None or line.startswith(("---", "+++")):
            continue
        if line.startswith("-"):
            return start + old - 1
        if not line.startswith("+"):
            old += 1
    return None


def main() -> None:
    table_path, survivors_path = Path(sys.argv[1]), Path(sys.argv[2])
    rows = []
    out = []
    for meta in sorted(Path("mutants").rglob("*.py.meta")):
        source = Path(*meta.with_suffix("").parts[1:])  # drop the leading "mutants/"
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        counts = Counter(verdict(c) for c in codes.values())
        rows.append(
            [str(source), len(codes)]
            + [counts[k] for k in ("killed", "survived", "timeout", "no_tests")]
            + [0, counts["other"]]
        )
        tree = ast.parse(source.read_text())
        found = []
        for name, code in codes.items():
            v = verdict(code)
            if v in ("killed", "timeout"):
                continue
            diff = get_diff_for_mutant(name, path=source)
            line = changed_line(diff, function_start(tree, name))
            found.append((line or 0, name, f"## {v} {source}:{line or '?'} {name}\n{diff}\n"))
        out += [text for _, _, text in sorted(found)]
    table_path.write_text("".join("\t".join(map(str, r)) + "\n" for r in rows))
    survivors_path.write_text("\n".join(out))


if __name__ == "__main__":
    main()
