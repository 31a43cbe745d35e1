"""The unit of work: one tenant transaction, the repositories bound to it, and the events raised.

Entering opens `tenant_transaction(tenant_id)` (the single home of per-transaction tenant
settings); `commit()` collects the domain events of every order the use case touched and writes them to
the outbox (`outbox.py`) in the same transaction; leaving without `commit()` rolls back.
Collected events are also handed to `event_sink` inside the transaction and are kept on `events`
once the commit succeeded.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime

from django.db import transaction

from oms_project.kernel.metrics import ORDER_TRANSITIONS
from oms_project.kernel.tenancy import tenant_transaction
from ordering.domain.events import OrderEvent
from snapshots.application import services as snapshots

from .documents.store import OrmInvoices, OrmTenantDocuments
from .order_sheet import OrmOrderSheet
from .outbox import OrmOutbox
from .personal_data import OrmPersonalData
from .repositories.catalog import OrmCatalogReader
from .repositories.coupon_usage import OrmCouponUsage
from .repositories.idempotency_keys import OrmIdempotencyKeys
from .repositories.order_numbers import OrmOrderNumbers
from .repositories.orders import OrmOrderRepository
from .repositories.shipments import OrmShipmentFinder
from .repositories.workflow import OrmWorkflowReader
from .sales_channels import OrmSalesChannels
from .stock_reservations import OrmStockReservations
from .write_batch import WriteBatch


def utc_now() -> datetime:
    return datetime.now(UTC)


def no_sink(events: list[OrderEvent]) -> None:
    """No in-process subscriber: the outbox is the way out."""


class DjangoUnitOfWork:
    def __init__(
        self,
        tenant_id: str,
        *,
        clock: Callable[[], datetime] = utc_now,
        event_sink: Callable[[list[OrderEvent]], None] = no_sink,
        correlation_id: str = "",
    ) -> None:
        if not tenant_id:
            raise ValueError("a unit of work needs a tenant")
        self.tenant_id = tenant_id
        self.now = clock
        self.event_sink = event_sink
        self.events: list[OrderEvent] = []
        self.catalog = OrmCatalogReader(tenant_id)
        self.customers = snapshots.customer_store()
        self.coupons = OrmCouponUsage(tenant_id)
        self.idempotency = OrmIdempotencyKeys(tenant_id)
        self.workflow = OrmWorkflowReader(tenant_id, self.catalog)
        self.shipments = OrmShipmentFinder(tenant_id)
        self.channels = OrmSalesChannels(tenant_id)
        self.personal_data = OrmPersonalData(tenant_id, correlation_id)
        self.sheet = OrmOrderSheet(tenant_id)
        self.invoices = OrmInvoices(tenant_id)
        self.documents = OrmTenantDocuments(tenant_id)
        self.writes = WriteBatch()
        self.numbers = OrmOrderNumbers(tenant_id, self.writes)
        self.outbox = OrmOutbox(tenant_id, correlation_id, self.writes)
        self._stack: ExitStack | None = None

    def __enter__(self) -> DjangoUnitOfWork:
        if self._stack is not None:
            raise RuntimeError("this unit of work is already open")
        self.writes.clear()
        self.orders = OrmOrderRepository(self.tenant_id, self.writes, OrmStockReservations(self.tenant_id, self.writes))
        self._committed: list[OrderEvent] | None = None
        self._raised: list[OrderEvent] = []
        self._stack = ExitStack()
        self._stack.enter_context(tenant_transaction(self.tenant_id))
        return self

    def flush(self) -> None:
        """Send what the orders changed so far, with their events, now, inside the transaction
        (a use case that changes many orders sends each one's writes before the next)."""
        for order in self.orders.seen:
            events = order.pull_events()
            self.outbox.add((event, order) for event in events)
            self._raised.extend(events)
        self.writes.flush()  # the order's writes and its events: one statement on PostgreSQL
        self.orders.settle_late_values(self.writes.drawn)

    def commit(self) -> None:
        self.flush()
        raised, self._raised = self._raised, []
        self.event_sink(raised)
        self._committed = raised

    def __exit__(self, exc_type, exc, tb) -> bool:
        stack, self._stack = self._stack, None
        if exc_type is None and self._committed is None:
            transaction.set_rollback(True)
        suppressed = stack.__exit__(exc_type, exc, tb)
        if exc_type is None and self._committed is not None:
            self.events.extend(self._committed)
            for event in self._committed:
                ORDER_TRANSITIONS.labels(event.type).inc()
        return bool(suppressed)
