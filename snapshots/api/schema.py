"""The `productStock` query (docs/inventory.md, "Reading stock")."""

from __future__ import annotations

import graphene

from oms_project.kernel.graphql_common import top_level_error
from snapshots.application.stock import StockForbidden, product_stock
from snapshots.infrastructure.stock import stock_of


class ProductStock(graphene.ObjectType):
    """A product's stock as the OMS sells it."""

    product_id = graphene.ID(required=True)
    sku = graphene.String(required=True)
    vendor_id = graphene.ID(required=True)
    available_quantity = graphene.Int(description="The inventory system's count; null: unlimited.")
    reserved_quantity = graphene.Int(
        required=True,
        description="Held by placed orders and not in the count yet (negative: released since the count).",
    )
    sellable_quantity = graphene.Int(description="What customers can still buy; null: unlimited.")
    as_of = graphene.DateTime(description="When the inventory system counted, if it said.")
    counted_until = graphene.DateTime(description="The count includes the reservations made up to this time.")


class SnapshotsQuery(graphene.ObjectType):
    product_stock = graphene.Field(
        ProductStock,
        product_id=graphene.ID(required=True),
        description="Staff: any product's stock; vendors: their own products'. "
        "Null if there is no such product you may see.",
    )

    def resolve_product_stock(root, info, product_id):
        try:
            return product_stock(info.context.principal, product_id, stock_of)
        except StockForbidden as error:
            raise top_level_error(error) from error
