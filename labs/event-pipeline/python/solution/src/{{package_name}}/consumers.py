"""Stage consumers: idempotent effects, manual acks after the effect commits."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import psycopg
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties

from .events import Event, PoisonMessage, decode
from .faults import fault_point
from .retry import RetryPolicy, delivery_tag, handle_failure

Conn = psycopg.Connection[tuple[Any, ...]]


def apply_event(conn: Conn, consumer: str, event: Event, worker: str = "") -> bool:
    """Apply `event`'s effect once per consumer; return False for a duplicate.

    The dedupe row and the effect commit in one transaction, so a crash leaves both or neither.
    Status changes carry a per-order sequence number: an older one arriving late is ignored.
    """
    with conn.transaction():
        cur = conn.execute(
            "INSERT INTO processed_events (consumer, event_id, worker) VALUES (%s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            (consumer, event.event_id, worker),
        )
        if cur.rowcount == 0:
            return False
        if event.event_type == "order.placed":
            conn.execute(
                "INSERT INTO customer_totals (customer, orders, amount_cents)"
                " VALUES (%s, 1, %s) ON CONFLICT (customer) DO UPDATE SET"
                " orders = customer_totals.orders + 1,"
                " amount_cents = customer_totals.amount_cents + EXCLUDED.amount_cents",
                (event.payload["customer"], event.payload["amount_cents"]),
            )
            status = "placed"
        elif event.event_type == "order.status_changed":
            status = str(event.payload["status"])
        else:
            raise ValueError(f"unknown event type {event.event_type!r}")
        conn.execute(
            "INSERT INTO order_status (order_id, status, seq) VALUES (%s, %s, %s)"
            " ON CONFLICT (order_id) DO UPDATE SET status = EXCLUDED.status, seq = EXCLUDED.seq"
            " WHERE order_status.seq < EXCLUDED.seq",
            (event.order_id, status, event.seq),
        )
        fault_point("before_commit")
    return True


def process_delivery(
    channel: BlockingChannel,
    queue: str,
    method: Basic.Deliver,
    properties: BasicProperties,
    body: bytes,
    handle: Callable[[Event], object],
    policy: RetryPolicy,
    rng: random.Random,
) -> None:
    """Handle one delivery and settle it: ack only once its outcome is durable."""
    tag = delivery_tag(method)
    try:
        event = decode(body)
    except PoisonMessage as exc:
        handle_failure(channel, queue, body, properties, f"poison: {exc}", policy, rng, poison=True)
        channel.basic_ack(tag)
        return
    try:
        handle(event)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}"
        handle_failure(channel, queue, body, properties, reason, policy, rng)
        channel.basic_ack(tag)
        return
    fault_point("before_ack")
    channel.basic_ack(tag)


def run_consumer(
    channel: BlockingChannel,
    queue: str,
    handle: Callable[[Event], object],
    *,
    prefetch: int = 10,
    max_messages: int | None = None,
    idle_timeout: float = 1.0,
    policy: RetryPolicy | None = None,
    rng: random.Random | None = None,
) -> int:
    """Consume `queue` with manual acks until idle for `idle_timeout` s; return deliveries seen."""
    if prefetch < 1:
        raise ValueError("prefetch must be at least 1")
    policy = policy or RetryPolicy()
    rng = rng or random.Random()  # noqa: S311 (jitter, not cryptography)
    channel.confirm_delivery()
    channel.basic_qos(prefetch_count=prefetch)
    seen = 0
    for method, properties, body in channel.consume(
        queue, auto_ack=False, inactivity_timeout=idle_timeout
    ):
        if method is None:
            break
        if properties is None or body is None:  # only with method None
            continue
        process_delivery(channel, queue, method, properties, body, handle, policy, rng)
        seen += 1
        if max_messages is not None and seen >= max_messages:
            break
    channel.cancel()
    return seen
