"""Settings read from the environment, and the Redis connection they describe."""

from __future__ import annotations

import logging
import os

import redis

log = logging.getLogger(__name__)


def namespace() -> str:
    """Prefix for every Redis key and stream, so several stacks can share one Redis."""
    return os.environ.get("NAMESPACE", "shop:")


def redis_from_env() -> redis.Redis:
    """Connect to REDIS_URL; without it, fall back to an in-process fake (laptop use only)."""
    url = os.environ.get("REDIS_URL")
    if url:
        return redis.Redis.from_url(
            url, decode_responses=True, socket_timeout=2.0, socket_connect_timeout=2.0
        )
    try:
        import fakeredis
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError("REDIS_URL is not set and fakeredis is not installed") from exc
    log.warning("REDIS_URL is not set: using an in-process fakeredis; data dies with the process")
    return fakeredis.FakeRedis(decode_responses=True)
