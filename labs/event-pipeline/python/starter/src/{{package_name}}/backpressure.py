"""Stage backpressure: bounded buffers, admission control and the metrics behind them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

import psycopg
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

T = TypeVar("T")
Conn = psycopg.Connection[tuple[Any, ...]]


class BoundedBuffer(Generic[T]):
    """A FIFO that never holds more than `capacity` items: a full buffer refuses, never grows."""

    def __init__(self, capacity: int) -> None:
        # TODO(lab:backpressure): ValueError below 1.
        self.capacity = capacity

    def offer(self, item: T) -> bool:
        raise NotImplementedError("BoundedBuffer.offer")

    def poll(self) -> T | None:
        raise NotImplementedError("BoundedBuffer.poll")

    def __len__(self) -> int:
        raise NotImplementedError("BoundedBuffer.__len__")


def retry_after(depth: int, max_depth: int, retry_after_seconds: int) -> int | None:
    """Seconds a producer should wait when `depth` is past `max_depth`, else None (admit)."""
    # TODO(lab:backpressure): shed only past max_depth.
    return None


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
        # TODO(lab:backpressure): gauges eventpipe_queue_depth{queue} (depth_probe()) and
        # eventpipe_consumer_lag_seconds{consumer}: the age of the oldest outbox event this
        # consumer has not applied (processed_events), 0 when it is caught up.
        return []
