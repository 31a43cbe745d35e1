"""Vendors, products, coupons, offers and shipping options, as the OMS keeps them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, overload

from oms_project.kernel.money import Money

from . import fields
from .errors import SnapshotInvalid

_CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_AMOUNT = Decimal("9999999999.9999")


def currency(field: str, value: Any) -> str:
    text = fields.required_text(field, value, max_length=3).upper()
    if not _CURRENCY.match(text):
        raise SnapshotInvalid("must be an ISO 4217 currency code", field=field)
    return text


@overload
def decimal(field: str, value: Any, *, required: Literal[True] = True, positive: bool = False) -> Decimal: ...
@overload
def decimal(field: str, value: Any, *, required: bool, positive: bool = False) -> Decimal | None: ...
def decimal(field: str, value: Any, *, required: bool = True, positive: bool = False) -> Decimal | None:
    """A non-negative decimal from a string or integer; floats are refused (they lose cents)."""
    if value is None:
        if required:
            raise SnapshotInvalid("is required", field=field)
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise SnapshotInvalid('must be a decimal string such as "12.50"', field=field)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise SnapshotInvalid('must be a decimal string such as "12.50"', field=field) from exc
    exponent = number.as_tuple().exponent  # a letter ("n", "N", "F") for NaN and infinities
    if not number.is_finite() or (isinstance(exponent, int) and exponent < -4) or number > MAX_AMOUNT:
        raise SnapshotInvalid("must be a finite amount with at most 4 decimal places", field=field)
    if number < 0 or (positive and number == 0):
        raise SnapshotInvalid("must be positive" if positive else "must not be negative", field=field)
    return number


@overload
def money(field: str, value: Any, *, required: Literal[True] = True) -> Money: ...
@overload
def money(field: str, value: Any, *, required: bool) -> Money | None: ...
def money(field: str, value: Any, *, required: bool = True) -> Money | None:
    if value is None and not required:
        return None
    if not isinstance(value, dict):
        raise SnapshotInvalid('must be {"amount": "12.50", "currency": "USD"}', field=field)
    return Money(decimal(f"{field}.amount", value.get("amount")), currency(f"{field}.currency", value.get("currency")))


@overload
def quantity(field: str, value: Any, *, default: int, minimum: int = 0) -> int: ...
@overload
def quantity(field: str, value: Any, *, default: None = None, minimum: int = 0) -> int | None: ...
def quantity(field: str, value: Any, *, default: int | None = None, minimum: int = 0) -> int | None:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise SnapshotInvalid("must be an integer", field=field)
    if value < minimum:
        raise SnapshotInvalid(f"must be at least {minimum}", field=field)
    if value > fields.MAX_COUNT:
        raise SnapshotInvalid(f"must be at most {fields.MAX_COUNT}", field=field)
    return value


def moment(field: str, value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise SnapshotInvalid("must be an ISO 8601 date-time", field=field)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise SnapshotInvalid("must be an ISO 8601 date-time", field=field) from exc
    if parsed.tzinfo is None:
        raise SnapshotInvalid("must carry a time zone offset (e.g. Z)", field=field)
    return parsed


def window(valid_from: Any, valid_until: Any) -> tuple[datetime | None, datetime | None]:
    start, end = moment("valid_from", valid_from), moment("valid_until", valid_until)
    if start and end and end <= start:
        raise SnapshotInvalid("must be after valid_from", field="valid_until")
    return start, end


def text_list(field: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise SnapshotInvalid("must be a list of ids", field=field)
    return tuple(dict.fromkeys(item.strip() for item in value))


@dataclass(frozen=True)
class Vendor:
    vendor_id: str
    name: str
    active: bool
    country: str
    currency: str
    version: int

    @classmethod
    def create(cls, data: dict[str, Any]) -> Vendor:
        return cls(
            vendor_id=fields.required_text("vendor_id", data.get("vendor_id"), max_length=255),
            name=fields.required_text("name", data.get("name"), max_length=200),
            active=fields.boolean("active", data.get("active")),
            country=fields.country("country", data.get("country")),
            currency=currency("currency", data.get("currency")),
            version=fields.version("version", data.get("version")),
        )


def sellable(available_quantity: int | None, reserved_quantity: int) -> int | None:
    """What customers can still buy: the inventory count less what placed orders hold beyond it
    (docs/inventory.md); None when the product has no count (unlimited)."""
    if available_quantity is None:
        return None
    return max(0, available_quantity - reserved_quantity)


@dataclass(frozen=True)
class Product:
    product_id: str
    vendor_id: str
    sku: str
    name: str
    price: Money
    active: bool
    available_quantity: int | None
    min_quantity: int
    max_quantity: int | None
    attributes: dict[str, Any]
    version: int
    as_of: datetime | None = None  # when the inventory system counted `available_quantity`
    # Units placed orders hold that the count does not include (docs/inventory.md); kept by the
    # OMS, never sent upstream.
    reserved_quantity: int = 0

    @property
    def sellable_quantity(self) -> int | None:
        return sellable(self.available_quantity, self.reserved_quantity)

    @classmethod
    def create(cls, data: dict[str, Any]) -> Product:
        minimum = quantity("min_quantity", data.get("min_quantity"), default=1, minimum=1)
        maximum = quantity("max_quantity", data.get("max_quantity"), minimum=1)
        if maximum is not None and maximum < minimum:
            raise SnapshotInvalid("must not be below min_quantity", field="max_quantity")
        attributes = data.get("attributes")
        if attributes is None:
            attributes = {}
        if not isinstance(attributes, dict):
            raise SnapshotInvalid("must be an object", field="attributes")
        return cls(
            product_id=fields.required_text("product_id", data.get("product_id"), max_length=255),
            vendor_id=fields.required_text("vendor_id", data.get("vendor_id"), max_length=255),
            sku=fields.required_text("sku", data.get("sku"), max_length=100),
            name=fields.required_text("name", data.get("name"), max_length=300),
            price=money("price", data.get("price")),
            active=fields.boolean("active", data.get("active")),
            available_quantity=quantity("available_quantity", data.get("available_quantity")),
            min_quantity=minimum,
            max_quantity=maximum,
            attributes=attributes,
            version=fields.version("version", data.get("version")),
            as_of=moment("as_of", data.get("as_of")),
        )


@dataclass(frozen=True)
class Coupon:
    code: str
    vendor_id: str  # "" = tenant-wide
    kind: str  # percent | fixed
    value: Decimal
    currency: str  # required for fixed coupons
    min_subtotal: Money | None
    valid_from: datetime | None
    valid_until: datetime | None
    usage_limit: int | None
    active: bool
    version: int

    @classmethod
    def create(cls, data: dict[str, Any]) -> Coupon:
        kind = data.get("kind")
        if kind not in ("percent", "fixed"):
            raise SnapshotInvalid("must be percent or fixed", field="kind")
        value = decimal("value", data.get("value"), positive=True)
        if kind == "percent" and value > 100:
            raise SnapshotInvalid("a percentage must be at most 100", field="value")
        code_currency = "" if data.get("currency") in (None, "") else currency("currency", data.get("currency"))
        if kind == "fixed" and not code_currency:
            raise SnapshotInvalid("is required for a fixed coupon", field="currency")
        start, end = window(data.get("valid_from"), data.get("valid_until"))
        return cls(
            code=fields.required_text("code", data.get("code"), max_length=64).upper(),
            vendor_id=fields.optional_text("vendor_id", data.get("vendor_id"), max_length=255),
            kind=kind,
            value=value,
            currency=code_currency,
            min_subtotal=money("min_subtotal", data.get("min_subtotal"), required=False),
            valid_from=start,
            valid_until=end,
            usage_limit=quantity("usage_limit", data.get("usage_limit"), minimum=1),
            active=fields.boolean("active", data.get("active")),
            version=fields.version("version", data.get("version")),
        )


@dataclass(frozen=True)
class Offer:
    offer_id: str
    vendor_id: str
    kind: str  # percent_off | fixed_off | free_shipping
    value: Decimal | None
    product_ids: tuple[str, ...]  # empty = every product of the vendor
    min_quantity: int
    valid_from: datetime | None
    valid_until: datetime | None
    priority: int
    active: bool
    version: int

    @classmethod
    def create(cls, data: dict[str, Any]) -> Offer:
        kind = data.get("kind")
        if kind not in ("percent_off", "fixed_off", "free_shipping"):
            raise SnapshotInvalid("must be percent_off, fixed_off or free_shipping", field="kind")
        value = decimal("value", data.get("value"), required=kind != "free_shipping", positive=True)
        if kind == "percent_off" and value > 100:
            raise SnapshotInvalid("a percentage must be at most 100", field="value")
        priority = data.get("priority", 0)
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise SnapshotInvalid("must be an integer", field="priority")
        if abs(priority) > fields.MAX_COUNT:
            raise SnapshotInvalid(f"must be between -{fields.MAX_COUNT} and {fields.MAX_COUNT}", field="priority")
        start, end = window(data.get("valid_from"), data.get("valid_until"))
        return cls(
            offer_id=fields.required_text("offer_id", data.get("offer_id"), max_length=255),
            vendor_id=fields.required_text("vendor_id", data.get("vendor_id"), max_length=255),
            kind=kind,
            value=None if kind == "free_shipping" else value,
            product_ids=text_list("product_ids", data.get("product_ids")),
            min_quantity=quantity("min_quantity", data.get("min_quantity"), default=1, minimum=1),
            valid_from=start,
            valid_until=end,
            priority=priority,
            active=fields.boolean("active", data.get("active")),
            version=fields.version("version", data.get("version")),
        )


@dataclass(frozen=True)
class ShippingOption:
    option_id: str
    vendor_id: str
    name: str
    carrier: str
    base_cost: Money
    per_item_cost: Money | None
    free_over: Money | None
    countries: tuple[str, ...]
    delivery_days: int | None
    active: bool
    version: int

    @classmethod
    def create(cls, data: dict[str, Any]) -> ShippingOption:
        base = money("base_cost", data.get("base_cost"))
        per_item = money("per_item_cost", data.get("per_item_cost"), required=False)
        free_over = money("free_over", data.get("free_over"), required=False)
        for field, amount in (("per_item_cost", per_item), ("free_over", free_over)):
            if amount is not None and amount.currency != base.currency:
                raise SnapshotInvalid("must be the currency of base_cost", field=f"{field}.currency")
        raw_countries = data.get("countries")
        if not isinstance(raw_countries, list) or not raw_countries:
            raise SnapshotInvalid("must be a non-empty list of country codes", field="countries")
        countries = tuple(dict.fromkeys(fields.country(f"countries[{i}]", c) for i, c in enumerate(raw_countries)))
        return cls(
            option_id=fields.required_text("option_id", data.get("option_id"), max_length=255),
            vendor_id=fields.required_text("vendor_id", data.get("vendor_id"), max_length=255),
            name=fields.required_text("name", data.get("name"), max_length=200),
            carrier=fields.required_text("carrier", data.get("carrier"), max_length=100),
            base_cost=base,
            per_item_cost=per_item,
            free_over=free_over,
            countries=countries,
            delivery_days=quantity("delivery_days", data.get("delivery_days")),
            active=fields.boolean("active", data.get("active")),
            version=fields.version("version", data.get("version")),
        )


MAX_TAX_RATE = Decimal(100)


def tax_key(vendor_id: str, country: str) -> str:
    """A vendor's tax option for one destination country is one snapshot."""
    return f"{vendor_id}:{country}"


@dataclass(frozen=True)
class TaxOption:
    """A vendor's tax for goods sent to one country: `rate` percent, included in its prices
    (`inclusive`) or added on top."""

    tax_key: str
    vendor_id: str
    country: str
    rate: Decimal
    inclusive: bool
    active: bool
    version: int

    @classmethod
    def create(cls, data: dict[str, Any]) -> TaxOption:
        vendor_id = fields.required_text("vendor_id", data.get("vendor_id"), max_length=200)
        country = fields.country("country", data.get("country"))
        rate = decimal("rate", data.get("rate"))
        if rate > MAX_TAX_RATE:
            raise SnapshotInvalid("must be a percentage from 0 to 100", field="rate")
        return cls(
            tax_key=tax_key(vendor_id, country),
            vendor_id=vendor_id,
            country=country,
            rate=rate,
            inclusive=fields.boolean("inclusive", data.get("inclusive")),
            active=fields.boolean("active", data.get("active"), default=True),
            version=fields.version("version", data.get("version")),
        )

    @staticmethod
    def key_of(data: dict[str, Any]) -> str:
        return tax_key(
            fields.required_text("vendor_id", data.get("vendor_id"), max_length=200),
            fields.country("country", data.get("country")),
        )


@dataclass(frozen=True)
class PaymentOption:
    """A way to pay a vendor accepts (`vendor_id` empty: every vendor of the tenant)."""

    option_id: str
    vendor_id: str
    method: str
    name: str
    active: bool
    version: int

    @classmethod
    def create(cls, data: dict[str, Any]) -> PaymentOption:
        return cls(
            option_id=fields.required_text("option_id", data.get("option_id"), max_length=255),
            vendor_id=fields.optional_text("vendor_id", data.get("vendor_id"), max_length=255),
            method=fields.required_text("method", data.get("method"), max_length=40),
            name=fields.required_text("name", data.get("name"), max_length=200),
            active=fields.boolean("active", data.get("active")),
            version=fields.version("version", data.get("version")),
        )
