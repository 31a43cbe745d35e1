"""The outbox as its consumers read it (`ordering/application/outbox.py`), over the ORM and, on
PostgreSQL, hand-written SQL where an index does the work: the relay's fan-out and stream
publisher (webhooks) and the purge reach the outbox only through this adapter.
"""

from __future__ import annotations

import json
from datetime import datetime

from django.db import connection
from django.db.models import Count

from ordering.application.outbox import OutboxDocument, Stage, WaitingEvent

from .models import OutboxEvent

STAGES: dict[Stage, str] = {"fan_out": "dispatched_at", "stream": "published_at"}  # the column each fills in

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

# Handled events, locked tenant by tenant in position order first: the fan-out locks waiting
# events in that order too (webhooks' FAN_OUT_SQL), so the two stages cannot deadlock (an UPDATE
# alone locks in the order its scan finds rows, which after updates is not that order). Found by
# tenant and position.
_MARK_SQL = """
UPDATE ordering_outbox_event AS o SET {column} = %s
  FROM (SELECT tenant_id, position FROM ordering_outbox_event
         WHERE {column} IS NULL AND position = ANY(%s) ORDER BY tenant_id, position FOR UPDATE) AS chosen
 WHERE o.tenant_id = chosen.tenant_id AND o.position = chosen.position
"""

# The publisher's mark: published, and where the stream stored each event (position -> sequence),
# in one statement. The rows are found through the unpublished index (as _MARK_SQL's are): a
# position alone is not a key of the table, whose indexes all lead with the tenant.
_PUBLISHED_SQL = """
UPDATE ordering_outbox_event AS o SET published_at = %s, stream_sequence = chosen.sequence
  FROM (SELECT e.tenant_id, e.position, acked.sequence
          FROM ordering_outbox_event AS e
          JOIN unnest(%s::bigint[], %s::bigint[]) AS acked (position, sequence) ON acked.position = e.position
         WHERE e.published_at IS NULL
         ORDER BY e.tenant_id, e.position FOR UPDATE OF e) AS chosen
 WHERE o.tenant_id = chosen.tenant_id AND o.position = chosen.position
"""

_DOCUMENT_FIELDS = (
    "position",
    "event_id",
    "tenant_id",
    "type",
    "aggregate_id",
    "sequence",
    "occurred_at",
    "correlation_id",
    "data",
    "trace_parent",
)


# The stream's next events of one tenant: among its oldest `window` events not yet published, the
# first of each order, at most `limit` of them, whole, in position order (the port's rule). One
# statement whose plan does not hang on statistics (a table filled since its last ANALYZE): the
# window from the partial index, DISTINCT ON to keep each order's first, and the documents by
# primary key through an array; ids come as text, so no UUID objects are made only to be printed.
_FIRST_PER_ORDER_SQL = """
SELECT e.position, e.event_id::text, e.tenant_id, e.type, e.aggregate_id::text, e.sequence, e.occurred_at,
       e.correlation_id, e.data, e.trace_parent
  FROM ordering_outbox_event AS e
 WHERE e.tenant_id = %(tenant)s AND e.position = ANY(ARRAY(
        SELECT first.position
          FROM (SELECT DISTINCT ON (w.aggregate_id) w.position
                  FROM (SELECT position, aggregate_id FROM ordering_outbox_event
                         WHERE tenant_id = %(tenant)s AND {column} IS NULL ORDER BY position LIMIT %(window)s) AS w
                 ORDER BY w.aggregate_id, w.position) AS first
         ORDER BY first.position LIMIT %(limit)s))
 ORDER BY e.position
"""


class OrmOutboxFeed:
    def tenants_waiting(self, stage: Stage, after: str, limit: int) -> list[str]:
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

    def waiting(self, stage: Stage, tenant_id: str, limit: int) -> list[WaitingEvent]:
        rows = (
            OutboxEvent.objects.filter(tenant_id=tenant_id, **{f"{STAGES[stage]}__isnull": True})
            .order_by("position")
            .values_list("position", "tenant_id", "type", "aggregate_id", "sequence")[:limit]
        )
        return [
            WaitingEvent(position, tenant, event_type, str(aggregate_id), sequence)
            for position, tenant, event_type, aggregate_id, sequence in rows
        ]

    def first_per_order(self, stage: Stage, tenant_id: str, limit: int, window: int) -> list[OutboxDocument]:
        column = STAGES[stage]
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    _FIRST_PER_ORDER_SQL.format(column=column),
                    {"tenant": tenant_id, "window": window, "limit": limit},
                )
                rows = cursor.fetchall()
            return [OutboxDocument(*row[:8], json.loads(row[8]), row[9]) for row in rows]  # jsonb comes as text
        waiting = (
            OutboxEvent.objects.filter(tenant_id=tenant_id, **{f"{column}__isnull": True})
            .order_by("position")
            .values_list("position", "aggregate_id")[:window]
        )
        seen: set[object] = set()
        chosen = []
        for position, order_id in waiting:
            if order_id not in seen:
                seen.add(order_id)
                chosen.append(position)
        rows = (
            OutboxEvent.objects.filter(tenant_id=tenant_id, position__in=chosen[:limit])
            .order_by("position")
            .values_list(*_DOCUMENT_FIELDS)
        )
        return [
            OutboxDocument(
                position, str(event_id), tenant, event_type, str(aggregate_id), sequence, at, correlation, data, trace
            )
            for position, event_id, tenant, event_type, aggregate_id, sequence, at, correlation, data, trace in rows
        ]

    def mark(self, stage: Stage, positions: list[int], at: datetime, sequences: dict[int, int] | None = None) -> None:
        if not positions:
            return
        column = STAGES[stage]
        sequences = sequences or {}
        known = sorted(p for p in positions if p in sequences)
        if connection.vendor == "postgresql":
            rest = sorted(set(positions) - set(known))
            with connection.cursor() as cursor:
                if known:  # the stream's acknowledgements: published, with where it stored them
                    cursor.execute(_PUBLISHED_SQL, [at, known, [sequences[p] for p in known]])
                if rest:
                    cursor.execute(_MARK_SQL.format(column=column), [at, rest])
            return
        OutboxEvent.objects.filter(position__in=sorted(positions)).update(**{column: at})
        for position in known:
            OutboxEvent.objects.filter(position=position).update(stream_sequence=sequences[position])

    def stream_sequences(self, tenant_id: str, order_ids: list[str]) -> list[int]:
        rows = OutboxEvent.objects.filter(
            tenant_id=tenant_id, aggregate_id__in=order_ids, stream_sequence__isnull=False
        ).order_by("stream_sequence")
        return list(rows.values_list("stream_sequence", flat=True))

    def oldest_waiting(self, stage: Stage) -> datetime | None:
        return (
            OutboxEvent.objects.filter(**{f"{STAGES[stage]}__isnull": True})
            .order_by("position")
            .values_list("occurred_at", flat=True)
            .first()
        )

    def waiting_by_tenant(self, stage: Stage) -> list[tuple[str, int]]:
        rows = (
            OutboxEvent.objects.filter(**{f"{STAGES[stage]}__isnull": True})
            .order_by()
            .values("tenant_id")
            .annotate(n=Count("pk"))
            .values_list("tenant_id", "n")
        )
        return [(tenant, count) for tenant, count in rows]

    def handled_before(self, cutoff: datetime, stages: tuple[Stage, ...], limit: int, after: int = 0) -> list[int]:
        handled = {f"{STAGES[stage]}__isnull": False for stage in stages}
        return list(
            OutboxEvent.objects.filter(created_at__lt=cutoff, position__gt=after, **handled)
            .order_by("position")
            .values_list("position", flat=True)[:limit]
        )

    def delete(self, positions: list[int]) -> None:
        OutboxEvent.objects.filter(position__in=positions).delete()
