"""Customer snapshot rules in plain Python."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snapshots.domain.customers import (
    CustomerAddress,
    CustomerDetails,
    UserAuthorization,
    is_newer,
    normalise_address_book,
)
from snapshots.domain.errors import SnapshotInvalid


def address(**overrides):
    values = dict(user_id="u", line1="1 Main St", city="Town", postal_code="123", country="de")
    values.update(overrides)
    return CustomerAddress.create(**values)


def test_customer_normalises_email_and_whitespace():
    customer = CustomerDetails.create(user_id=" u ", email=" A@B.CO ", first_name=" Ada ", last_name="L")
    assert (customer.user_id, customer.email, customer.first_name, customer.phone) == ("u", "a@b.co", "Ada", "")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"email": "nope"}, "email"),
        ({"email": None}, "email"),
        ({"first_name": ""}, "first_name"),
        ({"last_name": 5}, "last_name"),
        ({"version": -1}, "version"),
        ({"version": "3"}, "version"),
        ({"version": True}, "version"),
    ],
)
def test_customer_rejects(overrides, field):
    values = dict(user_id="u", email="a@b.co", first_name="A", last_name="L")
    values.update(overrides)
    with pytest.raises(SnapshotInvalid) as error:
        CustomerDetails.create(**values)
    assert error.value.field == field


def test_address_country_is_upper_cased_and_checked():
    assert address().country == "DE"
    with pytest.raises(SnapshotInvalid) as error:
        address(country="XX", field_prefix="addresses[2].")
    assert error.value.field == "addresses[2].country"


def test_address_without_id_gets_a_stable_derived_id():
    assert address().address_id == address(line1=" 1 MAIN ST ").address_id
    assert address().address_id != address(user_id="other").address_id
    assert address(address_id="home").address_id == "home"


def test_address_book_has_exactly_one_default():
    book = normalise_address_book(
        [address(line1="a"), address(line1="b", is_default=True), address(line1="c", is_default=True)]
    )
    assert [a.is_default for a in book] == [False, True, False]
    assert [a.is_default for a in normalise_address_book([address(line1="a"), address(line1="b")])] == [True, False]
    assert normalise_address_book([]) == []


def test_address_book_refuses_duplicates():
    with pytest.raises(SnapshotInvalid) as error:
        normalise_address_book([address(), address()])
    assert error.value.field == "addresses[1]"


def test_authorization_roles():
    authorization = UserAuthorization.create(user_id="u", roles=["vendor", "customer", "vendor"], vendor_id="v")
    assert authorization.roles == ("customer", "vendor")
    with pytest.raises(SnapshotInvalid):
        UserAuthorization.create(user_id="u", roles=["root"])
    with pytest.raises(SnapshotInvalid):
        UserAuthorization.create(user_id="u", roles="staff")


@given(stored=st.integers(min_value=0), incoming=st.integers(min_value=0))
def test_only_older_versions_are_ignored(stored, incoming):
    assert is_newer(incoming, stored) == (incoming >= stored)
    assert is_newer(incoming, None)
