"""Orders from sales channels: taken in, then cancelled or moved by their channel (the rules are
in ordering/domain/intake.py; docs/integrations.md). Both doors, GraphQL `importOrder` for an
integration token and the channel's signed webhook, call these with a principal that names the
channel (`Principal.channel_id`)."""

from __future__ import annotations

from identity.domain.principal import Principal, Role
from ordering.domain import access
from ordering.domain.errors import Forbidden, IdempotencyKeyReused, OrderNotFound
from ordering.domain.intake import ChannelOrder, SalesChannel, check_channel_order, check_vendors, take_in
from ordering.domain.order import Order
from ordering.domain.values import Address

from .. import commands as c
from ..ports import RetryUseCase, UnitOfWork
from .checkout import retrying

OPERATION = "importOrder"


def channel_principal(tenant_id: str, channel_id: str) -> Principal:
    """Who a channel's signed webhook acts as: an integration of that channel."""
    return Principal(
        user_id=f"channel:{channel_id}", tenant_id=tenant_id, roles=frozenset({Role.INTEGRATION}), channel_id=channel_id
    )


def _active_channel(principal: Principal, uow: UnitOfWork) -> SalesChannel:
    if not principal.is_integration:
        raise Forbidden("only a sales channel's integration token takes orders in")
    channel = uow.channels.channel(principal.channel_id or "")  # an integration token always names one
    if channel is None or not channel.active:
        raise Forbidden(f"this tenant has no active sales channel {principal.channel_id!r}")
    return channel


def _checked(principal: Principal, command: c.ImportOrder) -> ChannelOrder:
    return check_channel_order(
        channel=principal.channel_id or "",
        external_reference=command.external_reference,
        currency=command.currency,
        customer=command.customer,
        shipping_address=command.shipping_address,
        lines=command.lines,
        shipping=command.shipping,
        total=command.total,
        paid_amount=command.paid_amount,
        payment_reference=command.payment_reference,
    )


def import_order(principal: Principal, command: c.ImportOrder, uow: UnitOfWork) -> Order:
    """Take a channel's order in at the channel's prices. The same external reference again
    returns the order it made; with a different order it is IDEMPOTENCY_KEY_REUSED."""
    if not principal.is_integration:
        raise Forbidden("only a sales channel's integration token takes orders in")
    checked = _checked(principal, command)
    request = c.fingerprint(checked)
    scope = f"channel:{checked.channel}"

    def run() -> Order:
        with uow:
            channel = _active_channel(principal, uow)
            try:
                first = uow.idempotency.claim(scope, OPERATION, checked.external_reference, request)
            except IdempotencyKeyReused:
                raise IdempotencyKeyReused(
                    "this external reference was taken in with a different order", field="external_reference"
                ) from None
            if first is not None:
                taken = uow.orders.get(first, lock=False)
                assert taken is not None, "a settled key names an order written in its transaction"
                return taken
            check_vendors(checked, uow.channels.known_vendors(checked.vendor_ids), accept_any=channel.accept_any_vendor)
            products = uow.channels.products({(line.vendor_id, line.sku) for line in checked.lines})
            order = take_in(
                checked,
                tenant_id=principal.tenant_id,
                number=uow.numbers.next_number(),
                products=products,
                actor=principal.user_id,
                now=uow.now(),
            )
            uow.orders.add(order)
            uow.idempotency.settle(scope, OPERATION, checked.external_reference, order.order_id)
            uow.commit()
            return order

    return retrying(run, RetryUseCase)


def _channel_order(principal: Principal, external_reference: str, uow: UnitOfWork) -> Order:
    _active_channel(principal, uow)
    order_id = uow.channels.order_of(principal.channel_id or "", (external_reference or "").strip())
    order = uow.orders.get(order_id, lock=True) if order_id else None
    if order is None or not access.from_channel(order, principal):
        raise OrderNotFound(f"this channel has no order {external_reference!r}", field="external_reference")
    return order


def cancel_imported_order(principal: Principal, command: c.CancelImportedOrder, uow: UnitOfWork) -> Order:
    """The channel cancelled its order: allowed until something ships (PENDING, CONFIRMED,
    UNFULFILLABLE); a paid order is then REFUND_PENDING, as any cancellation."""
    with uow:
        order = _channel_order(principal, command.external_reference, uow)
        access.require_can_cancel(order, principal)
        order.cancel(reason=command.reason, actor=principal.user_id, now=uow.now())
        uow.orders.save(order)
        uow.commit()
    return order


def change_imported_destination(principal: Principal, command: c.ChangeImportedDestination, uow: UnitOfWork) -> Order:
    """The channel's customer moved the order before anything shipped (the rules of changeDestination)."""
    address = Address.create(command.shipping_address if isinstance(command.shipping_address, dict) else {})
    with uow:
        order = _channel_order(principal, command.external_reference, uow)
        order.amend_destination(address, actor=principal.user_id, now=uow.now())
        uow.orders.save(order)
        uow.commit()
    return order
