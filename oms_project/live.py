"""Subscriptions at `/graphql/` over WebSocket (`graphql-transport-ws`): the composition root joins
the protocol (oms_project/kernel/graphql_ws.py), identity's token check and the schema.

A connection is authenticated once, by `connection_init`'s payload (`{"Authorization": "Bearer
<JWT>"}`), with the same checks as an HTTP request (the tenant's keys and policy, revocation); it
is closed 4403 when the token expires. Each `subscribe` is gated like an HTTP document (size,
parse, cost, text, validation) and must be a subscription: queries and mutations go over HTTP.
Each update is executed like a query, in the principal's tenant scope, in Django's database
thread; the events come from the process's hub (ordering/infrastructure/live.py).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import jwt
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from graphql import ExecutionResult, OperationType, execute, get_operation_ast
from graphql.execution import create_source_event_stream

from identity.domain.errors import AccessRevoked, AuthenticationFailed, KeySourceUnavailable
from identity.domain.principal import Principal
from oms_project.kernel import graphql_ws
from oms_project.kernel.admission.live import TRY_AGAIN_LATER, admit_connection, live_connections
from oms_project.kernel.errors import CodedError, graphql_answer, graphql_error, http_status
from oms_project.kernel.graphql_limits import query_too_large
from oms_project.kernel.input_gate import TextRefused, check_tree
from oms_project.kernel.metrics import LIVE_CONNECTIONS, LIVE_MESSAGES
from ordering.infrastructure.live import LiveOrders

from .graphql_view import OmsGraphQLView, _checked_document, authenticate_header, invalid_input
from .schema import schema

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveContext:
    """What a subscription's resolvers receive as `info.context`."""

    principal: Principal
    live: LiveOrders
    request: Any = None


def _authenticate(authorization: Any) -> tuple[Principal, float | None]:
    principal = authenticate_header(authorization if isinstance(authorization, str) else None)
    token = authorization.strip().partition(" ")[2].strip()
    expires = jwt.decode(token, options={"verify_signature": False}).get("exp")  # verified above
    return principal, float(expires) if isinstance(expires, int | float) else None


def _formatted(result: ExecutionResult) -> dict[str, Any]:
    answer: dict[str, Any] = {"data": result.data}
    if result.errors:
        answer["errors"] = [OmsGraphQLView.format_error(error) for error in result.errors]
    return answer


class GraphQLLiveHandler:
    """The protocol's two questions: who is connecting, and what does an operation send."""

    def __init__(self) -> None:
        self.view = OmsGraphQLView(graphiql=False)

    async def connect(self, payload: dict[str, Any] | None) -> graphql_ws.Connected:
        authorization = (payload or {}).get("Authorization") or (payload or {}).get("authorization")
        try:
            principal, expires = await database_sync_to_async(_authenticate)(authorization)
        except (AuthenticationFailed, AccessRevoked) as refused:
            raise graphql_ws.Refused(f"Forbidden: {refused.message}", code=refused.code) from None
        except KeySourceUnavailable as unavailable:
            raise graphql_ws.Refused(
                f"Forbidden: {unavailable.message}", graphql_ws.INTERNAL, code=unavailable.code
            ) from None
        verdict = await sync_to_async(admit_connection, thread_sensitive=False)(principal.tenant_id, principal.user_id)
        if verdict.admitted:
            verdict = live_connections().open(principal.tenant_id, principal.user_id)
        if not verdict.admitted:
            LIVE_MESSAGES.labels("refused").inc()
            raise graphql_ws.Refused(f"{verdict.reason}: {verdict.message}", TRY_AGAIN_LATER, code=verdict.reason)
        LIVE_MESSAGES.labels("accepted").inc()
        LIVE_CONNECTIONS.labels(principal.tenant_id).inc()
        return graphql_ws.Connected(principal, expires, {"live": LiveOrders()})

    async def disconnect(self, connected: graphql_ws.Connected) -> None:
        principal: Principal = connected.principal
        live_connections().close(principal.tenant_id, principal.user_id)
        LIVE_CONNECTIONS.labels(principal.tenant_id).dec()

    async def operation(self, connected: graphql_ws.Connected, payload: dict[str, Any]) -> AsyncIterator[dict]:
        query, variables = payload.get("query"), payload.get("variables") or {}
        operation_name = payload.get("operationName")
        if not isinstance(query, str) or not isinstance(variables, dict):
            raise graphql_ws.OperationFailed([graphql_error("BAD_REQUEST", "payload needs a query and variables")])
        if len(query.encode()) > settings.OMS_GRAPHQL_MAX_QUERY_BYTES:
            raise graphql_ws.OperationFailed([query_too_large(settings.OMS_GRAPHQL_MAX_QUERY_BYTES).formatted])
        graphql_schema = schema.graphql_schema
        document, errors = _checked_document(graphql_schema, query, self.view.validation_rules, self.view.cost_limits)
        if errors or document is None:
            raise graphql_ws.OperationFailed([OmsGraphQLView.format_error(error) for error in errors])
        try:
            check_tree(variables)
        except TextRefused as refused:
            raise graphql_ws.OperationFailed([invalid_input(refused).formatted]) from None
        operation = get_operation_ast(document, operation_name if isinstance(operation_name, str) else None)
        if operation is None or operation.operation != OperationType.SUBSCRIPTION:
            raise graphql_ws.OperationFailed(
                [
                    graphql_error(
                        "BAD_REQUEST", "only subscriptions run over this socket: send queries and mutations by POST"
                    )
                ]
            )
        principal: Principal = connected.principal
        context = LiveContext(principal, connected.context["live"])
        stream = await create_source_event_stream(graphql_schema, document, None, context, variables, operation_name)
        if isinstance(stream, ExecutionResult):
            raise graphql_ws.OperationFailed(_formatted(stream).get("errors") or [])

        answers = ANSWERS
        asked = (query, json.dumps(variables, sort_keys=True), operation_name)

        def run(value: Any) -> dict[str, Any]:
            """One update as the document selects it: resolvers read the domain objects the
            feed loaded (no query), so it runs here, without a thread or a transaction. The
            feeds share a value between subscribers who may see the same, and the same document
            over the same value answers the same: run once, sent to each."""
            key = (*asked, id(value))
            held = answers.get(key)
            if held is not None and held[0] is value:
                return held[1]
            result = execute(
                graphql_schema,
                document,
                root_value=value,
                context_value=context,
                variable_values=variables,
                operation_name=operation_name,
            )
            answer = _formatted(result)
            if not result.errors:
                answers.keep(key, (value, answer))
            return answer

        try:
            async for value in stream:
                answer = run(value)
                LIVE_MESSAGES.labels("next").inc()
                yield answer
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()


class _Answers(OrderedDict[Any, Any]):
    """The last answers the live documents gave, per document, variables and shared value."""

    size = 4096

    def keep(self, key: Any, entry: Any) -> None:
        self[key] = entry
        if len(self) > self.size:
            self.popitem(last=False)


ANSWERS = _Answers()


def limits_from_settings() -> graphql_ws.Limits:
    return graphql_ws.Limits(
        init_timeout=settings.OMS_LIVE_INIT_TIMEOUT_SECONDS,
        max_subscriptions=settings.OMS_LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION,
        max_message_bytes=settings.OMS_LIVE_MAX_MESSAGE_BYTES,
        ping_interval=settings.OMS_LIVE_PING_SECONDS,
    )


class GraphQLWebSocketConsumer(AsyncWebsocketConsumer):
    """One WebSocket at `/graphql/`, speaking `graphql-transport-ws` only (else closed 4406)."""

    async def connect(self) -> None:
        if not _host_allowed(self.scope):
            await self.close()  # before the handshake: answered 403, as Django answers a bad Host
            return
        if graphql_ws.PROTOCOL not in self.scope.get("subprotocols", []):
            await self.accept()
            await self.close(4406, "Subprotocol not acceptable")
            return
        await self.accept(graphql_ws.PROTOCOL)
        self.session = graphql_ws.Session(self.send, self._close, GraphQLLiveHandler(), limits_from_settings())
        await self.session.opened()

    async def _close(self, code: int, reason: str) -> None:
        await self.close(code, reason)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        session = getattr(self, "session", None)
        if session is not None:
            await session.received(text_data)

    async def disconnect(self, code) -> None:
        session = getattr(self, "session", None)
        if session is not None:
            await session.ended()


def websocket_application():
    """The WebSocket side of the ASGI process (oms_project/asgi.py): subscriptions at `/graphql/`."""
    from channels.routing import URLRouter
    from django.urls import path

    return URLRouter([path("graphql/", GraphQLWebSocketConsumer.as_asgi())])


def _host_allowed(scope: dict[str, Any]) -> bool:
    """The Host header is one of `ALLOWED_HOSTS`, as Django checks it for every HTTP request."""
    host = next((value.decode("latin-1") for name, value in scope.get("headers", []) if name == b"host"), "")
    domain, _ = split_domain_port(host)
    return bool(domain) and validate_host(domain, settings.ALLOWED_HOSTS)


SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # a proxy must not hold the stream back
    (b"x-content-type-options", b"nosniff"),
]


def _sse(event: str, data: Any = None) -> bytes:
    text = "" if data is None else json.dumps(data, separators=(",", ":"))
    return f"event: {event}\ndata: {text}\n\n".encode()


def wants_event_stream(scope: dict[str, Any]) -> bool:
    """A GraphQL-over-SSE request: `POST /graphql/` that accepts `text/event-stream`."""
    if scope.get("type") != "http" or scope.get("path") != "/graphql/" or scope.get("method") != "POST":
        return False
    accept = b",".join(value for name, value in scope.get("headers", []) if name == b"accept")
    return b"text/event-stream" in accept


class GraphQLServerSentEvents:
    """GraphQL over Server-Sent Events (the graphql-sse protocol's distinct connections mode): one
    operation per `POST /graphql/` with `Accept: text/event-stream`, its results as `next` events,
    then `complete`; the client ends a subscription by closing the request. The token is the
    `Authorization` header; a refused token or connection answers like the HTTP API (401, 403,
    429 with its code) before the stream starts. Errors of the operation itself (validation,
    rights) are `next` events with `errors`, as the protocol asks."""

    def __init__(self) -> None:
        self.handler = GraphQLLiveHandler()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope.get("headers", [])}
        if not _host_allowed(scope):
            await _answer(send, 400, graphql_answer("BAD_REQUEST", "the Host header is not one this service answers"))
            return
        body, disconnected = await _read_body(receive, settings.OMS_GRAPHQL_MAX_BODY_BYTES)
        if disconnected:
            return
        if body is None:
            limit = settings.OMS_GRAPHQL_MAX_BODY_BYTES
            await _answer(send, 413, graphql_answer("PAYLOAD_TOO_LARGE", f"the request body exceeds {limit} bytes"))
            return
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            await _answer(send, 400, graphql_answer("BAD_REQUEST", "the body is not a JSON object"))
            return
        try:
            connected = await self.handler.connect({"Authorization": headers.get("authorization")})
        except graphql_ws.Refused as refused:
            await _answer(send, http_status(refused.code), graphql_answer(refused.code, refused.reason))
            return
        try:
            await _stream(self.handler, connected, payload, receive, send)
        finally:
            await self.handler.disconnect(connected)


async def _answer(send: Any, status: int, body: dict[str, Any]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


async def _read_body(receive: Any, limit: int) -> tuple[bytes | None, bool]:
    """The whole body (None when over `limit`), and whether the client left meanwhile."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None, True
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None, False
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks), False


async def _stream(handler: GraphQLLiveHandler, connected: graphql_ws.Connected, payload: Any, receive, send) -> None:
    async def emit(chunk: bytes) -> None:
        await send({"type": "http.response.body", "body": chunk, "more_body": True})

    await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
    await emit(b":\n\n")  # a comment: the headers go out now

    async def results() -> None:
        operation = handler.operation(connected, payload)
        try:
            async for result in operation:
                await emit(_sse("next", result))
        except graphql_ws.OperationFailed as failed:
            await emit(_sse("next", {"errors": failed.errors}))
        except CodedError as refusal:
            await emit(_sse("next", {"errors": [graphql_error(refusal.code, refusal.message)]}))
        finally:
            await operation.aclose()

    async def keepalive() -> None:
        while True:
            await asyncio.sleep(settings.OMS_LIVE_PING_SECONDS)
            await emit(b":\n\n")

    async def left() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    async def expiry() -> None:
        if connected.expires_at is None:
            await asyncio.Event().wait()
        else:
            await asyncio.sleep(max(0.0, connected.expires_at - time.time()))
            await emit(_sse("next", {"errors": [graphql_error("UNAUTHENTICATED", "the token expired")]}))

    tasks = [asyncio.create_task(work()) for work in (results, keepalive, left, expiry)]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if tasks[2] not in done:  # the client is still there: the stream ends properly
        await send({"type": "http.response.body", "body": _sse("complete"), "more_body": False})
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            logger.error("a live stream failed", exc_info=task.exception())


def http_application(django: Any) -> Any:
    """The HTTP side of the ASGI process: GraphQL over SSE at `/graphql/` for a request that
    accepts an event stream, Django for everything else."""
    sse = GraphQLServerSentEvents()

    async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if wants_event_stream(scope):
            await sse(scope, receive, send)
        else:
            await django(scope, receive, send)

    return application
