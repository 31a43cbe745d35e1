"""A customer's right to erasure (GDPR article 17) as far as orders go (docs/privacy.md).

- **What is personal** on an order: the customer's email, names and phone; the shipping address
  lines, city and state, and its postal code and country unless the tenant's retention rule keeps
  them for accounting (by default it keeps both); and the free text the customer wrote (a
  cancellation reason, return reasons, history notes of their own actions). Each is replaced by
  `ERASED`. Numbers, lines, amounts, taxes, statuses, shipments and the history of transitions stay.
- **Open orders block an erasure.** An order not yet delivered, completed or cancelled still has
  to be fulfilled to the person it names. Without `force` the erasure is refused
  (`CUSTOMER_HAS_OPEN_ORDERS`); with it, the orders that may still be cancelled (draft, pending,
  confirmed, unfulfillable) are cancelled first; an order with goods on their way (partially
  shipped, shipped) blocks even then: erase once it is delivered.
- **Copies of erased values** elsewhere (event documents, delivery records) are scrubbed with
  `scrubber`: a string that is one of them is replaced by `ERASED`, and an email address by it
  wherever it appears. What the customer wrote is erased whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from .errors import OrderingError
from .lifecycle import OrderStatus

ERASED = "[erased]"
ERASED_COUNTRY = "ZZ"  # a country erased (ISO 3166's code for an unknown country: the field holds two letters)
KEEPABLE = frozenset({"postal_code", "country"})  # what a retention rule may keep of an address
DEFAULT_KEEP = KEEPABLE
CLOSED = frozenset({OrderStatus.DELIVERED, OrderStatus.COMPLETED, OrderStatus.CANCELLED})
CANCELLABLE = frozenset({OrderStatus.DRAFT, OrderStatus.PENDING, OrderStatus.CONFIRMED, OrderStatus.UNFULFILLABLE})
MAX_REASON = 500
ERASURE_NOTE = "personal data erased"


class CustomerHasOpenOrders(OrderingError):
    """The customer has orders still to be fulfilled (`order_ids`); nothing was erased."""

    code = "CUSTOMER_HAS_OPEN_ORDERS"

    def __init__(self, order_ids: list[str], *, force: bool) -> None:
        listed = ", ".join(order_ids[:10]) + (" ..." if len(order_ids) > 10 else "")
        advice = (
            "they have goods on their way: erase once they are delivered"
            if force
            else "erase with force to cancel them first"
        )
        super().__init__(f"the customer has {len(order_ids)} open order(s) ({listed}); {advice}", "customerUserId")
        self.order_ids = order_ids


def keep_rule(fields: Iterable[str]) -> frozenset[str]:
    """A tenant's retention rule: the address fields kept for accounting (a subset of KEEPABLE)."""
    kept = frozenset(f.strip() for f in fields if f.strip())
    unknown = kept - KEEPABLE
    if unknown:
        raise ValueError(f"a retention rule keeps only {sorted(KEEPABLE)}, not {sorted(unknown)}")
    return kept


def blocking(statuses: dict[str, OrderStatus], *, force: bool) -> list[str]:
    """The orders (id -> status) that stop an erasure: every open one, or with `force` those
    that cannot be cancelled."""
    return sorted(
        order_id
        for order_id, status in statuses.items()
        if status not in CLOSED and (not force or status not in CANCELLABLE)
    )


def erasable(values: Iterable[str]) -> set[str]:
    """The values worth looking for: the non-empty ones, but the markers."""
    return {v for v in (value.strip() for value in values) if v and v not in (ERASED, ERASED_COUNTRY)}


def address_values(address: Any, keep: frozenset[str]) -> set[str]:
    """The personal values of an address (an order's or a customer snapshot's): its lines, city
    and state, and the fields the retention rule `keep` does not keep."""
    kept = [getattr(address, name) for name in sorted(KEEPABLE - keep)]
    return erasable([address.line1, address.line2, address.city, address.state, *kept])


def scrubber(erased: set[str]) -> Callable[[Any], Any]:
    """What replaces the erased values in a JSON document (made once, applied to many): a string
    equal to one (ignoring case and surrounding blanks) whole, and an email address wherever it
    appears in a longer text. Names and places are not looked for inside other words: "Kettle"
    the surname must not rename the kettle on the order's lines. Keys are kept."""
    whole = {v.lower() for v in erased}
    emails = sorted((v for v in erased if "@" in v), key=len, reverse=True)
    inside = re.compile("|".join(re.escape(v) for v in emails), re.IGNORECASE) if emails else None

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            if item.strip().lower() in whole:
                return ERASED_COUNTRY if len(item.strip()) == 2 and item.strip().isalpha() else ERASED
            return inside.sub(ERASED, item) if inside is not None else item
        if isinstance(item, list):
            return [walk(i) for i in item]
        if isinstance(item, dict):
            return {key: walk(i) for key, i in item.items()}
        return item

    return walk
