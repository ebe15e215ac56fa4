"""A Raft node: leader election, log replication, the key-value service, snapshots."""

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
        storage = rt.storage
        # Durable state: read back what a previous incarnation saved.
        self.term: int = storage.get("term") or 0
        self.voted_for: str | None = storage.get("voted_for")
        snapshot = storage.get("snapshot")
        if snapshot is not None:
            self.snapshot_index: int = snapshot["index"]
            self.snapshot_term: int = snapshot["term"]
            self.kv = KVStateMachine.restore(snapshot["state"], rt.group)
        else:
            self.snapshot_index = 0
            self.snapshot_term = 0
            self.kv = KVStateMachine(rt.group)
        self.log: list[Entry] = storage.get("log") or []
        # Volatile state.
        self.role = "follower"
        self.leader: str | None = None
        self.commit_index = self.snapshot_index
        self.last_applied = self.snapshot_index
        self.votes: set[str] = set()
        self.next_index: dict[str, int] = {}
        self.match_index: dict[str, int] = {}
        self.pending: dict[int, tuple[str, int]] = {}
        self.election_timer: int | None = None
        self.heartbeat_timer: int | None = None
        self._reset_election_timer()

    # ----- helpers -------------------------------------------------------------------------

    def _majority(self, count: int) -> bool:
        return 2 * count > len(self.rt.peers) + 1

    def _last_index(self) -> int:
        return self.snapshot_index + len(self.log)

    def _term_at(self, index: int) -> int:
        if index == self.snapshot_index:
            return self.snapshot_term
        return int(self.log[index - self.snapshot_index - 1][0])

    def _save_state(self) -> None:
        self.rt.storage.put("term", self.term)
        self.rt.storage.put("voted_for", self.voted_for)

    def _save_log(self) -> None:
        self.rt.storage.put("log", self.log)

    def _reset_election_timer(self) -> None:
        if self.election_timer is not None:
            self.rt.cancel_timer(self.election_timer)
        timeout = self.rt.rng.randint(ELECTION_TIMEOUT_MIN_MS, ELECTION_TIMEOUT_MAX_MS)
        self.election_timer = self.rt.set_timer(timeout, "election")

    def _step_down(self, term: int) -> None:
        if term > self.term:
            self.term = term
            self.voted_for = None
            self._save_state()
        if self.role == "leader":
            if self.heartbeat_timer is not None:
                self.rt.cancel_timer(self.heartbeat_timer)
                self.heartbeat_timer = None
            self._reset_election_timer()
        self.role = "follower"

    # ----- events --------------------------------------------------------------------------

    def on_timer(self, name: str) -> None:
        if name == "election" and self.role != "leader":
            self._start_election()
        elif name == "heartbeat" and self.role == "leader":
            self._broadcast()
            self.heartbeat_timer = self.rt.set_timer(HEARTBEAT_MS, "heartbeat")

    def on_message(self, src: str, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "client_request":
            self._on_client_request(src, message)
            return
        if message["term"] > self.term:
            self._step_down(message["term"])
        if kind == "request_vote":
            self._on_request_vote(src, message)
        elif kind == "vote":
            self._on_vote(src, message)
        elif kind == "append_entries":
            self._on_append_entries(src, message)
        elif kind == "append_reply":
            self._on_append_reply(src, message)
        elif kind == "install_snapshot":
            self._on_install_snapshot(src, message)

    # ----- election ------------------------------------------------------------------------

    def _start_election(self) -> None:
        self.role = "candidate"
        self.term += 1
        self.voted_for = self.me
        self._save_state()
        self.votes = {self.me}
        self.leader = None
        self._reset_election_timer()
        for peer in self.rt.peers:
            self.rt.send(
                peer,
                {
                    "type": "request_vote",
                    "term": self.term,
                    "last_log_index": self._last_index(),
                    "last_log_term": self._term_at(self._last_index()),
                },
            )
        if self._majority(len(self.votes)):
            self._become_leader()

    def _on_request_vote(self, src: str, message: dict[str, Any]) -> None:
        my_last_term = self._term_at(self._last_index())
        up_to_date = message["last_log_term"] > my_last_term or (
            message["last_log_term"] == my_last_term
            and message["last_log_index"] >= self._last_index()
        )
        granted = (
            message["term"] == self.term
            and self.voted_for in (None, src)
            and up_to_date
            and self.role == "follower"
        )
        if granted:
            self.voted_for = src
            self._save_state()
            self._reset_election_timer()
        self.rt.send(src, {"type": "vote", "term": self.term, "granted": granted})

    def _on_vote(self, src: str, message: dict[str, Any]) -> None:
        if self.role != "candidate" or message["term"] != self.term or not message["granted"]:
            return
        self.votes.add(src)
        if self._majority(len(self.votes)):
            self._become_leader()

    def _become_leader(self) -> None:
        self.role = "leader"
        self.leader = self.me
        if self.election_timer is not None:
            self.rt.cancel_timer(self.election_timer)
            self.election_timer = None
        self.next_index = {peer: self._last_index() + 1 for peer in self.rt.peers}
        self.match_index = dict.fromkeys(self.rt.peers, 0)
        # A no-op of the new term lets earlier entries commit without waiting for a client.
        self.log.append([self.term, {"op": "noop"}])
        self._save_log()
        self._advance_commit()
        self._broadcast()
        self.heartbeat_timer = self.rt.set_timer(HEARTBEAT_MS, "heartbeat")

    # ----- replication ---------------------------------------------------------------------

    def propose(self, command: Any) -> tuple[int, int] | None:
        """Append command to the log if this node leads; returns (index, term)."""
        if self.role != "leader":
            return None
        self.log.append([self.term, command])
        self._save_log()
        self._advance_commit()
        self._broadcast()
        return self._last_index(), self.term

    def _broadcast(self) -> None:
        for peer in self.rt.peers:
            self._send_append(peer)

    def _send_append(self, peer: str) -> None:
        next_index = self.next_index[peer]
        if next_index <= self.snapshot_index:
            snapshot = self.rt.storage.get("snapshot")
            self.rt.send(
                peer,
                {
                    "type": "install_snapshot",
                    "term": self.term,
                    "index": snapshot["index"],
                    "last_term": snapshot["term"],
                    "state": snapshot["state"],
                },
            )
            return
        prev = next_index - 1
        start = prev - self.snapshot_index
        self.rt.send(
            peer,
            {
                "type": "append_entries",
                "term": self.term,
                "prev_index": prev,
                "prev_term": self._term_at(prev),
                "entries": self.log[start : start + MAX_BATCH],
                "commit": self.commit_index,
            },
        )

    def _on_append_entries(self, src: str, message: dict[str, Any]) -> None:
        if message["term"] < self.term:
            self.rt.send(src, {"type": "append_reply", "term": self.term, "success": False})
            return
        self.role = "follower"
        self.leader = src
        self._reset_election_timer()
        prev: int = message["prev_index"]
        entries: list[Entry] = message["entries"]
        if prev < self.snapshot_index:
            # The start is already in our snapshot, hence committed and equal.
            skip = self.snapshot_index - prev
            entries = entries[skip:]
            prev = self.snapshot_index
        elif prev > self._last_index() or self._term_at(prev) != message["prev_term"]:
            hint = min(prev, self._last_index() + 1)
            if hint <= self._last_index():
                bad_term = self._term_at(hint)
                while hint - 1 > self.snapshot_index and self._term_at(hint - 1) == bad_term:
                    hint -= 1
            self.rt.send(
                src,
                {"type": "append_reply", "term": self.term, "success": False, "hint": hint},
            )
            return
        changed = False
        for offset, entry in enumerate(entries):
            index = prev + 1 + offset
            if index <= self._last_index():
                if self._term_at(index) == entry[0]:
                    continue
                # A conflicting entry and everything after it go.
                del self.log[index - self.snapshot_index - 1 :]
            self.log.extend(entries[offset:])
            changed = True
            break
        if changed:
            self._save_log()
        match = prev + len(entries)
        if message["commit"] > self.commit_index:
            self.commit_index = max(self.commit_index, min(message["commit"], match))
            self._apply_committed()
        self.rt.send(
            src, {"type": "append_reply", "term": self.term, "success": True, "match": match}
        )

    def _on_append_reply(self, src: str, message: dict[str, Any]) -> None:
        if self.role != "leader" or message["term"] != self.term:
            return
        if message["success"]:
            if message["match"] > self.match_index[src]:
                self.match_index[src] = message["match"]
                self._advance_commit()
            self.next_index[src] = max(self.next_index[src], message["match"] + 1)
            if self.next_index[src] <= self._last_index():
                self._send_append(src)
        elif "hint" in message:
            # A refusal without a hint answered a message of an older term: nothing to learn.
            self.next_index[src] = max(1, min(self.next_index[src] - 1, message["hint"]))
            self._send_append(src)

    def _advance_commit(self) -> None:
        for index in range(self._last_index(), self.commit_index, -1):
            # Only an entry of the current term is committed by counting replicas (§5.4.2).
            if self._term_at(index) != self.term:
                break
            replicas = 1 + sum(1 for m in self.match_index.values() if m >= index)
            if self._majority(replicas):
                self.commit_index = index
                self._apply_committed()
                break

    # ----- the key-value service -----------------------------------------------------------

    def _on_client_request(self, src: str, message: dict[str, Any]) -> None:
        if self.role != "leader":
            self.rt.send(
                src,
                {
                    "type": "client_reply",
                    "client": message["client"],
                    "seq": message["seq"],
                    "ok": False,
                    "error": "not_leader",
                    "leader": self.leader,
                },
            )
            return
        command = {k: v for k, v in message.items() if k != "type"}
        placed = self.propose(command)
        if placed is not None:
            self.pending[placed[0]] = (message["client"], message["seq"])

    def _apply_committed(self) -> None:
        while self.last_applied < self.commit_index:
            self.last_applied += 1
            command = self.log[self.last_applied - self.snapshot_index - 1][1]
            result = self.kv.apply(command)
            waiting = self.pending.pop(self.last_applied, None)
            if waiting is not None and waiting == (command.get("client"), command.get("seq")):
                client, seq = waiting
                reply = {"type": "client_reply", "client": client, "seq": seq, **result}
                self.rt.send(client, reply)
        if self.last_applied - self.snapshot_index >= SNAPSHOT_THRESHOLD:
            self._take_snapshot()

    # ----- snapshots -----------------------------------------------------------------------

    def _take_snapshot(self) -> None:
        index = self.last_applied
        term = self._term_at(index)
        self.rt.storage.put("snapshot", {"index": index, "term": term, "state": self.kv.snapshot()})
        self.log = self.log[index - self.snapshot_index :]
        self.snapshot_index = index
        self.snapshot_term = term
        self._save_log()

    def _on_install_snapshot(self, src: str, message: dict[str, Any]) -> None:
        if message["term"] < self.term:
            self.rt.send(src, {"type": "append_reply", "term": self.term, "success": False})
            return
        self.role = "follower"
        self.leader = src
        self._reset_election_timer()
        index: int = message["index"]
        if index > self.last_applied:
            if index < self._last_index() and self._term_at(index) == message["last_term"]:
                self.log = self.log[index - self.snapshot_index :]
            else:
                self.log = []
            self.rt.storage.put(
                "snapshot",
                {"index": index, "term": message["last_term"], "state": message["state"]},
            )
            self._save_log()
            self.snapshot_index = index
            self.snapshot_term = message["last_term"]
            self.kv = KVStateMachine.restore(message["state"], self.rt.group)
            self.commit_index = max(self.commit_index, index)
            self.last_applied = index
        self.rt.send(
            src, {"type": "append_reply", "term": self.term, "success": True, "match": index}
        )

    # ----- what the simulator observes -----------------------------------------------------

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
