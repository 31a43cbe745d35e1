"""What an erasure needs beyond the orders (`ordering.application.ports.PersonalData`), over the
ORM: the customer's orders, the tenant's retention rule, the copies of erased values in the
outbox, in the orders' history notes and in other apps' records, and the erasure log with its
`customer.erased` event."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.conf import settings

from oms_project.kernel import tracing
from oms_project.kernel.rewrite import rewrite_field
from oms_project.kernel.tenancy import tenant_model
from ordering.application import services
from ordering.application.ports import CustomerErasure
from ordering.domain import events as ev
from ordering.domain import privacy
from ordering.domain.lifecycle import OrderStatus

from . import models

# The aggregate id of a customer's events: one UUID per tenant and customer user id.
CUSTOMERS = uuid.UUID("6f6d732d-6375-7374-6f6d-657273000000")


def customer_aggregate_id(tenant_id: str, customer_user_id: str) -> uuid.UUID:
    return uuid.uuid5(CUSTOMERS, f"{tenant_id}\x1f{customer_user_id}")


class OrmPersonalData:
    def __init__(self, tenant_id: str, correlation_id: str = "") -> None:
        self.tenant_id = tenant_id
        self.correlation_id = correlation_id[:100]

    def orders_of(self, customer_user_id: str) -> dict[str, OrderStatus]:
        rows = models.Order.objects.filter(tenant_id=self.tenant_id, customer_user_id=customer_user_id)
        return {
            str(order_id): OrderStatus(status)
            for order_id, status in rows.order_by("created_at", "id").values_list("id", "status")
        }

    def retention_keeps(self) -> frozenset[str]:
        """The tenant's own rule (its `erasure_keeps`, set by `create_tenant --erasure-keeps` or in
        the admin), else the platform's (`OMS_ERASURE_KEEPS`)."""
        own = tenant_model().objects.filter(pk=self.tenant_id).values_list("erasure_keeps", flat=True).first()
        rule = own if own else settings.OMS_ERASURE_KEEPS
        return privacy.keep_rule([] if rule == "-" else rule.split(","))

    def scrub_copies(self, order_ids: list[str], erased: set[str]) -> None:
        if not order_ids or not erased:
            return

        scrubbed = privacy.scrubber(erased)
        orders = {"tenant_id": self.tenant_id}
        rewrite_field(models.OutboxEvent.objects.filter(aggregate_id__in=order_ids, **orders), "data", scrubbed)
        # The history is written once per entry (the repository appends); what the customer wrote
        # in it is erased here.
        notes = models.OrderHistoryEntry.objects.filter(order_id__in=order_ids, **orders).exclude(note="")
        rewrite_field(notes, "note", scrubbed)
        for participant in services.erasure_participants():
            participant(self.tenant_id, order_ids, erased)

    def closed_before(self, moment: datetime, limit: int) -> list[str]:
        rows = models.Order.objects.filter(
            tenant_id=self.tenant_id,
            status__in=[status.value for status in privacy.CLOSED],
            updated_at__lt=moment,
        ).exclude(customer_email=privacy.ERASED)
        return [str(i) for i in rows.order_by("updated_at", "id").values_list("id", flat=True)[:limit]]

    def erasures_of(self, customer_user_id: str) -> list[dict[str, Any]]:
        rows = models.CustomerErasureRecord.objects.filter(tenant_id=self.tenant_id, customer_user_id=customer_user_id)
        return [
            {
                "erased_at": row.erased_at.isoformat(),
                "requested_by": row.requested_by,
                "reason": row.reason,
                "order_ids": row.order_ids,
                "cancelled_order_ids": row.cancelled_order_ids,
                "held_personal_data": row.held_personal_data,
            }
            for row in rows.order_by("erased_at", "id")
        ]

    def record(self, erasure: CustomerErasure, requested_by: str, reason: str) -> None:
        models.CustomerErasureRecord.objects.create(
            tenant_id=self.tenant_id,
            customer_user_id=erasure.customer_user_id,
            requested_by=requested_by,
            reason=reason,
            order_ids=erasure.order_ids,
            cancelled_order_ids=erasure.cancelled_order_ids,
            held_personal_data=erasure.held_personal_data,
            erased_at=erasure.erased_at,
        )
        if not erasure.held_personal_data:
            return
        aggregate = customer_aggregate_id(self.tenant_id, erasure.customer_user_id)
        announced = models.OutboxEvent.objects.filter(tenant_id=self.tenant_id, aggregate_id=aggregate).count()
        models.OutboxEvent.objects.create(
            tenant_id=self.tenant_id,
            type=ev.CUSTOMER_ERASED,
            aggregate_id=aggregate,
            sequence=announced + 1,
            data={
                "customer_user_id": erasure.customer_user_id,
                "order_ids": erasure.order_ids,
                "erased_at": erasure.erased_at.isoformat(),
            },
            occurred_at=erasure.erased_at,
            correlation_id=self.correlation_id,
            trace_parent=tracing.traceparent(),
        )
