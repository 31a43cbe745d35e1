"""A tenant's order workflow settings (issue 7), synced by `tenant_workflow.upserted` or set in
Django admin: whether placed orders wait for a review before confirmation, and how long a
customer may ask for a return after delivery. A tenant without settings gets the defaults."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from . import fields
from .catalog import decimal, quantity
from .errors import SnapshotInvalid

DEFAULT_RETURN_WINDOW_DAYS = 30
MAX_RETURN_WINDOW_DAYS = 3650
WORKFLOW_KEY = "default"  # one workflow per tenant


@dataclass(frozen=True)
class TenantWorkflow:
    review_required: bool = False
    review_min_total: Decimal | None = None  # review only orders at or above this total (in any currency)
    return_window_days: int = DEFAULT_RETURN_WINDOW_DAYS
    version: int = 0
    workflow_key: str = WORKFLOW_KEY

    @classmethod
    def create(cls, data: dict[str, Any]) -> TenantWorkflow:
        window = quantity(
            "return_window_days", data.get("return_window_days"), default=DEFAULT_RETURN_WINDOW_DAYS, minimum=0
        )
        if window > MAX_RETURN_WINDOW_DAYS:
            raise SnapshotInvalid(f"must be at most {MAX_RETURN_WINDOW_DAYS}", field="return_window_days")
        return cls(
            review_required=fields.boolean("review_required", data.get("review_required"), default=False),
            review_min_total=decimal("review_min_total", data.get("review_min_total"), required=False),
            return_window_days=window,
            version=fields.version("version", data.get("version")),
        )

    def reviews(self, total: Decimal) -> bool:
        """Whether an order with this total waits for a review before confirmation."""
        return self.review_required and (self.review_min_total is None or total >= self.review_min_total)
