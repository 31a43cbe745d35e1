from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from tests.conftest import free_port


@pytest.fixture(scope="session")
def redis_url():
    """A Redis server of the test session's own (redis-server on a free port, nothing saved)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (.ci/run installs it)")
    port = free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(10)


@pytest.fixture
def redis_store_url(redis_url):
    """The session's Redis, emptied for this test."""
    import redis

    redis.Redis.from_url(redis_url).flushall()
    return redis_url
