"""Stage replication: log replication and commitment, Raft's safety checked after every event."""

from __future__ import annotations

import random
from typing import Any

from dkvsim.runs import (
    Runs,
    chaos,
    every,
    faulty_net,
    propose_on_leaders,
    raft_sim,
    stable_leader,
    wait_for,
)
from dkvsim.sim import NetConfig, Sim, Violation

STAGE = "replication"

CATCH_UP_BOUND_MS = 4_000


def _committed_everywhere(sim: Sim, index: int) -> bool:
    statuses = [sim.status(n) for n in sim.node_ids]
    return all(s is not None and s["last_applied"] >= index for s in statuses)


def _final_flush(sim: Sim, proposals: list[Any], what: str) -> int:
    """After healing: one more command on a stable leader must commit and reach every node."""
    wait_for(
        sim,
        sim.now + 2_500,
        lambda: stable_leader(sim) is not None,
        "no leader within 2500 ms after every fault was repaired",
    )
    leader = stable_leader(sim)
    assert leader is not None
    before = len(proposals)
    propose_on_leaders(sim, proposals, prefix="final")
    placed = [p for p in proposals[before:] if p[0] == leader and p[2] is not None]
    if not placed:
        raise Violation(f"leader {leader}.propose() returned None: a leader must accept a command")
    index = int(placed[0][2][0])
    # The network may still lose messages, so leadership can move before that command
    # commits: keep proposing (to whoever leads) until the log has grown past it everywhere.
    every(
        sim,
        sim.now + 200,
        sim.now + CATCH_UP_BOUND_MS,
        200,
        "",
        lambda: propose_on_leaders(sim, proposals, prefix="final"),
    )
    wait_for(
        sim,
        sim.now + CATCH_UP_BOUND_MS,
        lambda: _committed_everywhere(sim, index),
        f"{what}: proposed on leader {leader} at index {index}, commands were not committed "
        f"and applied up to that index on every node within {CATCH_UP_BOUND_MS} ms",
    )
    return index


def _logs_agree(sim: Sim, upto: int) -> None:
    logs: dict[str, list[Any]] = {}
    for node in sim.node_ids:
        status = sim.status(node)
        assert status is not None
        base = status["snapshot_index"]
        logs[node] = [None] * base + [entry[0] for entry in status["log"]]
    for index in range(1, upto + 1):
        terms = {n: log[index - 1] for n, log in logs.items() if log[index - 1] is not None}
        if len(set(terms.values())) > 1:
            raise Violation(
                f"after healing, the nodes' logs still differ at index {index}: {terms}"
            )


def test_raft_safety_under_faults(runs: Runs) -> None:
    """Partitions, crashes, loss, duplication, reordering; commands proposed all along."""

    def scenario(seed: int) -> None:
        rng = random.Random(seed)
        sim, _ = raft_sim(runs, seed, nodes=rng.choice([3, 5]), net=faulty_net(rng))
        proposals: list[Any] = []
        every(sim, 200, 5_000, 60, "", lambda: propose_on_leaders(sim, proposals))
        chaos(sim, rng, 300, 5_000)
        sim.run_until(5_000)
        index = _final_flush(sim, proposals, "after the faults")
        _logs_agree(sim, index)

    runs.over([101, 102, 103, 104, 105, 106, 107, 108], scenario)


def test_leader_accepts_and_commits_proposals(runs: Runs) -> None:
    def scenario(seed: int) -> None:
        sim, _ = raft_sim(runs, seed, nodes=3, net=NetConfig(delay_max_ms=10))
        wait_for(sim, 2_500, lambda: stable_leader(sim) is not None, "no leader within 2500 ms")
        leader = stable_leader(sim)
        for node in sim.node_ids:
            if node != leader:
                assert sim.nodes[node].propose({"op": "test", "id": "x"}) is None, (
                    f"follower {node}.propose() must return None (only a leader accepts commands)"
                )
        proposals: list[Any] = []
        for _ in range(40):
            propose_on_leaders(sim, proposals)
        indices = [p[2][0] for p in proposals]
        if indices != list(range(indices[0], indices[0] + 40)):
            raise Violation(
                f"40 proposals on one leader got the indices {indices}, not consecutive ones"
            )
        wait_for(
            sim,
            sim.now + 1_000,
            lambda: _committed_everywhere(sim, indices[-1]),
            "40 commands on a healthy cluster were not applied everywhere within 1000 ms "
            "(the leader sends at most a batch per message: does it keep sending?)",
        )

    runs.over([111, 112], scenario)


def test_minority_leader_commits_nothing(runs: Runs) -> None:
    """An old leader cut off with a minority keeps accepting commands but never commits
    them; once healed its uncommitted suffix is truncated in favour of the new leader's log."""

    def scenario(seed: int) -> None:
        sim, _ = raft_sim(runs, seed, nodes=5, net=NetConfig(delay_max_ms=10))
        wait_for(sim, 2_500, lambda: stable_leader(sim) is not None, "no leader within 2500 ms")
        old = stable_leader(sim)
        assert old is not None
        proposals: list[Any] = []
        propose_on_leaders(sim, proposals)
        sim.run_until(sim.now + 300)
        others = [n for n in sim.node_ids if n != old]
        sim.partition([old, others[0]], others[1:])
        commit_before = sim.status(old)["commit_index"]  # type: ignore[index]
        for _ in range(5):
            sim.nodes[old].propose({"op": "test", "id": "doomed"})
        every(
            sim, sim.now + 10, sim.now + 1_500, 50, "", lambda: propose_on_leaders(sim, proposals)
        )
        sim.run_until(sim.now + 1_500)
        status = sim.status(old)
        assert status is not None
        if status["commit_index"] > commit_before:
            raise Violation(
                f"{old}, cut off with a minority, committed up to {status['commit_index']}"
            )
        sim.heal()
        index = _final_flush(sim, proposals, "after the partition healed")
        _logs_agree(sim, index)

    runs.over([121, 122, 123], scenario)


def test_committed_entries_survive_a_full_restart(runs: Runs) -> None:
    def scenario(seed: int) -> None:
        rng = random.Random(seed)
        sim, _ = raft_sim(runs, seed, nodes=3, net=NetConfig(delay_max_ms=10))
        proposals: list[Any] = []
        every(sim, 300, 1_500, 40, "", lambda: propose_on_leaders(sim, proposals))
        sim.run_until(1_800)
        committed = max(s["commit_index"] for s in (sim.status(n) for n in sim.node_ids) if s)
        if committed < 10:
            raise Violation(f"only {committed} entries committed in 1.5 s on a healthy cluster")
        for node in sim.node_ids:
            sim.crash(node)
        sim.run_until(sim.now + rng.randint(10, 200))
        for node in sim.node_ids:
            sim.restart(node)
        # The checker fails the run if a leader lacks a committed entry (leader completeness).
        index = _final_flush(sim, proposals, "after every node restarted")
        if index <= committed:
            raise Violation(
                f"after a full restart the new command landed at index {index}, but {committed} "
                "entries were committed before: the log must be durable"
            )

    runs.over([131, 132], scenario)


def test_lagging_follower_catches_up_over_conflicts(runs: Runs) -> None:
    """A follower misses many entries and holds conflicting ones from a deposed leader."""

    def scenario(seed: int) -> None:
        sim, _ = raft_sim(runs, seed, nodes=3, net=NetConfig(delay_max_ms=10))
        wait_for(sim, 2_500, lambda: stable_leader(sim) is not None, "no leader within 2500 ms")
        old = stable_leader(sim)
        assert old is not None
        others = [n for n in sim.node_ids if n != old]
        sim.partition([old], others)
        # The deposed leader appends entries no one else will ever have.
        for _ in range(12):
            sim.nodes[old].propose({"op": "test", "id": "stale"})
        proposals: list[Any] = []
        every(
            sim, sim.now + 10, sim.now + 2_000, 25, "", lambda: propose_on_leaders(sim, proposals)
        )
        sim.run_until(sim.now + 2_000)
        sim.heal()
        index = _final_flush(sim, proposals, f"after {old} rejoined with a conflicting log")
        _logs_agree(sim, index)

    runs.over([141, 142, 143], scenario)


def test_old_term_entries_commit_only_under_a_current_term_entry(runs: Runs) -> None:
    """Raft's figure 8: a new leader holding many entries of an earlier term, which a
    follower lacks, must not commit them by counting replicas before an entry of its own
    term is replicated on a majority."""

    def scenario(seed: int) -> None:
        sim, _ = raft_sim(runs, seed, nodes=5, net=NetConfig(delay_max_ms=5))
        wait_for(sim, 2_500, lambda: stable_leader(sim) is not None, "no leader within 2500 ms")
        first = stable_leader(sim)
        assert first is not None
        keeper = next(n for n in sim.node_ids if n != first)
        rest = [n for n in sim.node_ids if n not in (first, keeper)]
        # The other side will elect someone: cut it off the moment it wins, before its own
        # entries spread.
        cut: list[str] = []

        def isolate_winner(sim: Sim, node: str) -> None:
            status = sim.status(node)
            if not cut and node in rest and status is not None and status["role"] == "leader":
                cut.append(node)
                sim.partition([first], [node], [keeper] + [n for n in rest if n != node])

        sim.observe(isolate_winner)
        sim.partition([first, keeper], rest)
        for _ in range(40):
            sim.nodes[first].propose({"op": "test", "id": "old-term"})
        wait_for(sim, sim.now + 3_000, lambda: bool(cut), "the majority side elected no leader")
        # Only the keeper, whose log is longest, can now win the three remaining votes.
        wait_for(
            sim,
            sim.now + 4_000,
            lambda: (sim.status(keeper) or {}).get("role") == "leader",
            f"{keeper}, holding the longest log, was not elected by the two others",
        )
        proposals: list[Any] = []
        every(sim, sim.now + 10, sim.now + 600, 50, "", lambda: propose_on_leaders(sim, proposals))
        sim.run_until(sim.now + 700)
        sim.heal()
        index = _final_flush(sim, proposals, "after the partitions healed")
        _logs_agree(sim, index)

    runs.over([151, 152, 153], scenario)
