"""Reading a product's stock (docs/inventory.md): staff see every product's, a vendor its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from identity.domain.principal import Principal
from oms_project.kernel.errors import CodedError


class StockForbidden(CodedError):
    code = "FORBIDDEN"

    def __init__(self, message: str = "only staff and vendors can read stock") -> None:
        super().__init__(message)


def product_stock(principal: Principal, product_id: str, stock_of: Callable[[str, str], Any]) -> Any:
    """The product's available, reserved and sellable quantities, or None when there is no such
    product the caller may see (another vendor's product reads as absent)."""
    if not (principal.is_staff or principal.is_vendor):
        raise StockForbidden()
    if not isinstance(product_id, str) or not product_id.strip() or len(product_id) > 255:
        return None
    stock = stock_of(principal.tenant_id, product_id.strip())
    if stock is None or not (principal.is_staff or stock.vendor_id == principal.vendor_id):
        return None
    return stock
