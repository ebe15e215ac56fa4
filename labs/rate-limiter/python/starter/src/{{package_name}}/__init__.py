"""A rate-limited, authenticated FastAPI service (a `lab` practice repository)."""

__version__ = "0.1.0"
