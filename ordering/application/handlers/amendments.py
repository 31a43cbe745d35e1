"""Amendments of a placed order: a new destination in the same country, a line's quantity, lines
removed, re-priced from the prices frozen at checkout (docs/after-sale.md)."""

from __future__ import annotations

from collections.abc import Callable

from identity.domain.principal import Principal
from ordering.domain import access
from ordering.domain.errors import (
    Forbidden,
    OutOfStock,
    ProductUnavailable,
)
from ordering.domain.lifecycle import OrderStatus
from ordering.domain.order import Order
from ordering.domain.values import Address

from .. import commands as c
from ..order_change import change_order
from ..ports import UnitOfWork
from .checkout import reprice

# -- amendments -------------------------------------------------------------------------------


def _amender(principal: Principal) -> Callable[[Order], None]:
    def check(order: Order) -> None:
        if not (principal.is_staff or access.owns(order, principal)):
            raise Forbidden("only the customer who placed this order, or staff, can amend it")

    return check


def change_destination_or_amend(principal: Principal, command: c.ChangeDestination, uow: UnitOfWork) -> Order:
    """`changeDestination`: a DRAFT is re-priced for the new address (owner only); a placed order
    is amended within the same country (owner or staff)."""
    address = Address.create(command.shipping_address or {})

    def allowed(order: Order) -> None:
        if order.status is OrderStatus.DRAFT:
            access.require_owner(order, principal, "change")
        else:
            _amender(principal)(order)

    def change(order: Order) -> None:
        if order.status is OrderStatus.DRAFT:
            reprice(
                uow, order, address=address, note=f"destination changed to {address.country}", actor=principal.user_id
            )
        else:
            order.amend_destination(address, actor=principal.user_id, now=uow.now())

    return change_order(principal, command, uow, change, authorize=allowed)


def change_order_quantity(principal: Principal, command: c.ChangeOrderQuantity, uow: UnitOfWork) -> Order:
    """Lower or raise a placed line's quantity. A raise needs the product on sale still (its
    per-order limit applies) and enough left to sell: the difference is reserved when the order
    is saved, else OUT_OF_STOCK on `quantity`."""

    def change(order: Order) -> None:
        line = next((line for line in order.lines if line.line_id == command.line_id), None)
        limit = None
        if line is not None and isinstance(command.quantity, int) and command.quantity > line.quantity:
            product = uow.catalog.load(product_ids=[line.product_id], coupon_codes=[], option_ids=[]).products.get(
                line.product_id
            )
            if product is None or not product.active:
                raise ProductUnavailable(
                    f"{line.sku} is not on sale any more; its quantity can only go down", field="quantity"
                )
            limit = product.max_quantity
        order.change_quantity(command.line_id, command.quantity, actor=principal.user_id, now=uow.now(), limit=limit)

    try:
        return change_order(principal, command, uow, change, authorize=_amender(principal))
    except OutOfStock as error:  # the one line this changes: named by the mutation's own argument
        raise OutOfStock(error.message, field="quantity") from error


def remove_line_items(principal: Principal, command: c.RemoveLineItems, uow: UnitOfWork) -> Order:
    return change_order(
        principal,
        command,
        uow,
        lambda order: order.remove_lines(list(command.line_ids), actor=principal.user_id, now=uow.now()),
        authorize=_amender(principal),
    )
