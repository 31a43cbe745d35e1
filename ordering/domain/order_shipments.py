"""An order's shipments: packing lines, handing them to carriers, carriers' updates, and the
order status that follows from them (docs/after-sale.md). A shipment carries one vendor's lines;
the quantities in shipments that are not cancelled or failed are taken."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any

from . import events as ev
from . import lifecycle
from .errors import Invalid, InvalidTransition, NotFound
from .fulfilment import (
    ALLOCATING,
    WITH_CARRIER,
    Shipment,
    ShipmentLine,
    ShipmentStatus,
    require_shipment_transition,
)
from .lifecycle import OrderStatus
from .order_lines import OrderLine
from .order_rules import (
    MAX_CARRIER,
    MAX_NOTE,
    MAX_REASON,
    MAX_TRACKING,
    new_id,
    positive_quantity,
    required_text,
    shipment_data,
)
from .order_state import OrderState


class OrderShipments(OrderState):
    """Methods of `Order` (ordering/domain/order.py), kept here by subject."""

    def ship(
        self,
        *,
        carrier: str,
        tracking_number: str,
        lines: list[ShipmentLine] | None,
        vendor_scope: str | None,
        actor: str,
        now: datetime,
        shipment_id: str | None = None,
    ) -> Shipment:
        """Pack and hand lines to a carrier in one step (`shipOrder`). `vendor_scope` limits what
        the caller may ship to one vendor's lines."""
        lifecycle.require("ship", self.status)
        self._require_not_held("ship")
        carrier = required_text(carrier, "carrier", MAX_CARRIER)
        tracking_number = required_text(tracking_number, "tracking_number", MAX_TRACKING)
        shipment = self._new_shipment(
            lines, vendor_scope, now, shipment_id, ShipmentStatus.SHIPPED, carrier, tracking_number
        )
        self._shipments_changed(
            ev.ORDER_SHIPPED,
            actor,
            now,
            f"shipped by {carrier}, tracking {tracking_number}",
            {"shipment": shipment_data(shipment)},
        )
        return shipment

    def add_shipment(
        self,
        *,
        lines: list[ShipmentLine] | None,
        vendor_scope: str | None,
        actor: str,
        now: datetime,
        shipment_id: str | None = None,
    ) -> Shipment:
        """A PENDING shipment: its quantities are taken, nothing is with a carrier yet."""
        lifecycle.require("add_shipment", self.status)
        self._require_not_held("add a shipment to")
        shipment = self._new_shipment(lines, vendor_scope, now, shipment_id, ShipmentStatus.PENDING, "", "")
        self._shipments_changed(
            ev.ORDER_SHIPMENT_ADDED,
            actor,
            now,
            f"shipment {shipment.shipment_id} packed",
            {"shipment": shipment_data(shipment)},
        )
        return shipment

    def add_tracking_reference(
        self,
        shipment_id: str,
        *,
        carrier: str,
        tracking_number: str,
        vendor_scope: str | None,
        actor: str,
        now: datetime,
    ) -> Shipment:
        """Hand a PENDING shipment to its carrier: PENDING -> SHIPPED."""
        shipment = self._shipment(shipment_id, vendor_scope)
        self._require_not_held("ship")
        carrier = required_text(carrier, "carrier", MAX_CARRIER)
        tracking_number = required_text(tracking_number, "tracking_number", MAX_TRACKING)
        require_shipment_transition(shipment.status, ShipmentStatus.SHIPPED)
        shipped = self._replace_shipment(
            shipment,
            status=ShipmentStatus.SHIPPED,
            carrier=carrier,
            tracking_number=tracking_number,
            shipped_at=now,
            updated_at=now,
        )
        self._shipments_changed(
            ev.ORDER_SHIPPED,
            actor,
            now,
            f"shipped by {carrier}, tracking {tracking_number}",
            {"shipment": shipment_data(shipped)},
        )
        return shipped

    def cancel_shipment(
        self, shipment_id: str, *, reason: str, vendor_scope: str | None, actor: str, now: datetime
    ) -> Shipment:
        """Cancel a shipment that has not shipped: its quantities can ship again."""
        shipment = self._shipment(shipment_id, vendor_scope)
        reason = required_text(reason, "reason", MAX_REASON)
        if shipment.status is not ShipmentStatus.PENDING:
            raise InvalidTransition(
                f"only a PENDING shipment can be cancelled; this one is {shipment.status.value}", field="shipment_id"
            )
        cancelled = self._replace_shipment(shipment, status=ShipmentStatus.CANCELLED, updated_at=now)
        self._shipments_changed(
            ev.ORDER_SHIPMENT_CANCELLED,
            actor,
            now,
            f"shipment {shipment_id} cancelled: {reason}",
            {"shipment": shipment_data(cancelled), "reason": reason},
        )
        return cancelled

    def track(
        self, shipment_id: str, *, status: ShipmentStatus, at: datetime, detail: str, actor: str, now: datetime
    ) -> bool:
        """A carrier's tracking update. False (nothing changes) when it is not newer than the last
        one the shipment has; a move its state does not allow is refused."""
        shipment = self._shipment(shipment_id, None)
        if shipment.updated_at is not None and at <= shipment.updated_at:
            return False
        require_shipment_transition(shipment.status, status)
        updated = self._replace_shipment(shipment, status=status, updated_at=at)
        note = f"carrier {shipment.carrier}: {status.value} ({shipment.tracking_number})"
        if detail:
            note = f"{note}: {detail}"[:MAX_NOTE]
        self._shipments_changed(
            ev.ORDER_SHIPMENT_UPDATED, actor, now, note, {"shipment": shipment_data(updated), "detail": detail or None}
        )
        return True

    def _shipment(self, shipment_id: str, vendor_scope: str | None) -> Shipment:
        for shipment in self.shipments:
            if shipment.shipment_id == shipment_id and vendor_scope in (None, shipment.vendor_id):
                return shipment
        raise NotFound("no such shipment on this order", field="shipment_id")

    def _replace_shipment(self, shipment: Shipment, **changes: Any) -> Shipment:
        updated = dataclasses.replace(shipment, **changes)
        self.shipments = [updated if s.shipment_id == shipment.shipment_id else s for s in self.shipments]
        return updated

    def _new_shipment(
        self,
        lines: list[ShipmentLine] | None,
        vendor_scope: str | None,
        now: datetime,
        shipment_id: str | None,
        status: ShipmentStatus,
        carrier: str,
        tracking: str,
    ) -> Shipment:
        chosen = self._shipment_lines(lines, vendor_scope)
        by_id = {line.line_id: line for line in self.lines}
        vendors = {by_id[item.line_id].vendor_id for item in chosen}
        if len(vendors) > 1:
            raise Invalid("a shipment carries one vendor's lines; ship each vendor's lines separately", field="lines")
        shipped_at = now if status is ShipmentStatus.SHIPPED else None
        shipment = Shipment(
            shipment_id or new_id(), vendors.pop(), carrier, tracking, tuple(chosen), shipped_at, status, now, now
        )
        self.shipments.append(shipment)
        return shipment

    def allocatable(self, line: OrderLine) -> int:
        """What of a line is in no shipment yet (cancelled and failed shipments give theirs back)."""
        taken = sum(s.quantity_of(line.line_id) for s in self.shipments if s.status in ALLOCATING)
        return line.quantity - taken

    def _shipment_lines(self, lines: list[ShipmentLine] | None, vendor_scope: str | None) -> list[ShipmentLine]:
        mine = [line for line in self.lines if vendor_scope is None or line.vendor_id == vendor_scope]
        if lines is None:
            chosen = [ShipmentLine(line.line_id, self.allocatable(line)) for line in mine if self.allocatable(line)]
            if not chosen:
                raise Invalid("there is nothing left to ship", field="lines")
            if len({line.vendor_id for line in mine if self.allocatable(line) > 0}) > 1:
                raise Invalid("the unshipped lines belong to several vendors; name the lines of one", field="lines")
            return chosen
        if not lines:
            raise Invalid("name at least one line, or leave lines out to ship all of yours", field="lines")
        visible = {line.line_id: line for line in mine}
        seen: set[str] = set()
        for index, item in enumerate(lines):
            line = visible.get(item.line_id)
            if line is None:
                raise NotFound("no such line on this order", field=f"lines[{index}].line_id")
            if item.line_id in seen:
                raise Invalid("each line appears once", field=f"lines[{index}].line_id")
            seen.add(item.line_id)
            positive_quantity(item.quantity, f"lines[{index}].quantity")
            left = self.allocatable(line)
            if item.quantity > left:
                raise Invalid(f"only {left} left to ship on this line", field=f"lines[{index}].quantity")
        return list(lines)

    def _follow_shipments(self) -> OrderStatus:
        """The status the shipments give: quantities with a carrier or delivered count as shipped;
        the order is DELIVERED once everything shipped and every such shipment is delivered."""
        carried = [s for s in self.shipments if s.status in WITH_CARRIER]
        for line in self.lines:
            line.shipped_quantity = sum(s.quantity_of(line.line_id) for s in carried)
        if self.status not in (OrderStatus.CONFIRMED, OrderStatus.PARTIALLY_SHIPPED, OrderStatus.SHIPPED):
            return self.status
        if all(line.unshipped == 0 for line in self.lines):
            if all(s.status is ShipmentStatus.DELIVERED for s in carried):
                return OrderStatus.DELIVERED
            return OrderStatus.SHIPPED
        if any(line.shipped_quantity for line in self.lines):
            return OrderStatus.PARTIALLY_SHIPPED
        return OrderStatus.CONFIRMED

    def _shipments_changed(self, event_type: str, actor: str, now: datetime, note: str, data: dict[str, Any]) -> None:
        source = self.status
        target = self._follow_shipments()
        delivered_now = target is OrderStatus.DELIVERED and source is not OrderStatus.DELIVERED
        if delivered_now:
            self.delivered_at = now
        self._record(actor, now, target, note)
        self._raise(event_type, actor, now, {"from_status": source.value, "to_status": target.value, **data})
        if delivered_now:
            self._raise(ev.ORDER_DELIVERED, actor, now, {"from_status": source.value, "to_status": target.value})
        if source is not target:
            self._raise(ev.ORDER_STATUS_CHANGED, actor, now, {"from_status": source.value, "to_status": target.value})
