"""Request context for logs (request id, tenant id on every line) and the JSON log format.

`RequestContextMiddleware` gives every request an id (the caller's `X-Request-ID` when it is a
sane token, else a new UUID), echoes it in the response, and writes one access line per request.
Code that learns the tenant (the GraphQL view after authentication, the webhook view) calls
`bind_tenant(...)`; the relay, outside any request, passes each delivery's tenant as `extra`.
`ContextFilter` copies both onto every log record, so the JSON formatter prints them on every
line, Django's own lines included.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponse
from pythonjsonlogger.json import JsonFormatter

request_id_var: ContextVar[str] = ContextVar("request_id", default="")
tenant_id_var: ContextVar[str] = ContextVar("tenant_id", default="")

SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
access_logger = logging.getLogger("oms.access")


def assign_request_id(request: HttpRequest) -> str:
    """The caller's `X-Request-ID` when it is a sane token (at most 100 of [A-Za-z0-9-_.:]), else a
    new UUID; kept on the request so every use in one request agrees."""
    existing: str | None = getattr(request, "request_id", None)
    if existing:
        return existing
    given = str(request.META.get("HTTP_X_REQUEST_ID", ""))
    assigned = given if SANE_REQUEST_ID.match(given) else uuid.uuid4().hex
    request.request_id = assigned  # type: ignore[attr-defined]  # read back by the log filter
    return assigned


def bind_tenant(tenant_id: str) -> None:
    """From here to the end of the request, log lines name this tenant."""
    tenant_id_var.set(tenant_id)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # django.request writes its line after the middleware has finished: read the request.
        request = getattr(record, "request", None)
        principal = getattr(request, "oms_principal", None)
        record.request_id = (
            getattr(record, "request_id", None) or request_id_var.get() or getattr(request, "request_id", None) or None
        )
        record.tenant_id = (
            getattr(record, "tenant_id", None) or tenant_id_var.get() or getattr(principal, "tenant_id", None) or None
        )
        return True


class OmsJsonFormatter(JsonFormatter):
    """One JSON object per line: time, level, logger, message, request_id, tenant_id, extras."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", False)
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(tenant_id)s", *args, **kwargs)


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        rid = assign_request_id(request)
        rid_token = request_id_var.set(rid)
        tenant_token = tenant_id_var.set("")
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = rid
            if request.path not in ("/metrics", "/healthz", "/readyz"):
                access_logger.info(
                    "%s %s %s",
                    request.method,
                    request.path,
                    response.status_code,
                    extra={
                        "method": request.method,
                        "path": request.path,
                        "status": response.status_code,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
            return response
        finally:
            request_id_var.reset(rid_token)
            tenant_id_var.reset(tenant_token)
