"""The one home of error codes (docs/errors.md): the base of every refusal, and the one table that
says, for each code, the HTTP status of an answer that is that refusal and whether a mutation's
payload may carry it.

Every refusal the OMS answers derives from `CodedError`: a stable `code` (a class attribute), a
message safe to show the caller, and the input `field` at fault, if any. The GraphQL view, the
mutations, the webhook doors and the admin answer a refusal through `http_status` and
`graphql_error`; none keeps a table of its own. The `ErrorCode` enum of the schema is made from
`PAYLOAD_CODES`, and `tests/test_error_codes.py` ties the table to the code that raises each code
and to the documentation.

Plain Python: the domain layers derive their errors from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class CodedError(Exception):
    """A refusal with a stable public code. Nothing was written when one is raised."""

    code: str = "INVALID"  # the class's code; a family with several codes sets it per instance

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Code:
    """One public error code."""

    name: str
    http_status: int  # of an answer that is this refusal (a top-level error, a webhook door's answer)
    payload: bool = False  # a mutation's `errors { code }` may carry it (the `ErrorCode` enum)


# The payload codes first, in the order of the schema's `ErrorCode` enum.
CODES: tuple[Code, ...] = (
    Code("NOT_FOUND", 404, payload=True),
    Code("INVALID", 400, payload=True),
    Code("INVALID_TRANSITION", 409, payload=True),
    Code("CONFLICT", 409, payload=True),
    Code("OUT_OF_STOCK", 409, payload=True),
    Code("PRODUCT_UNAVAILABLE", 400, payload=True),
    Code("VENDOR_UNAVAILABLE", 400, payload=True),
    Code("QUANTITY_LIMIT", 400, payload=True),
    Code("COUPON_INVALID", 400, payload=True),
    Code("COUPON_EXHAUSTED", 400, payload=True),
    Code("SHIPPING_OPTION_UNAVAILABLE", 400, payload=True),
    Code("CURRENCY_MISMATCH", 400, payload=True),
    Code("PAYMENT_MISMATCH", 400, payload=True),
    Code("IDEMPOTENCY_KEY_REUSED", 409, payload=True),
    Code("ORDER_ON_HOLD", 400, payload=True),
    Code("REVIEW_REQUIRED", 400, payload=True),
    Code("RETURN_WINDOW_CLOSED", 400, payload=True),
    Code("REFUND_EXCEEDS_PAID", 400, payload=True),
    Code("PAYMENT_OPTION_UNAVAILABLE", 400, payload=True),
    Code("PRICE_CHANGED", 400, payload=True),
    Code("TOTAL_MISMATCH", 400, payload=True),
    Code("CUSTOMER_HAS_OPEN_ORDERS", 409, payload=True),  # an erasure while orders are still to fulfil
    Code("DOCUMENT_NOT_AVAILABLE", 409, payload=True),  # an invoice for a draft, or for an order cancelled unbilled
    # Authentication and authorization.
    Code("UNAUTHENTICATED", 401),
    Code("FORBIDDEN", 403),
    Code("AUTH_PROVIDER_UNAVAILABLE", 503),
    # The request itself (docs/errors.md, "Top-level GraphQL errors").
    Code("BAD_REQUEST", 400),
    Code("METHOD_NOT_ALLOWED", 405),
    Code("PAYLOAD_TOO_LARGE", 413),
    Code("GRAPHQL_PARSE_FAILED", 400),
    Code("GRAPHQL_VALIDATION_FAILED", 400),
    Code("QUERY_TOO_LARGE", 400),
    Code("QUERY_TOO_DEEP", 400),
    Code("TOO_MANY_ALIASES", 400),
    Code("TOO_MANY_TOKENS", 400),
    Code("TOO_MANY_FIELDS", 400),
    Code("TOO_MANY_DIRECTIVES", 400),
    Code("INTROSPECTION_DISABLED", 400),
    Code("PERSISTED_QUERY_NOT_FOUND", 200),  # Apollo clients then send the document
    Code("PERSISTED_QUERY_HASH_MISMATCH", 400),
    Code("PERSISTED_QUERY_NOT_SUPPORTED", 400),
    Code("PERSISTED_QUERY_NOT_IN_LIST", 400),
    # Fair share.
    Code("OVER_SHARE", 429),
    Code("RATE_LIMITED", 429),
    # Live order status (subscriptions).
    Code("REPLAY_UNAVAILABLE", 410),  # the events after a position are no longer kept: reload
    Code("TOO_MANY_SUBSCRIPTIONS", 429),  # one connection runs at most so many operations
    Code("LIVE_UNAVAILABLE", 503),  # the event stream cannot be read now: subscribe again shortly
    # The webhook doors.
    Code("MALFORMED_JSON", 400),
    Code("UNKNOWN_TYPE", 400),
    Code("INVALID_SIGNATURE", 401),
    Code("SHIPMENT_NOT_FOUND", 404),
    # Faults.
    Code("DATABASE_UNAVAILABLE", 503),
    Code("INTERNAL", 500),
)
REGISTRY: dict[str, Code] = {code.name: code for code in CODES}
PAYLOAD_CODES: tuple[str, ...] = tuple(code.name for code in CODES if code.payload)


def http_status(code: str) -> int:
    """The HTTP status of an answer that is this refusal (an unknown code is a programming error)."""
    return REGISTRY[code].http_status


def graphql_error(code: str, message: str, **extensions: Any) -> dict[str, Any]:
    """A top-level GraphQL error entry: `{message, extensions: {code, ...}}`."""
    return {"message": message, "extensions": {"code": REGISTRY[code].name, **extensions}}


def graphql_answer(code: str, message: str, **extensions: Any) -> dict[str, Any]:
    """A whole GraphQL answer that is one refusal (`data` null)."""
    return {"data": None, "errors": [graphql_error(code, message, **extensions)]}


def problem(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    """The body of a refusal outside GraphQL (the webhook doors): `{code, message, field?}`."""
    body: dict[str, Any] = {"code": REGISTRY[code].name, "message": message}
    if field:
        body["field"] = field
    return body
