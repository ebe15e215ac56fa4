"""Stage consumers: one effect per event, acks after the effect, competing consumers."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pika
import pytest


def _event(load: Any, order_id: int, seq: int, event_type: str, payload: dict[str, Any]) -> Any:
    events = load("events")
    return events.Event(str(uuid.uuid4()), event_type, order_id, seq, payload)


def _placed(load: Any, order_id: int, customer: str, cents: int) -> Any:
    return _event(load, order_id, 1, "order.placed", {"customer": customer, "amount_cents": cents})


def _publish(broker: Any, queue: str, bodies: list[bytes]) -> None:
    ch = broker.connect().channel()
    ch.queue_declare(queue, durable=True)
    ch.confirm_delivery()
    for body in bodies:
        ch.basic_publish("", queue, body, pika.BasicProperties(delivery_mode=2))
    ch.close()


def _totals(conn: Any) -> dict[str, tuple[int, int]]:
    rows = conn.execute("SELECT customer, orders, amount_cents FROM customer_totals").fetchall()
    return {r[0]: (r[1], r[2]) for r in rows}


def test_duplicate_event_applies_once(db: str, load: Any) -> None:
    consumers, dbmod = load("consumers"), load("db")
    event = _placed(load, 7, "ada", 1250)
    with dbmod.connect(db) as conn:
        assert consumers.apply_event(conn, "billing", event) is True
        assert consumers.apply_event(conn, "billing", event) is False, (
            "a redelivered event (same event_id) must be recognised as a duplicate"
        )
        assert _totals(conn) == {"ada": (1, 1250)}, (
            "a duplicate event was applied twice: insert the event id into processed_events "
            "and skip the effect when it was already there"
        )
        # Another consumer keeps its own record: the same event is new to it.
        assert consumers.apply_event(conn, "audit", event) is True


def test_stale_status_event_is_ignored(db: str, load: Any) -> None:
    consumers, dbmod = load("consumers"), load("db")
    with dbmod.connect(db) as conn:
        consumers.apply_event(conn, "billing", _placed(load, 9, "ada", 100))
        shipped = _event(load, 9, 3, "order.status_changed", {"status": "shipped"})
        paid = _event(load, 9, 2, "order.status_changed", {"status": "paid"})
        consumers.apply_event(conn, "billing", shipped)
        consumers.apply_event(conn, "billing", paid)  # arrives late
        row = conn.execute("SELECT status, seq FROM order_status WHERE order_id = 9").fetchone()
    assert row == ("shipped", 3), (
        f"order 9 ended as {row}: events of one order carry seq; an older one delivered after "
        "a newer one must not overwrite it"
    )


def test_effect_and_dedupe_roll_back_together(db: str, load: Any) -> None:
    consumers, dbmod = load("consumers"), load("db")
    bad = _event(load, 4, 1, "order.placed", {"customer": "ada"})  # no amount_cents
    good = _placed(load, 5, "bob", 300)
    with dbmod.connect(db) as conn:
        with pytest.raises(Exception):  # noqa: B017 (any error: the effect failed)
            consumers.apply_event(conn, "billing", bad)
        marked = conn.execute("SELECT count(*) FROM processed_events").fetchone()
        assert marked == (0,), (
            "the event was recorded as processed although its effect failed: the dedupe row "
            "and the effect must commit in one transaction"
        )
        assert consumers.apply_event(conn, "billing", good) is True
        assert _totals(conn) == {"bob": (1, 300)}


def _consumer_env(db: str, broker: Any, queue: str, fault: str | None = None) -> dict[str, str]:
    env = {"DATABASE_URL": db, "AMQP_URL": broker.url, "QUEUE": queue, "CONSUMER_NAME": "billing"}
    if fault:
        env["EVENTPIPE_FAULT"] = fault
    return env


@pytest.mark.parametrize("fault", ["before_commit", "before_ack"])
def test_consumer_killed_mid_message_leaves_one_effect(
    db: str, broker: Any, load: Any, run_module: Any, fault: str
) -> None:
    dbmod, events = load("db"), load("events")
    queue = broker.queue("billing")
    _publish(broker, queue, [events.encode(_placed(load, 1, "ada", 700))])
    crashed = run_module("consumer", _consumer_env(db, broker, queue, fault))
    assert crashed.returncode == -9, (
        f"the consumer must reach fault_point({fault!r}) and die there; exit "
        f"{crashed.returncode}: {crashed.output}"
    )
    done = run_module("consumer", _consumer_env(db, broker, queue), ("--idle-timeout", "1"))
    assert done.returncode == 0, done.output
    with dbmod.connect(db) as conn:
        totals = _totals(conn)
    assert totals == {"ada": (1, 700)}, (
        f"killed at {fault}, the event ended applied as {totals or 'nothing'}: ack only after "
        "the effect committed (redelivery then brings it back), and dedupe in the effect's "
        "transaction (so the redelivery is skipped)"
    )
    assert broker.depth(queue) == 0, "the redelivered message must be acknowledged"


def test_competing_consumers_share_the_queue(db: str, broker: Any, load: Any) -> None:
    consumers, dbmod, events = load("consumers"), load("db"), load("events")
    queue = broker.queue("billing")
    sent = [_placed(load, i, f"c{i % 7}", 10 + i) for i in range(120)]
    _publish(broker, queue, [events.encode(e) for e in sent])
    results: dict[str, int] = {}
    errors: list[BaseException] = []
    gate = threading.Barrier(2)

    def work(name: str) -> None:
        try:
            with dbmod.connect(db) as conn:
                channel = broker.connect().channel()
                gate.wait(10)

                def handle(event: Any) -> None:
                    consumers.apply_event(conn, "billing", event, name)

                results[name] = consumers.run_consumer(
                    channel, queue, handle, prefetch=2, idle_timeout=1.0
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in ("w1", "w2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, f"a consumer failed: {errors[0]!r}"
    expected: dict[str, list[int]] = {}
    for e in sent:
        got = expected.setdefault(e.payload["customer"], [0, 0])
        got[0] += 1
        got[1] += e.payload["amount_cents"]
    with dbmod.connect(db) as conn:
        assert _totals(conn) == {k: tuple(v) for k, v in expected.items()}
        per_worker = dict(
            conn.execute("SELECT worker, count(*) FROM processed_events GROUP BY worker").fetchall()
        )
    assert sum(results.values()) == 120, f"deliveries seen per worker: {results}"
    assert set(per_worker) == {"w1", "w2"} and min(per_worker.values()) >= 10, (
        f"work per consumer: {per_worker}; with prefetch=2 both consumers of one queue must "
        "get a share (basic_qos(prefetch_count=prefetch))"
    )
    assert broker.depth(queue) == 0
