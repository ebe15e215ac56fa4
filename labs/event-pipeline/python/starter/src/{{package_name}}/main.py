"""`uvicorn <package>.main:app`: the order service, configured from the environment. Given."""

from __future__ import annotations

from .api import create_app
from .broker import queue_depth_probe
from .settings import Settings

settings = Settings.from_env()
app = create_app(
    settings.database_url,
    depth_probe=lambda: queue_depth_probe(settings.amqp_url, settings.queue),
    queue=settings.queue,
    consumer=settings.consumer,
    max_queue_depth=settings.max_queue_depth,
    retry_after_seconds=settings.retry_after_seconds,
)
