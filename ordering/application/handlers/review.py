"""Holds and review: staff hold an order and release it, decide a review or hand it to another
reviewer (docs/after-sale.md)."""

from __future__ import annotations

from identity.domain.principal import Principal
from ordering.domain import access
from ordering.domain.order import Order

from .. import commands as c
from ..order_change import change_order
from ..ports import UnitOfWork

# -- holds and review -------------------------------------------------------------------------


def place_on_hold(principal: Principal, command: c.PlaceOnHold, uow: UnitOfWork) -> Order:
    access.require_staff(principal, "hold")
    return change_order(
        principal,
        command,
        uow,
        lambda order: order.place_on_hold(
            reason=command.reason, note=command.note, actor=principal.user_id, now=uow.now()
        ),
    )


def release_hold(principal: Principal, command: c.ReleaseHold, uow: UnitOfWork) -> Order:
    access.require_staff(principal, "release")
    return change_order(
        principal,
        command,
        uow,
        lambda order: order.release_hold(note=command.note, actor=principal.user_id, now=uow.now()),
    )


def review_order(principal: Principal, command: c.ReviewOrder, uow: UnitOfWork) -> Order:
    access.require_staff(principal, "review")
    return change_order(
        principal,
        command,
        uow,
        lambda order: order.decide_review(
            decision=command.decision, note=command.note, actor=principal.user_id, now=uow.now()
        ),
    )


def escalate_reviewer(principal: Principal, command: c.EscalateReviewer, uow: UnitOfWork) -> Order:
    access.require_staff(principal, "escalate the review of")
    return change_order(
        principal,
        command,
        uow,
        lambda order: order.escalate_review(
            assignee=command.reviewer_id, note=command.note, actor=principal.user_id, now=uow.now()
        ),
    )
