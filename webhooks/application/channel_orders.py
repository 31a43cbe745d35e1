"""Use case: a sales channel's signed webhook (docs/integrations.md), the push door of order
intake: `order.import` takes an order in, `order.cancelled` and `order.address_changed` change
one the channel sent before. Verified with the channel's own secrets; the webhook id is recorded
in the transaction of the change, so a redelivered webhook changes nothing."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol

from oms_project.kernel.errors import CodedError
from oms_project.kernel.input_gate import TextRefused, check_tree
from ordering.application import commands as c
from webhooks.domain.events import EventMalformed, parse_event
from webhooks.domain.signatures import verify

from .receive import Delivery, Outcome, UnknownTenant

IMPORT, CANCELLED, ADDRESS_CHANGED = "order.import", "order.cancelled", "order.address_changed"
CHANNEL_EVENTS = (IMPORT, CANCELLED, ADDRESS_CHANGED)


class UnknownChannel(CodedError):
    """No active sales channel of this name for the tenant (HTTP 404)."""

    code = "NOT_FOUND"

    def __init__(self, channel_id: str) -> None:
        super().__init__("unknown sales channel")
        self.channel_id = channel_id


class UnknownChannelEvent(CodedError):
    code = "UNKNOWN_TYPE"

    def __init__(self, event_type: str) -> None:
        super().__init__(f"unknown event type {event_type!r}; a channel sends {', '.join(CHANNEL_EVENTS)}")


class ChannelPorts(Protocol):
    def tenant_is_active(self, tenant_id: str) -> bool: ...

    def channel_is_active(self, tenant_id: str, channel_id: str) -> bool: ...

    def active_secrets(self, tenant_id: str, now: float, channel: str = "") -> list[str]: ...

    def record_receipt(self, tenant_id: str, msg_id: str, event_type: str) -> bool: ...

    def atomic(self, tenant_id: str) -> AbstractContextManager[None]: ...

    def run_channel_command(self, tenant_id: str, channel_id: str, command: Any) -> Any:
        """Run the ordering use case for `command` as the channel, inside the current transaction;
        returns the order (raises the ordering errors)."""

    def order_of(self, tenant_id: str, channel_id: str, external_reference: str) -> Any:
        """The channel's order with this reference, or None."""


def _sent(data: dict[str, Any], name: str) -> Any:
    """A field as the channel sent it, unchecked: the ordering intake rules judge it."""
    return data.get(name)


def channel_command(event_type: str, data: dict[str, Any]) -> Any:
    """The ordering command of a channel's event (its fields as the GraphQL input's, snake_case)."""
    if event_type == IMPORT:
        return c.ImportOrder(
            external_reference=_sent(data, "external_reference"),
            currency=_sent(data, "currency"),
            customer=_sent(data, "customer"),
            shipping_address=_sent(data, "shipping_address"),
            lines=_sent(data, "lines"),
            shipping=_sent(data, "shipping") or [],
            total=_sent(data, "total"),
            paid_amount=_sent(data, "paid_amount"),
            payment_reference=_sent(data, "payment_reference"),
        )
    if event_type == CANCELLED:
        return c.CancelImportedOrder(external_reference=_sent(data, "external_reference"), reason=_sent(data, "reason"))
    if event_type == ADDRESS_CHANGED:
        return c.ChangeImportedDestination(
            external_reference=_sent(data, "external_reference"), shipping_address=_sent(data, "shipping_address")
        )
    raise UnknownChannelEvent(event_type)


def receive_channel_webhook(
    delivery: Delivery, channel_id: str, *, now: float, ports: ChannelPorts
) -> tuple[Outcome, Any]:
    """Verify, parse, then record the id and run the command in one transaction. Returns the
    outcome and the order (on a duplicate, the order the reference names, if any).

    Raises UnknownTenant, UnknownChannel, SignatureRejected, EventMalformed, UnknownChannelEvent
    or an ordering error; in each case nothing is written."""
    if not ports.tenant_is_active(delivery.tenant_id):
        raise UnknownTenant(delivery.tenant_id)
    if not ports.channel_is_active(delivery.tenant_id, channel_id):
        raise UnknownChannel(channel_id)
    verify(
        secrets=ports.active_secrets(delivery.tenant_id, now, channel_id),
        msg_id=delivery.msg_id,
        timestamp=delivery.timestamp,
        signature_header=delivery.signature,
        body=delivery.body,
        now=now,
    )
    event = parse_event(delivery.body)
    try:
        check_tree(event.data, "data")
    except TextRefused as refused:
        raise EventMalformed("INVALID", refused.message, field=refused.field) from None
    command = channel_command(event.type, event.data)
    with ports.atomic(delivery.tenant_id):
        if not ports.record_receipt(delivery.tenant_id, delivery.msg_id or "", event.type):
            reference = getattr(command, "external_reference", None)
            known = ports.order_of(delivery.tenant_id, channel_id, reference) if isinstance(reference, str) else None
            return Outcome.DUPLICATE, known
        order = ports.run_channel_command(delivery.tenant_id, channel_id, command)
    return Outcome.APPLIED, order
