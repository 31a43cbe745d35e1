"""Use cases over a user's own customer snapshot: `syncUser` and the profile `me` shows."""

from __future__ import annotations

from dataclasses import dataclass, replace

from identity.domain.principal import Principal
from snapshots.domain.customers import (
    CustomerAddress,
    CustomerDetails,
    UserAuthorization,
    normalise_address_book,
)
from snapshots.domain.errors import SnapshotInvalid

from .ports import CustomerStore


@dataclass(frozen=True)
class AddressData:
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str | None = None
    state: str | None = None
    address_id: str | None = None
    is_default: bool = False


@dataclass(frozen=True)
class SyncUserCommand:
    email: str
    first_name: str
    last_name: str
    phone: str | None = None
    addresses: list[AddressData] | None = None  # None: leave the stored addresses as they are


@dataclass(frozen=True)
class CustomerProfile:
    customer: CustomerDetails
    addresses: list[CustomerAddress]


def sync_user(principal: Principal, command: SyncUserCommand, store: CustomerStore) -> CustomerProfile:
    """Upsert the caller's customer details, address book and authorization snapshot.

    Everything is validated before anything is written, and written in one transaction.
    The upstream `version` of stored rows is kept: a self-service sync is not an upstream
    update, so a later webhook with a newer version still applies over it.
    """
    customer = CustomerDetails.create(
        user_id=principal.user_id,
        email=command.email,
        first_name=command.first_name,
        last_name=command.last_name,
        phone=command.phone,
    )
    addresses = None
    if command.addresses is not None:
        addresses = normalise_address_book(
            [
                CustomerAddress.create(
                    user_id=principal.user_id,
                    address_id=item.address_id,
                    line1=item.line1,
                    line2=item.line2,
                    city=item.city,
                    state=item.state,
                    postal_code=item.postal_code,
                    country=item.country,
                    is_default=item.is_default,
                    field_prefix=f"addresses[{index}].",
                )
                for index, item in enumerate(command.addresses)
            ]
        )
    roles = tuple(sorted(role.value for role in principal.roles))

    with store.atomic(principal.tenant_id):
        stored = store.customer(principal.tenant_id, principal.user_id)
        if stored is not None:
            customer = replace(customer, version=stored.version)
        store.save_customer(principal.tenant_id, customer)
        if addresses is not None:
            ids = [address.address_id for address in addresses]
            taken = store.foreign_address_ids(principal.tenant_id, principal.user_id, ids)
            if taken:
                index = ids.index(sorted(taken)[0])
                raise SnapshotInvalid("this address id is not available", field=f"addresses[{index}].address_id")
            store.replace_addresses(principal.tenant_id, principal.user_id, addresses)
        stored_authorization = store.authorization(principal.tenant_id, principal.user_id)
        authorization = UserAuthorization.create(
            user_id=principal.user_id,
            roles=list(roles),
            vendor_id=principal.vendor_id,
            active=True if stored_authorization is None else stored_authorization.active,
            version=0 if stored_authorization is None else stored_authorization.version,
        )
        store.save_authorization(principal.tenant_id, authorization)
        saved_addresses = store.addresses(principal.tenant_id, principal.user_id)
    return CustomerProfile(customer=customer, addresses=saved_addresses)


def customer_profile(principal: Principal, store: CustomerStore) -> CustomerProfile | None:
    customer = store.customer(principal.tenant_id, principal.user_id)
    if customer is None:
        return None
    return CustomerProfile(customer=customer, addresses=store.addresses(principal.tenant_id, principal.user_id))
