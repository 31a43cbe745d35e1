"""Who may see an order and who may act on it (api.md, "Queries" and "Mutations").

- a customer sees and acts on its own orders;
- a vendor sees placed orders that contain its lines, and only its own lines of them; it ships
  its own lines, delivers when every line is its own, and cancels a CONFIRMED order only when
  every line is its own;
- staff see and act on every order of the tenant;
- a sales channel's integration sees its own channel's orders, whole, and cancels them until
  something ships (ordering/domain/intake.py).

A principal may hold several roles; what each role allows is added up. An order the caller may
not see is reported exactly like one that does not exist (`NOT_FOUND`), so ids are no oracle.
"""

from __future__ import annotations

from identity.domain.principal import Principal

from .errors import Forbidden, InvalidTransition, OrderNotFound
from .lifecycle import OrderStatus
from .order import Order

S = OrderStatus


def owns(order: Order, principal: Principal) -> bool:
    return principal.is_customer and order.customer.user_id == principal.user_id


def from_channel(order: Order, principal: Principal) -> bool:
    """The caller is the integration of the sales channel this order was imported from."""
    return principal.is_integration and bool(order.channel) and order.channel == principal.channel_id


def sells_in(order: Order, principal: Principal) -> bool:
    """The caller is a vendor with lines in this order, and the order is no longer a cart."""
    return (
        principal.is_vendor
        and order.status is not S.DRAFT
        and any(line.vendor_id == principal.vendor_id for line in order.lines)
    )


def sells_all_of(order: Order, principal: Principal) -> bool:
    return sells_in(order, principal) and all(line.vendor_id == principal.vendor_id for line in order.lines)


def can_see(order: Order, principal: Principal) -> bool:
    return order.tenant_id == principal.tenant_id and (
        principal.is_staff or owns(order, principal) or sells_in(order, principal) or from_channel(order, principal)
    )


def require_visible(order: Order | None, principal: Principal) -> Order:
    if order is None or not can_see(order, principal):
        raise OrderNotFound()
    return order


def view_of(order: Order, principal: Principal) -> Order:
    """The order as this caller may read it: whole for staff and its customer, else one vendor's share."""
    if principal.is_staff or owns(order, principal) or from_channel(order, principal):
        return order
    return order.restricted_to(principal.vendor_id or "")


def require_owner(order: Order, principal: Principal, action: str) -> None:
    if not owns(order, principal):
        raise Forbidden(f"only the customer who checked out this order can {action} it")


def require_staff(principal: Principal, action: str) -> None:
    if not principal.is_staff:
        raise Forbidden(f"only staff can {action} an order")


def shipping_scope(order: Order, principal: Principal) -> str | None:
    """The vendor whose lines the caller may ship, or None for staff (any line)."""
    if principal.is_staff:
        return None
    if sells_in(order, principal):
        return principal.vendor_id
    raise Forbidden("only the order's vendors and staff can ship it")


def require_can_deliver(order: Order, principal: Principal) -> None:
    if not (principal.is_staff or sells_all_of(order, principal)):
        raise Forbidden("only staff, or the vendor of every line, can mark this order delivered")


def require_can_mark_unfulfillable(order: Order, principal: Principal) -> None:
    """Marking an order UNFULFILLABLE, and resuming it: staff, or the vendor of every line."""
    if not (principal.is_staff or sells_all_of(order, principal)):
        raise Forbidden("only staff, or the vendor of every line, can mark this order unfulfillable or resume it")


# Cancellation: the statuses from which each kind of caller may cancel.
CANCEL_AS_OWNER = frozenset({S.DRAFT, S.PENDING})
CANCEL_AS_STAFF = frozenset({S.DRAFT, S.PENDING, S.CONFIRMED, S.UNFULFILLABLE})
CANCEL_AS_SOLE_VENDOR = frozenset({S.CONFIRMED, S.UNFULFILLABLE})
CANCEL_AS_CHANNEL = frozenset({S.PENDING, S.CONFIRMED, S.UNFULFILLABLE})


def require_can_cancel(order: Order, principal: Principal) -> None:
    allowed: set[OrderStatus] = set()
    if principal.is_staff:
        allowed |= CANCEL_AS_STAFF
    if owns(order, principal):
        allowed |= CANCEL_AS_OWNER
    if sells_all_of(order, principal):
        allowed |= CANCEL_AS_SOLE_VENDOR
    if from_channel(order, principal):
        allowed |= CANCEL_AS_CHANNEL
    if not allowed:
        raise Forbidden("a vendor can cancel only an order whose every line is its own")
    if order.status not in allowed:
        statuses = ", ".join(sorted(status.value for status in allowed))
        raise InvalidTransition(f"you can cancel an order only while it is {statuses}; it is {order.status.value}")
