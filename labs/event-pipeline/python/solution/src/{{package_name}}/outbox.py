"""Stage outbox: the state change and its event commit together; a relay publishes them."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import pika
import psycopg
from pika.adapters.blocking_connection import BlockingChannel

from .events import Event, encode
from .faults import fault_point

Conn = psycopg.Connection[tuple[Any, ...]]


@dataclass(frozen=True)
class PlacedOrder:
    order_id: int
    event_id: str


def _append_event(conn: Conn, order_id: int, event_type: str, payload: dict[str, Any]) -> str:
    """Write the event for `order_id` into the outbox; the caller's transaction commits it."""
    row = conn.execute(
        "UPDATE orders SET version = version + 1 WHERE id = %s RETURNING version", (order_id,)
    ).fetchone()
    if row is None:
        raise LookupError(f"no order {order_id}")
    event_id = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO outbox (event_id, aggregate_id, seq, event_type, payload)"
        " VALUES (%s, %s, %s, %s, %s)",
        (event_id, order_id, row[0], event_type, json.dumps(payload)),
    )
    return event_id


def place_order(conn: Conn, customer: str, amount_cents: int) -> PlacedOrder:
    """Insert the order and its `order.placed` event in one transaction."""
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO orders (customer, amount_cents) VALUES (%s, %s) RETURNING id",
            (customer, amount_cents),
        ).fetchone()
        if row is None:  # INSERT ... RETURNING always returns the row
            raise RuntimeError("the order insert returned nothing")
        order_id = int(row[0])
        event_id = _append_event(
            conn,
            order_id,
            "order.placed",
            {"customer": customer, "amount_cents": amount_cents},
        )
    return PlacedOrder(order_id, event_id)


def set_status(conn: Conn, order_id: int, status: str) -> str:
    """Change an order's status and emit `order.status_changed`, in one transaction."""
    with conn.transaction():
        cur = conn.execute("UPDATE orders SET status = %s WHERE id = %s", (status, order_id))
        if cur.rowcount != 1:
            raise LookupError(f"no order {order_id}")
        return _append_event(conn, order_id, "order.status_changed", {"status": status})


class Relay:
    """Publishes pending outbox rows to `exchange`, at least once, in outbox order."""

    def __init__(self, conn: Conn, amqp: pika.BlockingConnection, exchange: str) -> None:
        self.conn = conn
        self.exchange = exchange
        self.channel: BlockingChannel = amqp.channel()
        # Every basic_publish now waits for the broker's ack and raises on a nack or,
        # with mandatory=True, on a message no queue would take.
        self.channel.confirm_delivery()

    def run_once(self, batch_size: int = 100) -> int:
        """Publish up to `batch_size` pending events; return how many were published."""
        with self.conn.transaction():
            rows = self.conn.execute(
                "SELECT id, event_id, aggregate_id, seq, event_type, payload FROM outbox"
                " WHERE published_at IS NULL ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
                (batch_size,),
            ).fetchall()
            if not rows:
                return 0
            fault_point("before_publish")
            for _id, event_id, order_id, seq, event_type, payload in rows:
                event = Event(str(event_id), event_type, int(order_id), int(seq), dict(payload))
                self.channel.basic_publish(
                    exchange=self.exchange,
                    routing_key=event_type,
                    body=encode(event),
                    properties=pika.BasicProperties(
                        message_id=event.event_id,
                        content_type="application/json",
                        delivery_mode=pika.DeliveryMode.Persistent,
                        headers={"order_id": event.order_id, "seq": event.seq},
                    ),
                    mandatory=True,
                )
            fault_point("after_publish")
            self.conn.execute(
                "UPDATE outbox SET published_at = now() WHERE id = ANY(%s)",
                ([row[0] for row in rows],),
            )
        return len(rows)

    def drain(self, batch_size: int = 100) -> int:
        """Publish until nothing is pending; return the total published."""
        total = 0
        while n := self.run_once(batch_size):
            total += n
        return total
