"""The transactional outbox: the unit of work writes every collected event here, in the same
transaction as the change, so a rolled-back change leaves no event and a committed one always
has its events."""

from __future__ import annotations

from collections.abc import Iterable

from oms_project.kernel import tracing
from ordering.application.event_payloads import event_data, order_document
from ordering.domain.events import OrderEvent
from ordering.domain.order import Order

from . import models
from .write_batch import WriteBatch


class OrmOutbox:
    """Queues the events on the unit of work's write batch (sent with the order's own writes)."""

    def __init__(self, tenant_id: str, correlation_id: str, writes: WriteBatch) -> None:
        self.tenant_id = tenant_id
        self.correlation_id = correlation_id[:100]
        self.writes = writes

    def add(self, raised: Iterable[tuple[OrderEvent, Order]]) -> None:
        """One row per event. Events of one order raised in one unit of work all carry the order as
        it is at commit, so its document is made once and shared."""
        documents: dict[int, dict] = {}
        trace_parent = tracing.traceparent()
        rows = []
        for event, order in raised:
            document = documents.get(id(order))
            if document is None:
                document = documents[id(order)] = order_document(order)
            rows.append(
                dict(
                    tenant_id=self.tenant_id,
                    type=event.type,
                    aggregate_id=event.order_id,
                    sequence=event.sequence,
                    data=event_data(event, order, document=document),
                    occurred_at=event.occurred_at,
                    correlation_id=self.correlation_id,
                    trace_parent=trace_parent,
                )
            )
        self.writes.insert(models.OutboxEvent, rows)
