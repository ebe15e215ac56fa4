"""The notifications service: an HTTP API over the store, and the event worker."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis
from fastapi import FastAPI

from ..common import settings
from ..common.events import RedisStreamConsumer
from ..common.web import instrument
from .worker import LogNotifier, NotificationStore, NotificationWorker, Notifier

log = logging.getLogger(__name__)

GROUP = "notifications"


def create_app(
    *,
    redis: redis.Redis | None = None,
    namespace: str | None = None,
    notifier: Notifier | None = None,
    consumer_name: str | None = None,
    redeliver_after_ms: int = 30_000,
    run_worker: bool = False,
) -> FastAPI:
    client = redis if redis is not None else settings.redis_from_env()
    ns = settings.namespace() if namespace is None else namespace
    name = consumer_name or os.environ.get("HOSTNAME") or socket.gethostname()
    consumer = RedisStreamConsumer(
        client, "payments", GROUP, name, namespace=ns, redeliver_after_ms=redeliver_after_ms
    )
    store = NotificationStore(client, namespace=ns)
    worker = NotificationWorker(consumer, store, notifier or LogNotifier())
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                worker.run_once(block_ms=1000)
            except NotImplementedError as exc:
                log.warning("the event worker is not implemented yet (%s); it stays off", exc)
                return
            except Exception:  # keep consuming through Redis hiccups
                log.exception("worker batch failed")
                stop.wait(1.0)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        thread = None
        if run_worker:
            thread = threading.Thread(target=loop, name="notifications-worker", daemon=True)
            thread.start()
        yield
        stop.set()
        if thread is not None:
            thread.join(timeout=5)

    app = FastAPI(title="notifications", lifespan=lifespan)
    app.state.worker = worker
    instrument(app, "notifications", ready=lambda: bool(client.ping()))

    @app.get("/notifications")
    def list_notifications(user_id: str) -> dict[str, Any]:
        return {"items": store.for_user(user_id)}

    return app
