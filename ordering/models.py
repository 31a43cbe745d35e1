from ordering.infrastructure.models import (
    CouponUsage,
    IdempotencyKey,
    Order,
    OrderCoupon,
    OrderHistoryEntry,
    OrderLine,
    OrderNumberCounter,
    OrderShipping,
    Shipment,
)

__all__ = [
    "CouponUsage",
    "IdempotencyKey",
    "Order",
    "OrderCoupon",
    "OrderHistoryEntry",
    "OrderLine",
    "OrderNumberCounter",
    "OrderShipping",
    "Shipment",
]
