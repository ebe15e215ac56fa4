"""Seeds, fault schedules and workloads shared by the grading tests and `run.py`.

Seeds: each property test runs its fixed seeds, then `DKV_SEEDS` more (default
2) drawn from the base seed `DKV_BASE_SEED` (default 2026). `DKV_SEED=S` runs
exactly seed S. A failure names the seed, the property, the last events of the
trace and the commands that rerun that seed alone.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from functools import partial
from typing import Any

from .checks import RaftChecker
from .clients import Clerk
from .lin import CheckerBudget, check_history
from .sim import NetConfig, Sim, Violation

DEFAULT_EXTRA_SEEDS = 2
DEFAULT_BASE_SEED = 2026


def base_seed() -> int:
    return int(os.environ.get("DKV_BASE_SEED", DEFAULT_BASE_SEED))


def seeds_for(name: str, fixed: list[int]) -> list[int]:
    only = os.environ.get("DKV_SEED")
    if only:
        return [int(only)]
    extra = int(os.environ.get("DKV_SEEDS", DEFAULT_EXTRA_SEEDS))
    draw = random.Random(f"{base_seed()}/{name}")
    return fixed + [draw.randrange(10_000, 10_000_000) for _ in range(extra)]


class Runs:
    """Runs a scenario over seeds; turns the first failure into a readable report."""

    def __init__(self, factory: Callable[[Any], Any], stage: str, test: str) -> None:
        self.factory = factory
        self.stage = stage
        self.test = test
        self.sim: Sim | None = None

    def new_sim(self, seed: int, **kwargs: Any) -> Sim:
        self.sim = Sim(seed, self.factory, **kwargs)
        return self.sim

    def over(self, fixed: list[int], scenario: Callable[[int], None]) -> None:
        for seed in seeds_for(self.test, fixed):
            self.sim = None
            try:
                scenario(seed)
            except (AssertionError, CheckerBudget) as exc:
                raise AssertionError(self.report(seed, exc)) from None

    def report(self, seed: int, exc: BaseException) -> str:
        headline, _, details = str(exc).partition("\n")
        lines = [
            f"seed {seed}: {headline}",
            f"rerun it alone: DKV_SEED={seed} lab check --stage {self.stage} -v",
            f"  or: DKV_SEED={seed} DKV_TRACE=1 .venv/bin/python -m pytest tests/grading "
            f"-k {self.test} (DKV_TRACE=1 prints the whole trace)",
        ]
        if details:
            lines.append(details)
        if self.sim is not None:
            full = os.environ.get("DKV_TRACE") == "1"
            shown = len(self.sim.trace) if full else 25
            lines.append(
                f"{'the whole trace' if full else 'last events'} of the run "
                f"(t={self.sim.now}ms, {self.sim.events_run} events):"
            )
            lines.append(self.sim.tail(shown))
        lines.append(
            f"(the extra seeds are drawn from base seed {base_seed()}; DKV_SEEDS=N runs N of them)"
        )
        return "\n".join(lines)


def wait_for(sim: Sim, until: int, predicate: Callable[[], bool], what: str, step: int = 10) -> int:
    """Run until predicate holds (checked every step ms); fail with `what` at `until`."""
    while not predicate():
        if sim.now >= until:
            raise Violation(what)
        sim.run_until(min(until, sim.now + step))
    return sim.now


def stable_leader(sim: Sim, group: str | None = None) -> str | None:
    """The leader of the highest term among the live nodes, if a majority is on that term."""
    members = sim.node_ids if group is None else sim.groups[group]
    statuses = {n: sim.status(n) for n in members}
    live = {n: s for n, s in statuses.items() if s is not None}
    if not live:
        return None
    top = max(s["term"] for s in live.values())
    leaders = [n for n, s in live.items() if s["role"] == "leader" and s["term"] == top]
    on_top = sum(1 for s in live.values() if s["term"] == top)
    if len(leaders) == 1 and 2 * on_top > len(members):
        return leaders[0]
    return None


def chaos(
    sim: Sim,
    rng: random.Random,
    start: int,
    end: int,
    *,
    crashes: bool = True,
    partitions: bool = True,
    group: str | None = None,
) -> None:
    """Schedule random partitions, heals, crashes and restarts between start and end,
    then heal everything and restart every node at `end`."""
    members = sim.node_ids if group is None else sim.groups[group]
    when = start
    while True:
        when += rng.randint(150, 700)
        if when >= end:
            break
        roll = rng.random()
        if partitions and roll < 0.35:
            shuffled = members[:]
            rng.shuffle(shuffled)
            cut = rng.randint(1, len(members) // 2)
            sides = [shuffled[:cut], shuffled[cut:]]
            sim.at(when, "", partial(sim.partition, *sides))
        elif partitions and roll < 0.55:
            sim.at(when, "", sim.heal)
        elif crashes and roll < 0.8:
            victim = rng.choice(members)
            sim.at(when, "", partial(sim.crash, victim))
        elif crashes:
            victim = rng.choice(members)
            sim.at(when, "", partial(sim.restart, victim))

    def recover() -> None:
        sim.heal()
        for node in members:
            sim.restart(node)

    sim.at(end, "", recover)


def faulty_net(rng: random.Random) -> NetConfig:
    return NetConfig(
        delay_min_ms=1,
        delay_max_ms=rng.choice([5, 15, 30]),
        loss=rng.choice([0.0, 0.02, 0.1]),
        duplicate=rng.choice([0.0, 0.05, 0.15]),
    )


def propose_on_leaders(sim: Sim, proposals: list[Any], prefix: str = "cmd") -> None:
    """Hand a fresh command to every node that says it is leader (the harness plays the
    service above Raft)."""
    for node in sim.leaders():
        command = {"op": "test", "id": f"{prefix}{len(proposals)}"}
        obj = sim.nodes[node]
        sim.log(f"harness: {node}.propose({command})")
        placed: list[Any] = []

        def call(
            obj: Any = obj, command: dict[str, Any] = command, placed: list[Any] = placed
        ) -> None:
            placed.append(obj.propose(command))

        sim._call(node, call)
        proposals.append((node, command, placed[0]))


def every(
    sim: Sim, start: int, end: int, period: int, label: str, action: Callable[[], None]
) -> None:
    for when in range(start, end, period):
        sim.at(when, label, action)


class Workload:
    """Clients doing random get/put/append on a few keys, one request at a time each."""

    def __init__(
        self,
        sim: Sim,
        rng: random.Random,
        clients: int,
        keys: list[str],
        *,
        ops_per_client: int,
        route: Callable[[dict[str, Any]], list[str]] | None = None,
        refresh: Callable[[], None] | None = None,
        kinds: tuple[str, ...] = ("get", "put", "append"),
        prefix: str = "c",
    ) -> None:
        self.sim = sim
        self.rng = rng
        self.keys = keys
        self.kinds = kinds
        self.history: list[dict[str, Any]] = []
        self.left = {f"{prefix}{i}": ops_per_client for i in range(1, clients + 1)}
        self.clerks = {
            name: Clerk(sim, name, self.history, route=route, refresh=refresh) for name in self.left
        }
        self.tokens = 0

    def start(self, at: int) -> None:
        for name in self.clerks:
            self.sim.at(at + self.rng.randint(0, 30), f"{name} starts", partial(self._next, name))

    def _next(self, name: str) -> None:
        if self.left[name] <= 0:
            return
        self.left[name] -= 1
        kind = self.rng.choice(self.kinds)
        key = self.rng.choice(self.keys)
        op: dict[str, Any] = {"op": kind, "key": key}
        if kind != "get":
            self.tokens += 1
            op["value"] = f"{name}.{self.tokens};"
        think = self.rng.randint(0, 40)
        self.clerks[name].submit(
            op,
            partial(self._after, name, think),
        )

    def _after(self, name: str, think: int, _reply: dict[str, Any]) -> None:
        self.sim.at(self.sim.now + think, "", partial(self._next, name))

    def finished(self) -> bool:
        return all(v == 0 for v in self.left.values()) and not any(
            c.busy for c in self.clerks.values()
        )

    def check(self) -> None:
        try:
            bad = check_history(self.history)
        except CheckerBudget as exc:
            raise Violation(
                f"the linearizability checker gave up ({exc}); the history is larger than any "
                "correct run makes here: report it"
            ) from None
        if bad is not None:
            ops = [op for op in self.history if op["key"] == bad]
            shown = "\n".join(
                f"  {o['client']} {o['op']}({o['value'] if o['value'] is not None else ''})"
                f" -> {o['output']!r} "
                f"[{o['call']}..{o['ret'] if o['ret'] is not None else 'never'}]"
                for o in ops[-12:]
            )
            raise Violation(
                f"the history of key {bad!r} is not linearizable (no order of these operations, "
                "consistent with real time, explains what the gets returned); last operations "
                f"with their [invocation..return] event numbers:\n{shown}"
            )


def raft_sim(runs: Runs, seed: int, **kwargs: Any) -> tuple[Sim, RaftChecker]:
    sim = runs.new_sim(seed, **kwargs)
    checker = RaftChecker()
    sim.observe(checker)
    # The nodes started before the checker was attached: look at them once.
    for node in sim.node_ids:
        checker(sim, node)
    return sim, checker
