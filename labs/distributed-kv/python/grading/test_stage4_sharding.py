"""Stage sharding: consistent hashing with virtual nodes, and shards moving between groups."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from functools import partial
from types import ModuleType
from typing import Any

from dkvsim.clients import Clerk
from dkvsim.runs import Runs, Workload, raft_sim, stable_leader, wait_for
from dkvsim.sim import NetConfig, Sim, Violation

STAGE = "sharding"

KEYS = [f"user:{i}" for i in range(20_000)]
BALANCE_MAX, BALANCE_MIN = 1.4, 0.6


def _owners(ring: Any, keys: list[str] = KEYS) -> dict[str, str]:
    return {key: ring.owner(key) for key in keys}


def test_ring_is_the_same_in_every_process(load: Callable[[str], ModuleType]) -> None:
    """Clients and servers run in different processes: Python's hash() is salted per process."""
    sharding = load("sharding")
    groups = ["g1", "g2", "g3", "g4", "g5"]
    keys = KEYS[:400]
    here = [sharding.HashRing(groups).owner(k) for k in keys]
    code = (
        "import json, sys\n"
        f"sys.path[:0] = {json.dumps(sys.path)}\n"
        f"from {sharding.__name__} import HashRing\n"
        f"ring = HashRing({groups!r})\n"
        f"print(json.dumps([ring.owner(k) for k in {keys!r}]))\n"
    )
    for hash_seed in ("1", "2"):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env["PYTHONHASHSEED"] = hash_seed
        out = subprocess.run(  # noqa: S603 (our own interpreter, our own code)
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert out.returncode == 0, f"the ring failed in a fresh process: {out.stderr[-2000:]}"
        there = json.loads(out.stdout)
        moved = sum(1 for a, b in zip(here, there, strict=True) if a != b)
        assert moved == 0, (
            f"{moved} of {len(keys)} keys have a different owner in a process with "
            f"PYTHONHASHSEED={hash_seed}: place keys and virtual nodes with a stable hash "
            "(hashlib.sha256, blake2b), never the built-in hash()"
        )


def test_adding_a_group_moves_only_its_share(load: Callable[[str], ModuleType]) -> None:
    ring_class = load("sharding").HashRing
    for count in (3, 4, 6):
        groups = [f"g{i}" for i in range(1, count + 1)]
        ring = ring_class(groups)
        before = _owners(ring)
        ring.add(f"g{count + 1}")
        after = _owners(ring)
        moved = [k for k in KEYS if before[k] != after[k]]
        elsewhere = [k for k in moved if after[k] != f"g{count + 1}"]
        assert not elsewhere, (
            f"adding g{count + 1} to {count} groups moved {len(elsewhere)} keys between the old "
            f"groups (e.g. {elsewhere[0]!r}: {before[elsewhere[0]]} -> {after[elsewhere[0]]}); "
            "only keys for the new group may move (modulo hashing moves nearly all keys)"
        )
        share = len(moved) / len(KEYS)
        expected = 1 / (count + 1)
        assert 0.5 * expected <= share <= 1.5 * expected, (
            f"adding a group to {count} moved {share:.1%} of the keys; about {expected:.1%} "
            "(1/N) should move"
        )


def test_removing_a_group_moves_only_its_keys(load: Callable[[str], ModuleType]) -> None:
    ring = load("sharding").HashRing([f"g{i}" for i in range(1, 7)])
    before = _owners(ring)
    ring.remove("g3")
    after = _owners(ring)
    wrong = [k for k in KEYS if before[k] != "g3" and before[k] != after[k]]
    assert not wrong, (
        f"removing g3 moved {len(wrong)} keys that g3 did not own (e.g. {wrong[0]!r}: "
        f"{before[wrong[0]]} -> {after[wrong[0]]})"
    )
    heirs = Counter(after[k] for k in KEYS if before[k] == "g3")
    assert "g3" not in heirs, "a removed group still owns keys"
    assert len(heirs) >= 4 and max(heirs.values()) <= 0.6 * sum(heirs.values()), (
        f"g3's keys went to {dict(heirs)}: with virtual nodes a leaving group's keys spread "
        "over most of the others instead of all landing on one neighbour"
    )


def test_ring_balance_within_bound(load: Callable[[str], ModuleType]) -> None:
    ring_class = load("sharding").HashRing
    for count in (5, 10):
        ring = ring_class([f"g{i}" for i in range(1, count + 1)])
        loads = Counter(ring.owner(k) for k in KEYS)
        average = len(KEYS) / count
        high = max(loads.values()) / average
        low = min(loads.get(f"g{i}", 0) for i in range(1, count + 1)) / average
        assert high <= BALANCE_MAX and low >= BALANCE_MIN, (
            f"with {count} groups the busiest holds {high:.2f}x and the idlest {low:.2f}x the "
            f"average number of keys; the bound is {BALANCE_MIN}..{BALANCE_MAX}x "
            "(use enough virtual nodes per group, e.g. 100 or more)"
        )


def test_ring_does_not_depend_on_history(load: Callable[[str], ModuleType]) -> None:
    ring_class = load("sharding").HashRing
    keys = KEYS[:3000]
    one = _owners(ring_class(["g1", "g2", "g3", "g4"]), keys)
    other = ring_class(["g4", "g2"])
    other.add("g1")
    other.add("g5")
    other.add("g3")
    other.remove("g5")
    other.add("g2")
    assert _owners(other, keys) == one, (
        "a ring of the same groups must place keys the same way whatever the order groups "
        "were added and removed in: every node and client must agree on owners"
    )


# ----- shards moving between replica groups (each group a 3-node Raft cluster) ------------


class Deployment:
    """Groups of Raft nodes, a controller that moves shards, and routing clients.

    The controller moves keys to a new configuration in three steps: every group of the
    old configuration exports (adopting the new ring and handing over the keys it no
    longer owns, with its client sessions), every group of the new configuration imports
    its keys and the merged sessions, and then the new configuration is published for
    clients. Clients route with the newest published ring and fetch it again on
    wrong_group.
    """

    def __init__(
        self, runs: Runs, seed: int, ring_class: Any, groups: int, *, net: NetConfig
    ) -> None:
        layout = {f"g{g}": [f"g{g}n{i}" for i in range(1, 4)] for g in range(1, groups + 1)}
        self.sim, _ = raft_sim(runs, seed, groups=layout, net=net)
        self.ring_class = ring_class
        self.published: dict[str, Any] = {"num": 0, "groups": [], "vnodes": 0}
        self.client_view: dict[str, Any] = self.published
        self.ctrl = {g: Clerk(self.sim, f"ctrl-{g}", [], retry_ms=150) for g in layout}
        for group, clerk in self.ctrl.items():
            clerk.servers = list(layout[group])
        self.moving = False
        self.moves_done = 0
        self._ring_cache: tuple[int, Any] | None = None

    def has_moved(self, count: int) -> bool:
        return self.moves_done == count

    def ring(self) -> Any:
        if not self.client_view["groups"]:
            self.refresh()
        if self._ring_cache is None or self._ring_cache[0] != self.client_view["num"]:
            view = self.client_view
            self._ring_cache = (view["num"], self.ring_class(view["groups"], vnodes=view["vnodes"]))
        return self._ring_cache[1]

    def route(self, request: dict[str, Any]) -> list[str]:
        return self.sim.groups[self.ring().owner(request["key"])]

    def refresh(self) -> None:
        self.client_view = self.published

    def move(self, groups: list[str], vnodes: int = 64) -> None:
        """Start moving to a configuration of these groups."""
        assert not self.moving
        self.moving = True
        old = self.published
        new = {"num": old["num"] + 1, "groups": sorted(groups), "vnodes": vnodes}
        new_ring = self.ring_class(new["groups"], vnodes=vnodes)
        exports: dict[str, Any] = {}
        self.sim.log(f"CONTROLLER: configuration {new['num']} = {new['groups']}")

        def imported(group: str, waiting: set[str], _reply: dict[str, Any]) -> None:
            waiting.discard(group)
            if not waiting:
                self.published = new
                self.moving = False
                self.moves_done += 1
                self.sim.log(f"CONTROLLER: configuration {new['num']} published")

        def import_all() -> None:
            data: dict[str, Any] = {}
            sessions: dict[str, Any] = {}
            for value in exports.values():
                data.update(value["data"])
                for client, session in value["sessions"].items():
                    if client not in sessions or session[0] > sessions[client][0]:
                        sessions[client] = session
            waiting = set(new["groups"])
            for group in new["groups"]:
                mine = {k: v for k, v in data.items() if new_ring.owner(k) == group}
                op = {"op": "import", "config": new, "data": mine, "sessions": sessions}
                self.ctrl[group].submit(op, partial(imported, group, waiting))

        def exported(group: str, reply: dict[str, Any]) -> None:
            value = reply.get("value")
            if not isinstance(value, dict) or "data" not in value or "sessions" not in value:
                raise Violation(
                    f"group {group} answered export with {reply}, not "
                    "{'data': ..., 'sessions': ...}"
                )
            exports[group] = value
            if len(exports) == len(old["groups"]):
                import_all()

        if not old["groups"]:
            import_all()
        for group in old["groups"]:
            self.ctrl[group].submit({"op": "export", "config": new}, partial(exported, group))


def _store_value(values: dict[str, Any], key: str, reply: dict[str, Any]) -> None:
    values[key] = reply.get("value")


def _has_leader(sim: Sim, group: str) -> bool:
    return stable_leader(sim, group) is not None


def _read_all(
    sim: Sim, dep: Deployment, keys: list[str], history: list[dict[str, Any]]
) -> dict[str, Any]:
    reader = Clerk(sim, "reader", history, route=dep.route, refresh=dep.refresh)
    values: dict[str, Any] = {}
    for key in keys:
        reader.submit(
            {"op": "get", "key": key},
            partial(_store_value, values, key),
        )
        wait_for(
            sim, sim.now + 4_000, partial(values.__contains__, key), f"get({key!r}) never completed"
        )
    return values


def test_shards_move_without_loss_or_duplication(
    runs: Runs, load: Callable[[str], ModuleType]
) -> None:
    """Groups join and leave while clients read, write and append: the history stays
    linearizable and every completed append is in its key exactly once."""
    ring_class = load("sharding").HashRing

    def scenario(seed: int) -> None:
        rng = random.Random(seed)
        dep = Deployment(
            runs, seed, ring_class, 3, net=NetConfig(delay_max_ms=12, loss=0.03, duplicate=0.1)
        )
        sim = dep.sim
        for group in sim.groups:
            wait_for(
                sim,
                3_000,
                partial(_has_leader, sim, group),
                f"group {group} elected no leader within 3000 ms",
            )
        dep.move(["g1", "g2"])
        wait_for(
            sim,
            sim.now + 3_000,
            lambda: dep.moves_done == 1,
            "the first configuration was not installed within 3000 ms (do export and import "
            "go through the log and answer ok?)",
        )
        keys = [f"k{i}" for i in range(12)]
        workload = Workload(
            sim,
            rng,
            clients=4,
            keys=keys,
            ops_per_client=25,
            route=dep.route,
            refresh=dep.refresh,
            kinds=("get", "append"),
        )
        workload.start(sim.now + 10)
        plan = [["g1", "g2", "g3"], ["g2", "g3"], ["g1", "g3"]]
        for step, groups in enumerate(plan, start=2):
            sim.run_until(sim.now + rng.randint(100, 300))
            dep.move(groups)
            wait_for(
                sim,
                sim.now + 4_000,
                partial(dep.has_moved, step),
                f"configuration {step} ({groups}) was not installed within 4000 ms",
            )
        wait_for(
            sim,
            sim.now + 8_000,
            workload.finished,
            "the clients' requests did not all complete within 8000 ms of the last move "
            "(does a group answer wrong_group for keys it no longer owns?)",
        )
        final = _read_all(sim, dep, keys, workload.history)
        for op in workload.history:
            if op["op"] == "append" and op["ret"] is not None and op["client"] != "reader":
                count = (final.get(op["key"]) or "").count(op["value"])
                if count != 1:
                    raise Violation(
                        f"append({op['value']!r}) to {op['key']!r} completed but is in the final "
                        f"value {count} times after the shard moves (lost with the move, or "
                        "applied again because the sessions did not move with the keys)"
                    )
        workload.check()

    runs.over([301, 302, 303, 304], scenario)


def test_retry_after_a_move_is_not_applied_twice(
    runs: Runs, load: Callable[[str], ModuleType]
) -> None:
    """An append takes effect in the old group, its reply is lost, the key moves; the retry
    reaches the new group, which must know the request from the migrated sessions."""
    ring_class = load("sharding").HashRing

    def scenario(seed: int) -> None:
        dep = Deployment(runs, seed, ring_class, 2, net=NetConfig(delay_max_ms=8))
        sim = dep.sim
        for group in sim.groups:
            wait_for(
                sim,
                3_000,
                partial(_has_leader, sim, group),
                f"group {group} elected no leader within 3000 ms",
            )
        dep.move(["g1"])
        wait_for(sim, sim.now + 3_000, lambda: dep.moves_done == 1, "configuration 1 not installed")
        later = ring_class(["g1", "g2"], vnodes=64)
        key = next(k for k in (f"key{i}" for i in range(1000)) if later.owner(k) == "g2")
        history: list[dict[str, Any]] = []
        client = Clerk(sim, "c1", history, route=dep.route, refresh=dep.refresh, retry_ms=300)
        done: list[Any] = []
        client.submit({"op": "append", "key": key, "value": "once;"}, done.append)
        for node in sim.groups["g1"]:
            sim.isolate(node, "c1")
        sim.run_until(sim.now + 250)
        dep.move(["g1", "g2"])
        wait_for(sim, sim.now + 3_000, lambda: dep.moves_done == 2, "configuration 2 not installed")
        sim.heal()
        wait_for(sim, sim.now + 4_000, lambda: len(done) == 1, f"append to {key!r} never completed")
        value = _read_all(sim, dep, [key], history)[key] or ""
        if value.count("once;") != 1:
            raise Violation(
                f"{key!r} holds {value!r} after one append that was retried across a shard move: "
                "the client sessions (last seq and result) must move with the keys"
            )
        probe: list[dict[str, Any]] = []
        sim.add_endpoint("probe", lambda src, message: probe.append(message))
        leader = stable_leader(sim, "g1")
        assert leader is not None
        sim.send(
            "probe",
            leader,
            {"type": "client_request", "client": "probe", "seq": 1, "op": "get", "key": key},
        )
        sim.run_until(sim.now + 600)
        if not probe or probe[-1].get("error") != "wrong_group":
            raise Violation(
                f"g1's leader answered a get of {key!r}, which moved to g2, with "
                f"{probe[-1] if probe else 'nothing'}: it must answer wrong_group"
            )

    runs.over([311, 312], scenario)
