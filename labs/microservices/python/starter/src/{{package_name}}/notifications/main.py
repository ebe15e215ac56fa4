"""Entry point: `uvicorn <package>.notifications.main:app` (also runs the event worker)."""

import os

from .app import create_app

app = create_app(run_worker=os.environ.get("WORKER_ENABLED", "true").lower() != "false")
