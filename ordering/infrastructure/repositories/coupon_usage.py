"""Coupon uses counted at placement against each coupon's limit."""

from __future__ import annotations

from django.db.models import F

from ordering.domain.errors import CouponExhausted

from .. import models


class OrmCouponUsage:
    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id

    def redeem(self, code: str, limit: int | None, *, field: str) -> None:
        """Count one use; refuse if that would pass `limit`. One conditional UPDATE, so two
        concurrent placements cannot both take the last use (the second waits on the row lock,
        then re-reads `used`)."""
        models.CouponUsage.objects.bulk_create(
            [models.CouponUsage(tenant_id=self.tenant_id, code=code, used=0)], ignore_conflicts=True
        )
        rows = models.CouponUsage.objects.filter(tenant_id=self.tenant_id, code=code)
        if limit is not None:
            rows = rows.filter(used__lt=limit)
        if rows.update(used=F("used") + 1) != 1:
            raise CouponExhausted(f"coupon {code} has been used up", field=field)


# The tenant's next number: its counter row created at 1 or incremented, row-locked until commit.
