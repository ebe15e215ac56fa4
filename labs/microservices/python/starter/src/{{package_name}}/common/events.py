"""The event stream, behind a small interface.

Services publish and consume through `EventPublisher` and `EventConsumer` only. Redis Streams
with consumer groups implement them here; a Kafka or RabbitMQ adapter would implement the same
two protocols and nothing else in the services would change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

import redis


@dataclass(frozen=True)
class Delivery:
    """One message handed to a consumer."""

    topic: str
    message_id: str
    event: dict[str, Any]


class EventPublisher(Protocol):
    def publish(self, topic: str, event: dict[str, Any]) -> str:
        """Append `event` to `topic`; return the broker's message id."""


class EventConsumer(Protocol):
    def poll(self, max_messages: int = 10, block_ms: int | None = None) -> list[Delivery]:
        """Return up to `max_messages` deliveries: stale unacknowledged ones first, then new."""

    def ack(self, delivery: Delivery) -> None:
        """Acknowledge a delivery once its effect is durable."""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def stream_key(namespace: str, topic: str) -> str:
    return f"{namespace}events:{topic}"


class RedisStreamPublisher:
    """Publishes events as one JSON field on a Redis stream."""

    def __init__(self, client: redis.Redis, namespace: str = "", maxlen: int = 100_000) -> None:
        self._redis = client
        self._namespace = namespace
        self._maxlen = maxlen

    def publish(self, topic: str, event: dict[str, Any]) -> str:
        payload = json.dumps(event, sort_keys=True, separators=(",", ":"))
        message_id = self._redis.xadd(
            stream_key(self._namespace, topic), {"event": payload}, maxlen=self._maxlen
        )
        return _text(message_id)


class RedisStreamConsumer:
    """One named consumer in a consumer group on one topic."""

    def __init__(
        self,
        client: redis.Redis,
        topic: str,
        group: str,
        consumer: str,
        *,
        namespace: str = "",
        redeliver_after_ms: int = 30_000,
    ) -> None:
        self._redis = client
        self.topic = topic
        self.group = group
        self.consumer = consumer
        self.redeliver_after_ms = redeliver_after_ms
        self._stream = stream_key(namespace, topic)

    def poll(self, max_messages: int = 10, block_ms: int | None = None) -> list[Delivery]:
        # TODO(lab:services): create the consumer group once (XGROUP CREATE ... MKSTREAM; a
        # BUSYGROUP error means it exists), then
        #   1. claim messages other consumers left unacknowledged for at least
        #      redeliver_after_ms (XAUTOCLAIM), and
        #   2. read new messages for the group (XREADGROUP with id ">").
        # Decode the "event" field (JSON) into Delivery objects.
        raise NotImplementedError("TODO(lab:services): RedisStreamConsumer.poll")

    def ack(self, delivery: Delivery) -> None:
        # TODO(lab:services): XACK the message for this group.
        raise NotImplementedError("TODO(lab:services): RedisStreamConsumer.ack")
