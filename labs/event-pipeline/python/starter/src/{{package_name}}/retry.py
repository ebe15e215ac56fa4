"""Stage failures: retries with capped exponential backoff and jitter, a dead-letter queue."""

from __future__ import annotations

import random
from dataclasses import dataclass

from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import BasicProperties

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


def backoff_delay(attempt: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Seconds to wait before retry number `attempt` (1-based): full jitter under a capped bound."""
    # TODO(lab:failures): bound = base_delay * 2**(attempt-1), at most max_delay; draw the
    # delay with rng.uniform(0, bound).
    raise NotImplementedError("backoff_delay")


def declare_queues(channel: BlockingChannel, queue: str) -> None:
    """The work queue, its retry queue (expired messages go back to work) and its DLQ."""
    # TODO(lab:failures): durable `queue`, `queue.retry` dead-lettering to `queue` through the
    # default exchange, and `queue.dlq`.
    raise NotImplementedError("declare_queues")


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
    """Schedule a retry, or dead-letter the message with its reason; "retry" or "dead-letter"."""
    # TODO(lab:failures): the attempt number travels in the x-attempt header (1 when absent).
    # Poison, or attempt >= max_attempts: publish to the DLQ with x-death-reason, x-attempts
    # and x-original-queue. Otherwise publish to the retry queue with x-attempt + 1 and a
    # per-message expiration of backoff_delay() (in ms).
    raise NotImplementedError("handle_failure")


def replay_dead_letters(channel: BlockingChannel, queue: str, limit: int | None = None) -> int:
    """Move messages from the DLQ back to `queue` with a fresh attempt count; return how many."""
    # TODO(lab:failures): confirm each republish before acking the DLQ copy.
    raise NotImplementedError("replay_dead_letters")
