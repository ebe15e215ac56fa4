"""Stage backpressure: bounded buffers, admission control and the metrics behind them."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

import psycopg
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

T = TypeVar("T")
Conn = psycopg.Connection[tuple[Any, ...]]


class BoundedBuffer(Generic[T]):
    """A FIFO that never holds more than `capacity` items: a full buffer refuses, never grows."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._items: deque[T] = deque()

    def offer(self, item: T) -> bool:
        if len(self._items) >= self.capacity:
            return False
        self._items.append(item)
        return True

    def poll(self) -> T | None:
        return self._items.popleft() if self._items else None

    def __len__(self) -> int:
        return len(self._items)


def retry_after(depth: int, max_depth: int, retry_after_seconds: int) -> int | None:
    """Seconds a producer should wait when `depth` is past `max_depth`, else None (admit)."""
    if depth <= max_depth:
        return None
    return max(1, math.ceil(retry_after_seconds))


class PipelineCollector(Collector):
    """Queue depth and consumer lag, read fresh at every scrape."""

    def __init__(
        self,
        conninfo: str,
        depth_probe: Callable[[], int],
        queue: str,
        consumer: str,
    ) -> None:
        self.conninfo = conninfo
        self.depth_probe = depth_probe
        self.queue = queue
        self.consumer = consumer

    def collect(self) -> Iterable[Metric]:
        depth = GaugeMetricFamily(
            "eventpipe_queue_depth", "Messages ready in the queue.", labels=["queue"]
        )
        depth.add_metric([self.queue], float(self.depth_probe()))
        yield depth
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(o.created_at)), 0)"
                " FROM outbox o WHERE NOT EXISTS (SELECT 1 FROM processed_events p"
                " WHERE p.consumer = %s AND p.event_id = o.event_id)",
                (self.consumer,),
            ).fetchone()
        if row is None:  # an aggregate always returns a row
            raise RuntimeError("no row from the lag query")
        pending = GaugeMetricFamily(
            "eventpipe_consumer_pending_events",
            "Events in the outbox the consumer has not applied yet.",
            labels=["consumer"],
        )
        pending.add_metric([self.consumer], float(row[0]))
        yield pending
        lag = GaugeMetricFamily(
            "eventpipe_consumer_lag_seconds",
            "Age of the oldest event the consumer has not applied yet (0 when caught up).",
            labels=["consumer"],
        )
        lag.add_metric([self.consumer], float(row[1]))
        yield lag
