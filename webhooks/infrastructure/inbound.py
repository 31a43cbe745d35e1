"""The ports of the inbound webhook use case, over the ORM."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime, timezone

from django.db import IntegrityError, transaction

from identity.infrastructure.models import Tenant
from identity.infrastructure.tenancy import tenant_transaction
from ordering.application.commands import TrackingUpdate
from ordering.application.fulfilment_handlers import apply_tracking_update, parse_tracking_update
from ordering.infrastructure.unit_of_work import DjangoUnitOfWork
from snapshots.infrastructure.snapshot_writer import OrmSnapshotWriter

from .models import InboundWebhookReceipt, InboundWebhookSecret


class OrmInboundPorts:
    snapshots = OrmSnapshotWriter()

    def tenant_is_active(self, tenant_id: str) -> bool:
        return Tenant.objects.filter(pk=tenant_id, active=True).exists()

    def active_secrets(self, tenant_id: str, now: float) -> list[str]:
        moment = datetime.fromtimestamp(now, tz=timezone.utc)
        return list(
            InboundWebhookSecret.objects.filter(InboundWebhookSecret.active_q(moment), tenant_id=tenant_id)
            .order_by("-created_at")
            .values_list("secret", flat=True)
        )

    def record_receipt(self, tenant_id: str, msg_id: str, event_type: str) -> bool:
        try:
            with transaction.atomic():  # a savepoint: a duplicate leaves the outer transaction usable
                InboundWebhookReceipt.objects.create(
                    tenant_id=tenant_id, webhook_id=msg_id, event_type=event_type
                )
        except IntegrityError:
            return False
        return True

    def atomic(self, tenant_id: str) -> AbstractContextManager[None]:
        return tenant_transaction(tenant_id)

    def parse_tracking(self, data: dict) -> TrackingUpdate:
        return parse_tracking_update(data)

    def apply_tracking(self, tenant_id: str, update: TrackingUpdate) -> bool:
        return apply_tracking_update(update, DjangoUnitOfWork(tenant_id))
