"""One handler per mutation of api.md.

Each runs in one unit of work: it loads the order with its row locked, checks in this order
that the caller may see it (else NOT_FOUND), that its roles allow the action (else FORBIDDEN),
that `expectedVersion` is current (else CONFLICT), then asks the aggregate to act and commits.
Any error leaves the transaction rolled back, so a refusal never writes anything. Handlers
return the order as the caller may see it (a vendor sees its share only).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from identity.domain.principal import Principal
from ordering.domain import access
from ordering.domain.checkout import (
    CartItem,
    Catalog,
    check_coupon,
    check_coupon_codes,
    check_items,
    check_payment_option,
    check_selection,
    price_cart,
    selections_shipping_to,
)
from ordering.domain.errors import (
    CouponExhausted,
    CouponInvalid,
    Forbidden,
    Invalid,
    NotFound,
    OrderingError,
)
from ordering.domain.lifecycle import require
from ordering.domain.order import ChosenPayment, Order
from ordering.domain.price_check import PriceChanged, price_changes
from ordering.domain.values import Address, CustomerInfo, parse_amount
from snapshots.domain.catalog import PaymentOption

from . import commands as c
from .ports import RetryUseCase, UnitOfWork

T = TypeVar("T")
MAX_KEY_LENGTH = 255


def _chosen(option: PaymentOption | None) -> ChosenPayment | None:
    return None if option is None else ChosenPayment(option.option_id, option.method)


def _retrying(run: Callable[[], T], retry_on: type[Exception]) -> T:
    try:
        return run()
    except retry_on:
        return run()


def _idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    text = key.strip() if isinstance(key, str) else ""
    if not text or len(text) > MAX_KEY_LENGTH:
        raise Invalid(f"must be 1 to {MAX_KEY_LENGTH} characters", field="idempotency_key")
    return text


def _load(uow: UnitOfWork, principal: Principal, order_id: str) -> Order:
    return access.require_visible(uow.orders.get(order_id, lock=True), principal)


def _catalog_for(
    uow: UnitOfWork,
    order_items: Iterable[CartItem],
    coupon_codes: Iterable[str],
    option_ids: Iterable[str],
    *,
    payment_options: bool = False,
) -> Catalog:
    return uow.catalog.load(
        product_ids=[i.product_id for i in order_items],
        coupon_codes=list(coupon_codes),
        payment_options=payment_options,
        option_ids=sorted(set(option_ids)),
    )


def _reprice(
    uow: UnitOfWork,
    order: Order,
    *,
    items: list[CartItem] | None = None,
    coupon_codes: list[str] | None = None,
    selections: dict[str, str] | None = None,
    address: Address | None = None,
    note: str,
    actor: str,
) -> None:
    items = order.items if items is None else items
    coupon_codes = order.coupon_codes if coupon_codes is None else coupon_codes
    selections = order.selections if selections is None else selections
    destination = address or order.shipping_address
    catalog = _catalog_for(uow, items, coupon_codes, selections.values())
    if address is not None:
        selections = selections_shipping_to(selections, catalog, destination.country)
    priced = price_cart(
        items,
        catalog,
        coupon_codes=coupon_codes,
        selections=selections,
        destination_country=destination.country,
        now=uow.now(),
    )
    order.revise_draft(priced, actor=actor, now=uow.now(), note=note, shipping_address=address)


# -- checkout and the draft -------------------------------------------------------------------


def _shipping_choices(choices: list[c.ShippingChoice]) -> dict[str, str]:
    selections: dict[str, str] = {}
    for index, choice in enumerate(choices):
        vendor = choice.vendor_id.strip() if isinstance(choice.vendor_id, str) else ""
        option = choice.shipping_option_id.strip() if isinstance(choice.shipping_option_id, str) else ""
        if not vendor:
            raise Invalid("is required", field=f"shipping_options[{index}].vendor_id")
        if not option:
            raise Invalid("is required", field=f"shipping_options[{index}].shipping_option_id")
        if vendor in selections:
            raise Invalid("one shipping option per vendor", field=f"shipping_options[{index}].vendor_id")
        selections[vendor] = option
    return selections


def _customer_info(principal: Principal, given: dict[str, Any] | None, uow: UnitOfWork) -> CustomerInfo:
    if given is not None:
        return CustomerInfo.create(principal.user_id, given)
    synced = uow.customers.customer(principal.tenant_id, principal.user_id)
    if synced is None:
        raise Invalid("send the customer's details, or sync them first with syncUser", field="customer")
    return CustomerInfo(synced.user_id, synced.email, synced.first_name, synced.last_name, synced.phone)


def checkout_items(principal: Principal, command: c.CheckoutItems, uow: UnitOfWork) -> Order:
    """A DRAFT order from a cart, priced from the tenant's snapshots now and frozen."""
    if not principal.is_customer:
        raise Forbidden("only customers check out")
    key = _idempotency_key(command.idempotency_key)
    items = check_items(list(command.items))
    coupon_codes = check_coupon_codes(list(command.coupon_codes))
    selections = _shipping_choices(list(command.shipping_options))
    address = Address.create(command.shipping_address or {})
    request = c.fingerprint(command)

    def run() -> Order:
        with uow:
            if key is not None:
                first = uow.idempotency.claim(principal.user_id, "checkoutItems", key, request)
                if first is not None:
                    return access.view_of(_load(uow, principal, first), principal)
            customer = _customer_info(principal, command.customer, uow)
            catalog = _catalog_for(uow, items, coupon_codes, selections.values(), payment_options=True)
            priced = price_cart(
                items,
                catalog,
                coupon_codes=coupon_codes,
                selections=selections,
                destination_country=address.country,
                now=uow.now(),
            )
            option = check_payment_option(
                command.payment_option_id, {line.product.vendor_id for line in priced.lines}, catalog
            )
            order = Order.checkout(
                tenant_id=principal.tenant_id,
                customer=customer,
                shipping_address=address,
                priced=priced,
                actor=principal.user_id,
                now=uow.now(),
                payment_option=_chosen(option),
            )
            uow.orders.add(order)
            if key is not None:
                uow.idempotency.settle(principal.user_id, "checkoutItems", key, order.order_id)
            uow.commit()
            return order

    return _retrying(run, RetryUseCase)


def _draft_change(
    principal: Principal, order_id: str, expected_version: int | None, uow: UnitOfWork, change: Callable[[Order], None]
) -> Order:
    with uow:
        order = _load(uow, principal, order_id)
        access.require_owner(order, principal, "change")
        order.check_version(expected_version)
        order.require_draft()
        change(order)
        uow.orders.save(order)
        uow.commit()
    return order


def update_checkout_items(principal: Principal, command: c.UpdateCheckoutItems, uow: UnitOfWork) -> Order:
    items = check_items(list(command.items))
    return _draft_change(
        principal,
        command.order_id,
        command.expected_version,
        uow,
        lambda order: _reprice(uow, order, items=items, note="items updated", actor=principal.user_id),
    )


def select_shipping_option(principal: Principal, command: c.SelectShippingOption, uow: UnitOfWork) -> Order:
    def change(order: Order) -> None:
        catalog = uow.catalog.load(product_ids=[], coupon_codes=[], option_ids=[command.shipping_option_id])
        check_selection(
            order.vendor_ids, command.vendor_id, command.shipping_option_id, catalog, order.shipping_address.country
        )
        selections = {**order.selections, command.vendor_id: command.shipping_option_id}
        _reprice(
            uow,
            order,
            selections=selections,
            actor=principal.user_id,
            note=f"shipping for {command.vendor_id}: {command.shipping_option_id}",
        )

    return _draft_change(principal, command.order_id, command.expected_version, uow, change)


def _single_code(code: str) -> str:
    text = code.strip() if isinstance(code, str) else ""
    if not text or len(text) > 64:
        raise Invalid("must be a coupon code", field="code")
    return text


def apply_coupon(principal: Principal, command: c.ApplyCoupon, uow: UnitOfWork) -> Order:
    code = _single_code(command.code)

    def change(order: Order) -> None:
        if code in order.coupon_codes:
            raise Invalid(f"coupon {code} is already applied", field="code")
        catalog = uow.catalog.load(product_ids=[], coupon_codes=[code], option_ids=[])
        check_coupon(code, catalog, field_name="code")
        try:
            _reprice(
                uow,
                order,
                coupon_codes=[*order.coupon_codes, code],
                actor=principal.user_id,
                note=f"coupon {code} applied",
            )
        except (CouponInvalid, CouponExhausted) as error:
            if error.field and error.field.startswith("coupon_codes"):
                error.field = "code"
            raise

    return _draft_change(principal, command.order_id, command.expected_version, uow, change)


def remove_coupon(principal: Principal, command: c.RemoveCoupon, uow: UnitOfWork) -> Order:
    code = _single_code(command.code)

    def change(order: Order) -> None:
        if code not in order.coupon_codes:
            raise NotFound(f"coupon {code} is not applied to this order", field="code")
        _reprice(
            uow,
            order,
            coupon_codes=[c for c in order.coupon_codes if c != code],
            actor=principal.user_id,
            note=f"coupon {code} removed",
        )

    return _draft_change(principal, command.order_id, command.expected_version, uow, change)


# -- the lifecycle ----------------------------------------------------------------------------


def place_order(principal: Principal, command: c.PlaceOrder, uow: UnitOfWork) -> Order:
    """DRAFT -> PENDING, after re-checking the draft against today's snapshots (a frozen amount
    that is not today's refuses it with PRICE_CHANGED: the customer sees the new total first);
    counts coupon uses against their limits, gives the order its number and reserves its lines
    (saving a placed order does: OUT_OF_STOCK per short line), all in one transaction."""
    key = _idempotency_key(command.idempotency_key)
    request = c.fingerprint(command)

    def run() -> Order:
        with uow:
            if key is not None:
                first = uow.idempotency.claim(principal.user_id, "placeOrder", key, request)
                if first is not None:
                    return access.view_of(_load(uow, principal, first), principal)
            order = _load(uow, principal, command.order_id)
            access.require_owner(order, principal, "place")
            order.check_version(command.expected_version)
            require("place", order.status)
            catalog = _catalog_for(
                uow, order.items, order.coupon_codes, order.selections.values(), payment_options=True
            )
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
            payment_option = _chosen(check_payment_option(chosen, order.vendor_ids, catalog))
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

    return _retrying(run, RetryUseCase)


def confirm_order(principal: Principal, command: c.ConfirmOrder, uow: UnitOfWork) -> Order:
    access.require_staff(principal, "confirm")
    with uow:
        order = _load(uow, principal, command.order_id)
        order.check_version(command.expected_version)
        require("confirm", order.status)
        amount = parse_amount(command.amount, order.currency, field="payment.amount")
        order.confirm(
            method=command.method, reference=command.reference, amount=amount, actor=principal.user_id, now=uow.now()
        )
        uow.orders.save(order)
        uow.commit()
    return order


def ship_order(principal: Principal, command: c.ShipOrder, uow: UnitOfWork) -> Order:
    if not (principal.is_staff or principal.is_vendor):
        raise Forbidden("only the order's vendors and staff can ship it")
    with uow:
        order = _load(uow, principal, command.order_id)
        scope = access.shipping_scope(order, principal)
        order.check_version(command.expected_version)
        order.ship(
            carrier=command.carrier,
            tracking_number=command.tracking_number,
            lines=None if command.lines is None else list(command.lines),
            vendor_scope=scope,
            actor=principal.user_id,
            now=uow.now(),
        )
        uow.orders.save(order)
        uow.commit()
    return access.view_of(order, principal)


def deliver_order(principal: Principal, command: c.DeliverOrder, uow: UnitOfWork) -> Order:
    if not (principal.is_staff or principal.is_vendor):
        raise Forbidden("only staff, or the vendor of every line, can mark an order delivered")
    with uow:
        order = _load(uow, principal, command.order_id)
        access.require_can_deliver(order, principal)
        order.check_version(command.expected_version)
        order.deliver(actor=principal.user_id, now=uow.now())
        uow.orders.save(order)
        uow.commit()
    return access.view_of(order, principal)


def complete_order(principal: Principal, command: c.CompleteOrder, uow: UnitOfWork) -> Order:
    access.require_staff(principal, "complete")
    with uow:
        order = _load(uow, principal, command.order_id)
        order.check_version(command.expected_version)
        order.complete(actor=principal.user_id, now=uow.now())
        uow.orders.save(order)
        uow.commit()
    return order


def _as_staff_or_sole_vendor(
    principal: Principal, order_id: str, expected_version: int | None, uow: UnitOfWork, change: Callable[[Order], None]
) -> Order:
    """Marking an order UNFULFILLABLE and resuming it: staff, or the vendor of every line."""
    if not (principal.is_staff or principal.is_vendor):
        raise Forbidden("only staff, or the vendor of every line, can mark an order unfulfillable or resume it")
    with uow:
        order = _load(uow, principal, order_id)
        access.require_can_mark_unfulfillable(order, principal)
        order.check_version(expected_version)
        change(order)
        uow.orders.save(order)
        uow.commit()
    return access.view_of(order, principal)


def mark_unfulfillable(principal: Principal, command: c.MarkUnfulfillable, uow: UnitOfWork) -> Order:
    """CONFIRMED or PARTIALLY_SHIPPED -> UNFULFILLABLE, with a reason. Its stock stays reserved
    until it is cancelled or resumed."""
    return _as_staff_or_sole_vendor(
        principal,
        command.order_id,
        command.expected_version,
        uow,
        lambda order: order.mark_unfulfillable(reason=command.reason, actor=principal.user_id, now=uow.now()),
    )


def resume_order(principal: Principal, command: c.ResumeOrder, uow: UnitOfWork) -> Order:
    """UNFULFILLABLE -> CONFIRMED, or PARTIALLY_SHIPPED when part of it had shipped."""
    return _as_staff_or_sole_vendor(
        principal,
        command.order_id,
        command.expected_version,
        uow,
        lambda order: order.resume(actor=principal.user_id, now=uow.now()),
    )


def cancel_order(principal: Principal, command: c.CancelOrder, uow: UnitOfWork) -> Order:
    with uow:
        order = _load(uow, principal, command.order_id)
        order.check_version(command.expected_version)
        access.require_can_cancel(order, principal)
        order.cancel(reason=command.reason, actor=principal.user_id, now=uow.now())
        uow.orders.save(order)
        uow.commit()
    return access.view_of(order, principal)


__all__ = [
    "OrderingError",
    "RetryUseCase",
    "apply_coupon",
    "cancel_order",
    "checkout_items",
    "complete_order",
    "confirm_order",
    "deliver_order",
    "mark_unfulfillable",
    "place_order",
    "remove_coupon",
    "resume_order",
    "select_shipping_option",
    "ship_order",
    "update_checkout_items",
]
