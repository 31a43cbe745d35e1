"""The order lifecycle (product.md): which action moves which status where."""

from __future__ import annotations

from enum import Enum

from .errors import InvalidTransition


class OrderStatus(str, Enum):
    DRAFT = "DRAFT"
    PENDING = "PENDING"
    CONFIRMED = "CONFIRMED"
    PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"
    UNFULFILLABLE = "UNFULFILLABLE"  # confirmed, but it cannot be shipped as things stand


S = OrderStatus

# action -> (statuses it is allowed from, the status it leads to). Where shipping leads depends on
# the order's shipments: see Order._follow_shipments.
TRANSITIONS: dict[str, tuple[frozenset[OrderStatus], OrderStatus | None]] = {
    "place": (frozenset({S.DRAFT}), S.PENDING),
    "confirm": (frozenset({S.PENDING}), S.CONFIRMED),
    "ship": (frozenset({S.CONFIRMED, S.PARTIALLY_SHIPPED}), None),
    "deliver": (frozenset({S.SHIPPED}), S.DELIVERED),
    "complete": (frozenset({S.DELIVERED}), S.COMPLETED),
    "cancel": (frozenset({S.DRAFT, S.PENDING, S.CONFIRMED, S.UNFULFILLABLE}), S.CANCELLED),
    "mark_unfulfillable": (frozenset({S.CONFIRMED, S.PARTIALLY_SHIPPED}), S.UNFULFILLABLE),
    # Back to CONFIRMED, or PARTIALLY_SHIPPED when part of it shipped: see Order.resume.
    "resume": (frozenset({S.UNFULFILLABLE}), None),
}


# Actions that do not move the status themselves (issue 7), and the statuses they are allowed in.
# Shipments move it afterwards, from what they carry: see Order._follow_shipments.
ACTIONS: dict[str, frozenset[OrderStatus]] = {
    "add_shipment": frozenset({S.CONFIRMED, S.PARTIALLY_SHIPPED}),
    "hold": frozenset({S.PENDING, S.CONFIRMED, S.PARTIALLY_SHIPPED}),
    "review": frozenset({S.PENDING}),
    "amend": frozenset({S.PENDING, S.CONFIRMED}),
    "request_return": frozenset({S.DELIVERED, S.COMPLETED}),
}


def can(action: str, status: OrderStatus) -> bool:
    allowed = ACTIONS[action] if action in ACTIONS else TRANSITIONS[action][0]
    return status in allowed


def require(action: str, status: OrderStatus) -> None:
    if action not in TRANSITIONS and action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if not can(action, status):
        raise InvalidTransition(f"cannot {action.replace('_', ' ')} an order that is {status.value}")


def next_status(action: str, status: OrderStatus) -> OrderStatus:
    require(action, status)
    target = TRANSITIONS[action][1]
    if target is None:
        raise ValueError(f"where {action} leads is decided by the order's shipments")
    return target
