"""Ordering failures, each with the stable public code of api.md."""

from __future__ import annotations


class OrderingError(Exception):
    code = "INVALID"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidTransition(OrderingError):
    code = "INVALID_TRANSITION"


class CouponInvalid(OrderingError):
    code = "COUPON_INVALID"


class ShippingOptionUnavailable(OrderingError):
    code = "SHIPPING_OPTION_UNAVAILABLE"
