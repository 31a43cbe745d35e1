"""Order numbers: one counter per tenant, drawn in the placing transaction."""

from __future__ import annotations

from oms_project.kernel import prepared

from ..write_batch import WriteBatch

NEXT_NUMBER_SQL = (
    "INSERT INTO ordering_number_counter (tenant_id, last_number) VALUES (%s, 1) "
    "ON CONFLICT (tenant_id) DO UPDATE SET last_number = ordering_number_counter.last_number + 1 "
    "RETURNING CAST(1000 + last_number AS TEXT) AS value"
)


class OrmOrderNumbers:
    def __init__(self, tenant_id: str, writes: WriteBatch) -> None:
        self.tenant_id = tenant_id
        self.writes = writes

    def next_number(self) -> str:
        """The tenant's next number, taken under the counter's row lock until commit: concurrent
        placements queue on it, and a rolled-back placement gives its number back.

        On PostgreSQL the number is drawn in the unit of work's write batch (`late_value`): the
        order carries a placeholder until the batch's statement takes the number and writes it
        into the order's row, its search text and its events, so the counter stays locked only
        from that statement to the commit. `OrmOrderRepository.settle_late_values` then gives the
        order its number."""
        return self.writes.late_value(NEXT_NUMBER_SQL, (self.tenant_id,), self._draw_now)

    def _draw_now(self) -> str:
        with prepared.cursor() as cursor:
            cursor.execute(NEXT_NUMBER_SQL, [self.tenant_id])
            return cursor.fetchone()[0]
