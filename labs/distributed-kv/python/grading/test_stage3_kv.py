"""Stage kv: a linearizable, exactly-once key-value service on top of the Raft log."""

from __future__ import annotations

import random
from functools import partial
from typing import Any

from dkvsim.clients import Clerk
from dkvsim.lin import CheckerBudget, check_history, check_key
from dkvsim.runs import Runs, Workload, chaos, faulty_net, raft_sim, stable_leader, wait_for
from dkvsim.sim import NetConfig, Violation

STAGE = "kv"

DONE_BOUND_MS = 8_000


def _finish(sim: Any, workload: Workload, what: str) -> None:
    wait_for(
        sim,
        sim.now + DONE_BOUND_MS,
        workload.finished,
        f"{what}: the clients' requests did not all complete within {DONE_BOUND_MS} ms after "
        "the faults were repaired (does the leader answer every committed request, and answer "
        "a retried one?)",
    )


def test_linearizable_under_faults(runs: Runs) -> None:
    def scenario(seed: int) -> None:
        rng = random.Random(seed)
        sim, _ = raft_sim(runs, seed, nodes=rng.choice([3, 5]), net=faulty_net(rng))
        workload = Workload(sim, rng, clients=4, keys=["a", "b", "c"], ops_per_client=18)
        workload.start(100)
        chaos(sim, rng, 300, 3_500)
        sim.run_until(3_500)
        _finish(sim, workload, "after the faults")
        workload.check()

    runs.over([201, 202, 203, 204, 205, 206, 207, 208], scenario)


def _appended_tokens(history: list[dict[str, Any]]) -> dict[str, list[str]]:
    tokens: dict[str, list[str]] = {}
    for op in history:
        if op["op"] == "append":
            tokens.setdefault(op["key"], []).append(op["value"])
    return tokens


def test_exactly_once_under_duplicates_and_retries(runs: Runs) -> None:
    """Many duplicated and lost messages, leader crashes: every append lands exactly once."""

    def scenario(seed: int) -> None:
        rng = random.Random(seed)
        net = NetConfig(delay_max_ms=25, loss=0.15, duplicate=0.3)
        sim, _ = raft_sim(runs, seed, nodes=3, net=net)
        workload = Workload(
            sim, rng, clients=3, keys=["x", "y"], ops_per_client=15, kinds=("append",)
        )
        workload.start(100)

        def restart_all() -> None:
            for node in sim.node_ids:
                sim.restart(node)

        def crash_a_leader() -> None:
            for node in sim.leaders()[:1]:
                sim.crash(node)

        for when in range(600, 3_000, 700):
            sim.at(when, "", crash_a_leader)
            sim.at(when + 150, "", restart_all)
        sim.run_until(3_000)
        _finish(sim, workload, "with duplicated and lost messages")
        reader = Clerk(sim, "reader", workload.history)
        final: dict[str, Any] = {}
        for key, expected in sorted(_appended_tokens(workload.history).items()):
            reader.submit({"op": "get", "key": key}, partial(final.__setitem__, key))
            wait_for(
                sim,
                sim.now + 3_000,
                partial(final.__contains__, key),
                f"get({key!r}) never completed",
            )
            value = final[key].get("value") or ""
            for token in expected:
                count = value.count(token)
                if count != 1:
                    raise Violation(
                        f"append({token!r}) to {key!r} completed once but its value holds it "
                        f"{count} times: a retried or duplicated request must take effect once "
                        "(keep each client's last seq and result in the replicated state)"
                    )

    runs.over([211, 212, 213, 214], scenario)


def test_deposed_leader_serves_no_stale_reads(runs: Runs) -> None:
    """A leader cut off from its majority must not answer a get from its own state."""

    def scenario(seed: int) -> None:
        rng = random.Random(seed)
        sim, _ = raft_sim(runs, seed, nodes=5, net=NetConfig(delay_max_ms=8))
        history: list[dict[str, Any]] = []
        writer = Clerk(sim, "writer", history)
        reader = Clerk(sim, "reader", history)
        wait_for(sim, 2_500, lambda: stable_leader(sim) is not None, "no leader within 2500 ms")
        old = stable_leader(sim)
        assert old is not None
        done: list[Any] = []
        writer.submit({"op": "put", "key": "k", "value": "v1"}, done.append)
        wait_for(sim, sim.now + 2_000, lambda: len(done) == 1, "put('k', 'v1') never completed")
        others = [n for n in sim.node_ids if n != old]
        rng.shuffle(others)
        # The old leader keeps one follower; the other three elect a new leader.
        sim.partition([old, others[0]], others[1:])
        writer.servers = others[1:]
        writer.submit({"op": "put", "key": "k", "value": "v2"}, done.append)
        wait_for(
            sim,
            sim.now + 4_000,
            lambda: len(done) == 2,
            "put('k', 'v2') on the majority side never completed",
        )
        # The reader still believes in the old leader.
        reader.servers = [old]
        reader.retry_ms = 400
        reader.submit({"op": "get", "key": "k"}, done.append)
        sim.run_until(sim.now + 1_000)
        sim.heal()
        reader.servers = list(sim.node_ids)
        wait_for(
            sim, sim.now + 4_000, lambda: len(done) == 3, "the get never completed after healing"
        )
        bad = check_history(history)
        if bad is not None:
            raise Violation(
                f"get('k') returned {done[2].get('value')!r} after put('k', 'v2') had completed: "
                f"{old}, a deposed leader, answered from its own state (reads must be committed "
                "through the log, or confirmed by a majority, like writes)"
            )

    runs.over([221, 222, 223], scenario)


def test_minority_leader_acknowledges_no_write(runs: Runs) -> None:
    """A write reaching a leader cut off from its majority is acknowledged only once it is
    committed: the client gets no answer until the partition heals."""

    def scenario(seed: int) -> None:
        rng = random.Random(seed)
        sim, _ = raft_sim(runs, seed, nodes=5, net=NetConfig(delay_max_ms=8))
        history: list[dict[str, Any]] = []
        wait_for(sim, 2_500, lambda: stable_leader(sim) is not None, "no leader within 2500 ms")
        old = stable_leader(sim)
        assert old is not None
        others = [n for n in sim.node_ids if n != old]
        rng.shuffle(others)
        sim.partition([old, others[0]], others[1:])
        late = Clerk(sim, "late", history, retry_ms=2_000)
        late.servers = [old]
        done: list[Any] = []
        late.submit({"op": "append", "key": "k", "value": "lost?;"}, done.append)
        sim.run_until(sim.now + 1_000)
        if done:
            raise Violation(
                f"{old}, cut off with a minority, acknowledged append('k', 'lost?;'): a write is "
                "acknowledged only once a majority holds it (committed and applied)"
            )
        writer = Clerk(sim, "writer", history)
        writer.servers = others[1:]
        writer.submit({"op": "put", "key": "k", "value": "new;"}, done.append)
        wait_for(
            sim, sim.now + 4_000, lambda: len(done) == 1, "put on the majority side never completed"
        )
        sim.heal()
        late.servers = list(sim.node_ids)
        wait_for(
            sim, sim.now + 6_000, lambda: len(done) == 2, "the append never completed after healing"
        )
        reader = Clerk(sim, "reader", history)
        reader.submit({"op": "get", "key": "k"}, done.append)
        wait_for(sim, sim.now + 3_000, lambda: len(done) == 3, "the final get never completed")
        bad = check_history(history)
        if bad is not None:
            raise Violation(f"the history of 'k' is not linearizable: {history}")

    runs.over([241, 242], scenario)


def test_not_leader_replies_carry_a_hint(runs: Runs) -> None:
    def scenario(seed: int) -> None:
        sim, _ = raft_sim(runs, seed, nodes=3, net=NetConfig(delay_max_ms=5))
        wait_for(sim, 2_500, lambda: stable_leader(sim) is not None, "no leader within 2500 ms")
        leader = stable_leader(sim)
        sim.run_until(sim.now + 200)
        follower = next(n for n in sim.node_ids if n != leader)
        replies: list[dict[str, Any]] = []
        sim.add_endpoint("probe", lambda src, message: replies.append(message))
        request = {"type": "client_request", "client": "probe", "seq": 1, "op": "get", "key": "k"}
        sim.send("probe", follower, request)
        sim.run_until(sim.now + 100)
        if (
            not replies
            or replies[0].get("ok") is not False
            or replies[0].get("error") != "not_leader"
        ):
            raise Violation(
                f"follower {follower} answered a client request with {replies}, not "
                "an ok=false, error='not_leader' reply"
            )
        if replies[0].get("leader") != leader:
            raise Violation(
                f"follower {follower}'s not_leader reply names {replies[0].get('leader')!r} "
                f"as the leader, but {leader} has led the term for 200 ms"
            )

    runs.over([231], scenario)


# The checker is part of the harness: these tests prove it rejects what it must and accepts
# what it must, on any implementation (they pass on the starter too).


def _op(
    kind: str, value: str | None, output: str | None, call: int, ret: int | None
) -> dict[str, Any]:
    return {"op": kind, "key": "k", "value": value, "output": output, "call": call, "ret": ret}


def test_checker_rejects_known_violations() -> None:
    stale = [_op("put", "1", None, 0, 1), _op("put", "2", None, 2, 3), _op("get", None, "1", 4, 5)]
    assert not check_key(stale), "a get after a completed put must see it"
    lost = [
        _op("append", "a", None, 0, 1),
        _op("append", "b", None, 2, 3),
        _op("get", None, "b", 4, 5),
    ]
    assert not check_key(lost), "a lost append must be rejected"
    twice = [_op("append", "a", None, 0, 1), _op("get", None, "aa", 2, 3)]
    assert not check_key(twice), "an append applied twice must be rejected"
    order = [
        _op("append", "a", None, 0, 1),
        _op("append", "b", None, 2, 3),
        _op("get", None, "ba", 4, 5),
    ]
    assert not check_key(order), "appends in the wrong real-time order must be rejected"
    flicker = [
        _op("put", "1", None, 0, 10),
        _op("get", None, "1", 1, 2),
        _op("get", None, None, 3, 4),
    ]
    assert not check_key(flicker), "a value seen, then unseen, must be rejected"
    phantom = [_op("get", None, "x", 0, 1)]
    assert not check_key(phantom), "a value nobody wrote must be rejected"


def test_checker_accepts_valid_histories() -> None:
    concurrent = [
        _op("put", "1", None, 0, 10),
        _op("put", "2", None, 1, 11),
        _op("get", None, "1", 12, 13),
    ]
    assert check_key(concurrent), "concurrent puts may take effect in either order"
    pending = [
        _op("append", "a", None, 0, None),
        _op("get", None, "a", 5, 6),
        _op("get", None, "a", 7, 8),
    ]
    assert check_key(pending), "an append that never returned may still have taken effect"
    never = [_op("put", "1", None, 0, None), _op("get", None, None, 5, 6)]
    assert check_key(never), "a put that never returned may never have taken effect"
    overlapping = [
        _op("append", "a", None, 0, 20),
        _op("get", None, None, 1, 2),
        _op("get", None, "a", 3, 4),
        _op("get", None, "a", 5, 6),
    ]
    assert check_key(overlapping), "a long append takes effect once, between its call and return"
    # A larger history of concurrent clients stays well inside the budget.
    rng = random.Random(7)
    history: list[dict[str, Any]] = []
    state = ""
    clock = 0
    for i in range(60):
        clock += rng.randint(1, 3)
        value = f"v{i};"
        state += value
        history.append(_op("append", value, None, clock - 1, clock + 2))
        history.append(_op("get", None, state, clock + 1, clock + 3))
    try:
        assert check_key(history, budget=50_000), "a serial history of appends and gets is valid"
    except CheckerBudget as exc:
        raise AssertionError(
            f"the checker exhausted its budget on a small valid history: {exc}"
        ) from None
