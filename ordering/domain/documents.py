"""Invoices, credit notes and packing slips (docs/documents.md).

An invoice is drawn from an order as it stands and, once issued, never changes: it has a number
of its own (gapless per tenant and kind, given by the issuing transaction) and keeps the order's
amounts exactly, so its totals match the order's to the cent. When the order changes after that
(an amendment: a new revision) the invoice is credited by a credit note, which repeats it with
every amount negated, and a new invoice is drawn; a cancelled order's invoice is credited and
none follows. `plan` says which of these a request for an order's invoice leads to.

A packing slip is drawn from one shipment: it has no number and no amounts, and is drawn again
each time it is asked for.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from .errors import Invalid, NotFound
from .lifecycle import OrderStatus
from .order_state import OrderState

INVOICE, CREDIT_NOTE = "INVOICE", "CREDIT_NOTE"  # the kinds of issued document
PREFIXES = {INVOICE: "INV", CREDIT_NOTE: "CN"}


class DocumentNotAvailable(Invalid):
    code = "DOCUMENT_NOT_AVAILABLE"


def document_number(kind: str, sequence: int) -> str:
    return f"{PREFIXES[kind]}-{sequence:06d}"


@dataclass(frozen=True)
class Party:
    name: str
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class InvoiceLine:
    sku: str
    description: str
    vendor_id: str
    quantity: int
    unit_price: Decimal
    subtotal: Decimal
    discount: Decimal
    net: Decimal  # subtotal - discount
    tax_rate: Decimal  # percent
    tax_inclusive: bool
    tax: Decimal


@dataclass(frozen=True)
class TaxRate:
    """The tax of the lines taxed at one rate: `base` is their net, `tax` the sum of their taxes
    (each line's tax rounded as the order rounded it)."""

    rate: Decimal
    inclusive: bool
    base: Decimal
    tax: Decimal


@dataclass(frozen=True)
class Charge:
    """A coupon's discount or a vendor's shipping, by name."""

    name: str
    amount: Decimal


@dataclass(frozen=True)
class PaymentLine:
    method: str
    reference: str
    amount: Decimal
    paid_at: datetime | None


@dataclass(frozen=True)
class InvoiceDocument:
    kind: str
    number: str
    sequence: int
    issued_at: datetime
    order_id: str
    order_number: str
    order_revision: int
    placed_at: datetime | None
    currency: str
    seller: Party
    buyer: Party
    lines: tuple[InvoiceLine, ...]
    coupons: tuple[Charge, ...]
    shipping: tuple[Charge, ...]
    taxes: tuple[TaxRate, ...]
    subtotal: Decimal
    discount_total: Decimal
    shipping_total: Decimal
    tax_total: Decimal
    total: Decimal
    payment: PaymentLine | None = None
    credits_number: str | None = None  # a credit note: the invoice it credits

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = _jsonable(dataclasses.asdict(self))
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InvoiceDocument:
        d = dict(data)
        d["issued_at"] = datetime.fromisoformat(d["issued_at"])
        d["placed_at"] = datetime.fromisoformat(d["placed_at"]) if d.get("placed_at") else None
        d["seller"] = Party(d["seller"]["name"], tuple(d["seller"]["lines"]))
        d["buyer"] = Party(d["buyer"]["name"], tuple(d["buyer"]["lines"]))
        d["lines"] = tuple(
            InvoiceLine(**{**line, **{k: Decimal(line[k]) for k in _LINE_AMOUNTS}}) for line in d["lines"]
        )
        d["coupons"] = tuple(Charge(c["name"], Decimal(c["amount"])) for c in d["coupons"])
        d["shipping"] = tuple(Charge(c["name"], Decimal(c["amount"])) for c in d["shipping"])
        d["taxes"] = tuple(
            TaxRate(Decimal(t["rate"]), t["inclusive"], Decimal(t["base"]), Decimal(t["tax"])) for t in d["taxes"]
        )
        for key in _TOTALS:
            d[key] = Decimal(d[key])
        if d.get("payment"):
            p = d["payment"]
            d["payment"] = PaymentLine(
                p["method"],
                p["reference"],
                Decimal(p["amount"]),
                datetime.fromisoformat(p["paid_at"]) if p["paid_at"] else None,
            )
        return cls(**d)


_LINE_AMOUNTS = ("unit_price", "subtotal", "discount", "net", "tax_rate", "tax")
_TOTALS = ("subtotal", "discount_total", "shipping_total", "tax_total", "total")


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def buyer_of(order: OrderState) -> Party:
    customer, address = order.customer, order.shipping_address
    name = " ".join(part for part in (customer.first_name, customer.last_name) if part) or customer.email
    lines = [address.line1, address.line2, " ".join(p for p in (address.postal_code, address.city) if p)]
    lines += [address.state, address.country, customer.email]
    return Party(name, tuple(line for line in lines if line))


def draw_invoice(order: OrderState, seller: Party, sequence: int, issued_at: datetime) -> InvoiceDocument:
    """The invoice of `order` as it stands, numbered `sequence`. Its totals are the order's; the
    taxes per rate add up to the order's tax total (checked: a mismatch is a bug, not an input)."""
    if order.status in (OrderStatus.DRAFT, OrderStatus.CANCELLED):
        raise DocumentNotAvailable(f"a {order.status.value.lower()} order has no invoice", field="orderId")
    subtotal, discount, shipping, tax_total, total = (
        order.subtotal,
        order.discount_total,
        order.shipping_total,
        order.tax_total,
        order.total,
    )
    assert subtotal is not None and discount is not None and shipping is not None
    assert tax_total is not None and total is not None, "a placed order is priced"
    lines = tuple(
        InvoiceLine(
            sku=line.sku,
            description=line.product_name,
            vendor_id=line.vendor_id,
            quantity=line.quantity,
            unit_price=line.unit_price.amount,
            subtotal=line.subtotal.amount,
            discount=line.discount.amount,
            net=line.total.amount,
            tax_rate=line.tax_rate,
            tax_inclusive=line.tax_inclusive,
            tax=line.tax.amount,
        )
        for line in order.lines
    )
    rates: dict[tuple[Decimal, bool], tuple[Decimal, Decimal]] = {}
    for line in lines:
        base, tax = rates.get((line.tax_rate, line.tax_inclusive), (Decimal(0), Decimal(0)))
        rates[(line.tax_rate, line.tax_inclusive)] = (base + line.net, tax + line.tax)
    taxes = tuple(TaxRate(rate, inclusive, base, tax) for (rate, inclusive), (base, tax) in sorted(rates.items()))
    if sum((t.tax for t in taxes), Decimal(0)) != tax_total.amount:
        raise AssertionError(f"the taxes per rate do not add up to the order's tax total ({order.order_id})")
    payment = None
    if order.payment is not None:
        payment = PaymentLine(
            order.payment.method, order.payment.reference, order.payment.amount.amount, order.payment.paid_at
        )
    return InvoiceDocument(
        kind=INVOICE,
        number=document_number(INVOICE, sequence),
        sequence=sequence,
        issued_at=issued_at,
        order_id=order.order_id,
        order_number=order.number or "",
        order_revision=order.revision,
        placed_at=order.placed_at,
        currency=order.currency,
        seller=seller,
        buyer=buyer_of(order),
        lines=lines,
        coupons=tuple(Charge(c.code, c.discount.amount) for c in order.coupons),
        shipping=tuple(Charge(s.name or s.vendor_id, s.cost.amount) for s in order.shipping),
        taxes=taxes,
        subtotal=subtotal.amount,
        discount_total=discount.amount,
        shipping_total=shipping.amount,
        tax_total=tax_total.amount,
        total=total.amount,
        payment=payment,
    )


def credit_note(invoice: InvoiceDocument, sequence: int, issued_at: datetime) -> InvoiceDocument:
    """The credit note cancelling `invoice`: the same content, every amount negated."""

    def minus(value: Decimal) -> Decimal:
        return -value if value else value

    return dataclasses.replace(
        invoice,
        kind=CREDIT_NOTE,
        number=document_number(CREDIT_NOTE, sequence),
        sequence=sequence,
        issued_at=issued_at,
        lines=tuple(
            dataclasses.replace(
                line,
                quantity=-line.quantity,
                subtotal=minus(line.subtotal),
                discount=minus(line.discount),
                net=minus(line.net),
                tax=minus(line.tax),
            )
            for line in invoice.lines
        ),
        coupons=tuple(Charge(c.name, minus(c.amount)) for c in invoice.coupons),
        shipping=tuple(Charge(c.name, minus(c.amount)) for c in invoice.shipping),
        taxes=tuple(dataclasses.replace(t, base=minus(t.base), tax=minus(t.tax)) for t in invoice.taxes),
        subtotal=minus(invoice.subtotal),
        discount_total=minus(invoice.discount_total),
        shipping_total=minus(invoice.shipping_total),
        tax_total=minus(invoice.tax_total),
        total=minus(invoice.total),
        payment=None,
        credits_number=invoice.number,
    )


@dataclass(frozen=True)
class Plan:
    """What a request for an order's invoice does: credit `credit` (an invoice no longer right),
    draw a new invoice (`draw`), and answer with the document the caller gets: the new invoice,
    else the credit note, else `answer` (an issued document still right)."""

    credit: InvoiceDocument | None = None
    draw: bool = False
    answer: InvoiceDocument | None = None


def plan(order: OrderState, issued: list[InvoiceDocument]) -> Plan:
    """`issued`: the order's invoices and credit notes, oldest first."""
    credited = {doc.credits_number for doc in issued if doc.kind == CREDIT_NOTE}
    live = next((d for d in reversed(issued) if d.kind == INVOICE and d.number not in credited), None)
    if order.status is OrderStatus.CANCELLED:
        if live is not None:
            return Plan(credit=live)
        if issued:
            return Plan(answer=issued[-1])
        raise DocumentNotAvailable("the order was cancelled before it was invoiced", field="orderId")
    if order.status is OrderStatus.DRAFT:
        raise DocumentNotAvailable("a draft has no invoice; place the order first", field="orderId")
    if live is not None and live.order_revision == order.revision:
        return Plan(answer=live)
    return Plan(credit=live, draw=True)


# -- packing slips ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SlipLine:
    sku: str
    description: str
    quantity: int


@dataclass(frozen=True)
class PackingSlip:
    order_id: str
    order_number: str
    shipment_id: str
    vendor_id: str
    sender: Party
    ship_to: Party
    carrier: str
    tracking_number: str
    created_at: datetime | None
    lines: tuple[SlipLine, ...]


def draw_packing_slip(order: OrderState, shipment_id: str, sender: Party) -> PackingSlip:
    shipment = next((s for s in order.shipments if s.shipment_id == shipment_id), None)
    if shipment is None:
        raise NotFound("no such shipment on this order", field="shipmentId")
    by_id = {line.line_id: line for line in order.lines}
    buyer = buyer_of(order)
    return PackingSlip(
        order_id=order.order_id,
        order_number=order.number or "",
        shipment_id=shipment.shipment_id,
        vendor_id=shipment.vendor_id,
        sender=sender,
        ship_to=Party(buyer.name, tuple(line for line in buyer.lines if line != order.customer.email)),
        carrier=shipment.carrier,
        tracking_number=shipment.tracking_number,
        created_at=shipment.created_at or shipment.shipped_at,
        lines=tuple(
            SlipLine(by_id[item.line_id].sku, by_id[item.line_id].product_name, item.quantity)
            for item in shipment.lines
            if item.line_id in by_id
        ),
    )
