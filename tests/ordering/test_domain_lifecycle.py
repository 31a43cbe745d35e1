"""Every transition of the lifecycle, allowed and refused, without Django."""

from __future__ import annotations

import pytest

from ordering.domain.errors import InvalidTransition
from ordering.domain.lifecycle import ACTIONS, TRANSITIONS, OrderStatus, can, next_status

S = OrderStatus
ALLOWED = {
    ("place", S.DRAFT): S.PENDING,
    ("confirm", S.PENDING): S.CONFIRMED,
    ("deliver", S.SHIPPED): S.DELIVERED,
    ("complete", S.DELIVERED): S.COMPLETED,
    ("cancel", S.DRAFT): S.CANCELLED,
    ("cancel", S.PENDING): S.CANCELLED,
    ("cancel", S.CONFIRMED): S.CANCELLED,
    ("cancel", S.UNFULFILLABLE): S.CANCELLED,
    ("mark_unfulfillable", S.CONFIRMED): S.UNFULFILLABLE,
    ("mark_unfulfillable", S.PARTIALLY_SHIPPED): S.UNFULFILLABLE,
}


@pytest.mark.parametrize("action", [a for a in TRANSITIONS if a not in ("ship", "resume")])
@pytest.mark.parametrize("status", list(OrderStatus))
def test_every_action_from_every_status(action, status):
    if (action, status) in ALLOWED:
        assert next_status(action, status) == ALLOWED[(action, status)]
    else:
        assert not can(action, status)
        with pytest.raises(InvalidTransition) as error:
            next_status(action, status)
        assert error.value.code == "INVALID_TRANSITION"


ALLOWED_ACTIONS = {
    "ship": {S.CONFIRMED, S.PARTIALLY_SHIPPED},
    "add_shipment": {S.CONFIRMED, S.PARTIALLY_SHIPPED},
    "hold": {S.PENDING, S.CONFIRMED, S.PARTIALLY_SHIPPED},
    "review": {S.PENDING},
    "amend": {S.PENDING, S.CONFIRMED},
    "request_return": {S.DELIVERED, S.COMPLETED},
    "resume": {S.UNFULFILLABLE},  # to CONFIRMED or PARTIALLY_SHIPPED: Order.resume
}


@pytest.mark.parametrize("action", sorted(ALLOWED_ACTIONS))
@pytest.mark.parametrize("status", list(OrderStatus))
def test_actions_that_do_not_name_their_target(action, status):
    assert can(action, status) is (status in ALLOWED_ACTIONS[action])
    if action in ("ship", "resume"):
        with pytest.raises(InvalidTransition if status not in ALLOWED_ACTIONS[action] else ValueError):
            next_status(action, status)


def test_the_actions_table_is_the_one_tested():
    assert set(ACTIONS) | {"ship", "resume"} == set(ALLOWED_ACTIONS)


def test_terminal_statuses_allow_nothing():
    for status in (S.COMPLETED, S.CANCELLED):
        assert not any(can(action, status) for action in TRANSITIONS)
