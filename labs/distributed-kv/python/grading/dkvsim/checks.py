"""Raft's safety properties, checked after every event a node handles.

`RaftChecker` is an observer (`Sim.observe`). It reads `node.status()` and keeps
what it has seen across nodes and restarts:

- election safety: at most one leader per term;
- a node's term never goes back, even across a restart (currentTerm is durable);
- a node never votes for two candidates in one term, nor forgets its vote while
  the term lasts (votedFor is durable);
- log matching: two logs holding an entry with the same index and term hold the
  same command there and the same entries before it;
- terms never decrease along a log;
- state machine safety: a committed index holds the same entry on every node,
  forever; commit_index never passes the end of the log and never goes back;
  last_applied never passes commit_index;
- leader completeness: a node that becomes leader holds every entry committed
  so far;
- a leader advances its commit index only onto an entry of its own term
  (counting replicas of an older entry is the "figure 8" bug).
"""

from __future__ import annotations

import json
from typing import Any

from .sim import Sim, Violation

_KEYS = (
    "role",
    "term",
    "voted_for",
    "commit_index",
    "last_applied",
    "snapshot_index",
    "snapshot_term",
    "log",
)


def _valid(node: str, status: Any) -> dict[str, Any]:
    if not isinstance(status, dict) or any(key not in status for key in _KEYS):
        raise Violation(f"{node}.status() must return a dict with the keys {', '.join(_KEYS)}")
    if status["role"] not in ("follower", "candidate", "leader"):
        raise Violation(f"{node}.status()['role'] is {status['role']!r}")
    return status


class RaftChecker:
    def __init__(self) -> None:
        self.leader_of_term: dict[tuple[str, int], str] = {}
        self.votes: dict[tuple[str, int], str] = {}
        self.max_term: dict[str, int] = {}
        self.committed: dict[tuple[str, int], int] = {}  # (group, index) -> term
        self.max_committed: dict[str, int] = {}
        self.entries: dict[tuple[str, int, int], tuple[str, int]] = {}
        self.seen: dict[str, tuple[int, tuple[Any, ...]]] = {}  # node -> (incarnation, signature)
        self.last: dict[
            str, tuple[int, str, int, int]
        ] = {}  # node -> (incarnation, role, term, commit)
        self.leader_changes = 0

    def __call__(self, sim: Sim, node: str) -> None:
        raw = sim.status(node)
        if raw is None:
            return
        status = _valid(node, raw)
        group = sim.group_of[node]
        incarnation = sim.incarnation[node]
        role, term = status["role"], status["term"]
        if term < self.max_term.get(node, 0):
            raise Violation(
                f"{node}'s term went back from {self.max_term[node]} to {term} "
                "(currentTerm must be durable and never decrease)"
            )
        self.max_term[node] = term
        vote = status["voted_for"]
        remembered = self.votes.get((node, term))
        if remembered is not None and vote is None:
            raise Violation(
                f"{node} voted for {remembered} in term {term} and, still in term {term}, reports "
                "no vote (votedFor must be durable: a restarted node would vote again)"
            )
        if vote is not None:
            earlier = self.votes.setdefault((node, term), vote)
            if earlier != vote:
                raise Violation(
                    f"{node} voted for {earlier} and then for {vote} in term {term} "
                    "(one vote per term, and votedFor must survive a restart)"
                )
        if role == "leader":
            holder = self.leader_of_term.setdefault((group, term), node)
            if holder != node:
                raise Violation(
                    f"election safety: {holder} and {node} are both leader of term {term}"
                )

        snap_index, snap_term = status["snapshot_index"], status["snapshot_term"]
        log = status["log"]
        last_index = snap_index + len(log)
        commit, applied = status["commit_index"], status["last_applied"]
        if commit > last_index:
            raise Violation(
                f"{node}'s commit_index {commit} is past the end of its log ({last_index})"
            )
        if applied > commit:
            raise Violation(f"{node} applied entry {applied} but has committed only up to {commit}")
        if commit < snap_index:
            raise Violation(
                f"{node}'s commit_index {commit} is below its snapshot index {snap_index}"
            )

        def term_at(index: int) -> int:
            return snap_term if index == snap_index else int(log[index - snap_index - 1][0])

        before = self.last.get(node)
        same_life = before is not None and before[0] == incarnation
        if same_life and before is not None and commit < before[3]:
            raise Violation(f"{node}'s commit_index went back from {before[3]} to {commit}")
        if (
            role == "leader"
            and same_life
            and before is not None
            and before[1] == "leader"
            and before[2] == term
            and commit > before[3]
            and term_at(commit) != term
        ):
            raise Violation(
                f"leader {node} of term {term} advanced its commit index to {commit}, an entry of "
                f"term {term_at(commit)}: a leader commits by counting replicas only entries of "
                "its own term (Raft §5.4.2, figure 8)"
            )
        became_leader = role == "leader" and not (
            same_life and before is not None and before[1] == "leader" and before[2] == term
        )
        if became_leader:
            self.leader_changes += 1
            sim.elections.append((sim.now, term, node))
        self.last[node] = (incarnation, role, term, commit)

        signature = (snap_index, snap_term, commit, tuple(entry[0] for entry in log))
        if self.seen.get(node) == (incarnation, signature) and not became_leader:
            return
        self.seen[node] = (incarnation, signature)
        prev_term = snap_term
        for offset, entry in enumerate(log):
            index = snap_index + 1 + offset
            entry_term = int(entry[0])
            if entry_term < prev_term:
                raise Violation(
                    f"{node}'s log has term {entry_term} at index {index} after term {prev_term}"
                )
            identity = (json.dumps(entry[1], sort_keys=True), prev_term)
            known = self.entries.setdefault((group, index, entry_term), identity)
            if known != identity:
                raise Violation(
                    f"log matching: two nodes hold an entry of term {entry_term} at index {index} "
                    "with a different command or different entries before it"
                )
            prev_term = entry_term
        for index in range(snap_index + 1, commit + 1):
            entry_term = term_at(index)
            known_term = self.committed.setdefault((group, index), entry_term)
            if known_term != entry_term:
                raise Violation(
                    f"state machine safety: index {index} was committed with an entry of term "
                    f"{known_term}, but {node} committed an entry of term {entry_term} there"
                )
        self.max_committed[group] = max(self.max_committed.get(group, 0), commit)
        if became_leader:
            highest = self.max_committed.get(group, 0)
            if highest > last_index:
                raise Violation(
                    f"leader completeness: {node} became leader of term {term} with a log ending "
                    f"at {last_index}, but index {highest} is already committed"
                )
            for index in range(snap_index + 1, highest + 1):
                # An index committed only inside snapshots was never seen in a log.
                seen_term = self.committed.get((group, index))
                if seen_term is not None and term_at(index) != seen_term:
                    raise Violation(
                        f"leader completeness: {node} became leader of term {term} without the "
                        f"committed entry at index {index}"
                    )
