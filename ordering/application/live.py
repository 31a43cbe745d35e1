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
send one update per change, at its first event, showing the order as it stands when the update is
sent; `orderEvents` sends every event. Changes that come faster than they are sent, or that a
reconnecting client missed, are sent once per order, as its latest state, at the position of the
event that made the update (`SentVersions`).

A position is opaque to clients: `<source letter><number>` (`o` the outbox position, `s` the
stream sequence). A client passes the last one it saw as `after`; what it missed is replayed in
order before live updates. A position the source no longer holds is `REPLAY_UNAVAILABLE`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from identity.domain.principal import Principal
from oms_project.kernel.errors import CodedError
from ordering.domain import access
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
    version: int = 0  # the order's version after the change that raised it (0: not known)

    def feed_keys(self) -> list[tuple[str, str]]:
        """The `Feed.key`s of the feeds that may follow it (a hub routes by them)."""
        keys = [("order", self.order_id), ("customer", self.customer_user_id), ("all", "")]
        keys.extend(("vendor", vendor_id) for vendor_id in self.vendor_ids)
        return keys


def routed_event(
    position: int,
    tenant_id: str,
    order_id: Any,
    type: str,
    sequence: int,
    occurred_at: datetime,
    customer_user_id: str | None,
    status: str | None,
    channel: str | None,
    version: int | None,
    vendor_ids: Any,
) -> LiveEvent:
    """An event from the fields the feeds route by (missing ones empty)."""
    return LiveEvent(
        position,
        tenant_id,
        str(order_id),
        type,
        sequence,
        occurred_at,
        customer_user_id or "",
        frozenset(vendor_id for vendor_id in vendor_ids or () if vendor_id),
        status or "",
        channel or "",
        version or 0,
    )


def event_of(
    position: int, tenant_id: str, order_id: str, type: str, sequence: int, occurred_at: datetime, data: Any
) -> LiveEvent:
    """An event as the feeds route it, from what the outbox row or the stream message says: who
    the order belongs to comes from the event's order document (docs/events/)."""
    order = (data or {}).get("order") or {}
    vendor_ids = [line.get("vendor_id") for line in order.get("lines") or ()]
    customer = (order.get("customer") or {}).get("user_id")
    return routed_event(
        position,
        tenant_id,
        order_id,
        type,
        sequence,
        occurred_at,
        customer,
        order.get("status"),
        order.get("channel"),
        order.get("version"),
        vendor_ids,
    )


class SentVersions:
    """One order feed's memory of what it sent: the version of each order's last update. A change
    (one new version) may raise several events (`order.placed` and `order.status_changed`), and an
    update shows the order as it stands when sent: an event whose order was already sent at its
    version or a later one makes no new update."""

    def __init__(self) -> None:
        self.versions: dict[str, int] = {}

    def wants(self, event: LiveEvent) -> bool:
        return not event.version or event.version > self.versions.get(event.order_id, 0)

    def sent(self, order_id: str, version: int) -> None:
        self.versions[order_id] = max(version, self.versions.get(order_id, 0))


def same_change_or_before(missed: list[LiveEvent], seen: LiveEvent) -> list[LiveEvent]:
    """A replay without the events of the order `seen` belongs to at `seen`'s version or before
    (a change raises its events together: the client that saw one saw the change)."""
    return [e for e in missed if not (e.order_id == seen.order_id and 0 < e.version <= seen.version)]


class LiveUnavailable(CodedError):
    """The event source cannot be read now (the stream is unreachable): subscribe again shortly."""

    code = "LIVE_UNAVAILABLE"


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
    key: tuple[str, str] = ("all", "")  # which events it may follow at all: see LiveEvent.feed_keys

    @property
    def tenant_id(self) -> str:
        return self.principal.tenant_id

    def follows(self, event: LiveEvent) -> bool:
        return event.tenant_id == self.principal.tenant_id and self.matches(event)


def order_feed(principal: Principal, order_id: str, reader: OrderReader) -> Feed:
    """`orderUpdated`: the order must be one the caller may read now (else NOT_FOUND, as `order(id)`)."""
    if get_order(principal, order_id, reader) is None:
        raise OrderNotFound()
    return Feed(principal, lambda event: event.order_id == order_id, ("order", order_id))


def customer_feed(principal: Principal) -> Feed:
    if not principal.is_customer:
        raise Forbidden("only customers follow their own orders")
    user_id = principal.user_id
    return Feed(principal, lambda event: event.customer_user_id == user_id, ("customer", user_id))


def vendor_feed(principal: Principal) -> Feed:
    if not principal.is_vendor:
        raise Forbidden("only vendors follow the orders they sell in")
    vendor_id = principal.vendor_id
    return Feed(
        principal,
        lambda event: event.status != "DRAFT" and vendor_id in event.vendor_ids,
        ("vendor", vendor_id or ""),
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

    return Feed(principal, matches)


def update_view(feed: Feed, order: Order | None) -> Order | None:
    """An order read once for every feed of the process, as this feed's principal may read it
    (None: it may not), by the same rules as `get_order`."""
    if order is None or not access.can_see(order, feed.principal):
        return None
    return access.view_of(order, feed.principal)
