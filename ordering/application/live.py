"""Live order status (api.md, "Subscriptions"): who may follow which orders, and what each
follower receives.

Every order change is an event in the outbox (and, with a stream configured, on the stream). A
feed is one subscription's rule over those events:
- `orderUpdated(orderId)`: whoever may read the order with `order(id)` now, its events only;
- `myOrderUpdates`: a customer, the events of their own orders;
- `vendorOrderUpdates`: a vendor, the events of placed orders that have a line of theirs;
- `orderEvents(filter)`: staff, every event of the tenant, or those of some types or one channel.

Nothing is sent that the follower could not read with a query: each update is the order as
`get_order` gives it to that principal when the update is sent (a vendor sees its lines only),
and an event whose order the principal can no longer see is skipped. One change (one new version of
the order) may raise several events (`order.placed` and `order.status_changed`): the order feeds
send one update per change, at its last event; `orderEvents` sends every event. An update carries
the order as it stands when it is sent, so two changes in quick succession may both show the
later state; each still has its own position.

A position is opaque to clients: `<source letter><number>` (`o` the outbox position, `s` the
stream sequence). A client passes the last one it saw as `after`; what it missed is replayed in
order before live updates. A position the source no longer holds is `REPLAY_UNAVAILABLE`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from identity.domain.principal import Principal
from oms_project.kernel.errors import CodedError
from ordering.domain import events as ev
from ordering.domain.errors import Forbidden, Invalid, OrderNotFound
from ordering.domain.order import Order

from .ports import OrderReader
from .queries import get_order


class ReplayUnavailable(CodedError):
    code = "REPLAY_UNAVAILABLE"


@dataclass(frozen=True)
class LiveEvent:
    """One order event as the live feeds route it (what the outbox row and the stream message say)."""

    position: int
    tenant_id: str
    order_id: str
    type: str
    sequence: int
    occurred_at: datetime
    customer_user_id: str
    vendor_ids: frozenset[str]
    status: str
    channel: str
    version: int = 0  # the order's version after the change that raised it
    ends_change: bool = True  # the last event of its change (one change may raise several)


def mark_change_ends(events: list[LiveEvent]) -> list[LiveEvent]:
    """Events in position order, each marked whether it is the last its change raised: a change
    (one transaction, one new version) raises its events together, and an update is sent once per
    change, at its last event."""
    seen: set[tuple[str, str, int]] = set()
    marked = []
    for event in reversed(events):
        key = (event.tenant_id, event.order_id, event.version)
        marked.append(event if key not in seen else replace(event, ends_change=False))
        seen.add(key)
    return marked[::-1]


SOURCES = ("o", "s")  # the outbox's positions, the stream's sequences


def parse_position(text: str | None, source: str) -> int | None:
    """The number of a client's `after`, which must come from this deployment's source."""
    if text is None:
        return None
    if (
        not isinstance(text, str)
        or not 2 <= len(text) <= 24
        or text[0] not in SOURCES
        or not text[1:].isdigit()
        or not text[1:].isascii()
    ):
        raise Invalid("after is not a position this API gave", field="after")
    if text[0] != source:
        raise ReplayUnavailable("the position is from another event source: reload and subscribe without after")
    return int(text[1:])


@dataclass(frozen=True)
class Feed:
    """One subscription's rule: the tenant it reads and which of its events it follows."""

    principal: Principal
    matches: Callable[[LiveEvent], bool]
    name: str

    @property
    def tenant_id(self) -> str:
        return self.principal.tenant_id

    def follows(self, event: LiveEvent) -> bool:
        return event.tenant_id == self.principal.tenant_id and self.matches(event)


def order_feed(principal: Principal, order_id: str, reader: OrderReader) -> Feed:
    """`orderUpdated`: the order must be one the caller may read now (else NOT_FOUND, as `order(id)`)."""
    if get_order(principal, order_id, reader) is None:
        raise OrderNotFound()
    return Feed(principal, lambda event: event.order_id == order_id, "orderUpdated")


def customer_feed(principal: Principal) -> Feed:
    if not principal.is_customer:
        raise Forbidden("only customers follow their own orders")
    user_id = principal.user_id
    return Feed(principal, lambda event: event.customer_user_id == user_id, "myOrderUpdates")


def vendor_feed(principal: Principal) -> Feed:
    if not principal.is_vendor:
        raise Forbidden("only vendors follow the orders they sell in")
    vendor_id = principal.vendor_id
    return Feed(
        principal, lambda event: event.status != "DRAFT" and vendor_id in event.vendor_ids, "vendorOrderUpdates"
    )


def staff_feed(principal: Principal, types: tuple[str, ...] = (), channel: str | None = None) -> Feed:
    if not principal.is_staff:
        raise Forbidden("only staff follow every event of the tenant")
    unknown = sorted(set(types) - set(ev.EVENT_TYPES))
    if unknown:
        raise Invalid(f"unknown event type {unknown[0]!r}", field="filter.types")
    wanted = frozenset(types)

    def matches(event: LiveEvent) -> bool:
        return (not wanted or event.type in wanted) and (channel is None or event.channel == channel)

    return Feed(principal, matches, "orderEvents")


def order_update(feed: Feed, event: LiveEvent, reader: OrderReader) -> Order | None:
    """The order as the feed's principal may read it now, or None when it may not (skip). Only
    the last event of a change makes an update."""
    if not event.ends_change or not feed.follows(event):
        return None
    return get_order(feed.principal, event.order_id, reader)
