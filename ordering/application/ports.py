"""What the ordering use cases need from the outside world, as Protocols.

`infrastructure/` implements them over the ORM; tests may implement them in memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ordering.domain.checkout import Catalog
from ordering.domain.documents import InvoiceDocument, Party
from ordering.domain.events import OrderEvent
from ordering.domain.intake import SalesChannel
from ordering.domain.lifecycle import OrderStatus
from ordering.domain.order import Order
from snapshots.domain.customers import CustomerAddress, CustomerDetails, UserAuthorization
from snapshots.domain.workflow import TenantWorkflow

from .outbox import OutboxDocument, Stage, WaitingEvent

if TYPE_CHECKING:
    from .exports import OrderSheet
    from .queries import OrderCriteria


class RetryUseCase(Exception):
    """Raised by an adapter when a concurrent transaction won a race the use case can replay
    (an idempotency key claimed first): the handler runs once more and finds the winner's result."""


class OrderRepository(Protocol):
    def get(self, order_id: str, *, lock: bool = True) -> Order | None: ...
    def add(self, order: Order) -> None: ...
    def save(self, order: Order) -> None: ...


class CatalogReader(Protocol):
    def load(
        self, *, product_ids: list[str], coupon_codes: list[str], option_ids: list[str], payment_options: bool = False
    ) -> Catalog:
        """The snapshots a cart refers to; the tenant's payment options only when asked for."""


class CustomerDirectory(Protocol):
    def customer(self, tenant_id: str, user_id: str) -> CustomerDetails | None: ...

    def addresses(self, tenant_id: str, user_id: str) -> list[CustomerAddress]: ...

    def authorization(self, tenant_id: str, user_id: str) -> UserAuthorization | None: ...

    def forget(self, tenant_id: str, user_id: str) -> tuple[CustomerDetails | None, list[CustomerAddress]]:
        """Delete the customer's snapshots (details, addresses, authorization); what was held."""


@dataclass(frozen=True)
class CustomerErasure:
    """One erasure of a customer: the orders it went through, and when."""

    customer_user_id: str
    order_ids: list[str]
    erased_at: datetime
    cancelled_order_ids: list[str]
    held_personal_data: bool  # False: nothing was left to erase (an erasure done before)


class PersonalData(Protocol):
    """What an erasure needs beyond the orders (docs/privacy.md)."""

    def orders_of(self, customer_user_id: str) -> dict[str, OrderStatus]:
        """The customer's orders in the tenant (id -> status), oldest first."""

    def retention_keeps(self) -> frozenset[str]:
        """The address fields the tenant's retention rule keeps (`privacy.KEEPABLE`)."""

    def scrub_copies(self, order_ids: list[str], erased: set[str]) -> None:
        """Remove `erased` from the copies of these orders' data: their outbox documents, and what
        other apps recorded of them (their erasure participants)."""

    def closed_before(self, moment: datetime, limit: int) -> list[str]:
        """Up to `limit` orders delivered, completed or cancelled whose last change is older than
        `moment` and that still hold personal data, oldest first."""

    def erasures_of(self, customer_user_id: str) -> list[dict[str, Any]]:
        """The erasure log's entries for the customer, oldest first (no personal data)."""

    def record(self, erasure: CustomerErasure, requested_by: str, reason: str) -> None:
        """Log the erasure (never the erased values) and, when it erased anything, queue its
        `customer.erased` event."""


class WorkflowReader(Protocol):
    def get(self) -> TenantWorkflow: ...


class ShipmentFinder(Protocol):
    def by_tracking_number(self, tracking_number: str, carrier: str | None) -> list[tuple[str, str]]:
        """(order id, shipment id) of the tenant's shipments with this tracking number."""

    def order_of(self, shipment_id: str) -> str | None:
        """The id of the order the tenant's shipment `shipment_id` belongs to."""


class CouponUsage(Protocol):
    def redeem(self, code: str, limit: int | None, *, field: str) -> None: ...


class OrderNumbers(Protocol):
    def next_number(self) -> str: ...


class IdempotencyKeys(Protocol):
    def claim(self, user_id: str, operation: str, key: str, request_hash: str) -> str | None: ...
    def settle(self, user_id: str, operation: str, key: str, order_id: str) -> None: ...


class SalesChannels(Protocol):
    """The tenant's sales channels and what an import checks against (docs/integrations.md)."""

    def channel(self, channel_id: str) -> SalesChannel | None: ...

    def known_vendors(self, vendor_ids: set[str]) -> set[str] | None:
        """Those of `vendor_ids` the tenant has vendor snapshots of; None when it has none at all."""

    def products(self, keys: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """(vendor id, SKU) -> the product snapshot's id, for those the tenant has."""

    def order_of(self, channel_id: str, external_reference: str) -> str | None: ...


class SalesChannelRegistry(Protocol):
    """A tenant's sales channels as an operator manages them (`manage.py channels`)."""

    def all(self) -> list[SalesChannel]: ...
    def channel(self, channel_id: str) -> SalesChannel | None: ...
    def add(self, channel: SalesChannel) -> None: ...
    def revoke(self, channel_id: str) -> None:
        """The channel no longer takes orders (they stay, and staff go on working them)."""


class OutboxFeed(Protocol):
    """The outbox as its consumers read it (`outbox.py`): what a stage has not handled yet, marking
    it handled, its backlog, and deleting what is done. Positions are the outbox's order."""

    def tenants_waiting(self, stage: Stage, after: str, limit: int) -> list[str]:
        """Up to `limit` tenants with events `stage` has not handled, in tenant order after `after`."""

    def waiting(self, stage: Stage, tenant_id: str, limit: int) -> list[WaitingEvent]:
        """The tenant's oldest `limit` events `stage` has not handled, in position order."""

    def first_per_order(self, stage: Stage, tenant_id: str, limit: int, window: int) -> list[OutboxDocument]:
        """Among the tenant's oldest `window` events `stage` has not handled, the first of each
        order, whole, at most `limit`, in position order. A batch made of these never holds two
        events of one order, so a failure inside it can never let an order's later event out
        before an earlier one; the window leaves room to skip an order's further events."""

    def mark(self, stage: Stage, positions: list[int], at: datetime, sequences: dict[int, int] | None = None) -> None:
        """`stage` has handled these events (locked in position order, as the fan-out locks them);
        `sequences`: where the stream stored each (position -> stream sequence)."""

    def stream_sequences(self, tenant_id: str, order_ids: list[str]) -> list[int]:
        """Where the stream stored these orders' events (those it acknowledged with a sequence)."""

    def oldest_waiting(self, stage: Stage) -> datetime | None:
        """When the oldest event `stage` has not handled occurred."""

    def waiting_by_tenant(self, stage: Stage) -> list[tuple[str, int]]:
        """How many events `stage` has not handled, per tenant that has any."""

    def handled_before(self, cutoff: datetime, stages: tuple[Stage, ...], limit: int, after: int = 0) -> list[int]:
        """The positions of up to `limit` events after position `after`, written before `cutoff`,
        that every one of `stages` has handled, oldest first."""

    def delete(self, positions: list[int]) -> None: ...


class Invoices(Protocol):
    """The tenant's issued invoices and credit notes (never changed once added)."""

    def of_order(self, order_id: str) -> list[InvoiceDocument]:
        """The order's invoices and credit notes, oldest first."""

    def next_sequence(self, kind: str) -> int:
        """The tenant's next number of `kind`, taken under the counter's row lock until commit,
        so a rolled-back issue gives its number back (gapless)."""

    def add(self, document: InvoiceDocument) -> None: ...

    def by_number(self, number: str) -> InvoiceDocument | None: ...


class TenantDocuments(Protocol):
    """What the tenant's documents print (its settings)."""

    def seller(self) -> Party:
        """The seller on invoices and the sender on packing slips."""

    def language(self) -> str:
        """The documents' language ("" for the platform's)."""


class UnitOfWork(Protocol):
    """One transaction for one tenant. Leaving it without `commit()` rolls everything back."""

    tenant_id: str
    orders: OrderRepository
    catalog: CatalogReader
    customers: CustomerDirectory
    coupons: CouponUsage
    numbers: OrderNumbers
    idempotency: IdempotencyKeys
    workflow: WorkflowReader
    shipments: ShipmentFinder
    channels: SalesChannels
    personal_data: PersonalData
    sheet: OrderSheet  # the export's reads
    invoices: Invoices
    documents: TenantDocuments
    events: list[OrderEvent]
    now: Callable[[], datetime]

    def __enter__(self) -> UnitOfWork: ...
    def __exit__(self, *exc: object) -> bool | None: ...
    def flush(self) -> None:
        """Send the changes so far now, inside the transaction (`commit` still ends it)."""

    def commit(self) -> None: ...


@dataclass(frozen=True)
class OrderPage:
    orders: list[Order]
    total_count: int
    has_next_page: bool
    cursors: list[str]


class OrderReader(Protocol):
    """The read side: orders as the caller may see them, one page at a time."""

    def get(self, tenant_id: str, order_id: str) -> Order | None: ...
    def page(self, criteria: OrderCriteria) -> OrderPage: ...
