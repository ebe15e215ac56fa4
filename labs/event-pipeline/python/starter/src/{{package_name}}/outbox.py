"""Stage outbox: the state change and its event commit together; a relay publishes them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pika
import psycopg
from pika.adapters.blocking_connection import BlockingChannel

Conn = psycopg.Connection[tuple[Any, ...]]


@dataclass(frozen=True)
class PlacedOrder:
    order_id: int
    event_id: str


def place_order(conn: Conn, customer: str, amount_cents: int) -> PlacedOrder:
    """Insert the order and its `order.placed` event in one transaction."""
    # TODO(lab:outbox): in ONE transaction (`with conn.transaction():`), insert the order,
    # bump orders.version and insert the outbox row: a new uuid4 event_id, aggregate_id = the
    # order id, seq = the new version, event_type "order.placed", payload
    # {"customer": ..., "amount_cents": ...}.
    raise NotImplementedError("place_order")


def set_status(conn: Conn, order_id: int, status: str) -> str:
    """Change an order's status and emit `order.status_changed`, in one transaction."""
    # TODO(lab:outbox): update the status, bump version, and write the event (payload
    # {"status": status}) in one transaction; LookupError for an unknown order.
    raise NotImplementedError("set_status")


class Relay:
    """Publishes pending outbox rows to `exchange`, at least once, in outbox order."""

    def __init__(self, conn: Conn, amqp: pika.BlockingConnection, exchange: str) -> None:
        self.conn = conn
        self.exchange = exchange
        self.channel: BlockingChannel = amqp.channel()
        # TODO(lab:outbox): put the channel in publisher-confirm mode.

    def run_once(self, batch_size: int = 100) -> int:
        """Publish up to `batch_size` pending events; return how many were published."""
        # TODO(lab:outbox): lock a batch of pending rows in id order (FOR UPDATE SKIP LOCKED),
        # call fault_point("before_publish"), publish each (routing key = event_type,
        # message_id = event_id, persistent, JSON via events.encode, mandatory) and wait for
        # the confirms, call fault_point("after_publish"), then mark them published in the
        # same transaction.
        raise NotImplementedError("Relay.run_once")

    def drain(self, batch_size: int = 100) -> int:
        """Publish until nothing is pending; return the total published."""
        total = 0
        while n := self.run_once(batch_size):
            total += n
        return total
