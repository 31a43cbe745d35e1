"""Amendments of a placed order (docs/after-sale.md): a new destination in the same country, a
line's quantity lowered or raised, lines removed; re-priced from the prices frozen at checkout,
while nothing is in a shipment."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from . import events as ev
from . import lifecycle
from .checkout import MAX_QUANTITY
from .errors import Invalid, InvalidTransition, QuantityLimit
from .fulfilment import ShipmentStatus
from .order_lines import OrderLine
from .order_rules import money_data, positive_quantity
from .order_state import OrderState
from .values import Address, Money


class OrderAmendments(OrderState):
    """Methods of `Order` (ordering/domain/order.py), kept here by subject."""

    def _require_amendable(self) -> None:
        lifecycle.require("amend", self.status)
        if any(s.status is not ShipmentStatus.CANCELLED for s in self.shipments):
            raise InvalidTransition("part of this order is in a shipment; it can no longer be amended")

    def amend_destination(self, address: Address, *, actor: str, now: datetime) -> None:
        """A placed order's new address, within the country it was priced for (shipping and tax
        stay as placed)."""
        self._require_amendable()
        if address.country != self.shipping_address.country:
            raise Invalid(
                f"a placed order can only move within {self.shipping_address.country}; cancel it and "
                "order again to ship to another country",
                field="shipping_address.country",
            )
        if address == self.shipping_address:
            raise Invalid("this is the order's address already", field="shipping_address")
        self.shipping_address = address
        self._amended(["shipping_address"], self.priced_total, actor, now, f"destination changed ({address.city})")

    def change_quantity(
        self, line_id: str, quantity: Any, *, actor: str, now: datetime, limit: int | None = None
    ) -> None:
        """Lower or raise a line's quantity at the prices frozen at checkout. A raise stays within
        `limit` (the product's most per order, if any) and MAX_QUANTITY; saving the order then
        reserves the difference (a lowered quantity releases it)."""
        self._require_amendable()
        line = self._line(line_id, "line_id")
        quantity = positive_quantity(quantity, "quantity")
        if quantity == line.quantity:
            raise Invalid(f"the line's quantity is {quantity} already", field="quantity")
        most = MAX_QUANTITY if limit is None else min(limit, MAX_QUANTITY)
        if quantity > line.quantity and quantity > most:
            raise QuantityLimit(f"at most {most} of {line.sku} per order", field="quantity")
        previous = self.priced_total
        self._reprice_frozen({line.line_id: quantity})
        self._amended(["lines"], previous, actor, now, f"{line.sku}: {line.quantity} -> {quantity}")

    def remove_lines(self, line_ids: list[str], *, actor: str, now: datetime) -> None:
        self._require_amendable()
        if not line_ids:
            raise Invalid("name at least one line", field="line_ids")
        if len(set(line_ids)) != len(line_ids):
            raise Invalid("each line appears once", field="line_ids")
        lines = [self._line(line_id, f"line_ids[{index}]") for index, line_id in enumerate(line_ids)]
        if len(lines) == len(self.lines):
            raise Invalid("an order keeps at least one line; cancel it instead", field="line_ids")
        previous = self.priced_total
        self._reprice_frozen({line.line_id: 0 for line in lines})
        self._amended(["lines"], previous, actor, now, "removed " + ", ".join(line.sku for line in lines))

    def _reprice_frozen(self, quantities: dict[str, int]) -> None:
        """New quantities (0 removes a line) at the frozen unit prices. Offer discounts and coupons
        are pro-rated on what they applied to; a vendor left with no line loses its shipping charge
        and coupons; other shipping charges stay as placed."""
        zero = Money.zero(self.currency)

        def goods(lines: Iterable[OrderLine], vendor: str | None = None) -> Money:
            return sum((line.total for line in lines if vendor in (None, line.vendor_id)), zero)

        before = list(self.lines)
        kept: list[OrderLine] = []
        for line in self.lines:
            quantity = quantities.get(line.line_id, line.quantity)
            if quantity == 0:
                continue
            if quantity != line.quantity:
                discount = Money(line.discount.amount * quantity / line.quantity, self.currency).rounded()
                fixed_tax = (
                    None
                    if line.fixed_tax is None
                    else Money(line.fixed_tax.amount * quantity / line.quantity, self.currency).rounded()
                )
                line = dataclasses.replace(
                    line,
                    quantity=quantity,
                    subtotal=line.unit_price.times(quantity).rounded(),
                    discount=discount,
                    fixed_tax=fixed_tax,
                )
            kept.append(line)
        vendors = {line.vendor_id for line in kept}
        coupons = []
        for coupon in self.coupons:
            if coupon.vendor_id and coupon.vendor_id not in vendors:
                continue
            scope = coupon.vendor_id or None
            old, new = goods(before, scope), goods(kept, scope)
            # Pro-rated down with what it applied to; a raise keeps it (a fixed coupon stays fixed).
            discount = (
                coupon.discount
                if old.amount == 0 or new.amount >= old.amount
                else Money(coupon.discount.amount * new.amount / old.amount, self.currency).rounded()
            )
            coupons.append(dataclasses.replace(coupon, discount=discount.min(new)))
        self.lines = kept
        self.coupons = coupons
        self.shipping = [s for s in self.shipping if s.vendor_id in vendors]
        self.subtotal = sum((line.subtotal for line in kept), zero)
        self.discount_total = sum((line.discount for line in kept), zero) + sum((c.discount for c in coupons), zero)
        self.shipping_total = sum((s.cost for s in self.shipping), zero)
        self.tax_total = sum((line.tax for line in kept), zero)
        self.total = (
            self.subtotal - self.discount_total + self.shipping_total + sum((line.added_tax for line in kept), zero)
        )

    def _amended(self, changed: list[str], previous_total: Money, actor: str, now: datetime, note: str) -> None:
        self.revision += 1
        difference = self.priced_total - previous_total
        if self.payment is not None and difference.amount != 0:
            self.payment_adjustment = (self.payment_adjustment or Money.zero(self.currency)) + difference
        self._change(
            ev.ORDER_AMENDED,
            actor,
            now,
            f"amendment {self.revision}: {note}",
            {
                "revision": self.revision,
                "changed_fields": changed,
                "previous_total": money_data(previous_total),
                "new_total": money_data(self.total),
                "payment_adjustment": money_data(self.payment_adjustment),
            },
        )
