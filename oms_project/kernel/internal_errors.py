"""Unexpected faults: masked for the caller, complete in the log (docs/errors.md, `INTERNAL`).

The caller gets code `INTERNAL`, a fixed message and the request id, never the exception's
text. The log line (JSON, with the traceback) carries the same request id, and `/metrics` counts
the fault in `oms_internal_errors_total{source}`. GraphQL resolvers' exceptions come through
`graphql_internal_error`; every other view's through Django's `handler500` (`server_error`).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from .errors import graphql_error, http_status, problem
from .metrics import INTERNAL_ERRORS
from .observability import request_id_var

logger = logging.getLogger("oms.internal")
MESSAGE = "internal error; quote the request id when reporting it"


def report(error: BaseException, *, source: str) -> str:
    """Log `error` with its traceback and count it; returns the request id the caller is given."""
    INTERNAL_ERRORS.labels(source).inc()
    request_id = request_id_var.get() or ""
    logger.error(
        "unexpected %s in %s: %s",
        type(error).__name__,
        source,
        error,
        exc_info=(type(error), error, error.__traceback__),
        extra={"request_id": request_id or None},
    )
    return request_id


def graphql_internal_error(error: BaseException, formatted: dict[str, Any] | None = None) -> dict[str, Any]:
    """The GraphQL error entry for an unexpected exception (keeps `path` and `locations`)."""
    request_id = report(error, source="graphql")
    entry: dict[str, Any] = {key: value for key, value in (formatted or {}).items() if key in ("path", "locations")}
    return {**entry, **graphql_error("INTERNAL", MESSAGE, request_id=request_id)}


def server_error(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """`handler500`: Django has logged the exception already (django.request, with traceback).

    Django calls it while handling the exception, so the exception is `sys.exc_info()`'s. One
    that means the database cannot be reached answers 503 DATABASE_UNAVAILABLE here too: a
    middleware's own query (the admission limits of a tenant whose cached entry has expired)
    fails outside the view, where `DatabaseUnavailableMiddleware.process_exception` never sees it.
    """
    error = sys.exc_info()[1]
    if error is not None and database_unavailable(error):
        return unavailable_response(request, error)
    INTERNAL_ERRORS.labels("http").inc()
    request_id = getattr(request, "request_id", "") or request_id_var.get()
    return JsonResponse({**problem("INTERNAL", MESSAGE), "request_id": request_id}, status=http_status("INTERNAL"))


# -- the database cannot be reached (api.md: DATABASE_UNAVAILABLE, HTTP 503) --------------------

UNAVAILABLE_MESSAGE = "the database cannot be reached; retry shortly (with the same idempotency key)"
# SQLSTATEs of a server that is shutting down, crashed or starting (class 57P) and of a broken
# connection (class 08); a psycopg error without one failed before any server answered.
_UNAVAILABLE_STATES = ("08", "57P01", "57P02", "57P03")
unavailable_logger = logging.getLogger("oms.database")


def database_unavailable(error: BaseException) -> bool:
    """Whether `error` means the database cannot be reached (not a query's own failure, such as
    a lock timeout or a serialization failure, which are errors of the request)."""
    from django.db import InterfaceError, OperationalError, connection

    if connection.vendor != "postgresql" or not isinstance(error, (OperationalError, InterfaceError)):
        return False
    if isinstance(error, InterfaceError):
        return True  # the connection is closed or broken
    cause = error.__cause__
    state = getattr(cause, "sqlstate", None)
    return state is None or state.startswith(_UNAVAILABLE_STATES)


def unavailable_response(request: HttpRequest, error: BaseException) -> JsonResponse:
    """503 with code DATABASE_UNAVAILABLE, as a GraphQL error on `/graphql/`; counted and logged
    (a warning: the operator sees the outage in /readyz and the database's own logs)."""
    INTERNAL_ERRORS.labels("database_unavailable").inc()
    unavailable_logger.warning(
        "database unavailable: %s", error, extra={"request_id": getattr(request, "request_id", None)}
    )
    if request.path.startswith("/graphql/"):
        body = {"errors": [graphql_error("DATABASE_UNAVAILABLE", UNAVAILABLE_MESSAGE)]}
    else:
        body = problem("DATABASE_UNAVAILABLE", UNAVAILABLE_MESSAGE)
    response = JsonResponse(body, status=http_status("DATABASE_UNAVAILABLE"))
    response["Retry-After"] = "1"
    return response


class DatabaseUnavailableMiddleware:
    """A view that fails because the database cannot be reached answers 503
    DATABASE_UNAVAILABLE instead of 500 (the GraphQL view re-raises such a resolver's error).
    A middleware's own query is answered the same way by `server_error`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if database_unavailable(exception):
            return unavailable_response(request, exception)
        return None
