"""What the snapshot use cases need from storage."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from snapshots.domain.customers import (
    CustomerAddress,
    CustomerDetails,
    UserAuthorization,
)


class CustomerStore(Protocol):
    def atomic(self, tenant_id: str) -> AbstractContextManager[None]:
        """One transaction for everything written inside it."""

    def customer(self, tenant_id: str, user_id: str) -> CustomerDetails | None: ...

    def addresses(self, tenant_id: str, user_id: str) -> list[CustomerAddress]: ...

    def foreign_address_ids(self, tenant_id: str, user_id: str, address_ids: list[str]) -> set[str]:
        """Those of `address_ids` that belong to another user of the tenant."""

    def authorization(self, tenant_id: str, user_id: str) -> UserAuthorization | None: ...

    def save_customer(self, tenant_id: str, customer: CustomerDetails) -> None: ...

    def replace_addresses(self, tenant_id: str, user_id: str, addresses: list[CustomerAddress]) -> None: ...

    def save_authorization(self, tenant_id: str, authorization: UserAuthorization) -> None: ...

    def forget(self, tenant_id: str, user_id: str) -> tuple[CustomerDetails | None, list[CustomerAddress]]:
        """Delete the customer's details, addresses and authorization (an erasure); what was held."""


class StockReport(Protocol):
    """What the dashboard shows of a tenant's stock (read in the caller's tenant scope)."""

    def sold_out(self, tenant_id: str, limit: int) -> tuple[int, list[tuple[str, str]]]:
        """How many active products with a count have nothing left to sell, and the first
        `limit` of them as (sku, name), by SKU."""

    def product_names(self, tenant_id: str, skus: list[str]) -> dict[str, str]:
        """The names of the products with these SKUs (one of them where vendors share a SKU)."""
