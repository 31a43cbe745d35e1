"""Tracing turned on in a Django process (wsgi.py, relay_events): the OTLP exporter, the maintained
Django instrumentation for requests, and the database instrumentations for statements. The span API
the apps call is `tracing.py`, which imports no framework."""

from __future__ import annotations

import os
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponse

from . import tracing


def configure_from_environment() -> bool:
    """Start tracing when an OTLP endpoint is configured (wsgi.py, relay_events). Idempotent."""
    if tracing._state["on"] or not (
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    ):
        return bool(tracing._state["on"])
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "oms")}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    instrument()
    return True


def instrument() -> None:
    """Turn the instrumentations on (the tracer provider is already set: the OTLP one, or a test's
    in-memory one). The Django middleware is added to settings.MIDDLEWARE, so this runs before a
    request handler is built."""
    from django.db import connections
    from django.db.backends.signals import connection_created
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    if tracing._state["on"]:
        return
    DjangoInstrumentor().instrument(
        excluded_urls="healthz,readyz,metrics,static/", request_hook=_path_only, response_hook=_path_only_after
    )
    tracing._state["on"] = True
    connection_created.connect(_instrument_connection, dispatch_uid="oms-tracing")
    for wrapper in connections.all(initialized_only=True):
        if wrapper.connection is not None:
            _instrument_connection(None, wrapper)


def uninstrument() -> None:
    """Back to no-ops (tests), this thread's open connections unwrapped."""
    from django.db import connections
    from django.db.backends.signals import connection_created
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    if not tracing._state["on"]:
        return
    DjangoInstrumentor().uninstrument()
    connection_created.disconnect(dispatch_uid="oms-tracing")
    for wrapper in connections.all(initialized_only=True):
        raw = wrapper.connection
        if raw is None:
            continue
        if wrapper.vendor == "postgresql" and getattr(raw, "_oms_traced", False):
            raw.cursor_factory = raw._oms_untraced_cursor_factory
            raw._oms_traced = False
        elif wrapper.vendor == "sqlite" and getattr(raw, "_self_oms_traced", False):
            wrapper.connection = raw.__wrapped__
    tracing._state["on"] = False


def _instrument_connection(sender: object, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """Django sets its own psycopg cursor factory after connecting (replacing the one the psycopg
    instrumentation's patched `connect` would have set, and PsycopgInstrumentor.instrument_connection
    would replace Django's client-binding cursor by a plain one), so each new connection's own
    factory is wrapped by the instrumentation's traced subclass once Django is done with it."""
    raw = connection.connection
    if getattr(raw, "_oms_traced", False) or getattr(raw, "_self_oms_traced", False):
        return
    if connection.vendor == "postgresql":
        raw._oms_untraced_cursor_factory = raw.cursor_factory
        raw.cursor_factory = tracing.cursor_class(raw.cursor_factory)
        raw._oms_traced = True
    elif connection.vendor == "sqlite":
        from opentelemetry.instrumentation.sqlite3 import SQLite3Instrumentor

        connection.connection = SQLite3Instrumentor.instrument_connection(connection.connection)
        connection.connection._self_oms_traced = True


# Attributes of the server span that may hold a query string (old and stable HTTP conventions).
_URL_ATTRIBUTES = ("http.url", "http.target", "url.full", "url.query")


def _path_only(span: Any, request: HttpRequest) -> None:
    if span.is_recording():
        recorded = getattr(span, "attributes", None) or {}
        for name in _URL_ATTRIBUTES:
            if name in recorded:
                span.set_attribute(name, "" if name == "url.query" else request.path)


def _path_only_after(span: Any, request: HttpRequest, response: HttpResponse) -> None:
    _path_only(span, request)
