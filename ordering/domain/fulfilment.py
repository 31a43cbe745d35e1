"""What happens to an order after it is placed, besides its status (issue 7): shipments and their
carrier states, holds, the review step, returns and refunds. Plain values; the Order aggregate
(`order.py`) changes them and decides what each change does to the order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from .errors import InvalidTransition
from .values import Money


class ShipmentStatus(str, Enum):
    PENDING = "PENDING"  # packed, not yet with a carrier
    SHIPPED = "SHIPPED"  # handed to the carrier (it has a tracking reference)
    IN_TRANSIT = "IN_TRANSIT"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"  # the carrier gave up: its quantities can ship again
    CANCELLED = "CANCELLED"  # cancelled before it shipped


SS = ShipmentStatus

# Where a shipment may go from each state. IN_TRANSIT -> IN_TRANSIT is a new scan: accepted,
# nothing changes but the time.
SHIPMENT_TRANSITIONS: dict[ShipmentStatus, frozenset[ShipmentStatus]] = {
    SS.PENDING: frozenset({SS.SHIPPED, SS.CANCELLED}),
    SS.SHIPPED: frozenset({SS.IN_TRANSIT, SS.DELIVERED, SS.FAILED}),
    SS.IN_TRANSIT: frozenset({SS.IN_TRANSIT, SS.DELIVERED, SS.FAILED}),
    SS.DELIVERED: frozenset(),
    SS.FAILED: frozenset(),
    SS.CANCELLED: frozenset(),
}

# The states in which a shipment's quantities are with a carrier or delivered ("shipped").
WITH_CARRIER = frozenset({SS.SHIPPED, SS.IN_TRANSIT, SS.DELIVERED})
# The states in which a shipment takes its quantities (they cannot go in another shipment).
ALLOCATING = WITH_CARRIER | {SS.PENDING}
# What a carrier's tracking update may report.
TRACKING_STATUSES = frozenset({SS.IN_TRANSIT, SS.DELIVERED, SS.FAILED})


def require_shipment_transition(current: ShipmentStatus, target: ShipmentStatus) -> None:
    if target not in SHIPMENT_TRANSITIONS[current]:
        raise InvalidTransition(f"a {current.value} shipment cannot become {target.value}", field="status")


@dataclass(frozen=True)
class ShipmentLine:
    line_id: str
    quantity: int


@dataclass(frozen=True)
class Shipment:
    shipment_id: str
    vendor_id: str
    carrier: str
    tracking_number: str
    lines: tuple[ShipmentLine, ...]
    shipped_at: datetime | None
    status: ShipmentStatus = SS.SHIPPED
    created_at: datetime | None = None
    updated_at: datetime | None = None  # the last change, or the time of the last carrier update

    def quantity_of(self, line_id: str) -> int:
        return sum(item.quantity for item in self.lines if item.line_id == line_id)


class HoldReason(str, Enum):
    PAYMENT_REVIEW = "PAYMENT_REVIEW"
    FRAUD_REVIEW = "FRAUD_REVIEW"
    ADDRESS_VERIFICATION = "ADDRESS_VERIFICATION"
    STOCK_RECHECK = "STOCK_RECHECK"


@dataclass(frozen=True)
class Hold:
    reason: HoldReason
    note: str
    by: str
    at: datetime


class ReviewStatus(str, Enum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class ReviewDecision(str, Enum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"


@dataclass(frozen=True)
class Review:
    """The review step a tenant's workflow requires before confirmation. `assignee` is the user
    it was escalated to (only they may decide it then); `level` counts escalations from 1."""

    status: ReviewStatus
    requested_at: datetime
    level: int = 1
    assignee: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str = ""


class ReturnStatus(str, Enum):
    REQUESTED = "REQUESTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    RECEIVED = "RECEIVED"


@dataclass(frozen=True)
class ReturnRequest:
    return_id: str
    vendor_id: str
    lines: tuple[ShipmentLine, ...]
    reason: str
    status: ReturnStatus
    requested_by: str
    requested_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None = None
    note: str = ""
    received_at: datetime | None = None


@dataclass(frozen=True)
class Refund:
    refund_id: str
    amount: Money
    reason: str
    by: str
    at: datetime
    return_id: str | None = None
