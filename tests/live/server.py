"""The ASGI process, as production composes it (oms_project/asgi.py), served by uvicorn in a thread
of the test process, for clients that speak to a real socket (Node's graphql-ws, Apollo, graphql-sse)."""

from __future__ import annotations

import threading
import time

from channels.routing import ProtocolTypeRouter
from django.core.asgi import get_asgi_application

from oms_project.live import http_application, websocket_application
from ordering.infrastructure.live import LiveOrders
from tests.conftest import free_port


class AsgiServer:
    def __init__(self) -> None:
        import uvicorn

        application = ProtocolTypeRouter(
            {"http": http_application(get_asgi_application()), "websocket": websocket_application()}
        )
        self.port = free_port()
        config = uvicorn.Config(
            application, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off", ws="websockets-sansio"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql/"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql/"

    def start(self) -> AsgiServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    @staticmethod
    def following() -> int:
        """Subscriptions receiving live events in the server's process now."""
        return sum(hub.started() for hub in list(LiveOrders._hubs.values()))

    def wait_following(self, count: int, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while self.following() < count:
            assert time.monotonic() < deadline, f"{self.following()} subscriptions started, not {count}"
            time.sleep(0.01)
