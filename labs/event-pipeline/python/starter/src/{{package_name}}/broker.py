"""RabbitMQ helpers. Given."""

from __future__ import annotations

import pika
from pika.adapters.blocking_connection import BlockingChannel


def connect(amqp_url: str) -> pika.BlockingConnection:
    params = pika.URLParameters(amqp_url)
    params.heartbeat = 30
    params.blocked_connection_timeout = 30
    return pika.BlockingConnection(params)


def queue_depth(channel: BlockingChannel, queue: str) -> int:
    """Messages ready in `queue` (delivered but unacknowledged ones are not counted)."""
    ok = channel.queue_declare(queue=queue, passive=True)
    return int(ok.method.message_count)


def queue_depth_probe(amqp_url: str, queue: str) -> int:
    connection = connect(amqp_url)
    try:
        return queue_depth(connection.channel(), queue)
    finally:
        connection.close()
