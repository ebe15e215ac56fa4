"""Every setting is an environment variable (see .env.example)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    database_url: str
    amqp_url: str
    exchange: str
    queue: str
    consumer: str
    max_queue_depth: int
    retry_after_seconds: int

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            database_url=env.get("DATABASE_URL", "postgresql://lab:lab@127.0.0.1:55432/eventpipe"),
            amqp_url=env.get("AMQP_URL", "amqp://guest:guest@127.0.0.1:55672/%2F"),
            exchange=env.get("EXCHANGE", "orders"),
            queue=env.get("QUEUE", "billing"),
            consumer=env.get("CONSUMER_NAME", "billing"),
            max_queue_depth=int(env.get("MAX_QUEUE_DEPTH", "1000")),
            retry_after_seconds=int(env.get("RETRY_AFTER_SECONDS", "5")),
        )
