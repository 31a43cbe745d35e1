"""The one template of a change to an existing order, which every lifecycle handler runs.

In one unit of work, in this order:

1. **load** the order with its row locked; a caller who may not see it gets NOT_FOUND (another
   tenant's or another customer's order does not exist for them);
2. **authorize**: the caller's roles and relation to this order must allow the action, else
   FORBIDDEN (a rule that needs no order, such as "staff only", is checked before the unit of
   work opens);
3. **check the version**: a stale `expectedVersion` is CONFLICT, and only after the caller was
   found allowed, so a version never tells anyone about an order they may not change;
4. **act**: one method of the aggregate, which checks its own transition rules;
5. **save** the order with the events it raised, and commit.

Any error rolls the whole unit back, so a refusal writes nothing. The handler returns the order as
the caller may see it (a vendor sees its share only).

A new lifecycle action is one domain method, one command, one handler calling `change_order`, and
one mutation class that names the command and the handler (docs/architecture.md shows one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from identity.domain.principal import Principal
from ordering.domain import access
from ordering.domain.order import Order

from .ports import UnitOfWork

Step = Callable[[Order], object]


class OrderCommand(Protocol):
    """A command that changes one existing order (every lifecycle command is one)."""

    @property
    def order_id(self) -> str: ...

    @property
    def expected_version(self) -> int | None: ...


def nobody_else(order: Order) -> None:
    """The authorization of an action whose rule needs no order (checked before the unit of work)."""


def load_for_change(uow: UnitOfWork, principal: Principal, order_id: str) -> Order:
    """The order, its row locked, or NOT_FOUND when the caller may not see it."""
    return access.require_visible(uow.orders.get(order_id, lock=True), principal)


def change_order(
    principal: Principal, command: OrderCommand, uow: UnitOfWork, act: Step, authorize: Step = nobody_else
) -> Order:
    """Load -> authorize -> check the version -> act -> save, in one unit of work (see above).
    `authorize` defaults to `nobody_else`: an action whose rule needs no order."""
    with uow:
        order = load_for_change(uow, principal, command.order_id)
        authorize(order)
        order.check_version(command.expected_version)
        act(order)
        uow.orders.save(order)
        uow.commit()
    return access.view_of(order, principal)
