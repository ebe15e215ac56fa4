"""`uvicorn <package>.main:app`: the server with settings from the environment."""

from __future__ import annotations

from .app import create_app
from .settings import Settings

app = create_app(Settings.from_env())
