"""What a node may use, and what it must expose: the contract with the simulator.

A node is a plain object. The simulator (tests/grading/dkvsim) builds it with a
`Runtime` and then only ever calls four methods on it:

- `on_message(src, message)` when a message from node or client `src` arrives,
- `on_timer(name)` when a timer the node set fires,
- `propose(command)` (the harness, playing "the service above Raft", asks the
  node to replicate a command; only a leader accepts),
- `status()` after every event, to check Raft's safety properties.

Everything a node does goes through the `Runtime`: it never reads the wall
clock, never uses the global `random` module and never shares memory with
another node. Messages are JSON-encoded by the simulator, so only data (dicts,
lists, strings, numbers, booleans, None) crosses the network, and tuples arrive
as lists. A crash throws the node object away; a restart builds a new one with
the same `Storage`, which is the only state that survives.

Time is simulated and counted in whole milliseconds.
"""

from __future__ import annotations

import random
from typing import Any, Protocol, TypedDict


class Storage(Protocol):
    """Durable key-value storage of one node: it survives crashes and restarts.

    Values are JSON-encoded on `put` and decoded on `get`, so what you get back
    is a copy (tuples come back as lists). A `put` is durable when it returns.
    """

    def get(self, key: str) -> Any:
        """The value stored under key, or None."""
        ...

    def put(self, key: str, value: Any) -> None: ...

    def delete(self, key: str) -> None: ...

    def size(self) -> int:
        """Bytes stored in total (the operations stage bounds it)."""
        ...


class Runtime(Protocol):
    """What the simulator gives a node."""

    @property
    def node_id(self) -> str:
        """This node's id, e.g. "n1" (or "g2n1" in a sharded deployment)."""
        ...

    @property
    def group(self) -> str:
        """The replica group this node belongs to, e.g. "g1"."""
        ...

    @property
    def peers(self) -> tuple[str, ...]:
        """The other nodes of this node's group."""
        ...

    @property
    def storage(self) -> Storage: ...

    @property
    def rng(self) -> random.Random:
        """This node's own seeded random generator: the only randomness allowed."""
        ...

    def now(self) -> int:
        """Simulated time in milliseconds."""
        ...

    def send(self, to: str, message: dict[str, Any]) -> None:
        """Send a JSON-encodable message; the network may delay, drop, duplicate it."""
        ...

    def set_timer(self, delay_ms: int, name: str) -> int:
        """Call `on_timer(name)` after delay_ms (>= 1); returns an id for cancel_timer."""
        ...

    def cancel_timer(self, timer_id: int) -> None:
        """Cancel a timer that has not fired yet (cancelling twice is harmless)."""
        ...


class NodeStatus(TypedDict):
    """What `status()` reports; the simulator checks Raft's properties on it.

    Log indices start at 1. `log` holds the entries after the snapshot, in
    order: entry i of the whole log is `log[i - snapshot_index - 1]`, each a
    pair `[term, command]`. Without snapshots, snapshot_index and
    snapshot_term are 0.
    """

    role: str  # "follower", "candidate" or "leader"
    term: int
    voted_for: str | None
    commit_index: int
    last_applied: int
    snapshot_index: int
    snapshot_term: int
    log: list[list[Any]]


# The client protocol (fixed: the simulator's clients speak it).
#
# request:  {"type": "client_request", "client": "c1", "seq": 3,
#            "op": "get" | "put" | "append", "key": "k", "value": "v"}
#           (no "value" for get; sharded deployments add the ops in kv.py)
# reply:    {"type": "client_reply", "client": "c1", "seq": 3, "ok": true,
#            "value": <the value a get read, else null>}
#      or   {"type": "client_reply", "client": "c1", "seq": 3, "ok": false,
#            "error": "not_leader" | "wrong_group", "leader": <a hint or null>}
#
# A client has at most one request outstanding and numbers its requests 1, 2,
# 3, ...; it resends the same request (same seq) until it gets an ok reply.
