"""Returns and refunds: a customer requests a return, staff approve or reject it and receive the
goods, and refunds are recorded against what was paid (docs/after-sale.md)."""

from __future__ import annotations

from collections.abc import Callable

from identity.domain.principal import Principal
from ordering.domain import access
from ordering.domain.errors import (
    Forbidden,
)
from ordering.domain.order import Order
from ordering.domain.values import parse_amount

from .. import commands as c
from ..order_change import change_order
from ..ports import UnitOfWork

# -- returns and refunds ----------------------------------------------------------------------


def request_return(principal: Principal, command: c.RequestReturn, uow: UnitOfWork) -> Order:
    if not principal.is_customer:
        raise Forbidden("only the customer who placed the order can ask to return it")
    window = uow.workflow.get().return_window_days
    return change_order(
        principal,
        command,
        uow,
        lambda order: order.request_return(
            lines=list(command.lines), reason=command.reason, window_days=window, actor=principal.user_id, now=uow.now()
        ),
        authorize=lambda order: access.require_owner(order, principal, "return"),
    )


def _return_handler(principal: Principal, return_id: str) -> Callable[[Order], None]:
    def check(order: Order) -> None:
        if principal.is_staff:
            return
        request = order.find_return(return_id)
        if not (access.sells_in(order, principal) and principal.vendor_id == request.vendor_id):
            raise Forbidden("only staff, or the vendor whose lines are returned, can handle this return")

    return check


def decide_return(principal: Principal, command: c.DecideReturn, uow: UnitOfWork) -> Order:
    if not (principal.is_staff or principal.is_vendor):
        raise Forbidden("only staff, or the vendor whose lines are returned, can handle a return")
    return change_order(
        principal,
        command,
        uow,
        lambda order: order.decide_return(
            command.return_id, approve=command.approve, note=command.note, actor=principal.user_id, now=uow.now()
        ),
        authorize=_return_handler(principal, command.return_id),
    )


def receive_return(principal: Principal, command: c.ReceiveReturn, uow: UnitOfWork) -> Order:
    if not (principal.is_staff or principal.is_vendor):
        raise Forbidden("only staff, or the vendor whose lines are returned, can handle a return")
    return change_order(
        principal,
        command,
        uow,
        lambda order: order.receive_return(command.return_id, actor=principal.user_id, now=uow.now()),
        authorize=_return_handler(principal, command.return_id),
    )


def process_refund(principal: Principal, command: c.ProcessRefund, uow: UnitOfWork) -> Order:
    access.require_staff(principal, "refund")

    def refund(order: Order) -> None:
        amount = parse_amount(command.amount, order.currency, field="amount")
        order.refund(
            amount=amount, reason=command.reason, return_id=command.return_id, actor=principal.user_id, now=uow.now()
        )

    return change_order(principal, command, uow, refund)
