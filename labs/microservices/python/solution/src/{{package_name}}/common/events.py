"""The event stream, behind a small interface.

Services publish and consume through `EventPublisher` and `EventConsumer` only. Redis Streams
with consumer groups implement them here; a Kafka or RabbitMQ adapter would implement the same
two protocols and nothing else in the services would change.

Delivery is at least once: a message stays in the group's pending list until it is
acknowledged, and a message that stays unacknowledged longer than `redeliver_after_ms` is
claimed by the next consumer that polls. Handlers make the effect exactly once by
de-duplicating on the event's `event_id`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol, cast

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
    """Publishes events as one JSON field on a Redis stream (XADD, capped with MAXLEN ~)."""

    def __init__(self, client: redis.Redis, namespace: str = "", maxlen: int = 100_000) -> None:
        self._redis = client
        self._namespace = namespace
        self._maxlen = maxlen

    def publish(self, topic: str, event: dict[str, Any]) -> str:
        payload = json.dumps(event, sort_keys=True, separators=(",", ":"))
        message_id = self._redis.xadd(
            stream_key(self._namespace, topic),
            {"event": payload},
            maxlen=self._maxlen,
            approximate=True,
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
        self._group_ready = False

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            # id "0": a group created after events were published still sees them.
            self._redis.xgroup_create(self._stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def _delivery(self, message_id: Any, fields: dict[Any, Any] | None) -> Delivery | None:
        mid = _text(message_id)
        if not fields:
            # The entry was trimmed away while pending: nothing to process, drop it.
            self._redis.xack(self._stream, self.group, mid)
            return None
        decoded = {_text(k): _text(v) for k, v in fields.items()}
        try:
            event = json.loads(decoded["event"])
        except (KeyError, ValueError):
            event = {"type": "invalid", "raw": decoded}
        return Delivery(self.topic, mid, event)

    def poll(self, max_messages: int = 10, block_ms: int | None = None) -> list[Delivery]:
        self._ensure_group()
        deliveries: list[Delivery] = []
        # 1. Take over messages that some consumer read but never acknowledged.
        claimed = self._redis.xautoclaim(
            self._stream,
            self.group,
            self.consumer,
            min_idle_time=self.redeliver_after_ms,
            start_id="0-0",
            count=max_messages,
        )
        for message_id, fields in claimed[1]:
            delivery = self._delivery(message_id, fields)
            if delivery is not None:
                deliveries.append(delivery)
        # 2. Then read messages never delivered to anyone in the group.
        room = max_messages - len(deliveries)
        if room > 0:
            block = block_ms if block_ms and not deliveries else None
            response = self._redis.xreadgroup(
                self.group, self.consumer, {self._stream: ">"}, count=room, block=block
            )
            # redis-py types replies loosely: [(stream, [(id, {field: value}), ...]), ...]
            streams = cast("list[tuple[Any, list[tuple[Any, dict[Any, Any]]]]]", response or [])
            for _stream, messages in streams:
                for message_id, fields in messages:
                    delivery = self._delivery(message_id, fields)
                    if delivery is not None:
                        deliveries.append(delivery)
        return deliveries

    def ack(self, delivery: Delivery) -> None:
        self._redis.xack(self._stream, self.group, delivery.message_id)
