"""Upstream changes to snapshots: parse and validate, then apply unless stale."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from oms_project.kernel.errors import CodedError
from snapshots.domain import fields
from snapshots.domain.catalog import Coupon, Offer, PaymentOption, Product, ShippingOption, TaxOption, Vendor
from snapshots.domain.customers import (
    CustomerAddress,
    CustomerDetails,
    UserAuthorization,
    is_newer,
)
from snapshots.domain.workflow import TenantWorkflow


class UnknownSnapshotType(CodedError):
    code = "UNKNOWN_TYPE"

    def __init__(self, event_type: str) -> None:
        super().__init__(f"unknown event type {event_type!r}")


def _customer(data: Mapping[str, Any]) -> CustomerDetails:
    return CustomerDetails.create(
        user_id=data.get("user_id"),
        email=data.get("email"),
        first_name=data.get("first_name"),
        last_name=data.get("last_name"),
        phone=data.get("phone"),
        version=data.get("version"),
    )


def _customer_address(data: Mapping[str, Any]) -> CustomerAddress:
    return CustomerAddress.create(
        address_id=fields.required_text("address_id", data.get("address_id"), max_length=255),
        user_id=data.get("user_id"),
        line1=data.get("line1"),
        line2=data.get("line2"),
        city=data.get("city"),
        state=data.get("state"),
        postal_code=data.get("postal_code"),
        country=data.get("country"),
        is_default=data.get("is_default", False),
        version=data.get("version"),
    )


def _user_authorization(data: Mapping[str, Any]) -> UserAuthorization:
    return UserAuthorization.create(
        user_id=data.get("user_id"),
        roles=data.get("roles"),
        vendor_id=data.get("vendor_id"),
        active=data.get("active"),
        version=data.get("version"),
    )


@dataclass(frozen=True)
class SnapshotKind:
    name: str
    key_field: str
    parse: Callable[[dict[str, Any]], Any]
    key_of: Callable[[dict[str, Any]], str] | None = None  # for keys made of several fields


KINDS: dict[str, SnapshotKind] = {
    kind.name: kind
    for kind in [
        SnapshotKind("customer", "user_id", _customer),
        SnapshotKind("customer_address", "address_id", _customer_address),
        SnapshotKind("user_authorization", "user_id", _user_authorization),
        SnapshotKind("vendor", "vendor_id", Vendor.create),
        SnapshotKind("product", "product_id", Product.create),
        SnapshotKind("coupon", "code", Coupon.create),
        SnapshotKind("offer", "offer_id", Offer.create),
        SnapshotKind("shipping_option", "option_id", ShippingOption.create),
        SnapshotKind("tenant_workflow", "workflow_key", TenantWorkflow.create),
        SnapshotKind("tax_option", "tax_key", TaxOption.create, TaxOption.key_of),
        SnapshotKind("payment_option", "option_id", PaymentOption.create),
    ]
}
UNDELETABLE = frozenset({"tenant_workflow"})  # a tenant always has a workflow (the defaults at least)


@dataclass(frozen=True)
class SnapshotChange:
    kind: str
    key: str
    version: int
    snapshot: Any | None  # None: a deletion


def parse_change(event_type: str, data: dict[str, Any]) -> SnapshotChange:
    """Validate an upstream event completely, before anything is written."""
    name, _, action = event_type.rpartition(".")
    kind = KINDS.get(name)
    if kind is None or action not in ("upserted", "deleted") or (action == "deleted" and name in UNDELETABLE):
        raise UnknownSnapshotType(event_type)
    if action == "deleted":
        if kind.key_of is not None:
            return SnapshotChange(name, kind.key_of(data), fields.version("version", data.get("version")), None)
        key = fields.required_text(kind.key_field, data.get(kind.key_field), max_length=255)
        if name == "coupon":
            key = key.upper()
        return SnapshotChange(name, key, fields.version("version", data.get("version")), None)
    snapshot = kind.parse(data)
    return SnapshotChange(name, getattr(snapshot, kind.key_field), snapshot.version, snapshot)


class SnapshotWriter(Protocol):
    def locked_version(self, tenant_id: str, kind: str, key: str) -> int | None:
        """The stored version, locking the row until the transaction ends; None if absent."""

    def upsert(self, tenant_id: str, kind: str, snapshot: Any) -> None: ...

    def delete(self, tenant_id: str, kind: str, key: str) -> None: ...


def apply_change(tenant_id: str, change: SnapshotChange, writer: SnapshotWriter) -> bool:
    """Apply inside the caller's transaction. False when the change is older than what is stored."""
    stored = writer.locked_version(tenant_id, change.kind, change.key)
    if change.snapshot is None:
        if stored is None or not is_newer(change.version, stored):
            return False
        writer.delete(tenant_id, change.kind, change.key)
        return True
    if not is_newer(change.version, stored):
        return False
    writer.upsert(tenant_id, change.kind, change.snapshot)
    return True
