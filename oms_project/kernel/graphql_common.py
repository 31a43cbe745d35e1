"""GraphQL pieces every app's API shares: the error code enum and the payload error type."""

from __future__ import annotations

from typing import Protocol

import graphene


class ErrorCode(graphene.Enum):
    """Stable codes of payload errors (api.md, "Mutations"). Clients branch on these."""

    NOT_FOUND = "NOT_FOUND"
    INVALID = "INVALID"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    CONFLICT = "CONFLICT"
    OUT_OF_STOCK = "OUT_OF_STOCK"
    PRODUCT_UNAVAILABLE = "PRODUCT_UNAVAILABLE"
    VENDOR_UNAVAILABLE = "VENDOR_UNAVAILABLE"
    QUANTITY_LIMIT = "QUANTITY_LIMIT"
    COUPON_INVALID = "COUPON_INVALID"
    COUPON_EXHAUSTED = "COUPON_EXHAUSTED"
    SHIPPING_OPTION_UNAVAILABLE = "SHIPPING_OPTION_UNAVAILABLE"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    PAYMENT_MISMATCH = "PAYMENT_MISMATCH"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    ORDER_ON_HOLD = "ORDER_ON_HOLD"
    REVIEW_REQUIRED = "REVIEW_REQUIRED"
    RETURN_WINDOW_CLOSED = "RETURN_WINDOW_CLOSED"
    REFUND_EXCEEDS_PAID = "REFUND_EXCEEDS_PAID"
    PAYMENT_OPTION_UNAVAILABLE = "PAYMENT_OPTION_UNAVAILABLE"
    PRICE_CHANGED = "PRICE_CHANGED"
    TOTAL_MISMATCH = "TOTAL_MISMATCH"


class UserError(graphene.ObjectType):
    """Why a mutation did not do what was asked. Nothing was written when one is returned."""

    field = graphene.String(description="Input field at fault (camelCase path), if any.")
    code = graphene.Field(ErrorCode, required=True)
    message = graphene.String(required=True)


class CodedError(Protocol):
    code: str
    message: str


def to_camel_path(path: str | None, renames: dict[str, str] | None = None) -> str | None:
    """`addresses[0].postal_code` -> `addresses[0].postalCode`: errors name GraphQL inputs.

    `renames` maps a domain field name to the input's name where the two differ
    (`address_id` -> `id`).
    """
    if not path:
        return None
    parts = []
    for part in path.split("."):
        name, bracket, index = part.partition("[")
        part = (renames or {}).get(name, name) + bracket + index
        head, *rest = part.split("_")
        parts.append(head + "".join(word[:1].upper() + word[1:] for word in rest))
    return ".".join(parts)


def user_error(error: CodedError, renames: dict[str, str] | None = None) -> UserError:
    return UserError(
        field=to_camel_path(getattr(error, "field", None), renames),
        code=error.code,
        message=error.message,
    )


# A postal address as the API takes it (customers' address books, orders' destinations). A comment,
# not a docstring: graphene would publish a docstring as the type's description in the schema.
class AddressInput(graphene.InputObjectType):
    line1 = graphene.String(required=True)
    line2 = graphene.String()
    city = graphene.String(required=True)
    state = graphene.String()
    postal_code = graphene.String(required=True)
    country = graphene.String(required=True, description="ISO 3166-1 alpha-2.")
