"""The subscriptions `orderUpdated`, `myOrderUpdates`, `vendorOrderUpdates` and `orderEvents`
(api.md, "Subscriptions"). Who may follow what is decided in ordering/application/live.py; the
transport (graphql-transport-ws, graphql-sse) is the composition root's (oms_project/live.py),
which gives every resolver `info.context.live`.

Each `subscribe_*` checks the caller's right and the `after` position before the subscription
starts, so a refusal is the protocol's `error` message; each update then resolves like a query.
"""

from __future__ import annotations

import graphene
from channels.db import database_sync_to_async

from oms_project.kernel.errors import CodedError
from oms_project.kernel.graphql_common import top_level_error
from oms_project.kernel.tenancy import tenant_reads
from ordering.application.live import customer_feed, order_feed, parse_position, staff_feed, vendor_feed
from ordering.infrastructure.live import LiveOrders
from ordering.infrastructure.order_queries import OrmOrderReader

from .types import Order


class OrderUpdate(graphene.ObjectType):
    position = graphene.String(required=True, description="Pass the last one you saw as `after` when you reconnect.")
    order = graphene.Field(Order, required=True, description="The order as you may read it after the change.")


class OrderEventEnvelope(graphene.ObjectType):
    position = graphene.String(required=True)
    type = graphene.String(required=True, description="order.placed, order.shipped, ... (docs/events/).")
    order_id = graphene.ID(required=True)
    sequence = graphene.Int(required=True, description="Per order, from 1.")
    occurred_at = graphene.DateTime(required=True)


class OrderEventsFilter(graphene.InputObjectType):
    types = graphene.List(graphene.NonNull(graphene.String), description="Event types; all when left out.")
    channel = graphene.String(description="Only orders imported from this sales channel.")


AFTER = "The `position` of the last update you saw: what you missed is sent first, in order."


def _after(live: LiveOrders, after: str | None) -> int | None:
    return parse_position(after, live.letter)


def _order_feed(principal, order_id: str):
    with tenant_reads(principal.tenant_id):
        return order_feed(principal, order_id, OrmOrderReader())


async def _open(info, make_feed, after: str | None, envelopes: bool = False):
    """The subscription's stream, once the caller's right, the `after` position and the source
    have all been checked (a refusal is the protocol's `error` message)."""
    live: LiveOrders = info.context.live
    try:
        feed = await make_feed()
        position = _after(live, after)
        return await (live.envelopes(feed, position) if envelopes else live.updates(feed, position))
    except CodedError as error:
        raise top_level_error(error, with_field=bool(error.field)) from error


class OrderingSubscription(graphene.ObjectType):
    order_updated = graphene.Field(
        OrderUpdate,
        required=True,
        order_id=graphene.ID(required=True),
        after=graphene.String(description=AFTER),
        description="Each change of one order, for whoever may read it with `order(id)`.",
    )
    my_order_updates = graphene.Field(
        OrderUpdate, required=True, after=graphene.String(description=AFTER), description="Customers: their orders."
    )
    vendor_order_updates = graphene.Field(
        OrderUpdate,
        required=True,
        after=graphene.String(description=AFTER),
        description="Vendors: placed orders with their lines (their lines only).",
    )
    order_events = graphene.Field(
        OrderEventEnvelope,
        required=True,
        filter=OrderEventsFilter(),
        after=graphene.String(description=AFTER),
        description="Staff: every order event of the tenant, or those the filter names.",
    )

    @staticmethod
    async def subscribe_order_updated(root, info, order_id, after=None):
        principal = info.context.principal
        return await _open(info, lambda: database_sync_to_async(_order_feed)(principal, order_id), after)

    @staticmethod
    async def subscribe_my_order_updates(root, info, after=None):
        return await _open(info, _ready(customer_feed, info.context.principal), after)

    @staticmethod
    async def subscribe_vendor_order_updates(root, info, after=None):
        return await _open(info, _ready(vendor_feed, info.context.principal), after)

    @staticmethod
    async def subscribe_order_events(root, info, filter=None, after=None):
        f = filter or {}
        types, channel = tuple(f.get("types") or ()), f.get("channel")
        return await _open(info, _ready(staff_feed, info.context.principal, types, channel), after, envelopes=True)

    @staticmethod
    def resolve_order_updated(root, info, **arguments):
        return root

    resolve_my_order_updates = resolve_order_updated
    resolve_vendor_order_updates = resolve_order_updated
    resolve_order_events = resolve_order_updated


def _ready(make, *arguments):
    async def feed():
        return make(*arguments)

    return feed
