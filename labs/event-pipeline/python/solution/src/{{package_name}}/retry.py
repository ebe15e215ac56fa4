"""Stage failures: retries with capped exponential backoff and jitter, a dead-letter queue."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties

ATTEMPT = "x-attempt"
REASON = "x-death-reason"
ATTEMPTS = "x-attempts"
ORIGINAL_QUEUE = "x-original-queue"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0


def retry_queue(queue: str) -> str:
    return f"{queue}.retry"


def dead_letter_queue(queue: str) -> str:
    return f"{queue}.dlq"


def delivery_tag(method: Basic.Deliver | Basic.GetOk) -> int:
    if method.delivery_tag is None:
        raise ValueError("a delivery without a delivery tag")
    return method.delivery_tag


def int_header(headers: dict[str, Any], name: str, default: int) -> int:
    value = headers.get(name, default)
    return value if isinstance(value, int) else default


def backoff_delay(attempt: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Seconds to wait before retry number `attempt` (1-based): full jitter under a capped bound."""
    bound = min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1))
    return rng.uniform(0.0, bound)


def declare_queues(channel: BlockingChannel, queue: str) -> None:
    """The work queue, its retry queue (expired messages go back to work) and its DLQ."""
    channel.queue_declare(queue=queue, durable=True)
    channel.queue_declare(
        queue=retry_queue(queue),
        durable=True,
        arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": queue},
    )
    channel.queue_declare(queue=dead_letter_queue(queue), durable=True)


def _republish(
    channel: BlockingChannel,
    routing_key: str,
    body: bytes,
    properties: BasicProperties,
    headers: dict[str, Any],
    expiration: str | None = None,
) -> None:
    channel.basic_publish(
        exchange="",
        routing_key=routing_key,
        body=body,
        properties=pika.BasicProperties(
            message_id=properties.message_id,
            content_type=properties.content_type,
            delivery_mode=pika.DeliveryMode.Persistent,
            headers=headers,
            expiration=expiration,
        ),
        mandatory=True,
    )


def handle_failure(
    channel: BlockingChannel,
    queue: str,
    body: bytes,
    properties: BasicProperties,
    reason: str,
    policy: RetryPolicy,
    rng: random.Random,
    *,
    poison: bool = False,
) -> str:
    """Schedule a retry, or dead-letter the message with its reason; "retry" or "dead-letter".

    The caller acks the original only after this returns (the channel confirms publishes).
    """
    headers = dict(properties.headers or {})
    attempt = int_header(headers, ATTEMPT, 1)
    if poison or attempt >= policy.max_attempts:
        headers.update({REASON: reason, ATTEMPTS: attempt, ORIGINAL_QUEUE: queue})
        _republish(channel, dead_letter_queue(queue), body, properties, headers)
        return "dead-letter"
    delay = backoff_delay(attempt, policy, rng)
    headers[ATTEMPT] = attempt + 1
    expiration = str(max(1, round(delay * 1000)))
    _republish(channel, retry_queue(queue), body, properties, headers, expiration)
    return "retry"


def replay_dead_letters(channel: BlockingChannel, queue: str, limit: int | None = None) -> int:
    """Move messages from the DLQ back to `queue` with a fresh attempt count; return how many."""
    channel.confirm_delivery()
    moved = 0
    while limit is None or moved < limit:
        method, properties, body = channel.basic_get(dead_letter_queue(queue), auto_ack=False)
        if method is None:
            break
        if properties is None or body is None:  # only with method None
            break
        headers = {
            k: v
            for k, v in (properties.headers or {}).items()
            if k not in (REASON, ATTEMPTS, ORIGINAL_QUEUE, ATTEMPT)
        }
        headers["x-replayed"] = int_header(headers, "x-replayed", 0) + 1
        _republish(channel, queue, body, properties, headers)
        channel.basic_ack(delivery_tag(method))
        moved += 1
    return moved
