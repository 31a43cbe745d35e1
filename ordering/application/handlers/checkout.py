"""Checkout and the draft: a cart becomes a DRAFT order priced from today's snapshots, and the
customer changes it (items, destination, shipping options, coupons) until placing it. Also the
pricing steps the other handlers share (re-pricing a draft, loading the catalog an order needs).
The template of a change is `order_change.change_order`."""

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
)
from ordering.domain.order import ChosenPayment, Order
from ordering.domain.values import Address, CustomerInfo
from snapshots.domain.catalog import PaymentOption

from .. import commands as c
from ..order_change import OrderCommand, change_order, load_for_change
from ..ports import RetryUseCase, UnitOfWork

T = TypeVar("T")
MAX_KEY_LENGTH = 255


def chosen_payment(option: PaymentOption | None) -> ChosenPayment | None:
    return None if option is None else ChosenPayment(option.option_id, option.method)


def retrying(run: Callable[[], T], retry_on: type[Exception]) -> T:
    try:
        return run()
    except retry_on:
        return run()


def checked_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    text = key.strip() if isinstance(key, str) else ""
    if not text or len(text) > MAX_KEY_LENGTH:
        raise Invalid(f"must be 1 to {MAX_KEY_LENGTH} characters", field="idempotency_key")
    return text


def catalog_for(
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


def reprice(
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
    catalog = catalog_for(uow, items, coupon_codes, selections.values())
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
    key = checked_idempotency_key(command.idempotency_key)
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
                    return access.view_of(load_for_change(uow, principal, first), principal)
            customer = _customer_info(principal, command.customer, uow)
            catalog = catalog_for(uow, items, coupon_codes, selections.values(), payment_options=True)
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
                payment_option=chosen_payment(option),
            )
            uow.orders.add(order)
            if key is not None:
                uow.idempotency.settle(principal.user_id, "checkoutItems", key, order.order_id)
            uow.commit()
            return order

    return retrying(run, RetryUseCase)


def _draft_change(
    principal: Principal, command: OrderCommand, uow: UnitOfWork, change: Callable[[Order], None]
) -> Order:
    """A change to a DRAFT order, by the customer who checked it out."""

    def act(order: Order) -> None:
        order.require_draft()
        change(order)

    return change_order(
        principal, command, uow, act, authorize=lambda order: access.require_owner(order, principal, "change")
    )


def update_checkout_items(principal: Principal, command: c.UpdateCheckoutItems, uow: UnitOfWork) -> Order:
    items = check_items(list(command.items))
    return _draft_change(
        principal,
        command,
        uow,
        lambda order: reprice(uow, order, items=items, note="items updated", actor=principal.user_id),
    )


def select_shipping_option(principal: Principal, command: c.SelectShippingOption, uow: UnitOfWork) -> Order:
    def change(order: Order) -> None:
        catalog = uow.catalog.load(product_ids=[], coupon_codes=[], option_ids=[command.shipping_option_id])
        check_selection(
            order.vendor_ids, command.vendor_id, command.shipping_option_id, catalog, order.shipping_address.country
        )
        selections = {**order.selections, command.vendor_id: command.shipping_option_id}
        reprice(
            uow,
            order,
            selections=selections,
            actor=principal.user_id,
            note=f"shipping for {command.vendor_id}: {command.shipping_option_id}",
        )

    return _draft_change(principal, command, uow, change)


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
            reprice(
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

    return _draft_change(principal, command, uow, change)


def remove_coupon(principal: Principal, command: c.RemoveCoupon, uow: UnitOfWork) -> Order:
    code = _single_code(command.code)

    def change(order: Order) -> None:
        if code not in order.coupon_codes:
            raise NotFound(f"coupon {code} is not applied to this order", field="code")
        reprice(
            uow,
            order,
            coupon_codes=[c for c in order.coupon_codes if c != code],
            actor=principal.user_id,
            note=f"coupon {code} removed",
        )

    return _draft_change(principal, command, uow, change)
