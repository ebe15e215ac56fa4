"""The replicated state machine: a key-value map with exactly-once client sessions.

Every command reaches `apply` through the Raft log, in log order, on every
replica, so `apply` must be deterministic and depend only on the commands.

Commands (dicts, as they arrive in client requests, without "type"):

- {"op": "get", "client": c, "seq": n, "key": k}
- {"op": "put", "client": c, "seq": n, "key": k, "value": v}
- {"op": "append", "client": c, "seq": n, "key": k, "value": v}
- {"op": "export", "client": c, "seq": n, "config": cfg}: adopt the ring of cfg and hand
  over the keys this group no longer owns; the result's value is
  {"data": {key: value}, "sessions": {client: [seq, result]}}.
- {"op": "import", "client": c, "seq": n, "config": cfg, "data": ..., "sessions": ...}:
  adopt cfg and take the keys and sessions another group exported.
- {"op": "noop"}: what a new leader appends; changes nothing.

cfg is {"num": n, "groups": [...], "vnodes": v}. Without a cfg (a single group)
the machine owns every key.
"""

from __future__ import annotations

from typing import Any

from .sharding import HashRing

Result = dict[str, Any]


class KVStateMachine:
    def __init__(self, group: str = "g1") -> None:
        self.group = group
        self.data: dict[str, str] = {}
        # client -> [last seq applied, its result]: a retried request gets the same answer.
        self.sessions: dict[str, list[Any]] = {}
        self.config: dict[str, Any] | None = None
        self._ring: HashRing | None = None

    def owns(self, key: str) -> bool:
        return self._ring is None or self._ring.owner(key) == self.group

    def _adopt(self, config: dict[str, Any]) -> None:
        if self.config is not None and config["num"] <= self.config["num"]:
            return
        self.config = config
        self._ring = HashRing(config["groups"], vnodes=config["vnodes"])

    def apply(self, command: dict[str, Any]) -> Result:
        op = command.get("op")
        if op == "noop":
            return {"ok": True, "value": None}
        client, seq = command.get("client"), command.get("seq")
        if not isinstance(client, str) or not isinstance(seq, int):
            return {"ok": False, "error": "bad_request"}
        last = self.sessions.get(client)
        if last is not None and seq <= last[0]:
            result: Result = last[1]
            return result
        if op in ("get", "put", "append"):
            key = command["key"]
            if not self.owns(key):
                return {"ok": False, "error": "wrong_group"}
            if op == "get":
                result = {"ok": True, "value": self.data.get(key)}
            elif op == "put":
                self.data[key] = command["value"]
                result = {"ok": True, "value": None}
            else:
                self.data[key] = self.data.get(key, "") + command["value"]
                result = {"ok": True, "value": None}
        elif op == "export":
            self._adopt(command["config"])
            moved = {k: v for k, v in self.data.items() if not self.owns(k)}
            for key in moved:
                del self.data[key]
            sessions = {c: list(s) for c, s in self.sessions.items()}
            result = {"ok": True, "value": {"data": moved, "sessions": sessions}}
        elif op == "import":
            self._adopt(command["config"])
            self.data.update(command["data"])
            for other, session in command["sessions"].items():
                mine = self.sessions.get(other)
                if mine is None or session[0] > mine[0]:
                    self.sessions[other] = list(session)
            result = {"ok": True, "value": None}
        else:
            return {"ok": False, "error": "bad_request"}
        self.sessions[client] = [seq, result]
        return result

    def snapshot(self) -> dict[str, Any]:
        """Everything apply depends on, as JSON-encodable data."""
        return {
            "data": dict(self.data),
            "sessions": {c: list(s) for c, s in self.sessions.items()},
            "config": self.config,
        }

    @classmethod
    def restore(cls, snapshot: dict[str, Any], group: str = "g1") -> KVStateMachine:
        machine = cls(group)
        machine.data = dict(snapshot["data"])
        machine.sessions = {c: list(s) for c, s in snapshot["sessions"].items()}
        if snapshot.get("config") is not None:
            machine._adopt(snapshot["config"])
        return machine
