"""A Raft node: leader election, log replication, the key-value service, snapshots.

The simulator builds one `RaftNode(rt)` per node, and a new one after every
restart; see runtime.py for what `rt` offers and what `status()` must report.
Raft's paper (Ongaro & Ousterhout, "In Search of an Understandable Consensus
Algorithm", figure 2) is the specification; the message formats between nodes
are yours to choose (JSON-encodable dicts with a "type").
"""

from __future__ import annotations

from typing import Any

from .kv import KVStateMachine
from .runtime import NodeStatus, Runtime

ELECTION_TIMEOUT_MIN_MS = 150
ELECTION_TIMEOUT_MAX_MS = 300
HEARTBEAT_MS = 50
# At most this many entries per AppendEntries message.
MAX_BATCH = 16
# Compact the log once this many applied entries follow the snapshot.
SNAPSHOT_THRESHOLD = 64

Entry = list[Any]  # [term, command]


class RaftNode:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.me = rt.node_id
        # TODO(lab:election): read currentTerm and votedFor back from rt.storage (a restarted
        # node must remember them), then start a randomised election timer with
        # rt.set_timer(rt.rng.randint(ELECTION_TIMEOUT_MIN_MS, ELECTION_TIMEOUT_MAX_MS), ...).
        self.term = 0
        self.voted_for: str | None = None
        self.role = "follower"
        # TODO(lab:replication): the log is durable too; commit_index and last_applied are not.
        self.log: list[Entry] = []
        self.commit_index = 0
        self.last_applied = 0
        # TODO(lab:operations): start from the stored snapshot, if any.
        self.snapshot_index = 0
        self.snapshot_term = 0
        self.kv = KVStateMachine(rt.group)

    def on_timer(self, name: str) -> None:
        # TODO(lab:election): an election timeout starts an election (unless leading);
        # a leader's heartbeat timer sends AppendEntries to every peer.
        pass

    def on_message(self, src: str, message: dict[str, Any]) -> None:
        # TODO(lab:election): RequestVote and its reply; any message with a higher term
        # makes this node a follower of that term.
        # TODO(lab:replication): AppendEntries and its reply.
        # TODO(lab:kv): {"type": "client_request", ...} (see runtime.py): a leader puts the
        # command in its log and replies once it is applied; others reply not_leader.
        # TODO(lab:operations): InstallSnapshot.
        pass

    def propose(self, command: Any) -> tuple[int, int] | None:
        """Append command to the log if this node leads; returns (index, term), else None."""
        # TODO(lab:replication)
        return None

    def status(self) -> NodeStatus:
        return {
            "role": self.role,
            "term": self.term,
            "voted_for": self.voted_for,
            "commit_index": self.commit_index,
            "last_applied": self.last_applied,
            "snapshot_index": self.snapshot_index,
            "snapshot_term": self.snapshot_term,
            "log": self.log,
        }
