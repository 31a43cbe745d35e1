"""CustomerStore and AuthorizationLookup over the ORM, with single-statement upserts."""

from __future__ import annotations

from contextlib import AbstractContextManager

from oms_project.kernel.local_cache import TtlCache
from oms_project.kernel.tenancy import tenant_transaction
from snapshots.domain.customers import (
    CustomerAddress,
    CustomerDetails,
    UserAuthorization,
)

from .models import (
    CustomerAddressSnapshot,
    CustomerDetailsSnapshot,
    UserAuthorizationSnapshot,
)

_CUSTOMER_FIELDS = ["email", "first_name", "last_name", "phone", "version"]
_ADDRESS_FIELDS = [
    "user_id",
    "line1",
    "line2",
    "city",
    "state",
    "postal_code",
    "country",
    "is_default",
    "version",
]
_AUTHORIZATION_FIELDS = ["roles", "vendor_id", "active", "version"]


def _customer(row: CustomerDetailsSnapshot) -> CustomerDetails:
    return CustomerDetails(
        user_id=row.user_id,
        email=row.email,
        first_name=row.first_name,
        last_name=row.last_name,
        phone=row.phone,
        version=row.version,
    )


def _address(row: CustomerAddressSnapshot) -> CustomerAddress:
    return CustomerAddress(
        address_id=row.address_id,
        user_id=row.user_id,
        line1=row.line1,
        line2=row.line2,
        city=row.city,
        state=row.state,
        postal_code=row.postal_code,
        country=row.country,
        is_default=row.is_default,
        version=row.version,
    )


class OrmCustomerStore:
    def atomic(self, tenant_id: str) -> AbstractContextManager[None]:
        return tenant_transaction(tenant_id)

    def customer(self, tenant_id: str, user_id: str) -> CustomerDetails | None:
        row = CustomerDetailsSnapshot.objects.filter(tenant_id=tenant_id, user_id=user_id).first()
        return _customer(row) if row else None

    def addresses(self, tenant_id: str, user_id: str) -> list[CustomerAddress]:
        rows = CustomerAddressSnapshot.objects.filter(tenant_id=tenant_id, user_id=user_id)
        return [_address(row) for row in rows.order_by("-is_default", "address_id")]

    def foreign_address_ids(self, tenant_id: str, user_id: str, address_ids: list[str]) -> set[str]:
        return set(
            CustomerAddressSnapshot.objects.filter(tenant_id=tenant_id, address_id__in=address_ids)
            .exclude(user_id=user_id)
            .values_list("address_id", flat=True)
        )

    def authorization(self, tenant_id: str, user_id: str) -> UserAuthorization | None:
        row = UserAuthorizationSnapshot.objects.filter(tenant_id=tenant_id, user_id=user_id).first()
        if row is None:
            return None
        return UserAuthorization(
            user_id=row.user_id,
            roles=tuple(row.roles),
            vendor_id=row.vendor_id,
            active=row.active,
            version=row.version,
        )

    def save_customer(self, tenant_id: str, customer: CustomerDetails) -> None:
        CustomerDetailsSnapshot.objects.bulk_create(
            [CustomerDetailsSnapshot(tenant_id=tenant_id, **customer.__dict__)],
            update_conflicts=True,
            unique_fields=["tenant", "user_id"],
            update_fields=[*_CUSTOMER_FIELDS, "updated_at"],
        )

    def replace_addresses(self, tenant_id: str, user_id: str, addresses: list[CustomerAddress]) -> None:
        keep = [address.address_id for address in addresses]
        CustomerAddressSnapshot.objects.filter(tenant_id=tenant_id, user_id=user_id).exclude(
            address_id__in=keep
        ).delete()
        if addresses:
            CustomerAddressSnapshot.objects.bulk_create(
                [CustomerAddressSnapshot(tenant_id=tenant_id, **a.__dict__) for a in addresses],
                update_conflicts=True,
                unique_fields=["tenant", "address_id"],
                update_fields=[*_ADDRESS_FIELDS, "updated_at"],
            )

    def save_authorization(self, tenant_id: str, authorization: UserAuthorization) -> None:
        values = {**authorization.__dict__, "roles": list(authorization.roles)}
        UserAuthorizationSnapshot.objects.bulk_create(
            [UserAuthorizationSnapshot(tenant_id=tenant_id, **values)],
            update_conflicts=True,
            unique_fields=["tenant", "user_id"],
            update_fields=[*_AUTHORIZATION_FIELDS, "updated_at"],
        )
        AUTHORIZATIONS.invalidate((tenant_id, authorization.user_id))

    def forget(self, tenant_id: str, user_id: str) -> tuple[CustomerDetails | None, list[CustomerAddress]]:
        held = self.customer(tenant_id, user_id), self.addresses(tenant_id, user_id)
        CustomerDetailsSnapshot.objects.filter(tenant_id=tenant_id, user_id=user_id).delete()
        CustomerAddressSnapshot.objects.filter(tenant_id=tenant_id, user_id=user_id).delete()
        UserAuthorizationSnapshot.objects.filter(tenant_id=tenant_id, user_id=user_id).delete()
        AUTHORIZATIONS.invalidate((tenant_id, user_id))
        return held


AUTHORIZATIONS = TtlCache("user authorization snapshots")


class OrmAuthorizationLookup:
    def authorization(self, tenant_id: str, user_id: str) -> tuple[bool, str | None] | None:
        """Cached per process for OMS_AUTH_CACHE_SECONDS; every write of an authorization
        snapshot in this process invalidates it."""
        return AUTHORIZATIONS.get_or_load((tenant_id, user_id), lambda: self._load(tenant_id, user_id))

    @staticmethod
    def _load(tenant_id: str, user_id: str) -> tuple[bool, str | None] | None:
        row = (
            UserAuthorizationSnapshot.objects.filter(tenant_id=tenant_id, user_id=user_id)
            .values_list("active", "vendor_id")
            .first()
        )
        if row is None:
            return None
        return bool(row[0]), (row[1] or None)
