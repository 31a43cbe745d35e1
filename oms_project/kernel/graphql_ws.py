"""The `graphql-transport-ws` protocol (the graphql-ws library's PROTOCOL.md), server side.

One `Session` per WebSocket. The rules it keeps, with the protocol's close codes:
- the first message must be `connection_init` within `init_timeout` seconds (else 4408); its
  payload is handed to the handler's `connect`, whose refusal closes 4403; a second init closes 4429;
- `subscribe` before the server's `connection_ack` closes 4401; an id already running closes 4409;
- a message that is not JSON, or not one of the protocol's messages, closes 4400; one over
  `max_message_bytes` closes 1009 (the WebSocket code for a message too big);
- `ping` is answered with `pong`; the server pings an idle connection every `ping_interval`
  seconds (a client library answers on its own);
- a connection whose credentials expire is closed 4403 at that moment (`Connected.expires_at`);
- each connection runs at most `max_subscriptions` operations at once: one more gets an `error`
  message with code `TOO_MANY_SUBSCRIPTIONS`, and the connection stays.

What runs is the handler's business (`LiveHandler`): this module knows the protocol, not GraphQL
execution, tokens or tenants. Plain Python over asyncio: the transport is two callables.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import CodedError, graphql_error

logger = logging.getLogger(__name__)

PROTOCOL = "graphql-transport-ws"

BAD_MESSAGE = 4400
UNAUTHORIZED = 4401
FORBIDDEN = 4403
INIT_TIMEOUT = 4408
DUPLICATE_ID = 4409
TOO_MANY_INITS = 4429
INTERNAL = 4500
MESSAGE_TOO_BIG = 1009
NORMAL = 1000


class TooManySubscriptions(CodedError):
    code = "TOO_MANY_SUBSCRIPTIONS"


class OperationFailed(Exception):
    """An operation refused before its first result (not valid, not allowed): the `error` message."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0].get("message") if errors else "operation failed")
        self.errors = errors


class Refused(Exception):
    """The handler refuses the connection: closed with `close_code`; `code` is the refusal's
    error code (kernel/errors.py) for a transport that answers over HTTP instead (SSE)."""

    def __init__(self, reason: str, close_code: int = FORBIDDEN, code: str = "UNAUTHENTICATED") -> None:
        super().__init__(reason)
        self.reason = reason
        self.close_code = close_code
        self.code = code


@dataclass
class Connected:
    """What `connect` accepted: whatever the handler needs later, and when it stops being valid."""

    principal: Any
    expires_at: float | None = None  # epoch seconds (a token's `exp`)
    context: dict[str, Any] = field(default_factory=dict)


class LiveHandler(Protocol):
    async def connect(self, payload: dict[str, Any] | None) -> Connected:
        """Accept the connection's credentials, or raise `Refused`."""
        ...

    def operation(self, connected: Connected, payload: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """The results of one operation, each a GraphQL result (`{"data": ..., "errors": ...}`).
        A `CodedError` or `OperationFailed` raised before the first result becomes the `error`
        message."""
        ...

    async def disconnect(self, connected: Connected) -> None:
        """The accepted connection ended (whoever closed it)."""
        ...


@dataclass(frozen=True)
class Limits:
    init_timeout: float = 10.0
    max_subscriptions: int = 20
    max_message_bytes: int = 64 * 1024
    ping_interval: float = 30.0


class Session:
    def __init__(
        self,
        send: Callable[[str], Awaitable[None]],
        close: Callable[[int, str], Awaitable[None]],
        handler: LiveHandler,
        limits: Limits | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._send, self._close, self.handler = send, close, handler
        self.limits = limits or Limits()
        self.clock = clock
        self.connected: Connected | None = None
        self._initialised = False
        self._closed = False
        self.operations: dict[str, asyncio.Task[None]] = {}
        self._timers: list[asyncio.Task[None]] = []

    # The transport calls these three.

    async def opened(self) -> None:
        self._timers.append(asyncio.create_task(self._init_deadline()))

    async def received(self, text: str | bytes | None) -> None:
        if self._closed:
            return
        if text is None:
            await self.close(BAD_MESSAGE, "Invalid message received")
            return
        size = len(text) if isinstance(text, bytes) else len(text.encode())
        if size > self.limits.max_message_bytes:
            await self.close(MESSAGE_TOO_BIG, f"A message is at most {self.limits.max_message_bytes} bytes")
            return
        try:
            message = json.loads(text)
        except ValueError:
            await self.close(BAD_MESSAGE, "Invalid message received")
            return
        kind = message.get("type") if isinstance(message, dict) else None
        handle = (
            {
                "connection_init": self._init,
                "ping": self._ping,
                "pong": self._pong,
                "subscribe": self._subscribe,
                "complete": self._complete,
            }.get(kind)
            if isinstance(kind, str)
            else None
        )
        if handle is None:
            await self.close(BAD_MESSAGE, "Invalid message received")
            return
        await handle(message)

    async def ended(self) -> None:
        """The socket is gone: stop everything it ran, and tell the handler."""
        self._closed = True
        for task in [*self.operations.values(), *self._timers]:
            task.cancel()
        self.operations.clear()
        connected, self.connected = self.connected, None
        if connected is not None:
            await self.handler.disconnect(connected)

    # Messages.

    async def _init(self, message: dict[str, Any]) -> None:
        if self._initialised:
            await self.close(TOO_MANY_INITS, "Too many initialisation requests")
            return
        self._initialised = True
        payload = message.get("payload")
        if payload is not None and not isinstance(payload, dict):
            await self.close(BAD_MESSAGE, "Invalid message received")
            return
        try:
            connected = await self.handler.connect(payload)
        except Refused as refused:
            await self.close(refused.close_code, refused.reason)
            return
        if self._closed:
            return
        self.connected = connected
        await self.send({"type": "connection_ack"})
        self._timers.append(asyncio.create_task(self._keepalive()))
        if connected.expires_at is not None:
            self._timers.append(asyncio.create_task(self._expiry(connected.expires_at)))

    async def _ping(self, message: dict[str, Any]) -> None:
        await self.send({"type": "pong"})

    async def _pong(self, message: dict[str, Any]) -> None:
        pass

    async def _subscribe(self, message: dict[str, Any]) -> None:
        id_, payload = message.get("id"), message.get("payload")
        if not isinstance(id_, str) or not id_ or not isinstance(payload, dict):
            await self.close(BAD_MESSAGE, "Invalid message received")
            return
        if self.connected is None:
            await self.close(UNAUTHORIZED, "Unauthorized")
            return
        if id_ in self.operations:
            await self.close(DUPLICATE_ID, f"Subscriber for {id_} already exists")
            return
        if len(self.operations) >= self.limits.max_subscriptions:
            refusal = TooManySubscriptions(f"a connection runs at most {self.limits.max_subscriptions} operations")
            await self.send({"id": id_, "type": "error", "payload": [graphql_error(refusal.code, refusal.message)]})
            return
        self.operations[id_] = asyncio.create_task(self._run(id_, payload, self.connected))

    async def _complete(self, message: dict[str, Any]) -> None:
        id_ = message.get("id")
        if not isinstance(id_, str):
            await self.close(BAD_MESSAGE, "Invalid message received")
            return
        task = self.operations.pop(id_, None)
        if task is not None:
            task.cancel()

    # Work.

    async def _run(self, id_: str, payload: dict[str, Any], connected: Connected) -> None:
        try:
            results = self.handler.operation(connected, payload)
            try:
                async for result in results:
                    await self.send({"id": id_, "type": "next", "payload": result})
            except CodedError as refusal:
                await self.send({"id": id_, "type": "error", "payload": [_coded(refusal)]})
                return
            except OperationFailed as failed:
                await self.send({"id": id_, "type": "error", "payload": failed.errors})
                return
            finally:
                aclose = getattr(results, "aclose", None)
                if aclose is not None:
                    await aclose()
            await self.send({"id": id_, "type": "complete"})
        except asyncio.CancelledError:
            raise
        except Exception:  # a fault in one operation closes the connection, never the process
            logger.exception("a live operation failed")
            await self.close(INTERNAL, "Internal error")
        finally:
            if self.operations.get(id_) is asyncio.current_task():
                del self.operations[id_]

    async def _init_deadline(self) -> None:
        await asyncio.sleep(self.limits.init_timeout)
        if self.connected is None and not self._closed:
            await self.close(INIT_TIMEOUT, "Connection initialisation timeout")

    async def _keepalive(self) -> None:
        while not self._closed:
            await asyncio.sleep(self.limits.ping_interval)
            await self.send({"type": "ping"})

    async def _expiry(self, expires_at: float) -> None:
        await asyncio.sleep(max(0.0, expires_at - self.clock()))
        await self.close(FORBIDDEN, "Forbidden: the token expired")

    async def send(self, message: dict[str, Any]) -> None:
        if not self._closed:
            await self._send(json.dumps(message, separators=(",", ":")))

    async def close(self, code: int, reason: str) -> None:
        if self._closed:
            return
        current = asyncio.current_task()
        self._closed = True
        await self._close(code, reason)
        for task in [*self.operations.values(), *self._timers]:
            if task is not current:
                task.cancel()
        self.operations.clear()


def _coded(refusal: CodedError) -> dict[str, Any]:
    extensions = {"field": refusal.field} if refusal.field else {}
    return graphql_error(refusal.code, refusal.message, **extensions)
