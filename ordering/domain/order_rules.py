"""What the Order aggregate's parts share (ordering/domain/order.py and the modules of its
shipments, amendments, returns): text and quantity rules, payment states, and the event data of
its value objects."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from .errors import Invalid
from .fulfilment import Hold, Refund, ReturnRequest, Review, Shipment
from .values import Money, display_amount

E = TypeVar("E", bound=Enum)

MAX_REASON = 500
MAX_CARRIER = 100
MAX_TRACKING = 100
MAX_NOTE = 500


def new_id() -> str:
    return str(uuid.uuid4())


class PaymentStatus(str, Enum):
    UNPAID = "UNPAID"
    PAID = "PAID"
    REFUND_PENDING = "REFUND_PENDING"  # a paid order was cancelled: the money goes back
    PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED"
    REFUNDED = "REFUNDED"


def required_text(value: Any, field_name: str, max_length: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise Invalid("is required", field=field_name)
    if len(text) > max_length:
        raise Invalid(f"must be at most {max_length} characters", field=field_name)
    return text


def optional_text(value: Any, field_name: str, max_length: int) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    return required_text(value, field_name, max_length)


def positive_quantity(value: Any, field_name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Invalid("must be a positive whole number", field=field_name)
    return value


def choice(kind: type[E], value: Any, field_name: str) -> E:
    try:
        return kind(value)
    except ValueError:
        raise Invalid(f"must be one of {', '.join(m.value for m in kind)}", field=field_name) from None


def money_data(value: Money | None) -> dict[str, str] | None:
    """Money in events: a decimal string and its currency, never a float."""
    if value is None:
        return None
    return {"amount": str(display_amount(value.amount, value.currency)), "currency": value.currency}


def _at(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def shipment_data(shipment: Shipment) -> dict[str, Any]:
    return {
        "id": shipment.shipment_id,
        "vendor_id": shipment.vendor_id,
        "status": shipment.status.value,
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "lines": [{"line_id": item.line_id, "quantity": item.quantity} for item in shipment.lines],
        "shipped_at": _at(shipment.shipped_at),
        "updated_at": _at(shipment.updated_at),
    }


def hold_data(hold: Hold) -> dict[str, Any]:
    return {"reason": hold.reason.value, "note": hold.note or None, "by": hold.by, "at": _at(hold.at)}


def review_data(review: Review) -> dict[str, Any]:
    return {
        "status": review.status.value,
        "level": review.level,
        "assignee": review.assignee,
        "requested_at": _at(review.requested_at),
        "decided_by": review.decided_by,
        "decided_at": _at(review.decided_at),
        "note": review.note or None,
    }


def return_data(request: ReturnRequest) -> dict[str, Any]:
    return {
        "id": request.return_id,
        "vendor_id": request.vendor_id,
        "status": request.status.value,
        "lines": [{"line_id": item.line_id, "quantity": item.quantity} for item in request.lines],
        "reason": request.reason,
        "requested_by": request.requested_by,
        "requested_at": _at(request.requested_at),
        "decided_by": request.decided_by,
        "decided_at": _at(request.decided_at),
        "note": request.note or None,
        "received_at": _at(request.received_at),
    }


def refund_data(refund: Refund) -> dict[str, Any]:
    return {
        "id": refund.refund_id,
        "amount": money_data(refund.amount),
        "reason": refund.reason,
        "return_id": refund.return_id,
        "by": refund.by,
        "at": _at(refund.at),
    }
