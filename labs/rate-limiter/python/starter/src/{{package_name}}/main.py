"""ASGI entry point: `uvicorn <package>.main:app`."""

from .app import create_app
from .observability import configure_logging
from .settings import Settings

settings = Settings.from_env()
configure_logging(level=settings.log_level)
app = create_app(settings)
