"""A `graphql-transport-ws` client over Channels' in-process communicator, for the live tests.

The mutations a test runs between receives go through the Django test client (`call`), on the
test's own thread, as a storefront's HTTP calls would.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from oms_project.live import websocket_application
from ordering.infrastructure.live import LiveOrders

PROTOCOL = "graphql-transport-ws"


class LiveClient:
    def __init__(self, subprotocols: tuple[str, ...] = (PROTOCOL,), host: str = "testserver") -> None:
        self.socket = WebsocketCommunicator(
            websocket_application(), "/graphql/", headers=[(b"host", host.encode())], subprotocols=list(subprotocols)
        )
        self.closed: tuple[int, str] | None = None

    async def open(self) -> bool:
        connected, _ = await self.socket.connect()
        return connected

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.socket.send_to(text_data=message if isinstance(message, str) else json.dumps(message))

    async def receive(self, timeout: float = 5) -> dict[str, Any]:
        output = await self.socket.receive_output(timeout)
        if output["type"] == "websocket.close":
            self.closed = (output.get("code"), output.get("reason", ""))
            return {"type": "__closed__", "code": output.get("code"), "reason": output.get("reason", "")}
        return json.loads(output["text"])

    async def init(self, token: str | None, **payload: Any) -> dict[str, Any]:
        if token is not None:
            payload["Authorization"] = f"Bearer {token}"
        await self.send({"type": "connection_init", "payload": payload})
        return await self.receive()

    async def subscribe(self, id_: str, query: str, variables: dict[str, Any] | None = None) -> None:
        await self.send({"id": id_, "type": "subscribe", "payload": {"query": query, "variables": variables or {}}})

    async def follow(self, id_: str, query: str, variables: dict[str, Any] | None = None) -> None:
        """Subscribe, and return once the process's hub routes events to the new subscription
        (the protocol has no acknowledgement of a subscribe: a client that acts at once may act
        before its subscription is in place)."""
        hub = LiveOrders.process_hub()
        before = hub.started()
        await self.subscribe(id_, query, variables)
        deadline = asyncio.get_running_loop().time() + 5
        while hub.started() <= before:
            assert asyncio.get_running_loop().time() < deadline, "the subscription did not start"
            await asyncio.sleep(0.005)

    async def nothing_within(self, seconds: float) -> bool:
        return await self.socket.receive_nothing(timeout=seconds)

    async def close(self) -> None:
        await self.socket.disconnect()


def call(function, *args: Any, **kwargs: Any):
    """Run a synchronous test step (an HTTP call through the test client) from the live test."""
    return sync_to_async(function)(*args, **kwargs)


class SseClient:
    """One GraphQL-over-SSE request (distinct connections mode) to the ASGI process's HTTP side."""

    def __init__(self, body: dict[str, Any] | bytes, token: str | None = None, host: str = "testserver") -> None:
        from asgiref.testing import ApplicationCommunicator
        from django.core.asgi import get_asgi_application

        from oms_project.live import http_application

        headers = [(b"host", host.encode()), (b"accept", b"text/event-stream"), (b"content-type", b"application/json")]
        if token is not None:
            headers.append((b"authorization", f"Bearer {token}".encode()))
        scope = {"type": "http", "method": "POST", "path": "/graphql/", "headers": headers, "query_string": b""}
        self.app = ApplicationCommunicator(http_application(get_asgi_application()), scope)
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self._buffer = ""

    async def open(self) -> int:
        await self.app.send_input({"type": "http.request", "body": self.body, "more_body": False})
        start = await self.app.receive_output(5)
        self.status = start["status"]
        self.headers = {k.decode(): v.decode() for k, v in start.get("headers", [])}
        return self.status

    async def body_json(self) -> dict[str, Any]:
        message = await self.app.receive_output(5)
        return json.loads(message["body"])

    async def event(self, timeout: float = 5) -> tuple[str, Any]:
        """The next event (`next` with its data, `complete`), skipping comments."""
        while "\n\n" not in self._buffer:
            message = await self.app.receive_output(timeout)
            self._buffer += message.get("body", b"").decode()
            if not message.get("more_body") and "\n\n" not in self._buffer:
                return "__end__", None
        block, self._buffer = self._buffer.split("\n\n", 1)
        fields = dict(line.split(": ", 1) if ": " in line else (line, "") for line in block.splitlines())
        if "event" not in fields:
            return await self.event(timeout)
        return fields["event"], json.loads(fields["data"]) if fields.get("data") else None

    async def close(self) -> None:
        await self.app.send_input({"type": "http.disconnect"})
        await self.app.wait(1)
