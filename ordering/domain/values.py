"""Value objects of an order. Money is shared with the snapshots it is priced from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, TypeVar

from oms_project.kernel.money import CurrencyMismatch, Money, minor_units
from snapshots.domain import fields
from snapshots.domain.errors import SnapshotInvalid

from .errors import Invalid

T = TypeVar("T")

__all__ = ["Address", "CurrencyMismatch", "CustomerInfo", "Money", "display_amount", "minor_units", "parse_amount"]

MAX_AMOUNT = Decimal("9999999999.9999")


@lru_cache(maxsize=256)
def _places(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_units(currency))


def display_amount(amount: Decimal, currency: str) -> Decimal:
    """The amount with the currency's decimal places, or more where a unit price has them."""
    quantized = amount.quantize(_places(currency))
    return quantized if quantized == amount else amount.normalize()


def _checked(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a snapshot field rule, re-raising its failure as an ordering `Invalid`."""
    try:
        return function(*args, **kwargs)
    except SnapshotInvalid as exc:
        raise Invalid(exc.message, field=exc.field) from exc


@dataclass(frozen=True)
class Address:
    line1: str
    city: str
    postal_code: str
    country: str
    line2: str = ""
    state: str = ""

    @classmethod
    def create(cls, data: dict[str, Any], *, field: str = "shipping_address") -> Address:
        def f(name: str) -> str:
            return f"{field}.{name}"

        return cls(
            line1=_checked(fields.required_text, f("line1"), data.get("line1"), max_length=200),
            line2=_checked(fields.optional_text, f("line2"), data.get("line2"), max_length=200),
            city=_checked(fields.required_text, f("city"), data.get("city"), max_length=120),
            state=_checked(fields.optional_text, f("state"), data.get("state"), max_length=120),
            postal_code=_checked(fields.required_text, f("postal_code"), data.get("postal_code"), max_length=20),
            country=_checked(fields.country, f("country"), data.get("country")),
        )


@dataclass(frozen=True)
class CustomerInfo:
    """The customer's details as they were when the order was checked out (frozen on it)."""

    user_id: str
    email: str
    first_name: str
    last_name: str
    phone: str = ""

    @classmethod
    def create(cls, user_id: str, data: dict[str, Any], *, field: str = "customer") -> CustomerInfo:
        def f(name: str) -> str:
            return f"{field}.{name}"

        return cls(
            user_id=user_id,
            email=_checked(fields.email, f("email"), data.get("email")),
            first_name=_checked(fields.required_text, f("first_name"), data.get("first_name"), max_length=150),
            last_name=_checked(fields.required_text, f("last_name"), data.get("last_name"), max_length=150),
            phone=_checked(fields.optional_text, f("phone"), data.get("phone"), max_length=40),
        )

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"


def parse_amount(value: Any, currency: str, *, field: str) -> Money:
    """A client-sent decimal string in `currency`: finite, not negative, within its minor units."""
    if isinstance(value, (float, bool)) or value is None:
        raise Invalid('must be a decimal string such as "29.99"', field=field)
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise Invalid('must be a decimal string such as "29.99"', field=field) from None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise Invalid("must be a non-negative decimal amount", field=field)
    if amount != amount.quantize(Decimal(1).scaleb(-minor_units(currency))):
        raise Invalid(f"{currency} amounts have at most {minor_units(currency)} decimal places", field=field)
    return Money(amount, currency)
