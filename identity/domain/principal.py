"""The authenticated caller, as every use case sees it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Role(str, Enum):
    CUSTOMER = "customer"
    VENDOR = "vendor"
    STAFF = "staff"
    INTEGRATION = "integration"  # a sales channel's system: imports orders for its channel


@dataclass(frozen=True)
class Principal:
    """Who is calling: user id from `sub`, the tenant scope, roles, and vendor id for vendors.

    It is built once per request from a verified token and handed explicitly to every handler;
    nothing reads it from a global.
    """

    user_id: str
    tenant_id: str
    roles: frozenset[Role]
    vendor_id: str | None = None
    channel_id: str | None = None  # the sales channel an integration token speaks for

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    @property
    def is_staff(self) -> bool:
        return Role.STAFF in self.roles

    @property
    def is_vendor(self) -> bool:
        return Role.VENDOR in self.roles and self.vendor_id is not None

    @property
    def is_integration(self) -> bool:
        return Role.INTEGRATION in self.roles and self.channel_id is not None

    @property
    def is_customer(self) -> bool:
        return Role.CUSTOMER in self.roles
