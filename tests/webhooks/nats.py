"""A NATS JetStream server for a test: its own `nats-server -js` on a free port with a temporary
store (so a test can stop and restart it), else the machine's on 127.0.0.1:4222 (not restartable),
else the test skips, or fails where `OMS_REQUIRE_NATS=1` (CI) says NATS must be there."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import time

import pytest

from tests.conftest import free_port

BINARY = shutil.which("nats-server") or ("/usr/sbin/nats-server" if os.path.exists("/usr/sbin/nats-server") else None)


def _reachable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class NatsServer:
    def __init__(self, store_dir: str) -> None:
        self.store_dir = store_dir
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.process = None
        self.restartable = True

    def start(self) -> None:
        self.process = subprocess.Popen(
            [BINARY, "-js", "-sd", self.store_dir, "-a", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not _reachable(self.port):
            if time.monotonic() > deadline:
                raise RuntimeError("nats-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class SharedNats:
    url = "nats://127.0.0.1:4222"
    restartable = False

    def stop(self) -> None:  # never stop a shared server
        pass


def nats_or_skip(tmp_path):
    if BINARY:
        server = NatsServer(str(tmp_path / "jetstream"))
        server.start()
        return server
    if _reachable(4222):
        return SharedNats()
    reason = "no nats-server binary and nothing on 127.0.0.1:4222"
    if os.environ.get("OMS_REQUIRE_NATS") == "1":
        pytest.fail(f"NATS is required here (OMS_REQUIRE_NATS=1): {reason}")
    pytest.skip(reason)


def stream_messages(url: str, stream: str, subject: str = "oms.>", timeout: float = 5.0) -> list[dict]:
    """Everything the stream holds on `subject`, in stream order: envelope, subject and headers.

    Reads until a message says nothing is pending after it (no fixed wait at the end); `timeout`
    bounds the wait for a message that does not come."""

    async def read() -> list[dict]:
        import nats
        from nats.js.api import ConsumerConfig, DeliverPolicy

        nc = await nats.connect(url)
        try:
            js = nc.jetstream()
            if (await js.stream_info(stream)).state.messages == 0:
                return []
            sub = await js.subscribe(
                subject, stream=stream, ordered_consumer=True, config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
            )
            found = []
            while True:
                try:
                    message = await sub.next_msg(timeout=timeout)
                except nats.errors.TimeoutError:
                    break
                found.append(
                    {
                        "event": json.loads(message.data),
                        "subject": message.subject,
                        "headers": dict(message.headers or {}),
                    }
                )
                if message.metadata.num_pending == 0:
                    break
            await sub.unsubscribe()
            return found
        finally:
            await nc.close()

    return asyncio.run(read())
