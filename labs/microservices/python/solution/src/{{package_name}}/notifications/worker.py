"""Consumes payment events and records one notification per event."""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol

import redis

from ..common.events import Delivery, EventConsumer

log = logging.getLogger(__name__)


class Notifier(Protocol):
    def send(self, user_id: str, message: str) -> None:
        """Deliver a message to a user (email, SMS, push...). May raise."""


class LogNotifier:
    def send(self, user_id: str, message: str) -> None:
        log.info("notify user=%s: %s", user_id, message)


# How long one consumer may hold an event while it sends; past it, another consumer may retry.
CLAIM_TTL_S = 60


class EventInProgress(Exception):
    """Another consumer holds the event: leave this delivery pending and look again later."""


class NotificationStore:
    """Notifications keyed by the event that caused them: one event, at most one notification."""

    def __init__(self, client: redis.Redis, namespace: str = "") -> None:
        self._redis = client
        self._key = f"{namespace}notifications:by-event"
        self._claims = f"{namespace}notifications:claim:"

    def seen(self, event_id: str) -> bool:
        return bool(self._redis.hexists(self._key, event_id))

    def claim(self, event_id: str) -> bool:
        """Take the event for this consumer (SET NX EX): false while another consumer holds it.
        The expiry hands the event on if the holder dies before it stores the notification."""
        return bool(self._redis.set(self._claims + event_id, "1", nx=True, ex=CLAIM_TTL_S))

    def release(self, event_id: str) -> None:
        self._redis.delete(self._claims + event_id)

    def add_once(self, event_id: str, notification: dict[str, Any]) -> bool:
        return bool(self._redis.hsetnx(self._key, event_id, json.dumps(notification)))

    def for_user(self, user_id: str) -> list[dict[str, Any]]:
        items = [json.loads(v) for v in self._redis.hvals(self._key)]
        return sorted(
            (n for n in items if n.get("user_id") == user_id), key=lambda n: n["created_at"]
        )


class NotificationWorker:
    def __init__(self, consumer: EventConsumer, store: NotificationStore, notifier: Notifier):
        self.consumer = consumer
        self.store = store
        self.notifier = notifier

    def handle(self, event: dict[str, Any]) -> None:
        if event.get("type") != "payment.succeeded":
            return  # not ours to act on; acknowledging it is correct
        event_id = str(event["event_id"])
        if self.store.seen(event_id):
            return  # a redelivery or a duplicate publish: the effect already happened
        # Checking seen() is not enough: two consumers holding two copies of one event would
        # both pass it and both send. The claim lets one through; the other leaves its copy
        # pending (no ack) and finds the notification stored when it comes back.
        if not self.store.claim(event_id):
            raise EventInProgress(f"event {event_id} is being handled by another consumer")
        amount = int(event["amount_cents"]) / 100
        message = f"Payment of {amount:.2f} {event['currency']} received."
        try:
            self.notifier.send(str(event["user_id"]), message)
        except Exception:
            self.store.release(event_id)  # nothing was sent: the next delivery may try again
            raise
        self.store.add_once(
            event_id,
            {
                "id": event_id,
                "user_id": str(event["user_id"]),
                "payment_id": str(event.get("payment_id", "")),
                "message": message,
                "created_at": str(event.get("occurred_at", "")),
            },
        )

    def run_once(self, block_ms: int | None = None) -> int:
        """Process one batch; return how many deliveries were handled and acknowledged."""
        handled = 0
        for delivery in self.consumer.poll(max_messages=10, block_ms=block_ms):
            if self._process(delivery):
                handled += 1
        return handled

    def _process(self, delivery: Delivery) -> bool:
        try:
            self.handle(delivery.event)
        except EventInProgress as exc:
            log.info("%s; delivery %s left pending", exc, delivery.message_id)
            return False
        except Exception:
            # No ack: the message stays pending and is redelivered after the idle timeout.
            log.exception("event %s failed; left pending for redelivery", delivery.message_id)
            return False
        self.consumer.ack(delivery)  # only after the effect is stored
        return True
