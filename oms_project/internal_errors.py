"""Unexpected faults: masked for the caller, complete in the log (docs/errors.md, `INTERNAL`).

The caller gets code `INTERNAL`, a fixed message and the request id, never the exception's
text. The log line (JSON, with the traceback) carries the same request id, and `/metrics` counts
the fault in `oms_internal_errors_total{source}`. GraphQL resolvers' exceptions come through
`graphql_internal_error`; every other view's through Django's `handler500` (`server_error`).
"""

from __future__ import annotations

import logging

from django.http import JsonResponse

from .metrics import INTERNAL_ERRORS
from .observability import request_id_var

logger = logging.getLogger("oms.internal")
MESSAGE = "internal error; quote the request id when reporting it"


def report(error: BaseException, *, source: str) -> str:
    """Log `error` with its traceback and count it; returns the request id the caller is given."""
    INTERNAL_ERRORS.labels(source).inc()
    request_id = request_id_var.get() or ""
    logger.error("unexpected %s in %s: %s", type(error).__name__, source, error,
                 exc_info=(type(error), error, error.__traceback__), extra={"request_id": request_id or None})
    return request_id


def graphql_internal_error(error: BaseException, formatted: dict | None = None) -> dict:
    """The GraphQL error entry for an unexpected exception (keeps `path` and `locations`)."""
    request_id = report(error, source="graphql")
    entry = {key: value for key, value in (formatted or {}).items() if key in ("path", "locations")}
    entry["message"] = MESSAGE
    entry["extensions"] = {"code": "INTERNAL", "request_id": request_id}
    return entry


def server_error(request, *args, **kwargs) -> JsonResponse:
    """`handler500`: Django has logged the exception already (django.request, with traceback)."""
    INTERNAL_ERRORS.labels("http").inc()
    request_id = getattr(request, "request_id", "") or request_id_var.get()
    return JsonResponse({"code": "INTERNAL", "message": MESSAGE, "request_id": request_id}, status=500)
