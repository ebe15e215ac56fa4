"""A linearizability checker for key-value histories (Wing & Gong, with Lowe's memoisation).

Linearizability is local (Herlihy & Wing): a history is linearizable if and only
if the sub-history of every key is, so each key is checked on its own.

An operation is a dict: {"op": "get"|"put"|"append", "key", "value" (put/append),
"output" (what a get returned), "call", "ret"}. Times are any totally ordered
numbers (the simulator uses its event counter, which never ties); "ret" is None
for an operation that never returned: it may have taken effect at any point
after its call, or never. A get that never returned says nothing and is dropped.

The search linearizes, one at a time, an operation that no other pending
operation returned before it was called, and remembers (set of operations done,
value) pairs already explored. It gives up after `budget` explored pairs with
`CheckerBudget`, which the tests report as a failure, never a pass.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any


class CheckerBudget(RuntimeError):
    """The search explored more states than its budget allows."""


def _step(state: str | None, op: dict[str, Any]) -> tuple[bool, str | None]:
    kind = op["op"]
    if kind == "put":
        return True, op["value"]
    if kind == "append":
        return True, (state or "") + op["value"]
    return op["output"] == state, state


def check_key(ops: list[dict[str, Any]], budget: int = 200_000) -> bool:
    ops = [op for op in ops if not (op["op"] == "get" and op["ret"] is None)]
    ops.sort(key=lambda op: op["call"])
    count = len(ops)
    calls = [op["call"] for op in ops]
    rets = [math.inf if op["ret"] is None else op["ret"] for op in ops]
    must = 0  # the completed operations: all of them must be linearized
    for i, op in enumerate(ops):
        if op["ret"] is not None:
            must |= 1 << i
    seen: set[tuple[int, str | None]] = set()

    def search(done: int, state: str | None) -> bool:
        if done & must == must:
            return True
        if (done, state) in seen:
            return False
        seen.add((done, state))
        if len(seen) > budget:
            raise CheckerBudget(f"more than {budget} states explored")
        first_ret = min(rets[i] for i in range(count) if not done >> i & 1)
        for i in range(count):
            if done >> i & 1:
                continue
            if calls[i] > first_ret:
                break
            ok, after = _step(state, ops[i])
            if ok and search(done | 1 << i, after):
                return True
        return False

    return search(0, None)


def check_history(history: list[dict[str, Any]], budget: int = 200_000) -> str | None:
    """None if the history is linearizable, else the first key that is not."""
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for op in history:
        by_key[op["key"]].append(op)
    for key in sorted(by_key):
        if not check_key(by_key[key], budget):
            return key
    return None
