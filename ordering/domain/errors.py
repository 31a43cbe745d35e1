"""Ordering failures, each with the stable public code of api.md ("Error codes").

A use case that raises one of these has written nothing: the unit of work rolls back.
"""

from __future__ import annotations

from collections.abc import Sequence

from oms_project.kernel.errors import CodedError


class OrderingError(CodedError):
    """A refusal of an ordering rule: `(message, field=None)`, a code of the one table."""

    code = "INVALID"

    def parts(self) -> Sequence[OrderingError]:
        """One error per thing the caller must fix (the API answers one payload error each)."""
        return [self]


class Invalid(OrderingError):
    code = "INVALID"


class OrderNotFound(OrderingError):
    """The order does not exist, belongs to another tenant, or the caller may not see it."""

    code = "NOT_FOUND"

    def __init__(self, message: str = "no such order", field: str | None = "orderId") -> None:
        super().__init__(message, field)


class NotFound(OrderingError):
    code = "NOT_FOUND"


class Forbidden(OrderingError):
    """The caller can see the order but its roles never allow this action on it.

    The API answers it as a top-level GraphQL error with `extensions.code` FORBIDDEN.
    """

    code = "FORBIDDEN"


class InvalidTransition(OrderingError):
    code = "INVALID_TRANSITION"


class Conflict(OrderingError):
    code = "CONFLICT"


class ProductUnavailable(OrderingError):
    code = "PRODUCT_UNAVAILABLE"


class VendorUnavailable(OrderingError):
    code = "VENDOR_UNAVAILABLE"


class QuantityLimit(OrderingError):
    code = "QUANTITY_LIMIT"


class OutOfStock(OrderingError):
    code = "OUT_OF_STOCK"


class CouponInvalid(OrderingError):
    code = "COUPON_INVALID"


class CouponExhausted(OrderingError):
    code = "COUPON_EXHAUSTED"


class ShippingOptionUnavailable(OrderingError):
    code = "SHIPPING_OPTION_UNAVAILABLE"


class PaymentMismatch(OrderingError):
    code = "PAYMENT_MISMATCH"


class IdempotencyKeyReused(OrderingError):
    code = "IDEMPOTENCY_KEY_REUSED"


class OrderOnHold(OrderingError):
    """The order is on hold: it cannot be confirmed, shipped or completed until released."""

    code = "ORDER_ON_HOLD"


class ReviewRequired(OrderingError):
    """The tenant's workflow requires an approved review before confirmation."""

    code = "REVIEW_REQUIRED"


class ReturnWindowClosed(OrderingError):
    code = "RETURN_WINDOW_CLOSED"


class RefundExceedsPaid(OrderingError):
    """A refund larger than what was paid and not yet refunded."""

    code = "REFUND_EXCEEDS_PAID"


class PaymentOptionUnavailable(OrderingError):
    code = "PAYMENT_OPTION_UNAVAILABLE"


class TotalMismatch(OrderingError):
    """An imported order's stated total is not what its lines, shipping, discounts and taxes add up to."""

    code = "TOTAL_MISMATCH"
