"""Fixtures for the grading suite. The suite brings its own configuration: the learner's
pytest settings and conftest files do not apply when `lab check` runs it."""

from __future__ import annotations

import importlib
import os
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
labkit = importlib.import_module("labkit")


def pytest_configure(config):
    config.addinivalue_line("markers", "tool(name): the test runs an external tool")


@pytest.fixture(scope="session")
def root() -> Path:
    return labkit.workspace()


@pytest.fixture(scope="session")
def _redis_server():
    url = os.environ.get("REDIS_URL")
    if url:
        import redis

        client = redis.Redis.from_url(url, decode_responses=True)
        try:
            client.ping()
        except redis.RedisError as exc:
            pytest.fail(f"REDIS_URL={url} is set but Redis does not answer: {exc}")
        yield ("real", url)
        client.close()
    else:
        import fakeredis

        yield ("fake", fakeredis.FakeServer())


@pytest.fixture
def ns() -> str:
    """A key and stream prefix no other test uses."""
    return f"labgrading:{uuid.uuid4().hex[:12]}:"


@pytest.fixture
def redis_client(_redis_server, ns):
    """Real Redis when REDIS_URL is set, otherwise fakeredis. Cleans up the test's keys."""
    kind, where = _redis_server
    if kind == "real":
        import redis

        client = redis.Redis.from_url(where, decode_responses=True)
    else:
        import fakeredis

        client = fakeredis.FakeRedis(server=where, decode_responses=True)
    yield client
    try:
        keys = list(client.scan_iter(match=f"{ns}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
