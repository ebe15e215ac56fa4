"""Consumes payment events and records one notification per event."""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

import redis

from ..common.events import EventConsumer

log = logging.getLogger(__name__)


class Notifier(Protocol):
    def send(self, user_id: str, message: str) -> None:
        """Deliver a message to a user (email, SMS, push...). May raise."""


class LogNotifier:
    def send(self, user_id: str, message: str) -> None:
        log.info("notify user=%s: %s", user_id, message)


class NotificationStore:
    """Notifications keyed by the event that caused them."""

    def __init__(self, client: redis.Redis, namespace: str = "") -> None:
        self._redis = client
        self._key = f"{namespace}notifications:by-event"

    def seen(self, event_id: str) -> bool:
        return bool(self._redis.hexists(self._key, event_id))

    def add_once(self, event_id: str, notification: dict[str, Any]) -> bool:
        return bool(self._redis.hsetnx(self._key, event_id, json.dumps(notification)))

    def for_user(self, user_id: str) -> list[dict[str, Any]]:
        items = [json.loads(v) for v in self._redis.hvals(self._key)]
        return [n for n in items if n.get("user_id") == user_id]


class NotificationWorker:
    def __init__(self, consumer: EventConsumer, store: NotificationStore, notifier: Notifier):
        self.consumer = consumer
        self.store = store
        self.notifier = notifier

    def handle(self, event: dict[str, Any]) -> None:
        # TODO(lab:services): for a "payment.succeeded" event, send one message through
        # self.notifier and store one notification keyed by event["event_id"]. The same event
        # can arrive twice (a redelivery, a producer retry): the effect must happen once.
        raise NotImplementedError("TODO(lab:services): NotificationWorker.handle")

    def run_once(self, block_ms: int | None = None) -> int:
        """Process one batch; return how many deliveries were handled and acknowledged."""
        handled = 0
        for delivery in self.consumer.poll(max_messages=10, block_ms=block_ms):
            # TODO(lab:services): is this the right order? What happens to the message when
            # handle() raises after the ack?
            self.consumer.ack(delivery)
            self.handle(delivery.event)
            handled += 1
        return handled
