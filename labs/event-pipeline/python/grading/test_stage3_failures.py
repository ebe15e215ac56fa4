"""Stage failures: capped exponential backoff with jitter, retry queues, DLQ, replay."""

from __future__ import annotations

import itertools
import random
import statistics
import time
import uuid
from typing import Any

import pika


class UpperRng(random.Random):
    """Always draws the top of the range: the delay is then the backoff bound itself."""

    def uniform(self, a: float, b: float) -> float:
        return b

    def random(self) -> float:
        return 1.0 - 1e-12


def _policy(load: Any, **kw: Any) -> Any:
    return load("retry").RetryPolicy(**kw)


def test_backoff_is_exponential_capped_and_jittered(load: Any) -> None:
    retry = load("retry")
    policy = retry.RetryPolicy(max_attempts=12, base_delay=0.5, max_delay=8.0)
    bounds = [retry.backoff_delay(n, policy, UpperRng()) for n in range(1, 9)]
    assert bounds == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0], (
        f"with jitter drawing its maximum, attempts 1..8 waited {bounds}; expected "
        "base_delay * 2**(attempt-1), capped at max_delay"
    )
    seed = 1234
    rng = random.Random(seed)  # noqa: S311 (jitter, not cryptography)
    samples = [retry.backoff_delay(4, policy, rng) for _ in range(400)]
    assert all(0.0 <= s <= 4.0 for s in samples), (
        f"attempt 4 must wait within [0, 4.0] s (seed {seed}); got {min(samples)}..{max(samples)}"
    )
    assert len({round(s, 6) for s in samples}) > 300 and statistics.pstdev(samples) > 0.5, (
        "retries of many messages must not wait the same time (thundering herd): add jitter, "
        f"e.g. uniform(0, bound) (seed {seed})"
    )
    assert retry.backoff_delay(60, policy, UpperRng()) == 8.0, "a late attempt stays capped"


def _setup(broker: Any, load: Any) -> tuple[str, Any]:
    queue = broker.queue("work")
    ch = broker.connect().channel()
    load("retry").declare_queues(ch, queue)
    ch.close()
    return queue, ch


def _event_body(load: Any, order_id: int) -> tuple[str, bytes]:
    events = load("events")
    event = events.Event(
        str(uuid.uuid4()), "order.placed", order_id, 1, {"customer": "ada", "amount_cents": 5}
    )
    return event.event_id, events.encode(event)


def _publish(broker: Any, queue: str, bodies: list[bytes]) -> None:
    ch = broker.connect().channel()
    ch.confirm_delivery()
    for body in bodies:
        ch.basic_publish("", queue, body, pika.BasicProperties(delivery_mode=2))
    ch.close()


def _consume_until(
    broker: Any, load: Any, queue: str, handle: Any, policy: Any, done: Any, rng: Any = None
) -> None:
    """Run the learner's consumer in short rounds until `done()` or 10 s."""
    consumers = load("consumers")
    deadline = time.monotonic() + 10
    while not done():
        assert time.monotonic() < deadline, "the consumer did not finish within 10 s"
        channel = broker.connect().channel()
        consumers.run_consumer(
            channel,
            queue,
            handle,
            prefetch=5,
            max_messages=20,  # so that a message retried forever cannot keep this round going
            idle_timeout=0.3,
            policy=policy,
            rng=rng,
        )


def test_failing_message_retried_with_backoff_then_dead_lettered(broker: Any, load: Any) -> None:
    retry = load("retry")
    queue, _ = _setup(broker, load)
    _, body = _event_body(load, 1)
    _publish(broker, queue, [body])
    calls: list[float] = []

    def handle(event: Any) -> None:
        calls.append(time.monotonic())
        raise RuntimeError("card processor down")

    policy = retry.RetryPolicy(max_attempts=4, base_delay=0.15, max_delay=0.3)
    _consume_until(
        broker, load, queue, handle, policy, lambda: broker.depth(f"{queue}.dlq") == 1, UpperRng()
    )
    assert len(calls) == 4, f"max_attempts=4 means 4 calls of the handler, not {len(calls)}"
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    for gap, want in zip(gaps, [0.15, 0.3, 0.3], strict=True):
        assert gap >= want * 0.8, (
            f"waits between attempts were {[round(g, 3) for g in gaps]} s; with the jitter at its "
            "maximum they must follow the backoff (0.15, 0.3 capped, 0.3): route retries through "
            "the retry queue with a per-message expiration"
        )
    [(props, dead)] = broker.drain(f"{queue}.dlq")
    assert dead == body, "the dead-lettered message must keep its original body"
    headers = props.headers or {}
    assert "card processor down" in str(headers.get("x-death-reason", "")), (
        f"the DLQ message must say why it died in the x-death-reason header; headers: {headers}"
    )
    assert int(headers.get("x-attempts", 0)) == 4, f"x-attempts must be 4; headers: {headers}"
    assert broker.depth(queue) == 0 and broker.depth(f"{queue}.retry") == 0


def test_transient_failure_recovers_without_dead_letter(broker: Any, load: Any) -> None:
    retry = load("retry")
    queue, _ = _setup(broker, load)
    _, body = _event_body(load, 2)
    _publish(broker, queue, [body])
    calls = []

    def handle(event: Any) -> None:
        calls.append(event.event_id)
        if len(calls) < 3:
            raise TimeoutError("database busy")

    policy = retry.RetryPolicy(max_attempts=3, base_delay=0.05, max_delay=0.1)
    _consume_until(broker, load, queue, handle, policy, lambda: len(calls) >= 3)
    assert len(calls) == 3 and broker.depth(f"{queue}.dlq") == 0, (
        f"a message that succeeds on its last allowed attempt must not be dead-lettered "
        f"(calls: {len(calls)}, DLQ depth {broker.depth(f'{queue}.dlq')})"
    )


def test_poison_message_isolated_on_first_delivery(broker: Any, load: Any) -> None:
    retry = load("retry")
    queue, _ = _setup(broker, load)
    good = [_event_body(load, i)[1] for i in range(3)]
    poison = b'{"event_id": "not-a-uuid", "order_id": "x"'
    _publish(broker, queue, [good[0], poison, good[1], b"\xff\xfe", good[2]])
    handled: list[int] = []
    policy = retry.RetryPolicy(max_attempts=5, base_delay=5.0, max_delay=5.0)
    _consume_until(
        broker,
        load,
        queue,
        lambda e: handled.append(e.order_id),
        policy,
        lambda: len(handled) == 3 and broker.depth(f"{queue}.dlq") == 2,
    )
    assert sorted(handled) == [0, 1, 2], "the good messages around the poison ones are handled"
    dead = broker.drain(f"{queue}.dlq")
    assert sorted(body for _, body in dead) == sorted([poison, b"\xff\xfe"])
    for props, _ in dead:
        headers = props.headers or {}
        reason = str(headers.get("x-death-reason", ""))
        assert "poison" in reason.lower(), (
            f"a message that cannot be decoded goes to the DLQ at once with a reason "
            f"starting 'poison'; got headers {headers}"
        )
        assert int(headers.get("x-attempts", 0)) == 1, "poison is never retried"


def test_replay_from_dead_letter_queue(broker: Any, load: Any) -> None:
    retry = load("retry")
    queue, _ = _setup(broker, load)
    ids_bodies = [_event_body(load, i) for i in range(3)]
    _publish(broker, queue, [b for _, b in ids_bodies])
    policy = retry.RetryPolicy(max_attempts=2, base_delay=0.05, max_delay=0.05)
    broken = True
    done: list[str] = []
    failures: dict[str, int] = {}

    def handle(event: Any) -> None:
        if broken:
            raise RuntimeError("bug in handler")
        failures[event.event_id] = failures.get(event.event_id, 0) + 1
        if failures[event.event_id] == 1:
            raise RuntimeError("one more transient failure after the replay")
        done.append(event.event_id)

    _consume_until(broker, load, queue, handle, policy, lambda: broker.depth(f"{queue}.dlq") == 3)
    broken = False
    moved = retry.replay_dead_letters(broker.connect().channel(), queue)
    assert moved == 3, f"replay_dead_letters returns how many it moved back, got {moved}"
    assert broker.depth(f"{queue}.dlq") == 0
    _consume_until(broker, load, queue, handle, policy, lambda: len(done) == 3)
    assert sorted(done) == sorted(i for i, _ in ids_bodies)
    assert broker.depth(f"{queue}.dlq") == 0, (
        "a replayed message starts again at attempt 1: it was dead-lettered again after one "
        "failure, so the replay kept its old attempt count"
    )


def test_retries_and_dead_letters_survive_a_broker_restart(
    restartable_rabbit: Any, load: Any
) -> None:
    """Messages waiting out a backoff, and dead letters, are still there after a restart."""
    import pika.exceptions
    from conftest import Broker

    retry = load("retry")
    broker = Broker(restartable_rabbit.url)
    try:
        queue, _ = _setup(broker, load)
        failing = [_event_body(load, i) for i in range(2)]
        poison = b'{"event_id": "not-a-uuid"'
        _publish(broker, queue, [b for _, b in failing] + [poison])

        def handle(event: Any) -> None:
            raise RuntimeError("card processor down")

        # A long backoff: both failures wait in the retry queue while the broker restarts.
        policy = retry.RetryPolicy(max_attempts=5, base_delay=120.0, max_delay=120.0)
        _consume_until(
            broker,
            load,
            queue,
            handle,
            policy,
            lambda: broker.depth(f"{queue}.retry") == 2 and broker.depth(f"{queue}.dlq") == 1,
            UpperRng(),
        )
        restartable_rabbit.restart()

        def depth(name: str) -> int:
            try:
                return broker.depth(name)
            except pika.exceptions.ChannelClosedByBroker:
                raise AssertionError(
                    f"queue {name} is gone after a broker restart: declare it durable=True"
                ) from None

        waiting, dead = depth(f"{queue}.retry"), depth(f"{queue}.dlq")
        assert (waiting, dead) == (2, 1), (
            f"after a broker restart the retry queue holds {waiting} of 2 messages waiting out "
            f"their backoff and the DLQ {dead} of 1 dead letter: republish retries and dead "
            "letters persistent (delivery_mode=2) to durable queues"
        )
        [(props, body)] = broker.drain(f"{queue}.dlq")
        assert body == poison and "poison" in str((props.headers or {}).get("x-death-reason")), (
            f"the dead letter lost its body or reason in the restart: {props.headers}"
        )
        retried = sorted(body for _, body in broker.drain(f"{queue}.retry"))
        assert retried == sorted(b for _, b in failing), "retried messages must keep their body"
    finally:
        broker.cleanup()
