"""OpenTelemetry traces: the one home of tracing (README, "Configuration"; docs/production.md,
"Observability").

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set; then the
OpenTelemetry SDK exports over OTLP/HTTP, configured by the standard `OTEL_*` variables
(`OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER`, `OTEL_EXPORTER_OTLP_HEADERS`, ...). While off, every
function here is a no-op costing a flag test.

What is traced:
- each HTTP request (the maintained Django instrumentation; an incoming `traceparent` continues
  the caller's trace). Its URL attributes keep the path only: a GET's query string can carry
  GraphQL variables, so it is never recorded;
- each GraphQL operation (`operation()`), named `<type> <name>` (`mutation PlaceOrder`), with the
  operation type and name and the tenant id: never the document, variables, tokens or user ids;
- each SQL statement (the maintained psycopg and sqlite3 instrumentations), its text with
  placeholders, never its parameters;
- inbound webhooks, outbound deliveries and stream publishes: an order event keeps the
  `traceparent` of the operation that raised it (outbox column `trace_parent`), and the relay's
  delivery and publish spans continue that trace and send their own `traceparent` in the webhook's
  HTTP headers and the NATS message's headers (W3C Trace Context).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

# Span kinds, as callers name them; the OpenTelemetry API itself is imported only once tracing is
# on (`_otel`), so a process that does not trace does not pay for importing it (about 70 ms).
CLIENT, PRODUCER, SERVER, INTERNAL = "CLIENT", "PRODUCER", "SERVER", "INTERNAL"
_state: dict[str, Any] = {"on": False}


def _otel() -> Any:
    """The OpenTelemetry API and the tracer (imported and made the first time tracing is on)."""
    api = _state.get("api")
    if api is None:
        from types import SimpleNamespace

        from opentelemetry import context, propagate, trace
        from opentelemetry.trace import SpanKind, Status, StatusCode

        api = _state["api"] = SimpleNamespace(
            context=context,
            propagate=propagate,
            trace=trace,
            SpanKind=SpanKind,
            Status=Status,
            StatusCode=StatusCode,
            tracer=trace.get_tracer("oms"),
        )
    return api


def enabled() -> bool:
    return bool(_state["on"])


_TRACED_CURSORS: dict[type, type] = {}


def cursor_class(base: type) -> type:
    """`base` (a psycopg cursor class: Django's, or oms_project/kernel/prepared.py's server-binding one),
    traced by the psycopg instrumentation's own cursor factory while tracing is on."""
    if not _state["on"]:
        return base
    traced = _TRACED_CURSORS.get(base)
    if traced is None:
        from opentelemetry.instrumentation.psycopg import _new_cursor_factory  # pinned in requirements.txt

        traced = _TRACED_CURSORS[base] = _new_cursor_factory(base_factory=base)
    return traced


def operation(
    operation_type: str, name: str | None, tenant_id: str | None, root_fields: Sequence[str] = ()
) -> AbstractContextManager[Any]:
    """The span of one GraphQL operation, current while it runs. It is named by the operation's
    name, or, for an anonymous operation, by its root fields (`mutation placeOrder`), so a trace
    tells a placeOrder from a cancelOrder either way; the root fields are an attribute too."""
    if not _state["on"]:
        return nullcontext()
    otel = _otel()
    shown = name or ",".join(root_fields) or "anonymous"
    current: AbstractContextManager[Any] = otel.tracer.start_as_current_span(
        f"{operation_type} {shown}",
        kind=otel.SpanKind.INTERNAL,
        attributes={
            "graphql.operation.type": operation_type,
            "graphql.operation.name": name or "",
            "graphql.operation.root_fields": list(root_fields),
            "oms.tenant_id": tenant_id or "",
        },
    )
    return current


def span(
    name: str, attributes: Mapping[str, Any] | None = None, *, kind: str = INTERNAL
) -> AbstractContextManager[Any]:
    if not _state["on"]:
        return nullcontext()
    otel = _otel()
    current: AbstractContextManager[Any] = otel.tracer.start_as_current_span(
        name, kind=otel.SpanKind[kind], attributes=dict(attributes or {})
    )
    return current


def traceparent() -> str:
    """The current span's W3C `traceparent`, to store with what it causes ('' when off or none)."""
    if not _state["on"]:
        return ""
    carrier: dict[str, str] = {}
    _otel().propagate.inject(carrier)
    return carrier.get("traceparent", "")


def started(parent: str, name: str, headers: dict[str, str], *, kind: str, attributes: Mapping[str, Any]) -> Any:
    """A span continuing the trace of a stored `traceparent` (a new trace without one), started
    but not made current, its own context written into `headers` for the receiver. None when off;
    end it with `finished`."""
    if not _state["on"]:
        return None
    otel = _otel()
    parent_context = otel.propagate.extract({"traceparent": parent}) if parent else otel.context.Context()
    current = otel.tracer.start_span(
        name, context=parent_context, kind=otel.SpanKind[kind], attributes=dict(attributes)
    )
    otel.propagate.inject(headers, context=otel.trace.set_span_in_context(current))
    return current


def finished(current: Any, error: str | None = None) -> None:
    if current is not None:
        if error:
            failed(current, error)
        current.end()


@contextmanager
def continued(
    parent: str, name: str, attributes: Mapping[str, Any], headers: dict[str, str], *, kind: str
) -> Iterator[Any]:
    """`started` as a context manager, the span current inside it. Yields the span (None when off)."""
    current = started(parent, name, headers, kind=kind, attributes=attributes)
    if current is None:
        yield None
        return
    with _otel().trace.use_span(current, end_on_exit=True):
        yield current


def failed(current: Any, message: str) -> None:
    if current is not None:
        otel = _otel()
        current.set_status(otel.Status(otel.StatusCode.ERROR, message))
