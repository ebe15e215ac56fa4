"""Stage operations: snapshots and log compaction, restarts from a snapshot, catching up."""

from __future__ import annotations

import random
from functools import partial
from typing import Any

from dkvsim.clients import Clerk
from dkvsim.runs import Runs, Workload, raft_sim, stable_leader, wait_for
from dkvsim.sim import NetConfig, Sim, Violation

STAGE = "operations"

# Bytes of durable storage per node (MemoryStorage.size(): keys plus their JSON). The
# workloads below write 20 keys of short values: without compaction the log alone passes
# this bound after a few hundred commands.
STORAGE_BOUND = 24_000


def _storage_watch(sim: Sim, peak: dict[str, int]) -> None:
    def observe(sim: Sim, node: str) -> None:
        size = sim.storage[node].size()
        if size > peak.get(node, 0):
            peak[node] = size
        if size > STORAGE_BOUND:
            raise Violation(
                f"{node} stores {size} bytes, above the bound of {STORAGE_BOUND}: compact the log "
                "into a snapshot (state machine + client sessions + last included index and term)"
            )

    sim.observe(observe)


def _writes(sim: Sim, rng: random.Random, count: int, clients: int = 3) -> Workload:
    keys = [f"key{i}" for i in range(20)]
    workload = Workload(
        sim,
        rng,
        clients=clients,
        keys=keys,
        ops_per_client=count // clients,
        kinds=("put", "append", "get", "put"),
    )
    workload.start(sim.now + 10)
    return workload


def test_storage_stays_bounded(runs: Runs) -> None:
    def scenario(seed: int) -> None:
        rng = random.Random(seed)
        sim, _ = raft_sim(runs, seed, nodes=3, net=NetConfig(delay_max_ms=10, loss=0.02))
        peak: dict[str, int] = {}
        _storage_watch(sim, peak)
        workload = _writes(sim, rng, 600)
        wait_for(sim, 40_000, workload.finished, "600 requests did not complete within 40 s")
        workload.check()

    runs.over([401, 402], scenario)


def test_restart_from_snapshot_keeps_state_and_sessions(runs: Runs) -> None:
    """An append is applied but its reply is lost; the log is compacted; every node
    restarts from its snapshot; the retried append must not be applied again."""

    def scenario(seed: int) -> None:
        rng = random.Random(seed)
        sim, _ = raft_sim(runs, seed, nodes=3, net=NetConfig(delay_max_ms=8))
        wait_for(sim, 2_500, lambda: stable_leader(sim) is not None, "no leader within 2500 ms")
        history: list[dict[str, Any]] = []
        lonely = Clerk(sim, "lonely", history, retry_ms=100_000)
        done: list[Any] = []
        for node in sim.node_ids:
            sim.isolate(node, "lonely")
        lonely.submit({"op": "append", "key": "lonely-key", "value": "only-once;"}, done.append)
        sim.run_until(sim.now + 200)
        workload = _writes(sim, rng, 360)
        wait_for(
            sim, sim.now + 30_000, workload.finished, "360 requests did not complete within 30 s"
        )
        compacted = {n: sim.status(n)["snapshot_index"] for n in sim.node_ids}  # type: ignore[index]
        if min(compacted.values()) == 0:
            raise Violation(f"after 360 commands some nodes never took a snapshot: {compacted}")
        for node in sim.node_ids:
            sim.crash(node)
        sim.run_until(sim.now + 50)
        for node in sim.node_ids:
            sim.restart(node)
        sim.heal()
        lonely.retry_ms = 150
        lonely._timeout(lonely.attempt)
        wait_for(sim, sim.now + 5_000, lambda: len(done) == 1, "the retried append never completed")
        check = Workload(
            sim,
            rng,
            clients=2,
            keys=[f"key{i}" for i in range(20)],
            ops_per_client=10,
            kinds=("get",),
            prefix="r",
        )
        check.history = workload.history + history
        for clerk in check.clerks.values():
            clerk.history = check.history
        check.start(sim.now + 10)
        wait_for(sim, sim.now + 5_000, check.finished, "reads after the restart did not complete")
        final = Clerk(sim, "final", check.history)
        got: list[Any] = []
        final.submit({"op": "get", "key": "lonely-key"}, got.append)
        wait_for(sim, sim.now + 3_000, lambda: bool(got), "get('lonely-key') never completed")
        value = got[0].get("value") or ""
        if value.count("only-once;") > 1:
            raise Violation(
                f"lonely-key holds {value!r}: an append retried after a restart from a snapshot "
                "was applied twice (the snapshot must hold the client sessions too)"
            )
        check.check()

    runs.over([411, 412, 413], scenario)


def test_lagging_follower_installs_a_snapshot(runs: Runs) -> None:
    """A follower down while the log was compacted past its end catches up from a snapshot,
    and its state then serves reads when it leads."""

    def scenario(seed: int) -> None:
        rng = random.Random(seed)
        sim, _ = raft_sim(runs, seed, nodes=3, net=NetConfig(delay_max_ms=8))
        wait_for(sim, 2_500, lambda: stable_leader(sim) is not None, "no leader within 2500 ms")
        leader = stable_leader(sim)
        laggard = next(n for n in sim.node_ids if n != leader)
        sim.crash(laggard)
        workload = _writes(sim, rng, 300)
        wait_for(
            sim, sim.now + 30_000, workload.finished, "300 requests did not complete within 30 s"
        )
        leader = stable_leader(sim)
        assert leader is not None
        lead = sim.status(leader)
        assert lead is not None
        if lead["snapshot_index"] == 0:
            raise Violation(f"leader {leader} took no snapshot in 300 commands")
        sim.restart(laggard)
        target = lead["commit_index"]
        wait_for(
            sim,
            sim.now + 3_000,
            lambda: (sim.status(laggard) or {}).get("last_applied", 0) >= target,
            f"{laggard} restarted behind the leader's snapshot and did not catch up to index "
            f"{target} within 3000 ms (the leader must send InstallSnapshot when the entries a "
            "follower needs are compacted away)",
        )
        # Make the laggard lead: crash whoever else leads until it does.
        for _ in range(6):
            current = stable_leader(sim)
            if current == laggard:
                break
            if current is not None:
                sim.crash(current)
                sim.at(sim.now + 400, "", partial(sim.restart, current))
            sim.run_until(sim.now + 500)
        if stable_leader(sim) != laggard:
            return  # the schedule never let it lead; the catch-up above was still checked
        history = workload.history
        reader = Clerk(sim, "reader", history)
        reader.servers = [laggard]
        got: dict[str, Any] = {}
        for key in sorted({op["key"] for op in history}):
            reader.submit({"op": "get", "key": key}, partial(got.__setitem__, key))
            wait_for(
                sim,
                sim.now + 3_000,
                partial(got.__contains__, key),
                f"get({key!r}) on {laggard} never completed",
            )
        workload.check()

    runs.over([421, 422, 423], scenario)
