"""Stage election: Raft leader election under a seeded, faulty network."""

from __future__ import annotations

import random
from functools import partial
from itertools import zip_longest

from dkvsim.runs import Runs, chaos, faulty_net, raft_sim, stable_leader, wait_for
from dkvsim.sim import NetConfig, Violation

STAGE = "election"

# Election timeouts of 150-300 ms, heartbeats every 50 ms and message delays of at most
# 30 ms give a leader within a few hundred ms; this bound leaves room for split votes.
LEADER_BOUND_MS = 2_500


def test_at_most_one_leader_per_term(runs: Runs) -> None:
    """Election safety, votes and terms checked after every event, under partitions and crashes."""

    def scenario(seed: int) -> None:
        rng = random.Random(seed)
        sim, _ = raft_sim(runs, seed, nodes=rng.choice([3, 5]), net=faulty_net(rng))
        chaos(sim, rng, 300, 6_000)
        sim.run_until(6_000)
        wait_for(
            sim,
            6_000 + LEADER_BOUND_MS,
            lambda: stable_leader(sim) is not None,
            f"no leader within {LEADER_BOUND_MS} ms after every node was restarted and the "
            "network healed",
        )

    runs.over([1, 2, 3, 4, 5, 6], scenario)


def test_one_leader_per_term_with_slow_and_duplicated_messages(runs: Runs) -> None:
    """Replies from earlier elections arrive late and twice: only votes of the current term
    count."""

    def scenario(seed: int) -> None:
        rng = random.Random(seed)
        # Delays up to longer than an election timeout: replies outlive their election.
        net = NetConfig(delay_min_ms=1, delay_max_ms=400, loss=0.05, duplicate=0.6)
        sim, _ = raft_sim(runs, seed, nodes=5, net=net)
        chaos(sim, rng, 200, 8_000, partitions=True, crashes=True)
        sim.run_until(8_000)
        # Then an ordinary network: the cluster must settle on one leader.
        sim.net = NetConfig(delay_max_ms=12)
        wait_for(
            sim,
            8_000 + 2 * LEADER_BOUND_MS,
            lambda: stable_leader(sim) is not None,
            f"no leader within {2 * LEADER_BOUND_MS} ms once the network became fast again",
        )

    runs.over(list(range(71, 85)), scenario)


def test_leader_elected_within_bound_after_heal(runs: Runs) -> None:
    """A minority partition heals: a leader exists on the highest term within the bound."""

    def scenario(seed: int) -> None:
        rng = random.Random(seed)
        sim, _ = raft_sim(runs, seed, nodes=5, net=NetConfig(delay_max_ms=20, loss=0.05))
        wait_for(
            sim,
            LEADER_BOUND_MS,
            lambda: stable_leader(sim) is not None,
            f"no leader within {LEADER_BOUND_MS} ms of a fault-free start",
        )
        # Split the cluster so that no side has a majority, then heal.
        nodes = sim.node_ids[:]
        rng.shuffle(nodes)
        sim.partition(nodes[:2], nodes[2:4], nodes[4:])
        sim.run_until(sim.now + 1_500)
        if stable_leader(sim) is not None:
            raise Violation("a leader kept its majority while the cluster was split 2/2/1")
        sim.heal()
        healed = sim.now
        wait_for(
            sim,
            healed + LEADER_BOUND_MS,
            lambda: stable_leader(sim) is not None,
            f"no leader within {LEADER_BOUND_MS} ms after the partition healed",
        )

    runs.over([11, 12, 13, 14], scenario)


def test_failed_leader_is_replaced(runs: Runs) -> None:
    def scenario(seed: int) -> None:
        sim, _ = raft_sim(runs, seed, nodes=3)
        wait_for(
            sim,
            LEADER_BOUND_MS,
            lambda: stable_leader(sim) is not None,
            f"no leader within {LEADER_BOUND_MS} ms of a fault-free start",
        )
        old = stable_leader(sim)
        assert old is not None
        sim.crash(old)
        crashed = sim.now
        wait_for(
            sim,
            crashed + LEADER_BOUND_MS,
            lambda: stable_leader(sim) not in (None, old),
            f"leader {old} crashed and no other node became leader within {LEADER_BOUND_MS} ms",
        )

    runs.over([21, 22, 23], scenario)


def test_election_timeouts_are_randomised(runs: Runs) -> None:
    """All nodes start together on a network with one fixed delay: with equal timeouts
    every node stands at once, votes for itself, and no one ever wins."""

    def scenario(seed: int) -> None:
        sim, _ = raft_sim(runs, seed, nodes=5, net=NetConfig(delay_min_ms=5, delay_max_ms=5))
        wait_for(
            sim,
            LEADER_BOUND_MS,
            lambda: stable_leader(sim) is not None,
            f"no leader within {LEADER_BOUND_MS} ms on a symmetric network: are election "
            "timeouts drawn at random (from rt.rng) each time the timer is reset?",
        )

    runs.over([31, 32], scenario)


def test_leader_is_stable_without_faults(runs: Runs) -> None:
    """Heartbeats reset the followers' election timers: no needless elections."""

    def scenario(seed: int) -> None:
        sim, _ = raft_sim(runs, seed, nodes=5, net=NetConfig(delay_max_ms=10))
        wait_for(
            sim,
            LEADER_BOUND_MS,
            lambda: stable_leader(sim) is not None,
            f"no leader within {LEADER_BOUND_MS} ms of a fault-free start",
        )
        leader = stable_leader(sim)
        term = sim.status(leader)["term"] if leader else 0  # type: ignore[index]
        sim.run_until(sim.now + 10_000)
        now = stable_leader(sim)
        if now != leader or sim.status(now)["term"] != term:  # type: ignore[index, arg-type]
            raise Violation(
                f"on a network without faults, leadership moved from {leader} (term {term}) to "
                f"{now} within 10 s: do heartbeats reach every follower and reset its election "
                "timer?"
            )
        terms = [sim.status(n)["term"] for n in sim.node_ids]  # type: ignore[index]
        if max(terms) != term:
            raise Violation(
                f"terms rose to {max(terms)} while leader {leader} of term {term} was healthy"
            )

    runs.over([41, 42, 43], scenario)


def test_votes_and_terms_survive_restarts(runs: Runs) -> None:
    """Frequent crashes right after voting: a restarted node must remember its term and vote."""

    def scenario(seed: int) -> None:
        rng = random.Random(seed)
        sim, _ = raft_sim(runs, seed, nodes=3, net=NetConfig(delay_max_ms=8))
        # Crash and restart nodes every few tens of milliseconds, in the middle of elections.
        when = 100
        while when < 4_000:
            victim = rng.choice(sim.node_ids)
            sim.at(when, "", partial(sim.crash, victim))
            sim.at(when + rng.randint(1, 30), "", partial(sim.restart, victim))
            when += rng.randint(20, 90)
        sim.run_until(4_100)
        wait_for(
            sim,
            4_100 + LEADER_BOUND_MS,
            lambda: stable_leader(sim) is not None,
            f"no leader within {LEADER_BOUND_MS} ms after the restarts stopped",
        )

    runs.over([51, 52, 53, 54, 55, 56, 57, 58], scenario)


def test_same_seed_gives_the_same_trace(runs: Runs) -> None:
    """The whole run is a function of the seed: byte-identical traces, and a leader in them."""

    def trace(seed: int) -> str:
        rng = random.Random(seed)
        sim, _ = raft_sim(runs, seed, nodes=3, net=faulty_net(rng))
        chaos(sim, rng, 200, 2_000)
        sim.run_until(3_000)
        if not sim.elections:
            raise Violation("no node ever became leader in this run")
        return sim.trace_text()

    def scenario(seed: int) -> None:
        first, second, other = trace(seed), trace(seed), trace(seed + 1)
        if first != second:
            diff = next(
                i
                for i, (a, b) in enumerate(zip_longest(first.splitlines(), second.splitlines()))
                if a != b
            )
            raise Violation(
                f"two runs of seed {seed} differ from trace line {diff}: does a node keep state "
                "between runs (a module-level or class-level variable), or draw randomness from "
                "anything but rt.rng?"
            )
        if first == other:
            raise Violation(f"seeds {seed} and {seed + 1} gave the same trace")

    runs.over([61, 62], scenario)
