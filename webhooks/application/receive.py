"""Use case: receive one signed snapshot webhook for a tenant."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from oms_project.kernel.errors import CodedError
from oms_project.kernel.input_gate import TextRefused, check_tree
from snapshots.application.changes import SnapshotWriter, apply_change, parse_change
from webhooks.domain.events import EventMalformed, parse_event
from webhooks.domain.signatures import verify


class UnknownTenant(CodedError):
    """No active tenant with this id (HTTP 404; the doors answer one message for every unknown)."""

    code = "NOT_FOUND"

    def __init__(self, tenant_id: str) -> None:
        super().__init__("unknown tenant")
        self.tenant_id = tenant_id


@dataclass(frozen=True)
class Delivery:
    tenant_id: str
    msg_id: str | None
    timestamp: str | None
    signature: str | None
    body: bytes


TRACKING_EVENT = "shipment.tracking_updated"
ERASURE_EVENT = "customer.erasure_requested"  # the identity system asks to erase a customer (docs/privacy.md)


class Outcome(str, Enum):
    APPLIED = "applied"
    STALE = "stale"  # older than the stored version: acknowledged, ignored
    DUPLICATE = "duplicate"  # this webhook-id was already applied


class InboundPorts(Protocol):
    def tenant_is_active(self, tenant_id: str) -> bool: ...

    def active_secrets(self, tenant_id: str, now: float) -> list[str]: ...

    def record_receipt(self, tenant_id: str, msg_id: str, event_type: str) -> bool:
        """Record the webhook-id inside the current transaction; False if already recorded."""

    def atomic(self, tenant_id: str) -> AbstractContextManager[None]: ...

    def parse_tracking(self, data: dict[str, Any]) -> object:
        """Validate a carrier's tracking update (raises the ordering `Invalid`)."""

    def apply_tracking(self, tenant_id: str, update: object) -> bool:
        """Move the shipments it names, inside the current transaction; False when not newer.
        Raises the ordering `NotFound` (no such tracking number) or `InvalidTransition`."""

    def parse_erasure(self, data: dict[str, Any]) -> object:
        """Validate an erasure request `{customer_user_id, reason}` (raises EventMalformed)."""

    def erase_customer(self, tenant_id: str, request: object) -> None:
        """Erase the customer as staff would without `force` (raises the ordering
        `CustomerHasOpenOrders`: the sender retries once the orders are closed)."""

    @property
    def snapshots(self) -> SnapshotWriter: ...


def receive_snapshot_webhook(delivery: Delivery, *, now: float, ports: InboundPorts) -> Outcome:
    """Verify, validate completely, then record the id and apply in one transaction. A carrier's
    `shipment.tracking_updated` and an identity system's `customer.erasure_requested` go to the
    ordering context instead of the snapshots.

    Raises UnknownTenant, SignatureRejected, EventMalformed, UnknownSnapshotType or
    SnapshotInvalid; in each case nothing is written.
    """
    if not ports.tenant_is_active(delivery.tenant_id):
        raise UnknownTenant(delivery.tenant_id)
    verify(
        secrets=ports.active_secrets(delivery.tenant_id, now),
        msg_id=delivery.msg_id,
        timestamp=delivery.timestamp,
        signature_header=delivery.signature,
        body=delivery.body,
        now=now,
    )
    event = parse_event(delivery.body)
    try:
        check_tree(event.data, "data")  # the text gate, before any handler (docs/errors.md)
    except TextRefused as refused:
        raise EventMalformed("INVALID", refused.message, field=refused.field) from None
    if event.type == TRACKING_EVENT:
        update = ports.parse_tracking(event.data)
        with ports.atomic(delivery.tenant_id):
            if not ports.record_receipt(delivery.tenant_id, delivery.msg_id or "", event.type):
                return Outcome.DUPLICATE
            applied = ports.apply_tracking(delivery.tenant_id, update)
        return Outcome.APPLIED if applied else Outcome.STALE
    if event.type == ERASURE_EVENT:
        request = ports.parse_erasure(event.data)
        with ports.atomic(delivery.tenant_id):
            if not ports.record_receipt(delivery.tenant_id, delivery.msg_id or "", event.type):
                return Outcome.DUPLICATE
            ports.erase_customer(delivery.tenant_id, request)
        return Outcome.APPLIED
    change = parse_change(event.type, event.data)
    with ports.atomic(delivery.tenant_id):
        if not ports.record_receipt(delivery.tenant_id, delivery.msg_id or "", event.type):
            return Outcome.DUPLICATE
        applied = apply_change(delivery.tenant_id, change, ports.snapshots)
    return Outcome.APPLIED if applied else Outcome.STALE
