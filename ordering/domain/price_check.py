"""A draft's frozen prices against today's (placement; api.md `PRICE_CHANGED`).

Checkout freezes what the customer was shown: each line's unit price, offer discount and tax,
each vendor's shipping cost, each coupon's discount. Placement prices the draft again from
today's snapshots; every amount that differs, up or down, is one change, and the draft is not
placed until the customer has seen the new total (`updateCheckoutItems` re-prices it).
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import OrderingError
from .order import Order
from .pricing import PricedOrder
from .values import Money


@dataclass(frozen=True)
class PriceChange:
    field: str  # the draft's part that changed, e.g. "lines[0].unit_price"
    was: Money
    now: Money
    what: str  # in words, e.g. "the unit price of ACME-MUG"

    @property
    def message(self) -> str:
        return f"{self.what} is now {self.now} (it was {self.was}); re-price the draft (updateCheckoutItems) first"


class PriceChanged(OrderingError):
    """One or more frozen amounts are not today's; nothing was written."""

    code = "PRICE_CHANGED"

    def __init__(self, changes: list[PriceChange]) -> None:
        super().__init__("; ".join(change.message for change in changes), field=changes[0].field)
        self.changes = changes

    def parts(self) -> list[OrderingError]:
        return [PriceChanged([change]) for change in self.changes]


def price_changes(order: Order, today: PricedOrder) -> list[PriceChange]:
    """Every frozen amount of the draft that today's pricing does not repeat."""
    changes: list[PriceChange] = []
    priced = {line.product.product_id: line for line in today.lines}
    for index, line in enumerate(order.lines):
        now = priced.get(line.product_id)
        if now is None:
            continue  # pricing refused the product already (not sellable any more)
        where = f"lines[{index}]"
        if now.product.price != line.unit_price:
            changes.append(
                PriceChange(f"{where}.unit_price", line.unit_price, now.product.price, f"the unit price of {line.sku}")
            )
        if now.discount != line.discount:
            changes.append(
                PriceChange(f"{where}.discount", line.discount, now.discount, f"the offer discount on {line.sku}")
            )
        if now.tax != line.tax or now.tax_inclusive != line.tax_inclusive:
            changes.append(PriceChange(f"{where}.tax", line.tax, now.tax, f"the tax on {line.sku}"))
    costs = {shipping.vendor_id: shipping.cost for shipping in today.shipping}
    for shipping in order.shipping:
        now_cost = costs.get(shipping.vendor_id)
        if now_cost is not None and now_cost != shipping.cost:
            changes.append(
                PriceChange(
                    f"shipping_options[{shipping.vendor_id}]",
                    shipping.cost,
                    now_cost,
                    f"shipping from vendor {shipping.vendor_id}",
                )
            )
    for index, coupon in enumerate(order.coupons):
        now_discount = today.coupon_discounts.get(coupon.code)
        if now_discount is not None and now_discount != coupon.discount:
            changes.append(
                PriceChange(
                    f"coupon_codes[{index}]", coupon.discount, now_discount, f"the discount of coupon {coupon.code}"
                )
            )
    return changes
