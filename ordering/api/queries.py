"""The queries `order`, `orders` (api.md, "Queries") and `customerDataExport` (api.md, "Customer
data rights")."""

from __future__ import annotations

import json

import graphene

from oms_project.kernel.graphql_common import top_level_error
from ordering.application.commands import ExportCustomerData
from ordering.application.handlers.privacy import export_customer
from ordering.application.queries import ListOrders, get_order, list_orders
from ordering.application.queries import OrderFilter as OrderFilterValue
from ordering.application.queries import OrderSort as OrderSortValue
from ordering.domain.errors import OrderingError
from ordering.infrastructure.order_queries import OrmOrderReader
from ordering.infrastructure.unit_of_work import DjangoUnitOfWork

from .types import Order, OrderConnection, OrderEdge, OrderFilter, OrderSort


def _enum_values(values) -> tuple[str, ...]:
    return tuple(getattr(v, "value", v) for v in values or [])


class OrderingQuery(graphene.ObjectType):
    order = graphene.Field(
        Order,
        id=graphene.ID(required=True),
        description="The order, or null if there is none you may see (any tenant).",
    )
    orders = graphene.Field(
        OrderConnection,
        required=True,
        first=graphene.Int(default_value=20, description="At most 100."),
        after=graphene.String(),
        filter=OrderFilter(),
        sort=OrderSort(default_value=OrderSortValue.CREATED_AT_DESC.value),
        search=graphene.String(description="Order number, SKU, product name, customer name or email."),
        description="Customers: their own orders; vendors: placed orders with their lines; staff: the tenant's.",
    )

    customer_data_export = graphene.JSONString(
        required=True,
        customer_user_id=graphene.ID(required=True),
        description="Everything held about the customer as one JSON document: snapshots, orders with their "
        "history, erasures (staff; the customer for themselves; docs/privacy.md).",
    )

    def resolve_customer_data_export(root, info, customer_user_id):
        principal = info.context.principal
        try:
            pieces = export_customer(
                principal, ExportCustomerData(customer_user_id), DjangoUnitOfWork(principal.tenant_id)
            )
            return json.loads("".join(pieces))
        except OrderingError as error:
            raise top_level_error(error, with_field=True) from error

    def resolve_order(root, info, id):
        return get_order(info.context.principal, id, OrmOrderReader())

    def resolve_orders(root, info, first=20, after=None, filter=None, sort=None, search=None):
        f = filter or {}
        query = ListOrders(
            first=first,
            after=after,
            filter=OrderFilterValue(
                statuses=_enum_values(f.get("status")),
                payment_statuses=_enum_values(f.get("payment_status")),
                vendor_id=f.get("vendor_id"),
                customer_id=f.get("customer_id"),
                created_after=f.get("created_after"),
                created_before=f.get("created_before"),
                channel=f.get("channel"),
            ),
            sort=OrderSortValue(getattr(sort, "value", sort) or OrderSortValue.CREATED_AT_DESC.value),
            search=search,
        )
        try:
            page = list_orders(info.context.principal, query, OrmOrderReader())
        except OrderingError as error:
            raise top_level_error(error, with_field=True) from error
        edges = [OrderEdge(cursor=cursor, node=order) for order, cursor in zip(page.orders, page.cursors, strict=True)]
        return OrderConnection(
            edges=edges,
            total_count=page.total_count,
            page_info=graphene.relay.PageInfo(
                has_next_page=page.has_next_page,
                has_previous_page=after is not None,
                start_cursor=page.cursors[0] if page.cursors else None,
                end_cursor=page.cursors[-1] if page.cursors else None,
            ),
        )
