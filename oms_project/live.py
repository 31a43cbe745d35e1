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

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import jwt
from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from graphql import ExecutionResult, OperationType, execute, get_operation_ast
from graphql.execution import create_source_event_stream

from identity.domain.errors import AccessRevoked, AuthenticationFailed, KeySourceUnavailable
from identity.domain.principal import Principal
from oms_project.kernel import graphql_ws
from oms_project.kernel.admission.live import TRY_AGAIN_LATER, admit_connection, live_connections
from oms_project.kernel.errors import graphql_error
from oms_project.kernel.graphql_limits import query_too_large
from oms_project.kernel.input_gate import TextRefused, check_tree
from oms_project.kernel.metrics import LIVE_CONNECTIONS, LIVE_MESSAGES
from oms_project.kernel.tenancy import tenant_reads
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
            raise graphql_ws.Refused(f"Forbidden: {refused.message}") from None
        except KeySourceUnavailable as unavailable:
            raise graphql_ws.Refused(f"Forbidden: {unavailable.message}", graphql_ws.INTERNAL) from None
        verdict = await sync_to_async(admit_connection, thread_sensitive=False)(principal.tenant_id, principal.user_id)
        if verdict.admitted:
            verdict = live_connections().open(principal.tenant_id, principal.user_id)
        if not verdict.admitted:
            LIVE_MESSAGES.labels("refused").inc()
            raise graphql_ws.Refused(f"{verdict.reason}: {verdict.message}", TRY_AGAIN_LATER)
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

        def run(value: Any) -> dict[str, Any]:
            with tenant_reads(principal.tenant_id):
                result = execute(
                    graphql_schema,
                    document,
                    root_value=value,
                    context_value=context,
                    variable_values=variables,
                    operation_name=operation_name,
                )
            return _formatted(result)

        run_async = database_sync_to_async(run)
        try:
            async for value in stream:
                answer = await run_async(value)
                LIVE_MESSAGES.labels("next").inc()
                yield answer
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()


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
