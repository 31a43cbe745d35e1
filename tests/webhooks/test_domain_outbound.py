"""Outbound delivery rules without Django: backoff with jitter, dead after the last attempt,
event type matching, URL shape, signed headers."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook

from webhooks.domain.outbound import (
    AttemptResult,
    DeliveryStatus,
    RetryPolicy,
    after_attempt,
    check_url,
    signed_headers,
    subscribed,
)
from webhooks.domain.signatures import new_secret

NOW = datetime(2026, 11, 22, tzinfo=UTC)


@given(attempt=st.integers(1, 40), rand=st.floats(0, 1))
def test_backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half(attempt, rand):
    policy = RetryPolicy(max_attempts=50, base_seconds=10, cap_seconds=3600)
    ceiling = min(3600, 10 * 2 ** (attempt - 1))
    delay = policy.delay(attempt, lambda: rand).total_seconds()
    assert ceiling / 2 <= delay <= ceiling


def test_success_on_2xx_only():
    policy = RetryPolicy(max_attempts=3)
    assert after_attempt(AttemptResult(204, 5), 0, NOW, policy).status is DeliveryStatus.DELIVERED
    for code in (None, 199, 301, 404, 500):
        state = after_attempt(AttemptResult(code, 5, "x"), 0, NOW, policy, lambda: 0.0)
        assert state.status is DeliveryStatus.PENDING and state.attempts == 1
        assert state.next_attempt_at == NOW + timedelta(seconds=5)


def test_dead_after_the_last_attempt():
    policy = RetryPolicy(max_attempts=3)
    assert after_attempt(AttemptResult(500, 1), 1, NOW, policy).status is DeliveryStatus.PENDING
    dead = after_attempt(AttemptResult(500, 1), 2, NOW, policy)
    assert dead.status is DeliveryStatus.DEAD and dead.attempts == 3 and dead.next_attempt_at is None


def test_policy_rejects_nonsense():
    with pytest.raises(ValueError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(base_seconds=10, cap_seconds=5)


def test_event_type_matching():
    assert subscribed([], "order.placed")
    assert subscribed(["order.placed"], "order.placed")
    assert not subscribed(["order.placed"], "order.cancelled")


@pytest.mark.parametrize("url", ["http://fulfilment:8080/hooks", "https://example.com/x?y=1", "http://127.0.0.1:9/"])
def test_urls_accepted(url):
    assert check_url(url) == url


@pytest.mark.parametrize(
    "url", ["", "ftp://x/", "http://", "example.com/hooks", "http://a b/", "http://x:99999/", "https://x/" + "a" * 500]
)
def test_urls_refused(url):
    with pytest.raises(ValueError):
        check_url(url)


def test_signed_headers_verify_with_the_standardwebhooks_package():
    secret = new_secret()
    body = b'{"id":"evt_1"}'
    headers = signed_headers(secret, "evt_1", int(time.time()), body)
    assert headers["webhook-id"] == "evt_1" and headers["content-type"] == "application/json"
    assert Webhook(secret).verify(body, headers) == {"id": "evt_1"}
    with pytest.raises(Exception, match=r"(?i)signature"):
        Webhook(new_secret()).verify(body, headers)
