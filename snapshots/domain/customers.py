"""Customer details, customer addresses and user authorizations, as the OMS keeps them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from . import fields
from .errors import SnapshotInvalid

KNOWN_ROLES = ("customer", "vendor", "staff")


@dataclass(frozen=True)
class CustomerDetails:
    user_id: str
    email: str
    first_name: str
    last_name: str
    phone: str = ""
    version: int = 0

    @classmethod
    def create(
        cls,
        *,
        user_id: Any,
        email: Any,
        first_name: Any,
        last_name: Any,
        phone: Any = None,
        version: Any = 0,
    ) -> CustomerDetails:
        return cls(
            user_id=fields.required_text("user_id", user_id, max_length=255),
            email=fields.email("email", email),
            first_name=fields.required_text("first_name", first_name, max_length=150),
            last_name=fields.required_text("last_name", last_name, max_length=150),
            phone=fields.optional_text("phone", phone, max_length=40),
            version=fields.version("version", version),
        )


@dataclass(frozen=True)
class CustomerAddress:
    address_id: str
    user_id: str
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str = ""
    state: str = ""
    is_default: bool = False
    version: int = 0

    @classmethod
    def create(
        cls,
        *,
        user_id: Any,
        line1: Any,
        city: Any,
        postal_code: Any,
        country: Any,
        address_id: Any = None,
        line2: Any = None,
        state: Any = None,
        is_default: Any = False,
        version: Any = 0,
        field_prefix: str = "",
    ) -> CustomerAddress:
        def name(field: str) -> str:
            return f"{field_prefix}{field}"

        user = fields.required_text(name("user_id"), user_id, max_length=255)
        line1_text = fields.required_text(name("line1"), line1, max_length=200)
        line2_text = fields.optional_text(name("line2"), line2, max_length=200)
        city_text = fields.required_text(name("city"), city, max_length=120)
        state_text = fields.optional_text(name("state"), state, max_length=120)
        postal = fields.required_text(name("postal_code"), postal_code, max_length=20)
        country_code = fields.country(name("country"), country)
        if address_id is None or address_id == "":
            address_key = derived_address_id(user, line1_text, line2_text, city_text, state_text, postal, country_code)
        else:
            address_key = fields.required_text(name("address_id"), address_id, max_length=255)
        return cls(
            address_id=address_key,
            user_id=user,
            line1=line1_text,
            line2=line2_text,
            city=city_text,
            state=state_text,
            postal_code=postal,
            country=country_code,
            is_default=fields.boolean(name("is_default"), is_default, default=False),
            version=fields.version(name("version"), version),
        )


def derived_address_id(*parts: str) -> str:
    """A stable id for an address sent without one: the same address always gets the same id."""
    digest = hashlib.sha256("\x1f".join(part.casefold() for part in parts).encode()).hexdigest()
    return f"addr_{digest[:20]}"


def normalise_address_book(addresses: list[CustomerAddress]) -> list[CustomerAddress]:
    """One default at most (the first marked, else the first), and no duplicate ids."""
    seen: set[str] = set()
    for index, address in enumerate(addresses):
        if address.address_id in seen:
            raise SnapshotInvalid("the same address is given twice", field=f"addresses[{index}]")
        seen.add(address.address_id)
    if not addresses:
        return []
    default_index = next((i for i, a in enumerate(addresses) if a.is_default), 0)
    return [_with_default(address, index == default_index) for index, address in enumerate(addresses)]


def _with_default(address: CustomerAddress, is_default: bool) -> CustomerAddress:
    if address.is_default == is_default:
        return address
    return CustomerAddress(**{**address.__dict__, "is_default": is_default})


@dataclass(frozen=True)
class UserAuthorization:
    user_id: str
    roles: tuple[str, ...]
    vendor_id: str = ""
    active: bool = True
    version: int = 0

    @classmethod
    def create(
        cls, *, user_id: Any, roles: Any, vendor_id: Any = None, active: Any = True, version: Any = 0
    ) -> UserAuthorization:
        if not isinstance(roles, (list, tuple)) or not all(isinstance(r, str) for r in roles):
            raise SnapshotInvalid("must be a list of role names", field="roles")
        unknown = sorted({r for r in roles if r not in KNOWN_ROLES})
        if unknown:
            raise SnapshotInvalid(f"unknown roles: {', '.join(unknown)}", field="roles")
        vendor = fields.optional_text("vendor_id", vendor_id, max_length=255)
        return cls(
            user_id=fields.required_text("user_id", user_id, max_length=255),
            roles=tuple(sorted(set(roles))),
            vendor_id=vendor,
            active=fields.boolean("active", active, default=True),
            version=fields.version("version", version),
        )


def is_newer(incoming_version: int, stored_version: int | None) -> bool:
    """An update applies only when nothing is stored or it is not older than what is stored.

    An equal version is re-applied (idempotent redelivery of the same data changes nothing);
    an older one is acknowledged and ignored.
    """
    return stored_version is None or incoming_version >= stored_version
