"""Every transition of the lifecycle, allowed and refused, without Django."""

from __future__ import annotations

import pytest

from ordering.domain.errors import InvalidTransition
from ordering.domain.lifecycle import TRANSITIONS, OrderStatus, after_shipping, can, next_status

S = OrderStatus
ALLOWED = {
    ("place", S.DRAFT): S.PENDING,
    ("confirm", S.PENDING): S.CONFIRMED,
    ("deliver", S.SHIPPED): S.DELIVERED,
    ("complete", S.DELIVERED): S.COMPLETED,
    ("cancel", S.DRAFT): S.CANCELLED,
    ("cancel", S.PENDING): S.CANCELLED,
    ("cancel", S.CONFIRMED): S.CANCELLED,
}


@pytest.mark.parametrize("action", [a for a in TRANSITIONS if a != "ship"])
@pytest.mark.parametrize("status", list(OrderStatus))
def test_every_action_from_every_status(action, status):
    if (action, status) in ALLOWED:
        assert next_status(action, status) == ALLOWED[(action, status)]
    else:
        assert not can(action, status)
        with pytest.raises(InvalidTransition) as error:
            next_status(action, status)
        assert error.value.code == "INVALID_TRANSITION"


@pytest.mark.parametrize("status", list(OrderStatus))
def test_shipping(status):
    if status in (S.CONFIRMED, S.PARTIALLY_SHIPPED):
        assert after_shipping(status, everything_shipped=False) == S.PARTIALLY_SHIPPED
        assert after_shipping(status, everything_shipped=True) == S.SHIPPED
    else:
        with pytest.raises(InvalidTransition):
            after_shipping(status, everything_shipped=True)


def test_terminal_statuses_allow_nothing():
    for status in (S.COMPLETED, S.CANCELLED):
        assert not any(can(action, status) for action in TRANSITIONS)
