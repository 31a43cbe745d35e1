"""Amounts shown to people: admin pages, reports and log lines. The one home of money formatting.

Babel's CLDR data rounds an amount to its currency's minor units and puts the currency's symbol
where the locale of `LANGUAGE_CODE` puts it: `$39.00`, `¥3,900`, `€12.50`. A currency the
locale has no symbol for shows its code (`CHF5.00`). The GraphQL API and the events keep their
decimal strings: this is for reading, never for parsing.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from babel import Locale
from babel.numbers import format_currency
from django.conf import settings

EMPTY = "-"


@cache
def _locale(language_code: str) -> Locale:
    return Locale.parse(language_code.replace("-", "_"))


def money(amount: Any, currency: str | None) -> str:
    """`amount` in `currency` for a person to read; "-" when there is no amount."""
    if amount is None or amount == "":
        return EMPTY
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    if not currency:
        return format(value.normalize(), "f")
    return format_currency(value, currency, locale=_locale(settings.LANGUAGE_CODE))


def admin_money(field: str, currency: str = "currency", *, description: str | None = None) -> Callable[..., str]:
    """A read-only admin column or field showing model field `field` as money in the currency
    that `currency` names (a field of the row, or a dotted path such as "order.currency")."""
    from django.contrib import admin

    @admin.display(description=description or field.replace("_amount", "").replace("_", " "), ordering=field)
    def show(self: object, obj: object) -> str:
        code: Any = obj
        for part in currency.split("."):
            code = getattr(code, part, None)
        return money(getattr(obj, field), code)

    show.__name__ = f"{field}_money"
    return show
