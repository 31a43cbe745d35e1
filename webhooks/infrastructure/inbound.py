"""The ports of the inbound webhook use case, over the ORM."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime

from django.db import IntegrityError, transaction

from oms_project.kernel.tenancy import tenant_model, tenant_transaction
from ordering.application import services as ordering
from ordering.application.commands import (
    CancelImportedOrder,
    ChangeImportedDestination,
    EraseCustomer,
    ImportOrder,
    TrackingUpdate,
)
from ordering.application.handlers.intake import (
    cancel_imported_order,
    change_imported_destination,
    channel_principal,
    import_order,
)
from ordering.application.handlers.privacy import erase_customer, upstream_principal
from ordering.application.handlers.shipments import apply_tracking_update, parse_tracking_update
from snapshots.application import services as snapshot_services
from webhooks.domain.events import EventMalformed

from .models import CarrierWebhookSecret, InboundWebhookReceipt, InboundWebhookSecret


class OrmInboundPorts:
    @property
    def snapshots(self):
        return snapshot_services.snapshot_writer()

    def tenant_is_active(self, tenant_id: str) -> bool:
        return tenant_model().objects.filter(pk=tenant_id, active=True).exists()

    def active_secrets(self, tenant_id: str, now: float, channel: str = "") -> list[str]:
        """The secrets that sign the tenant's snapshot webhooks, or (`channel`) a sales channel's."""
        moment = datetime.fromtimestamp(now, tz=UTC)
        return list(
            InboundWebhookSecret.objects.filter(
                InboundWebhookSecret.active_q(moment), tenant_id=tenant_id, channel=channel
            )
            .order_by("-created_at")
            .values_list("secret", flat=True)
        )

    def record_receipt(self, tenant_id: str, msg_id: str, event_type: str) -> bool:
        try:
            with transaction.atomic():  # a savepoint: a duplicate leaves the outer transaction usable
                InboundWebhookReceipt.objects.create(tenant_id=tenant_id, webhook_id=msg_id, event_type=event_type)
        except IntegrityError:
            return False
        return True

    def atomic(self, tenant_id: str) -> AbstractContextManager[None]:
        return tenant_transaction(tenant_id)

    def parse_tracking(self, data: dict) -> TrackingUpdate:
        return parse_tracking_update(data)

    def apply_tracking(self, tenant_id: str, update: TrackingUpdate) -> bool:
        return apply_tracking_update(update, ordering.unit_of_work(tenant_id))

    def parse_erasure(self, data: dict) -> EraseCustomer:
        values = {}
        for field in ("customer_user_id", "reason"):
            value = data.get(field)
            if not isinstance(value, str) or not value.strip():
                raise EventMalformed("INVALID", "is required (a non-empty string)", field=field)
            values[field] = value
        return EraseCustomer(**values)

    def erase_customer(self, tenant_id: str, request: EraseCustomer) -> None:
        erase_customer(upstream_principal(tenant_id), request, ordering.unit_of_work(tenant_id))

    def carrier_secret(self, tenant_id: str, provider: str) -> str | None:
        return (
            CarrierWebhookSecret.objects.filter(tenant_id=tenant_id, provider=provider)
            .values_list("secret", flat=True)
            .first()
        )

    # -- a sales channel's door (webhooks/application/channel_orders.py) ----------------------

    def channel_is_active(self, tenant_id: str, channel_id: str) -> bool:
        channel = ordering.sales_channels(tenant_id).channel(channel_id)
        return channel is not None and channel.active

    def run_channel_command(self, tenant_id: str, channel_id: str, command):
        handler = {
            ImportOrder: import_order,
            CancelImportedOrder: cancel_imported_order,
            ChangeImportedDestination: change_imported_destination,
        }[type(command)]
        return handler(channel_principal(tenant_id, channel_id), command, ordering.unit_of_work(tenant_id))

    def order_of(self, tenant_id: str, channel_id: str, external_reference: str):
        order_id = ordering.sales_channels(tenant_id).order_of(channel_id, external_reference.strip())
        return None if order_id is None else ordering.order_reader().get(tenant_id, order_id)
