"""One command per mutation of api.md: what the caller asked for, before any rule ran."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from ordering.domain.checkout import CartItem
from ordering.domain.order import ShipmentLine


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
