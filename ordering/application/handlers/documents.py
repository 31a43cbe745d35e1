"""Invoices, credit notes and packing slips (docs/documents.md).

`issue_invoice` answers with the order's invoice: the one already issued while it is still right,
else (the first time, or after an amendment) a new one, crediting the one it replaces; for a
cancelled order, the credit note. The order is locked for it, so two requests at once issue one
invoice. Numbers come from the tenant's counter in the same transaction: gapless.

Staff get any order's documents. A vendor gets the packing slips of its own shipments, and the
invoice of an order whose every line is its own (an invoice of several vendors' lines would show
it the others' amounts). Anyone else, and an order or shipment the caller may not see, gets
`NOT_FOUND`.
"""

from __future__ import annotations

from identity.domain.principal import Principal
from ordering.domain import access
from ordering.domain import documents as docs
from ordering.domain.errors import OrderNotFound
from ordering.domain.order import Order

from .. import commands as c
from ..ports import UnitOfWork


def _visible(order: Order | None, principal: Principal) -> Order:
    if order is None or not access.can_see(order, principal):
        raise OrderNotFound("no such order", field="orderId")
    return order


def issue_invoice(principal: Principal, command: c.IssueInvoice, uow: UnitOfWork) -> docs.InvoiceDocument:
    with uow:
        order = _visible(uow.orders.get(command.order_id, lock=True), principal)
        if not (principal.is_staff or access.sells_all_of(order, principal)):
            raise OrderNotFound("no such order", field="orderId")
        plan = docs.plan(order, uow.invoices.of_order(order.order_id))
        answer = plan.answer
        now = uow.now()
        if plan.credit is not None:
            answer = docs.credit_note(plan.credit, uow.invoices.next_sequence(docs.CREDIT_NOTE), now)
            uow.invoices.add(answer)
        if plan.draw:
            answer = docs.draw_invoice(order, uow.documents.seller(), uow.invoices.next_sequence(docs.INVOICE), now)
            uow.invoices.add(answer)
        uow.commit()
    assert answer is not None
    return answer


def packing_slip(principal: Principal, command: c.DrawPackingSlip, uow: UnitOfWork) -> docs.PackingSlip:
    with uow:
        order_id = uow.shipments.order_of(command.shipment_id)
        order = uow.orders.get(order_id, lock=False) if order_id else None
        if order is None or not access.can_see(order, principal):
            raise OrderNotFound("no such shipment", field="shipmentId")
        slip = docs.draw_packing_slip(order, command.shipment_id, uow.documents.seller())
        if not (principal.is_staff or (principal.is_vendor and slip.vendor_id == principal.vendor_id)):
            raise OrderNotFound("no such shipment", field="shipmentId")
    return slip


def packing_slips(principal: Principal, command: c.DrawPackingSlips, uow: UnitOfWork) -> list[docs.PackingSlip]:
    """Every packing slip of the order the caller may see (one load of the order): staff get all
    of them, a vendor its own shipments'."""
    with uow:
        order = _visible(uow.orders.get(command.order_id, lock=False), principal)
        seller = uow.documents.seller()
    return [
        docs.draw_packing_slip(order, shipment.shipment_id, seller)
        for shipment in order.shipments
        if principal.is_staff or (principal.is_vendor and shipment.vendor_id == principal.vendor_id)
    ]


def issued_document(principal: Principal, number: str, uow: UnitOfWork) -> docs.InvoiceDocument:
    """An issued invoice or credit note by its number (staff: a download link's reader)."""
    if not principal.is_staff:
        raise OrderNotFound("no such document", field="number")
    with uow:
        document = uow.invoices.by_number(number)
    if document is None:
        raise OrderNotFound("no such document", field="number")
    return document
