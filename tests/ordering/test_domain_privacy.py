"""The erasure rules of ordering.domain.privacy, without Django."""

from __future__ import annotations

import pytest

from ordering.domain import privacy
from ordering.domain.lifecycle import OrderStatus as S
from ordering.domain.values import Address


def test_open_orders_block_and_force_lets_only_the_cancellable_ones_through():
    statuses = {"a": S.DELIVERED, "b": S.PENDING, "c": S.SHIPPED, "d": S.CANCELLED, "e": S.DRAFT}
    assert privacy.blocking(statuses, force=False) == ["b", "c", "e"]
    assert privacy.blocking(statuses, force=True) == ["c"]
    assert privacy.blocking({"x": S.COMPLETED}, force=False) == []


def test_scrub_replaces_whole_values_and_emails_inside_text_but_not_words_inside_other_words():
    erased = {"ada@example.com", "Kettle", "US", "1 Main St"}
    document = {
        "customer": {"email": "ADA@example.com ", "last_name": "Kettle"},
        "lines": [{"product_name": "Kettle deluxe", "sku": "KETTLE-1"}],
        "note": "wrote to ada@example.com twice",
        "address": {"line1": "1 Main St", "country": "US"},
        "total": 12,
    }
    assert privacy.scrubber(erased)(document) == {
        "customer": {"email": "[erased]", "last_name": "[erased]"},
        "lines": [{"product_name": "Kettle deluxe", "sku": "KETTLE-1"}],
        "note": "wrote to [erased] twice",
        "address": {"line1": "[erased]", "country": "ZZ"},
        "total": 12,
    }
    assert privacy.scrubber(set())(document) == document


def test_an_addresss_personal_values_leave_out_what_the_rule_keeps():
    address = Address(line1="1 Main St", city="Springfield", postal_code="12345", country="US", line2="", state="IL")
    assert privacy.address_values(address, privacy.DEFAULT_KEEP) == {"1 Main St", "Springfield", "IL"}
    assert privacy.address_values(address, frozenset()) == {"1 Main St", "Springfield", "IL", "12345", "US"}


def test_the_markers_and_blanks_are_never_looked_for():
    assert privacy.erasable(["", "  ", privacy.ERASED, "ZZ", " Ada "]) == {"Ada"}


def test_a_retention_rule_keeps_only_postal_code_and_country():
    assert privacy.keep_rule(["country", " postal_code "]) == {"country", "postal_code"}
    assert privacy.keep_rule([]) == frozenset()
    with pytest.raises(ValueError, match="keeps only"):
        privacy.keep_rule(["city"])


def test_the_refusal_names_the_orders_and_says_what_to_do():
    plain = privacy.CustomerHasOpenOrders(["o1", "o2"], force=False)
    assert (plain.code, plain.field, plain.order_ids) == ("CUSTOMER_HAS_OPEN_ORDERS", "customerUserId", ["o1", "o2"])
    assert "o1, o2" in plain.message and "force" in plain.message
    assert "delivered" in privacy.CustomerHasOpenOrders(["o3"], force=True).message
