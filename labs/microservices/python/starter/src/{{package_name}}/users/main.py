"""Entry point: `uvicorn <package>.users.main:app`."""

from .app import create_app

app = create_app()
