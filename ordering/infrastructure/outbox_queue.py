"""The outbox as the relay reads it: which tenants have events waiting, taken round-robin.

Fair share (docs/production.md): the relay's fan-out (webhooks) and its publisher (the event
stream) each serve the tenants with events waiting in turn, an equal quota each, starting after
the tenant they served last. One tenant's backlog, however large, never stands in front of
another tenant's next event.
"""

from __future__ import annotations

from django.db import connection

from .models import OutboxEvent

# The tenants with events waiting, in tenant order after `after`: a skip scan of the partial
# index on (tenant, position) (ordering migration 0016), one index probe per tenant.
_WAITING_SQL = """
WITH RECURSIVE waiting (tenant_id) AS (
    (SELECT tenant_id FROM ordering_outbox_event WHERE {column} IS NULL AND tenant_id > %(after)s
      ORDER BY tenant_id LIMIT 1)
    UNION ALL
    SELECT (SELECT o.tenant_id FROM ordering_outbox_event AS o
             WHERE o.{column} IS NULL AND o.tenant_id > waiting.tenant_id ORDER BY o.tenant_id LIMIT 1)
      FROM waiting WHERE waiting.tenant_id IS NOT NULL
)
SELECT tenant_id FROM waiting WHERE tenant_id IS NOT NULL LIMIT %(tenants)s
"""
STAGES = {"fan_out": "dispatched_at", "stream": "published_at"}  # the column each stage fills in


def tenants_waiting(stage: str, after: str, limit: int) -> list[str]:
    """Up to `limit` tenants with events `stage` has not handled, in tenant order after `after`."""
    column = STAGES[stage]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_WAITING_SQL.format(column=column), {"after": after, "tenants": limit})
            return [row[0] for row in cursor.fetchall()]
    return list(
        OutboxEvent.objects.filter(**{f"{column}__isnull": True, "tenant_id__gt": after})
        .order_by("tenant_id")
        .values_list("tenant_id", flat=True)
        .distinct()[:limit]
    )


class RoundRobin:
    """Which tenants the next batch of a stage serves: up to `limit`, from the one after the
    tenant the previous batch served last, around again from the first."""

    def __init__(self, stage: str, limit: int = 64) -> None:
        self.stage = stage
        self.limit = limit
        self.last = ""

    def next_tenants(self) -> list[str]:
        tenants = tenants_waiting(self.stage, self.last, self.limit)
        if len(tenants) < self.limit and self.last:
            tenants += [
                t
                for t in tenants_waiting(self.stage, "", self.limit - len(tenants))
                if t <= self.last and t not in tenants
            ]
        if tenants:
            self.last = tenants[-1]
        return tenants


def quota(limit: int, tenants: list[str]) -> int:
    """Each tenant's equal part of a batch of `limit` events."""
    return max(1, -(-limit // len(tenants)))
