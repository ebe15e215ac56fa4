"""A deterministic discrete-event simulator for the nodes of this lab.

One `Sim` holds an event queue ordered by (simulated time, insertion number), a
simulated clock in milliseconds, a network and the nodes. Everything random
(message delay, loss, duplication, hence reordering; each node's own
generator) is drawn from generators seeded by the run's seed, so one seed
always gives the same run, event for event: `Sim.trace_text()` is
byte-identical between two runs of the same seed.

- Messages are JSON-encoded when sent and decoded when delivered: nothing but
  data crosses between nodes. A message to a crashed node, or across a cut
  link, is dropped.
- `crash(node)` throws the node object away with its timers and volatile
  state; `restart(node)` builds a new one from the factory with the same
  `MemoryStorage`, the only state that survives.
- While a run is going, the wall clock and the global `random` functions raise
  `Nondeterminism`: a node must use `rt.now()` and `rt.rng`.
- A run is bounded in events and in simulated time (`max_events`, `run_until`),
  so a node that floods messages or sets 0 ms timers fails instead of hanging.
- After every event handled by a node, the observers registered with
  `observe()` run (the Raft safety checker is one); an observer raises
  `Violation` to stop the run.
"""

from __future__ import annotations

import contextlib
import heapq
import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

TRACE_LINE_CHARS = 220


class Violation(AssertionError):
    """A property of the run does not hold."""


class Nondeterminism(RuntimeError):
    """A node read the wall clock or the global random generator."""


class SimFailure(AssertionError):
    """The run failed: a violation, an exception in a node, a budget exhausted."""


@dataclass
class NetConfig:
    """The network's behaviour; every draw comes from the run's seeded generator."""

    delay_min_ms: int = 1
    delay_max_ms: int = 12
    loss: float = 0.0
    duplicate: float = 0.0


class MemoryStorage:
    """A node's durable storage: JSON text per key, so reads return copies."""

    def __init__(self) -> None:
        self._data: dict[str, str] = {}
        self.writes = 0

    def get(self, key: str) -> Any:
        raw = self._data.get(key)
        return None if raw is None else json.loads(raw)

    def put(self, key: str, value: Any) -> None:
        self._data[key] = json.dumps(value, separators=(",", ":"), sort_keys=True)
        self.writes += 1

    def delete(self, key: str) -> None:
        self._data.pop(key, None)

    def size(self) -> int:
        return sum(len(k) + len(v) for k, v in self._data.items())


class NodeRuntime:
    """The `Runtime` one incarnation of a node sees."""

    def __init__(self, sim: Sim, node_id: str, incarnation: int) -> None:
        self._sim = sim
        self._id = node_id
        self._incarnation = incarnation
        self._group = sim.group_of[node_id]
        self._peers = tuple(n for n in sim.groups[self._group] if n != node_id)
        self._rng = random.Random(f"{sim.seed}/{node_id}/{incarnation}")

    @property
    def node_id(self) -> str:
        return self._id

    @property
    def group(self) -> str:
        return self._group

    @property
    def peers(self) -> tuple[str, ...]:
        return self._peers

    @property
    def storage(self) -> MemoryStorage:
        return self._sim.storage[self._id]

    @property
    def rng(self) -> random.Random:
        return self._rng

    def _current(self) -> bool:
        return self._sim.incarnation.get(self._id) == self._incarnation and self._sim.up[self._id]

    def now(self) -> int:
        return self._sim.now

    def send(self, to: str, message: dict[str, Any]) -> None:
        if not self._current():
            return
        self._sim.send(self._id, to, message)

    def set_timer(self, delay_ms: int, name: str) -> int:
        if not isinstance(delay_ms, int) or delay_ms < 1:
            raise ValueError(
                f"set_timer needs a whole number of milliseconds >= 1, got {delay_ms!r}"
            )
        return self._sim.set_timer(self._id, self._incarnation, delay_ms, name)

    def cancel_timer(self, timer_id: int) -> None:
        self._sim.cancelled.add(timer_id)


@dataclass(order=True)
class _Event:
    time: int
    seq: int
    kind: str = field(compare=False)
    data: tuple[Any, ...] = field(compare=False)


def _forbidden(name: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        raise Nondeterminism(
            f"{name}() was called during a simulated run: a node must use rt.now() for time "
            "and rt.rng for randomness, or its runs cannot be replayed from a seed"
        )

    return call


_CLOCKS = ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns")
_RANDOMS = (
    "random",
    "randint",
    "randrange",
    "uniform",
    "choice",
    "choices",
    "shuffle",
    "sample",
    "getrandbits",
    "gauss",
    "expovariate",
    "seed",
)


@contextlib.contextmanager
def no_wall_clock_or_global_random() -> Iterator[None]:
    saved: list[tuple[Any, str, Any]] = []
    try:
        for name in _CLOCKS:
            saved.append((time, name, getattr(time, name)))
            setattr(time, name, _forbidden(f"time.{name}"))
        for name in _RANDOMS:
            saved.append((random, name, getattr(random, name)))
            setattr(random, name, _forbidden(f"random.{name}"))
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


def _short(text: str) -> str:
    return text if len(text) <= TRACE_LINE_CHARS else text[: TRACE_LINE_CHARS - 3] + "..."


class Sim:
    """The simulation of one run. See the module docstring."""

    def __init__(
        self,
        seed: int,
        factory: Callable[[NodeRuntime], Any],
        *,
        nodes: int = 3,
        groups: dict[str, list[str]] | None = None,
        net: NetConfig | None = None,
        max_events: int = 400_000,
    ) -> None:
        self.seed = seed
        self.factory = factory
        if groups is None:
            groups = {"g1": [f"n{i}" for i in range(1, nodes + 1)]}
        self.groups = groups
        self.group_of = {n: g for g, members in groups.items() for n in members}
        self.node_ids = [n for members in groups.values() for n in members]
        self.net = net or NetConfig()
        self.rng = random.Random(f"net/{seed}")
        self.max_events = max_events
        self.now = 0
        self.events_run = 0
        self._queue: list[_Event] = []
        self._seq = 0
        self._next_timer = 0
        self.cancelled: set[int] = set()
        self.storage = {n: MemoryStorage() for n in self.node_ids}
        self.incarnation: dict[str, int] = {}
        self.up: dict[str, bool] = {}
        self.nodes: dict[str, Any] = {}
        self.cut: set[tuple[str, str]] = set()
        self.endpoints: dict[str, Callable[[str, dict[str, Any]], None]] = {}
        self.observers: list[Callable[[Sim, str], None]] = []
        self.trace: list[str] = []
        self.messages_sent = 0
        self.elections: list[tuple[int, int, str]] = []  # (time, term, leader)
        with no_wall_clock_or_global_random():
            for node in self.node_ids:
                self._boot(node)

    # ----- wiring ----------------------------------------------------------------------------

    def observe(self, observer: Callable[[Sim, str], None]) -> None:
        self.observers.append(observer)

    def add_endpoint(self, name: str, handler: Callable[[str, dict[str, Any]], None]) -> None:
        """A harness party (a client) reachable over the same network."""
        self.endpoints[name] = handler

    def log(self, text: str) -> None:
        self.trace.append(_short(f"{self.now:>7}ms {text}"))

    def _push(self, delay: int, kind: str, data: tuple[Any, ...]) -> None:
        self._seq += 1
        heapq.heappush(self._queue, _Event(self.now + delay, self._seq, kind, data))

    def _boot(self, node: str) -> None:
        incarnation = self.incarnation.get(node, 0) + 1
        self.incarnation[node] = incarnation
        self.up[node] = True
        self.log(f"{node} starts (incarnation {incarnation})")
        self._call(
            node,
            lambda: self.nodes.__setitem__(
                node, self.factory(NodeRuntime(self, node, incarnation))
            ),
        )

    # ----- what runtimes call ------------------------------------------------------------------

    def send(self, src: str, dst: str, message: dict[str, Any]) -> None:
        payload = json.dumps(message, separators=(",", ":"), sort_keys=True)
        self.messages_sent += 1
        if dst not in self.group_of and dst not in self.endpoints:
            raise ValueError(f"{src} sent a message to unknown address {dst!r}")
        if (src, dst) in self.cut or self.rng.random() < self.net.loss:
            self.log(f"{src} -> {dst} LOST {payload}")
            return
        copies = 2 if self.rng.random() < self.net.duplicate else 1
        for _ in range(copies):
            delay = self.rng.randint(self.net.delay_min_ms, self.net.delay_max_ms)
            self._push(delay, "msg", (src, dst, payload))

    def set_timer(self, node: str, incarnation: int, delay: int, name: str) -> int:
        self._next_timer += 1
        self._push(delay, "timer", (node, incarnation, self._next_timer, name))
        return self._next_timer

    # ----- control (tests call these, directly or scheduled with at()) ----------------------

    def at(self, when: int, label: str, action: Callable[[], None]) -> None:
        """Run action at simulated time `when` (ms)."""
        self._seq += 1
        heapq.heappush(self._queue, _Event(max(when, self.now), self._seq, "call", (label, action)))

    def crash(self, node: str) -> None:
        if self.up[node]:
            self.up[node] = False
            self.nodes.pop(node, None)
            self.log(f"{node} CRASHES (volatile state and timers lost)")

    def restart(self, node: str) -> None:
        if not self.up[node]:
            with no_wall_clock_or_global_random():
                self._boot(node)

    def partition(self, *sides: list[str]) -> None:
        """Cut every link between nodes of different sides (clients reach everyone)."""
        self.cut = {
            (a, b)
            for i, side in enumerate(sides)
            for a in side
            for j, other in enumerate(sides)
            if i != j
            for b in other
        }
        self.log(f"PARTITION {' | '.join(','.join(side) for side in sides)}")

    def isolate(self, src: str, dst: str) -> None:
        """Drop everything src sends to dst (one direction)."""
        self.cut.add((src, dst))
        self.log(f"CUT {src} -> {dst}")

    def heal(self) -> None:
        self.cut = set()
        self.log("HEAL: every link works again")

    # ----- running ---------------------------------------------------------------------------

    def _call(self, node: str, action: Callable[[], None]) -> None:
        try:
            action()
        except (Violation, Nondeterminism, SimFailure):
            raise
        except Exception as exc:
            raise Violation(f"node {node} raised {type(exc).__name__}: {exc}") from exc
        for observer in self.observers:
            observer(self, node)

    def run_until(self, until: int) -> None:
        """Run every event due up to simulated time `until` (ms)."""
        with no_wall_clock_or_global_random():
            while self._queue and self._queue[0].time <= until:
                event = heapq.heappop(self._queue)
                self.now = event.time
                self.events_run += 1
                if self.events_run > self.max_events:
                    raise Violation(
                        f"more than {self.max_events} events by t={self.now}ms: does a node "
                        "send messages or set timers in a loop without waiting?"
                    )
                self._dispatch(event)
            self.now = max(self.now, until)

    def _dispatch(self, event: _Event) -> None:
        if event.kind == "msg":
            src, dst, payload = event.data
            if (src, dst) in self.cut:
                self.log(f"{src} -> {dst} LOST (link cut) {payload}")
                return
            if dst in self.endpoints:
                self.log(f"{src} -> {dst} {payload}")
                self.endpoints[dst](src, json.loads(payload))
                return
            node: Any = self.nodes.get(dst)
            if node is None:
                self.log(f"{src} -> {dst} LOST (down) {payload}")
                return
            self.log(f"{src} -> {dst} {payload}")
            self._call(dst, lambda: node.on_message(src, json.loads(payload)))
        elif event.kind == "timer":
            node_id, incarnation, timer_id, name = event.data
            if timer_id in self.cancelled:
                self.cancelled.discard(timer_id)
                return
            if self.incarnation.get(node_id) != incarnation or not self.up[node_id]:
                return
            node = self.nodes[node_id]
            self.log(f"{node_id} timer {name!r} fires")
            self._call(node_id, lambda: node.on_timer(name))
        else:
            label, action = event.data
            if label:
                self.log(label)
            action()

    # ----- reporting -------------------------------------------------------------------------

    def trace_text(self) -> str:
        return "\n".join(self.trace) + "\n"

    def tail(self, lines: int = 25) -> str:
        return "\n".join(self.trace[-lines:])

    def status(self, node: str) -> dict[str, Any] | None:
        obj = self.nodes.get(node)
        if obj is None:
            return None
        result: dict[str, Any] = obj.status()
        return result

    def leaders(self) -> list[str]:
        found = []
        for node in self.node_ids:
            status = self.status(node)
            if status is not None and status["role"] == "leader":
                found.append(node)
        return found
