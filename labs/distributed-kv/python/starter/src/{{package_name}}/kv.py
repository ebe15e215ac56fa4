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
- {"op": "noop"}: what a new leader may append; changes nothing.

cfg is {"num": n, "groups": [...], "vnodes": v}. Without a cfg (a single group)
the machine owns every key. Results are dicts: {"ok": True, "value": ...} or
{"ok": False, "error": "wrong_group"}.
"""

from __future__ import annotations

from typing import Any

Result = dict[str, Any]


class KVStateMachine:
    def __init__(self, group: str = "g1") -> None:
        self.group = group
        self.data: dict[str, str] = {}
        # client -> [last seq applied, its result]: a retried request gets the same answer.
        self.sessions: dict[str, list[Any]] = {}
        self.config: dict[str, Any] | None = None

    def owns(self, key: str) -> bool:
        # TODO(lab:sharding): with a config, own a key when the ring of the config
        # (HashRing(cfg["groups"], vnodes=cfg["vnodes"])) names this group.
        return True

    def apply(self, command: dict[str, Any]) -> Result:
        # TODO(lab:kv): get/put/append, each client's request taking effect once: a request
        # whose seq is not above the client's last one returns the stored result.
        # TODO(lab:sharding): wrong_group for keys this group does not own (and remember
        # nothing about such a request); export and import.
        raise NotImplementedError

    def snapshot(self) -> dict[str, Any]:
        """Everything apply depends on, as JSON-encodable data."""
        # TODO(lab:operations)
        raise NotImplementedError

    @classmethod
    def restore(cls, snapshot: dict[str, Any], group: str = "g1") -> KVStateMachine:
        # TODO(lab:operations)
        raise NotImplementedError
