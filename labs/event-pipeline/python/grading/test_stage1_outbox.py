"""Stage outbox: the order and its event commit together; the relay loses nothing."""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections import Counter
from typing import Any

import pytest


def _topology(broker: Any) -> tuple[str, str]:
    """A topic exchange with one queue bound to every order event."""
    exchange, queue = broker.exchange("orders"), broker.queue("all")
    ch = broker.connect().channel()
    ch.exchange_declare(exchange, exchange_type="topic", durable=True)
    ch.queue_declare(queue, durable=True)
    ch.queue_bind(queue, exchange, routing_key="order.#")
    ch.close()
    return exchange, queue


def _outbox(conn: Any) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT event_id::text, aggregate_id, seq, event_type, payload, published_at IS NOT NULL"
        " FROM outbox ORDER BY id"
    ).fetchall()


def test_order_and_event_commit_in_one_transaction(db: str, load: Any) -> None:
    outbox, dbmod = load("outbox"), load("db")
    with dbmod.connect(db) as conn:
        placed = outbox.place_order(conn, "ada", 1250)
        rows = _outbox(conn)
        assert len(rows) == 1, f"place_order must write one outbox row, found {len(rows)}"
        event_id, order_id, seq, event_type, payload, published = rows[0]
        assert (event_id, order_id) == (str(placed.event_id), placed.order_id), (
            "the outbox row must carry the returned event_id and the order's id"
        )
        assert event_type == "order.placed" and seq == 1 and not published
        assert payload == {"customer": "ada", "amount_cents": 1250}
        uuid.UUID(event_id)

        # Make the outbox insert fail: the order must roll back with it.
        conn.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN RAISE EXCEPTION 'outbox unavailable'; END $$"
        )
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse()"
        )
        with pytest.raises(Exception, match="outbox unavailable"):
            outbox.place_order(conn, "bob", 990)
        orders = conn.execute("SELECT customer FROM orders ORDER BY id").fetchall()
        assert orders == [("ada",)], (
            "an order was committed although its event could not be written: the order and "
            "its outbox row must commit in one transaction (with conn.transaction(): ...)"
        )
        conn.execute("DROP TRIGGER refuse ON outbox")

        outbox.set_status(conn, placed.order_id, "paid")
        outbox.set_status(conn, placed.order_id, "shipped")
        rows = _outbox(conn)
        assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
            (placed.order_id, 1, "order.placed", {"customer": "ada", "amount_cents": 1250}),
            (placed.order_id, 2, "order.status_changed", {"status": "paid"}),
            (placed.order_id, 3, "order.status_changed", {"status": "shipped"}),
        ], f"events of one order carry seq 1, 2, 3 in commit order; got {rows}"
        status = conn.execute("SELECT status FROM orders WHERE id = %s", (placed.order_id,))
        assert status.fetchone() == ("shipped",)


def test_relay_publishes_persistent_confirmed_events(db: str, broker: Any, load: Any) -> None:
    outbox, dbmod = load("outbox"), load("db")
    exchange, queue = _topology(broker)
    with dbmod.connect(db) as conn:
        placed = [outbox.place_order(conn, f"c{i}", 100 + i) for i in range(5)]
        outbox.set_status(conn, placed[2].order_id, "paid")
        relay = outbox.Relay(conn, broker.connect(), exchange)
        assert relay.drain() == 6, "drain() returns how many events it published"
        assert relay.drain() == 0, "a second drain must find nothing pending"
        assert all(r[5] for r in _outbox(conn)), "every published row gets published_at"
        expected = [(r[0], r[1], r[2], r[3], r[4]) for r in _outbox(conn)]
    got = broker.drain(queue)
    assert len(got) == 6, f"expected 6 messages on the queue, found {len(got)}"
    seen = []
    for props, body in got:
        data = json.loads(body)
        assert props.delivery_mode == 2, (
            "events must be persistent (delivery_mode=2) or a broker restart loses them"
        )
        assert props.message_id == data["event_id"], (
            "message_id must be the event id: consumers deduplicate by it"
        )
        assert props.content_type == "application/json"
        seen.append(
            (data["event_id"], data["order_id"], data["seq"], data["event_type"], data["payload"])
        )
    assert seen == expected, "the relay publishes every event once, in outbox (commit) order"


def test_relay_keeps_unroutable_events_pending(db: str, broker: Any, load: Any) -> None:
    outbox, dbmod = load("outbox"), load("db")
    exchange = broker.exchange("nowhere")
    ch = broker.connect().channel()
    ch.exchange_declare(exchange, exchange_type="topic", durable=True)  # no queue bound
    ch.close()
    with dbmod.connect(db) as conn:
        outbox.place_order(conn, "ada", 500)
        relay = outbox.Relay(conn, broker.connect(), exchange)
        # Raising is one correct answer; what matters is the outbox.
        with contextlib.suppress(Exception):
            relay.run_once()
        rows = _outbox(conn)
    assert not rows[0][5], (
        "an event no queue accepted was marked published, so it is lost: publish with "
        "mandatory=True on a channel with publisher confirms (confirm_delivery()) and mark "
        "rows only after the broker confirmed them"
    )


def _relay_env(db: str, broker: Any, exchange: str, fault: str | None) -> dict[str, str]:
    env = {"DATABASE_URL": db, "AMQP_URL": broker.url, "EXCHANGE": exchange}
    if fault:
        env["EVENTPIPE_FAULT"] = fault
    return env


@pytest.mark.parametrize("fault", ["before_publish", "after_publish"])
def test_relay_killed_mid_batch_loses_nothing(
    db: str, broker: Any, load: Any, run_module: Any, fault: str
) -> None:
    outbox, dbmod = load("outbox"), load("db")
    exchange, queue = _topology(broker)
    with dbmod.connect(db) as conn:
        ids = [outbox.place_order(conn, f"c{i}", 100 + i).event_id for i in range(20)]
    crashed = run_module("relay", _relay_env(db, broker, exchange, fault), ("--once",))
    assert crashed.returncode == -9, (
        f"the relay must reach fault_point({fault!r}) and be killed there (SIGKILL); it exited "
        f"with {crashed.returncode}: {crashed.output}"
    )
    with dbmod.connect(db) as conn:
        pending = conn.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL")
        assert pending.fetchone() == (20,), (
            f"killed at {fault}, rows were marked published before the broker had them: mark "
            "them in the same transaction, after the confirms"
        )
    done = run_module("relay", _relay_env(db, broker, exchange, None), ("--once",))
    assert done.returncode == 0, done.output
    counts = Counter(json.loads(body)["event_id"] for _, body in broker.drain(queue))
    missing = [i for i in ids if counts[str(i)] == 0]
    assert not missing, f"{len(missing)} events were lost after the relay was killed at {fault}"
    dupes = {k: v for k, v in counts.items() if v > 2}
    assert not dupes, f"one crash may duplicate an event once, not more: {dupes}"
    if fault == "before_publish":
        assert all(v == 1 for v in counts.values()), (
            "killed before publishing, the restarted relay must publish each event exactly once"
        )


def test_confirmed_events_survive_a_broker_restart(
    db: str, restartable_rabbit: Any, load: Any, run_module: Any, spawn_module: Any
) -> None:
    """Restart a private RabbitMQ under the relay: nothing confirmed is lost, nothing doubled."""
    from conftest import Broker, wait_until

    outbox, dbmod = load("outbox"), load("db")
    broker = Broker(restartable_rabbit.url)
    try:
        exchange, queue = _topology(broker)
        env = _relay_env(db, broker, exchange, None)
        with dbmod.connect(db) as conn:
            ids = [outbox.place_order(conn, f"c{i}", 100 + i).event_id for i in range(20)]
        first = run_module("relay", env, ("--once",))
        assert first.returncode == 0, first.output
        # A long-running relay is connected, idle, while the broker restarts under it.
        relay = spawn_module("relay", env)
        time.sleep(0.5)
        assert relay.poll() is None, "`python -m ...relay` (no --once) must keep running"
        restartable_rabbit.restart()
        with dbmod.connect(db) as conn:
            ids += [outbox.place_order(conn, f"d{i}", 200 + i).event_id for i in range(10)]

            def settled() -> bool:
                row = conn.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                return relay.poll() is not None or row.fetchone() == (0,)

            wait_until(settled, 30, "the relay to publish the new events or to exit")
        if relay.poll() is not None:
            # Its connection died with the broker: exiting is fine, a supervisor restarts it.
            again = run_module("relay", env, ("--once",))
            assert again.returncode == 0, (
                f"a relay started after the broker restart failed: {again.output}"
            )
        counts = Counter(json.loads(body)["event_id"] for _, body in broker.drain(queue))
    finally:
        broker.cleanup()
    lost = [i for i in ids[:20] if counts[str(i)] == 0]
    assert not lost, (
        f"{len(lost)} of 20 events the broker had confirmed before its restart are gone: publish "
        "them persistent (delivery_mode=2) to durable queues, or a restart drops them"
    )
    missing = [i for i in ids[20:] if counts[str(i)] == 0]
    assert not missing, (
        f"{len(missing)} of 10 events written after the restart never reached the queue: a "
        "publish on the dead connection must fail and leave the rows pending for the next relay"
    )
    dupes = {k: v for k, v in counts.items() if v > 1}
    assert not dupes, f"no relay crashed mid-batch, yet events were published twice: {dupes}"
