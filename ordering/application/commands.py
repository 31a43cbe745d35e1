"""One command per mutation of api.md: what the caller asked for, before any rule ran."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ordering.domain.checkout import CartItem
from ordering.domain.fulfilment import ShipmentLine


def fingerprint(command: Any) -> str:
    """A hash of the request, idempotency key left out: same input, same fingerprint."""
    data = {k: v for k, v in dataclasses.asdict(command).items() if k != "idempotency_key"}
    data["_command"] = type(command).__name__
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class ShippingChoice:
    vendor_id: str
    shipping_option_id: str


@dataclass(frozen=True)
class CheckoutItems:
    items: list[CartItem]
    shipping_address: dict[str, Any]
    customer: dict[str, Any] | None = None
    coupon_codes: list[str] = field(default_factory=list)
    shipping_options: list[ShippingChoice] = field(default_factory=list)
    idempotency_key: str | None = None
    payment_option_id: str | None = None


@dataclass(frozen=True)
class UpdateCheckoutItems:
    order_id: str
    items: list[CartItem]
    expected_version: int | None = None


@dataclass(frozen=True)
class ChangeDestination:
    order_id: str
    shipping_address: dict[str, Any]
    expected_version: int | None = None


@dataclass(frozen=True)
class SelectShippingOption:
    order_id: str
    vendor_id: str
    shipping_option_id: str
    expected_version: int | None = None


@dataclass(frozen=True)
class ApplyCoupon:
    order_id: str
    code: str
    expected_version: int | None = None


@dataclass(frozen=True)
class RemoveCoupon:
    order_id: str
    code: str
    expected_version: int | None = None


@dataclass(frozen=True)
class PlaceOrder:
    order_id: str
    expected_version: int | None = None
    idempotency_key: str | None = None
    payment_option_id: str | None = None  # chooses or replaces the checkout's choice


@dataclass(frozen=True)
class ConfirmOrder:
    order_id: str
    method: str
    reference: str
    amount: Any
    expected_version: int | None = None


@dataclass(frozen=True)
class ShipOrder:
    order_id: str
    carrier: str
    tracking_number: str
    lines: list[ShipmentLine] | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class DeliverOrder:
    order_id: str
    expected_version: int | None = None


@dataclass(frozen=True)
class CompleteOrder:
    order_id: str
    expected_version: int | None = None


@dataclass(frozen=True)
class CancelOrder:
    order_id: str
    reason: str
    expected_version: int | None = None


@dataclass(frozen=True)
class MarkUnfulfillable:
    order_id: str
    reason: str
    expected_version: int | None = None


@dataclass(frozen=True)
class ResumeOrder:
    order_id: str
    expected_version: int | None = None


# -- issue 7 ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AddShipment:
    order_id: str
    lines: list[ShipmentLine] | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class AddShippingTrackingReference:
    order_id: str
    shipment_id: str
    carrier: str
    tracking_number: str
    expected_version: int | None = None


@dataclass(frozen=True)
class CancelShipment:
    order_id: str
    shipment_id: str
    reason: str
    expected_version: int | None = None


@dataclass(frozen=True)
class TrackingUpdate:
    """A carrier's `shipment.tracking_updated`, already parsed."""

    tracking_number: str
    status: str
    occurred_at: Any
    carrier: str | None = None
    detail: str = ""
    source: str = ""  # who reported it when not the carrier itself (a tracking aggregator)


@dataclass(frozen=True)
class PlaceOnHold:
    order_id: str
    reason: str
    note: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class ReleaseHold:
    order_id: str
    note: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class ReviewOrder:
    order_id: str
    decision: str
    note: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class EscalateReviewer:
    order_id: str
    reviewer_id: str
    note: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class ChangeOrderQuantity:
    order_id: str
    line_id: str
    quantity: int
    expected_version: int | None = None


@dataclass(frozen=True)
class RemoveLineItems:
    order_id: str
    line_ids: list[str]
    expected_version: int | None = None


@dataclass(frozen=True)
class RequestReturn:
    order_id: str
    lines: list[ShipmentLine]
    reason: str
    expected_version: int | None = None


@dataclass(frozen=True)
class DecideReturn:
    order_id: str
    return_id: str
    approve: bool
    note: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class ReceiveReturn:
    order_id: str
    return_id: str
    expected_version: int | None = None


@dataclass(frozen=True)
class ProcessRefund:
    order_id: str
    amount: Any
    reason: str
    return_id: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True)
class ImportOrder:
    """A sales channel's order (docs/integrations.md), as either door received it: snake_case
    fields, amounts as decimal strings; checked by ordering.domain.intake."""

    external_reference: str
    currency: str
    customer: dict[str, Any]
    shipping_address: dict[str, Any]
    lines: list[dict[str, Any]]
    shipping: list[dict[str, Any]] = field(default_factory=list)
    total: str | None = None
    paid_amount: str | None = None
    payment_reference: str | None = None


@dataclass(frozen=True)
class CancelImportedOrder:
    """A channel cancels one of its orders, found by its external reference."""

    external_reference: str
    reason: str


@dataclass(frozen=True)
class ChangeImportedDestination:
    """A channel moves one of its orders (before anything ships), found by its external reference."""

    external_reference: str
    shipping_address: dict[str, Any]


@dataclass(frozen=True)
class EraseCustomer:
    """Erase a customer's personal data from everything ordering holds (docs/privacy.md)."""

    customer_user_id: str
    reason: str
    force: bool = False


@dataclass(frozen=True)
class ExportCustomerData:
    """Everything ordering and the snapshots hold about a customer, as one JSON document."""

    customer_user_id: str


@dataclass(frozen=True)
class PurgePersonalData:
    """Anonymize the orders closed before `closed_before` (the tenant's retention period)."""

    closed_before: datetime
    batch: int = 500


@dataclass(frozen=True)
class IssueInvoice:
    """The order's invoice: the one issued if it is still right, else a new one (docs/documents.md)."""

    order_id: str


@dataclass(frozen=True)
class DrawPackingSlip:
    shipment_id: str


@dataclass(frozen=True)
class DrawPackingSlips:
    """The packing slips of every shipment of an order, in shipment order."""

    order_id: str
