"""Stage consumers: idempotent effects, manual acks after the effect commits."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import psycopg
from pika.adapters.blocking_connection import BlockingChannel

from .events import Event
from .retry import RetryPolicy

Conn = psycopg.Connection[tuple[Any, ...]]


def apply_event(conn: Conn, consumer: str, event: Event, worker: str = "") -> bool:
    """Apply `event`'s effect once per consumer; return False for a duplicate."""
    # TODO(lab:consumers): in one transaction: record (consumer, event_id, worker) in
    # processed_events (a duplicate returns False and changes nothing); for order.placed add
    # to customer_totals; for both event types set order_status unless a newer seq is already
    # there; call fault_point("before_commit") just before the commit.
    raise NotImplementedError("apply_event")


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
    # TODO(lab:consumers): manual acks, sent only after handle() returned, with
    # fault_point("before_ack") just before the ack; stop after max_messages or when idle.
    # TODO(lab:failures): undecodable messages (events.PoisonMessage) and handler errors go
    # through retry.handle_failure before the ack.
    # TODO(lab:backpressure): never more than `prefetch` unacknowledged deliveries.
    raise NotImplementedError("run_consumer")
