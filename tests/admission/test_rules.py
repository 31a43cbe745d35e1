"""The admission rules without Django: shares, GCRA buckets, refusals and their headers' numbers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oms_project.kernel.admission.rules import Bucket, Limits, Verdict, gcra, over_share_wait, refund

LIMITS = dict(rate=10, burst=100, token_rate=5, token_burst=20)


@pytest.mark.parametrize(
    ("share", "capacity", "slots"),
    [(0.6, 5, 3), (0.5, 5, 2), (1.0, 5, 5), (0.01, 5, 1), (0.6, 1, 1), (0.25, 40, 10), (0.3, 10, 3)],
)
def test_a_share_is_a_whole_number_of_slots_and_never_none(share, capacity, slots):
    assert Limits(share=share, **LIMITS).max_in_flight(capacity) == slots


@pytest.mark.parametrize(
    "bad", [dict(share=0), dict(share=1.5), dict(rate=0), dict(burst=-1), dict(token_rate=0), dict(token_burst=0)]
)
def test_limits_refuse_impossible_settings(bad):
    with pytest.raises(ValueError):
        Limits(**{"share": 0.5, **LIMITS, **bad})


def test_a_full_bucket_pays_its_burst_then_refuses_with_the_time_until_it_fits():
    bucket, now, tat = Bucket(rate=10, burst=100), 1000.0, None
    for _ in range(10):
        state = gcra(tat, now, 10, bucket)
        assert state.allowed
        tat = state.tat
    assert state.remaining == pytest.approx(0)
    refused = gcra(tat, now, 10, bucket)
    assert not refused.allowed and refused.tat == tat  # nothing spent
    assert refused.retry_after == pytest.approx(1.0)  # 10 points at 10 a second
    assert gcra(tat, now + 1.0, 10, bucket).allowed


def test_a_bucket_refills_at_its_rate_and_never_past_its_burst():
    bucket = Bucket(rate=10, burst=100)
    spent = gcra(None, 0.0, 100, bucket)
    assert gcra(spent.tat, 5.0, 1, bucket).remaining == pytest.approx(49)
    assert gcra(spent.tat, 500.0, 1, bucket).remaining == pytest.approx(99)


def test_a_cost_larger_than_the_burst_never_fits():
    state = gcra(None, 0.0, 101, Bucket(rate=10, burst=100))
    assert not state.allowed and state.retry_after == pytest.approx(0.1)


def test_refund_gives_points_back_up_to_a_full_bucket():
    bucket = Bucket(rate=10, burst=100)
    tat = gcra(None, 0.0, 50, bucket).tat
    assert gcra(refund(tat, 0.0, 20, bucket), 0.0, 1, bucket).remaining == pytest.approx(69)
    assert refund(tat, 0.0, 500, bucket) == 0.0
    assert refund(None, 0.0, 5, bucket) is None


@given(
    costs=st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=60),
    gaps=st.lists(st.floats(min_value=0, max_value=3), min_size=60, max_size=60),
)
def test_over_any_run_a_bucket_never_pays_more_than_its_burst_plus_what_it_refilled(costs, gaps):
    bucket, now, tat, paid = Bucket(rate=7, burst=40), 0.0, None, 0
    for cost, gap in zip(costs, gaps):
        now += gap
        state = gcra(tat, now, cost, bucket)
        if state.allowed:
            paid += cost
            tat = state.tat
        assert 0 <= state.remaining <= bucket.burst + 1e-6
    assert paid <= bucket.burst + bucket.rate * now + 1e-6


@pytest.mark.parametrize(("seconds", "header"), [(0.0, 1), (0.2, 1), (1.0, 1), (1.01, 2), (59.5, 60)])
def test_retry_after_is_whole_seconds_and_at_least_one(seconds, header):
    assert Verdict(False, "RATE_LIMITED", seconds).retry_after_header == header


def test_a_window_is_the_seconds_an_empty_bucket_takes_to_fill():
    assert Bucket(rate=10, burst=100).window == 10
    assert Bucket(rate=3, burst=10).window == 4
    assert Bucket(rate=1000, burst=10).window == 1


def test_an_over_share_wait_is_drawn_from_one_to_the_spread_in_whole_seconds():
    draws = []

    def draw(low: int, high: int) -> int:
        draws.append((low, high))
        return high

    assert over_share_wait(3, draw) == 3.0
    assert over_share_wait(0, draw) == 1.0  # never less than a second
    assert draws == [(1, 3), (1, 1)]
    assert {over_share_wait(2) for _ in range(200)} == {1.0, 2.0}
