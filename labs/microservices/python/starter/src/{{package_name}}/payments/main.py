"""Entry point: `uvicorn <package>.payments.main:app`."""

from .app import create_app

app = create_app()
