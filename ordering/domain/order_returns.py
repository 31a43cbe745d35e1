"""Returns and refunds of a delivered order (docs/after-sale.md): a return carries one vendor's
delivered lines within the tenant's return window; refunds never pass what was paid."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

from . import events as ev
from . import lifecycle
from .errors import Invalid, InvalidTransition, NotFound, RefundExceedsPaid, ReturnWindowClosed
from .fulfilment import Refund, ReturnRequest, ReturnStatus, ShipmentLine
from .order_lines import OrderLine
from .order_rules import (
    MAX_NOTE,
    MAX_REASON,
    PaymentStatus,
    money_data,
    new_id,
    optional_text,
    positive_quantity,
    refund_data,
    required_text,
    return_data,
)
from .order_state import OrderState
from .values import Money


class OrderReturns(OrderState):
    """Methods of `Order` (ordering/domain/order.py), kept here by subject."""

    def returnable(self, line: OrderLine) -> int:
        """What of a line was delivered and is in no return that is still open or accepted."""
        asked = sum(
            item.quantity
            for r in self.returns
            if r.status is not ReturnStatus.REJECTED
            for item in r.lines
            if item.line_id == line.line_id
        )
        return line.shipped_quantity - asked

    def request_return(
        self,
        *,
        lines: list[ShipmentLine],
        reason: str,
        window_days: int,
        actor: str,
        now: datetime,
        return_id: str | None = None,
    ) -> ReturnRequest:
        lifecycle.require("request_return", self.status)
        if self.delivered_at is None or now > self.delivered_at + timedelta(days=window_days):
            raise ReturnWindowClosed(f"returns are accepted for {window_days} days after delivery")
        reason = required_text(reason, "reason", MAX_REASON)
        if not lines:
            raise Invalid("name at least one line to return", field="lines")
        seen: set[str] = set()
        for index, item in enumerate(lines):
            line = self._line(item.line_id, f"lines[{index}].line_id")
            if item.line_id in seen:
                raise Invalid("each line appears once", field=f"lines[{index}].line_id")
            seen.add(item.line_id)
            positive_quantity(item.quantity, f"lines[{index}].quantity")
            if item.quantity > self.returnable(line):
                raise Invalid(
                    f"only {self.returnable(line)} of this line can be returned", field=f"lines[{index}].quantity"
                )
        vendors = {self._line(item.line_id, "lines").vendor_id for item in lines}
        if len(vendors) > 1:
            raise Invalid("a return carries one vendor's lines; request one return per vendor", field="lines")
        request = ReturnRequest(
            return_id or new_id(), vendors.pop(), tuple(lines), reason, ReturnStatus.REQUESTED, actor, now
        )
        self.returns.append(request)
        self._change(
            ev.ORDER_RETURN_REQUESTED,
            actor,
            now,
            f"return {request.return_id} requested: {reason}",
            {"return": return_data(request)},
        )
        return request

    def find_return(self, return_id: str) -> ReturnRequest:
        for request in self.returns:
            if request.return_id == return_id:
                return request
        raise NotFound("no such return on this order", field="return_id")

    def _replace_return(self, request: ReturnRequest, **changes: Any) -> ReturnRequest:
        updated = dataclasses.replace(request, **changes)
        self.returns = [updated if r.return_id == request.return_id else r for r in self.returns]
        return updated

    def decide_return(
        self, return_id: str, *, approve: bool, note: str | None, actor: str, now: datetime
    ) -> ReturnRequest:
        request = self.find_return(return_id)
        if request.status is not ReturnStatus.REQUESTED:
            raise InvalidTransition(f"this return is {request.status.value}; only a REQUESTED one can be decided")
        note = optional_text(note, "reason" if not approve else "note", MAX_NOTE)
        if not approve and not note:
            raise Invalid("say why the return is rejected", field="reason")
        status = ReturnStatus.APPROVED if approve else ReturnStatus.REJECTED
        decided = self._replace_return(request, status=status, decided_by=actor, decided_at=now, note=note)
        event = ev.ORDER_RETURN_APPROVED if approve else ev.ORDER_RETURN_REJECTED
        self._change(
            event,
            actor,
            now,
            f"return {return_id} {status.value.lower()}" + (f": {note}" if note else ""),
            {"return": return_data(decided)},
        )
        return decided

    def receive_return(self, return_id: str, *, actor: str, now: datetime) -> ReturnRequest:
        request = self.find_return(return_id)
        if request.status is not ReturnStatus.APPROVED:
            raise InvalidTransition(f"this return is {request.status.value}; only an APPROVED one can be received")
        received = self._replace_return(request, status=ReturnStatus.RECEIVED, received_at=now)
        self._change(
            ev.ORDER_RETURN_RECEIVED, actor, now, f"return {return_id} received", {"return": return_data(received)}
        )
        return received

    @property
    def refunded_total(self) -> Money:
        return sum((r.amount for r in self.refunds), Money.zero(self.currency))

    @property
    def refundable(self) -> Money:
        paid = self.payment.amount if self.payment else Money.zero(self.currency)
        return paid - self.refunded_total

    def refund(
        self,
        *,
        amount: Money,
        reason: str,
        return_id: str | None,
        actor: str,
        now: datetime,
        refund_id: str | None = None,
    ) -> Refund:
        if self.payment is None:
            raise InvalidTransition("nothing was paid on this order")
        reason = required_text(reason, "reason", MAX_REASON)
        if amount.amount <= 0:
            raise Invalid("must be more than zero", field="amount")
        if return_id is not None:
            request = self.find_return(return_id)
            if request.status not in (ReturnStatus.APPROVED, ReturnStatus.RECEIVED):
                raise InvalidTransition(
                    f"return {return_id} is {request.status.value}; refund an approved or received return",
                    field="return_id",
                )
        if amount.amount > self.refundable.amount:
            raise RefundExceedsPaid(
                f"at most {self.refundable} can be refunded (paid {self.payment.amount}, "
                f"refunded {self.refunded_total})",
                field="amount",
            )
        refund = Refund(refund_id or new_id(), amount, reason, actor, now, return_id)
        self.refunds.append(refund)
        fully = self.refundable.amount == 0
        self.payment_status = PaymentStatus.REFUNDED if fully else PaymentStatus.PARTIALLY_REFUNDED
        if self.payment_adjustment is not None and self.payment_adjustment.amount < 0:
            settled = min(amount.amount, -self.payment_adjustment.amount)
            self.payment_adjustment = Money(self.payment_adjustment.amount + settled, self.currency)
        self._change(
            ev.ORDER_REFUNDED,
            actor,
            now,
            f"refunded {amount}: {reason}",
            {
                "refund": refund_data(refund),
                "refunded_total": money_data(self.refunded_total),
                "payment_status": self.payment_status.value,
            },
        )
        return refund
