"""The queries `order` and `orders` (api.md, "Queries")."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from identity.domain.principal import Principal
from ordering.domain import access
from ordering.domain.errors import Forbidden, Invalid
from ordering.domain.order import Order

from .ports import OrderPage, OrderReader

MAX_PAGE = 100
DEFAULT_PAGE = 20


class OrderSort(str, Enum):
    CREATED_AT_DESC = "CREATED_AT_DESC"
    CREATED_AT_ASC = "CREATED_AT_ASC"
    TOTAL_DESC = "TOTAL_DESC"
    TOTAL_ASC = "TOTAL_ASC"


@dataclass(frozen=True)
class OrderFilter:
    statuses: tuple[str, ...] = ()
    payment_statuses: tuple[str, ...] = ()
    vendor_id: str | None = None
    customer_id: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    channel: str | None = None


@dataclass(frozen=True)
class ListOrders:
    first: int = DEFAULT_PAGE
    after: str | None = None
    filter: OrderFilter = field(default_factory=OrderFilter)
    sort: OrderSort = OrderSort.CREATED_AT_DESC
    search: str | None = None


@dataclass(frozen=True)
class OrderCriteria:
    """A validated list request, with the caller whose visibility the reader must apply."""

    viewer: Principal
    first: int
    after: str | None
    filter: OrderFilter
    sort: OrderSort
    search: str | None


def get_order(principal: Principal, order_id: str, reader: OrderReader) -> Order | None:
    """The order as the caller may see it, or None (also for another tenant's or an unseen id)."""
    order = reader.get(principal.tenant_id, order_id)
    if order is None or not access.can_see(order, principal):
        return None
    return access.view_of(order, principal)


def list_orders(principal: Principal, query: ListOrders, reader: OrderReader) -> OrderPage:
    if query.first is None or query.first < 1 or query.first > MAX_PAGE:
        raise Invalid(f"first must be between 1 and {MAX_PAGE}", field="first")
    if query.filter.customer_id is not None and not principal.is_staff:
        raise Forbidden("only staff can filter orders by customer")
    search = query.search.strip().lower() if query.search else None
    if search is not None and len(search) > 200:
        raise Invalid("search is at most 200 characters", field="search")
    criteria = OrderCriteria(principal, query.first, query.after, query.filter, query.sort, search or None)
    page = reader.page(criteria)
    visible = [
        (access.view_of(order, principal), cursor)
        for order, cursor in zip(page.orders, page.cursors, strict=True)
        if access.can_see(order, principal)
    ]
    return OrderPage(
        [order for order, _ in visible], page.total_count, page.has_next_page, [cursor for _, cursor in visible]
    )
