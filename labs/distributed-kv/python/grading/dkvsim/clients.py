"""The harness's clients: they speak the client protocol of runtime.py over the simulated net.

A `Clerk` has one request outstanding at a time, numbered 1, 2, 3, ...; it resends
the same request (same seq) to the next server when the reply says not_leader,
or after `retry_ms` without an answer, until it gets an ok reply. It records
every get/put/append in the shared history for the linearizability checker.
In a sharded deployment it routes each key by the ring of the newest
configuration it has fetched, and fetches again on wrong_group.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .sim import Sim

Done = Callable[[dict[str, Any]], None]


class Clerk:
    def __init__(
        self,
        sim: Sim,
        name: str,
        history: list[dict[str, Any]],
        *,
        retry_ms: int = 120,
        route: Callable[[dict[str, Any]], list[str]] | None = None,
        refresh: Callable[[], None] | None = None,
    ) -> None:
        self.sim = sim
        self.name = name
        self.history = history
        self.retry_ms = retry_ms
        self.route = route
        self.refresh = refresh
        self.seq = 0
        self.request: dict[str, Any] | None = None
        self.record: dict[str, Any] | None = None
        self.done: Done | None = None
        self.servers: list[str] = list(sim.node_ids)
        self.target = 0
        self.attempt = 0
        self.completed = 0
        sim.add_endpoint(name, self._on_reply)

    @property
    def busy(self) -> bool:
        return self.request is not None

    def submit(self, op: dict[str, Any], done: Done | None = None) -> None:
        assert self.request is None, f"{self.name} already has a request outstanding"
        self.seq += 1
        self.request = {"type": "client_request", "client": self.name, "seq": self.seq, **op}
        self.done = done
        self.record = None
        if op["op"] in ("get", "put", "append"):
            self.record = {
                "client": self.name,
                "op": op["op"],
                "key": op["key"],
                "value": op.get("value"),
                "call": self.sim.events_run,
                "ret": None,
                "call_ms": self.sim.now,
                "ret_ms": None,
                "output": None,
            }
            self.history.append(self.record)
        self._send()

    def _servers(self) -> list[str]:
        if self.route is not None and self.request is not None:
            servers = self.route(self.request)
            if servers != self.servers:
                self.servers = servers
                self.target = 0
        return self.servers

    def _send(self) -> None:
        if self.request is None:
            return
        servers = self._servers()
        self.attempt += 1
        attempt = self.attempt
        self.sim.send(self.name, servers[self.target % len(servers)], self.request)
        self.sim.at(self.sim.now + self.retry_ms, "", lambda: self._timeout(attempt))

    def _timeout(self, attempt: int) -> None:
        if self.request is not None and attempt == self.attempt:
            self.sim.log(f"{self.name} has no answer to seq {self.seq}: retries elsewhere")
            self.target += 1
            self._send()

    def _on_reply(self, src: str, message: dict[str, Any]) -> None:
        if self.request is None or message.get("seq") != self.seq:
            return
        if message.get("ok") is True:
            if self.record is not None:
                self.record["ret"] = self.sim.events_run
                self.record["ret_ms"] = self.sim.now
                self.record["output"] = message.get("value")
            self.request = None
            self.attempt += 1
            self.completed += 1
            if self.done is not None:
                self.done(message)
            return
        self.attempt += 1
        attempt = self.attempt
        if message.get("error") == "wrong_group" and self.refresh is not None:
            self.refresh()
        else:
            hint = message.get("leader")
            servers = self._servers()
            self.target = servers.index(hint) if hint in servers else self.target + 1
        # Back off a little: an election or a shard move takes some time.
        self.sim.at(self.sim.now + 15, "", lambda: self._resend(attempt))

    def _resend(self, attempt: int) -> None:
        if self.request is not None and attempt == self.attempt:
            self._send()
