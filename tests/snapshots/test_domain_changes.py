"""Upstream snapshot changes without a database: validation first, then version ordering."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snapshots.application.changes import UnknownSnapshotType, apply_change, parse_change
from snapshots.domain.errors import SnapshotInvalid
from webhooks.domain.events import EventMalformed, parse_event


class MemoryWriter:
    def __init__(self):
        self.rows: dict[tuple[str, str, str], object] = {}

    def locked_version(self, tenant_id, kind, key):
        row = self.rows.get((tenant_id, kind, key))
        return None if row is None else row.version

    def upsert(self, tenant_id, kind, snapshot):
        key = snapshot.address_id if kind == "customer_address" else snapshot.user_id
        self.rows[(tenant_id, kind, key)] = snapshot

    def delete(self, tenant_id, kind, key):
        del self.rows[(tenant_id, kind, key)]


def customer(version, name="Ada"):
    return {"user_id": "u", "email": "u@x.io", "first_name": name, "last_name": "L", "version": version}


def test_unknown_types():
    for event_type in ["spaceship.upserted", "customer.patched", "customer", "product", ""]:
        with pytest.raises(UnknownSnapshotType):
            parse_change(event_type, {})


def test_deletion_needs_key_and_version():
    with pytest.raises(SnapshotInvalid) as error:
        parse_change("customer.deleted", {"version": 1})
    assert error.value.field == "user_id"
    with pytest.raises(SnapshotInvalid):
        parse_change("customer.deleted", {"user_id": "u"})


@given(versions=st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=20))
def test_the_highest_version_always_wins_whatever_the_arrival_order(versions):
    writer = MemoryWriter()
    for version in versions:
        apply_change("t", parse_change("customer.upserted", customer(version, f"n{version}")), writer)
    assert writer.rows[("t", "customer", "u")].version == max(versions)
    assert writer.rows[("t", "customer", "u")].first_name == f"n{max(versions)}"


def test_delete_applies_only_when_not_older():
    writer = MemoryWriter()
    apply_change("t", parse_change("customer.upserted", customer(5)), writer)
    assert not apply_change("t", parse_change("customer.deleted", {"user_id": "u", "version": 4}), writer)
    assert apply_change("t", parse_change("customer.deleted", {"user_id": "u", "version": 5}), writer)
    assert writer.rows == {}
    assert not apply_change("t", parse_change("customer.deleted", {"user_id": "u", "version": 6}), writer)


def test_tenants_are_separate():
    writer = MemoryWriter()
    apply_change("a", parse_change("customer.upserted", customer(9)), writer)
    assert apply_change("b", parse_change("customer.upserted", customer(1)), writer)


@pytest.mark.parametrize("body", [b"", b"\xff", b"null", b'{"type": 1, "data": {}}', b'{"type": "x", "data": []}'])
def test_malformed_envelopes(body):
    with pytest.raises(EventMalformed):
        parse_event(body)
