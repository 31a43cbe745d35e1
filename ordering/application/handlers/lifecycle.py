"""The lifecycle: placing, confirming (the payment), shipping, delivering, completing, marking
unfulfillable and resuming, cancelling. Each change runs `order_change.change_order`."""

from __future__ import annotations

from collections.abc import Callable

from identity.domain.principal import Principal
from ordering.domain import access
from ordering.domain.checkout import (
    check_payment_option,
    price_cart,
)
from ordering.domain.errors import (
    Forbidden,
)
from ordering.domain.lifecycle import require
from ordering.domain.order import Order
from ordering.domain.price_check import PriceChanged, price_changes
from ordering.domain.values import parse_amount

from .. import commands as c
from ..order_change import OrderCommand, change_order, load_for_change
from ..ports import RetryUseCase, UnitOfWork
from .checkout import catalog_for, checked_idempotency_key, chosen_payment, retrying

# -- the lifecycle ----------------------------------------------------------------------------


def place_order(principal: Principal, command: c.PlaceOrder, uow: UnitOfWork) -> Order:
    """DRAFT -> PENDING, after re-checking the draft against today's snapshots (a frozen amount
    that is not today's refuses it with PRICE_CHANGED: the customer sees the new total first);
    counts coupon uses against their limits, gives the order its number and reserves its lines
    (saving a placed order does: OUT_OF_STOCK per short line), all in one transaction."""
    key = checked_idempotency_key(command.idempotency_key)
    request = c.fingerprint(command)

    def run() -> Order:
        with uow:
            if key is not None:
                first = uow.idempotency.claim(principal.user_id, "placeOrder", key, request)
                if first is not None:
                    return access.view_of(load_for_change(uow, principal, first), principal)
            order = load_for_change(uow, principal, command.order_id)
            access.require_owner(order, principal, "place")
            order.check_version(command.expected_version)
            require("place", order.status)
            catalog = catalog_for(uow, order.items, order.coupon_codes, order.selections.values(), payment_options=True)
            today = price_cart(
                order.items,
                catalog,
                coupon_codes=order.coupon_codes,
                selections=order.selections,
                destination_country=order.shipping_address.country,
                now=uow.now(),
                check_stock=False,
            )  # the reservation decides, when the order is saved
            changes = price_changes(order, today)
            if changes:
                raise PriceChanged(changes)
            chosen = command.payment_option_id or (order.payment_option.option_id if order.payment_option else None)
            payment_option = chosen_payment(check_payment_option(chosen, order.vendor_ids, catalog))
            for index, code in enumerate(order.coupon_codes):
                uow.coupons.redeem(code, catalog.coupons[code].usage_limit, field=f"coupon_codes[{index}]")
            review = uow.workflow.get().reviews(order.priced_total.amount)
            order.place(
                number=uow.numbers.next_number(),
                actor=principal.user_id,
                now=uow.now(),
                review=review,
                payment_option=payment_option,
            )
            uow.orders.save(order)
            if key is not None:
                uow.idempotency.settle(principal.user_id, "placeOrder", key, order.order_id)
            uow.commit()
            return order

    return retrying(run, RetryUseCase)


def confirm_order(principal: Principal, command: c.ConfirmOrder, uow: UnitOfWork) -> Order:
    access.require_staff(principal, "confirm")

    def act(order: Order) -> None:
        require("confirm", order.status)
        amount = parse_amount(command.amount, order.currency, field="payment.amount")
        order.confirm(
            method=command.method, reference=command.reference, amount=amount, actor=principal.user_id, now=uow.now()
        )

    return change_order(principal, command, uow, act)


def ship_order(principal: Principal, command: c.ShipOrder, uow: UnitOfWork) -> Order:
    if not (principal.is_staff or principal.is_vendor):
        raise Forbidden("only the order's vendors and staff can ship it")
    return change_order(
        principal,
        command,
        uow,
        lambda order: order.ship(
            carrier=command.carrier,
            tracking_number=command.tracking_number,
            lines=None if command.lines is None else list(command.lines),
            vendor_scope=access.shipping_scope(order, principal),
            actor=principal.user_id,
            now=uow.now(),
        ),
        authorize=lambda order: access.shipping_scope(order, principal),
    )


def deliver_order(principal: Principal, command: c.DeliverOrder, uow: UnitOfWork) -> Order:
    if not (principal.is_staff or principal.is_vendor):
        raise Forbidden("only staff, or the vendor of every line, can mark an order delivered")
    return change_order(
        principal,
        command,
        uow,
        lambda order: order.deliver(actor=principal.user_id, now=uow.now()),
        authorize=lambda order: access.require_can_deliver(order, principal),
    )


def complete_order(principal: Principal, command: c.CompleteOrder, uow: UnitOfWork) -> Order:
    access.require_staff(principal, "complete")
    return change_order(
        principal,
        command,
        uow,
        lambda order: order.complete(actor=principal.user_id, now=uow.now()),
    )


def _as_staff_or_sole_vendor(
    principal: Principal, command: OrderCommand, uow: UnitOfWork, change: Callable[[Order], None]
) -> Order:
    """Marking an order UNFULFILLABLE and resuming it: staff, or the vendor of every line."""
    if not (principal.is_staff or principal.is_vendor):
        raise Forbidden("only staff, or the vendor of every line, can mark an order unfulfillable or resume it")
    return change_order(
        principal,
        command,
        uow,
        change,
        authorize=lambda order: access.require_can_mark_unfulfillable(order, principal),
    )


def mark_unfulfillable(principal: Principal, command: c.MarkUnfulfillable, uow: UnitOfWork) -> Order:
    """CONFIRMED or PARTIALLY_SHIPPED -> UNFULFILLABLE, with a reason. Its stock stays reserved
    until it is cancelled or resumed."""
    return _as_staff_or_sole_vendor(
        principal,
        command,
        uow,
        lambda order: order.mark_unfulfillable(reason=command.reason, actor=principal.user_id, now=uow.now()),
    )


def resume_order(principal: Principal, command: c.ResumeOrder, uow: UnitOfWork) -> Order:
    """UNFULFILLABLE -> CONFIRMED, or PARTIALLY_SHIPPED when part of it had shipped."""
    return _as_staff_or_sole_vendor(
        principal,
        command,
        uow,
        lambda order: order.resume(actor=principal.user_id, now=uow.now()),
    )


def cancel_order(principal: Principal, command: c.CancelOrder, uow: UnitOfWork) -> Order:
    return change_order(
        principal,
        command,
        uow,
        lambda order: order.cancel(reason=command.reason, actor=principal.user_id, now=uow.now()),
        authorize=lambda order: access.require_can_cancel(order, principal),
    )
