"""Domain events the order raises (product.md, "Order events").

The aggregate appends them as it changes; the unit of work collects them when it commits the
change (issue 5 writes them to the transactional outbox). `sequence` increases from 1 per order,
so a receiver can apply them in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ORDER_CREATED = "order.created"
ORDER_PLACED = "order.placed"
ORDER_CONFIRMED = "order.confirmed"
ORDER_SHIPPED = "order.shipped"
ORDER_DELIVERED = "order.delivered"
ORDER_COMPLETED = "order.completed"
ORDER_CANCELLED = "order.cancelled"
ORDER_STATUS_CHANGED = "order.status_changed"
# issue 7
ORDER_SHIPMENT_ADDED = "order.shipment_added"
ORDER_SHIPMENT_UPDATED = "order.shipment_updated"
ORDER_SHIPMENT_CANCELLED = "order.shipment_cancelled"
ORDER_AMENDED = "order.amended"
ORDER_PLACED_ON_HOLD = "order.placed_on_hold"
ORDER_HOLD_RELEASED = "order.hold_released"
ORDER_REVIEW_ESCALATED = "order.review_escalated"
ORDER_REVIEWED = "order.reviewed"
ORDER_RETURN_REQUESTED = "order.return_requested"
ORDER_RETURN_APPROVED = "order.return_approved"
ORDER_RETURN_REJECTED = "order.return_rejected"
ORDER_RETURN_RECEIVED = "order.return_received"
ORDER_REFUNDED = "order.refunded"
ORDER_UNFULFILLABLE = "order.unfulfillable"
ORDER_RESUMED = "order.resumed"
# Not an order's: a customer's personal data was erased (docs/privacy.md). Its aggregate is the
# customer, its data `{customer_user_id, order_ids, erased_at}` with no personal value.
CUSTOMER_ERASED = "customer.erased"

EVENT_TYPES = (
    ORDER_CREATED,
    ORDER_PLACED,
    ORDER_CONFIRMED,
    ORDER_SHIPPED,
    ORDER_DELIVERED,
    ORDER_COMPLETED,
    ORDER_CANCELLED,
    ORDER_STATUS_CHANGED,
    ORDER_SHIPMENT_ADDED,
    ORDER_SHIPMENT_UPDATED,
    ORDER_SHIPMENT_CANCELLED,
    ORDER_AMENDED,
    ORDER_PLACED_ON_HOLD,
    ORDER_HOLD_RELEASED,
    ORDER_REVIEW_ESCALATED,
    ORDER_REVIEWED,
    ORDER_RETURN_REQUESTED,
    ORDER_RETURN_APPROVED,
    ORDER_RETURN_REJECTED,
    ORDER_RETURN_RECEIVED,
    ORDER_REFUNDED,
    ORDER_UNFULFILLABLE,
    ORDER_RESUMED,
    CUSTOMER_ERASED,
)

# The event a transition raises, besides `order.status_changed`.
TRANSITION_EVENTS = {
    "place": ORDER_PLACED,
    "confirm": ORDER_CONFIRMED,
    "ship": ORDER_SHIPPED,
    "deliver": ORDER_DELIVERED,
    "complete": ORDER_COMPLETED,
    "cancel": ORDER_CANCELLED,
    "mark_unfulfillable": ORDER_UNFULFILLABLE,
    "resume": ORDER_RESUMED,
}


@dataclass(frozen=True)
class OrderEvent:
    type: str
    tenant_id: str
    order_id: str
    sequence: int
    occurred_at: datetime
    actor: str
    data: dict[str, Any] = field(default_factory=dict)
