"""Invoices, credit notes and packing slips as PDF (fpdf2), in the tenant's language.

Labels come in the languages of `LABELS` (English for any other); amounts and dates are
formatted by Babel for the tenant's locale (`Tenant.language`, else LANGUAGE_CODE), so `de-CH`
prints Swiss numbers with German labels. Text is set in DejaVu Sans (Debian's fonts-dejavu-core,
`OMS_DOCUMENT_FONT_DIR`), which covers Latin, Greek and Cyrillic; where it is missing the PDF
core font Helvetica is used and characters outside Latin-1 print as "?". A packing slip carries
the order number as a QR code (segno), drawn as vector squares. Several documents go into one
PDF, each starting on a new page.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

import segno
from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from django.conf import settings
from fpdf import FPDF

from ordering.domain.documents import CREDIT_NOTE, InvoiceDocument, PackingSlip

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "invoice": "Invoice",
        "credit_note": "Credit note",
        "packing_slip": "Packing slip",
        "number": "Number",
        "date": "Date",
        "order": "Order",
        "placed": "Placed",
        "credits": "Credits invoice",
        "seller": "Seller",
        "sender": "From",
        "buyer": "Bill to",
        "ship_to": "Ship to",
        "vendor": "Vendor",
        "sku": "SKU",
        "item": "Item",
        "qty": "Qty",
        "unit_price": "Unit price",
        "discount": "Discount",
        "tax": "Tax",
        "amount": "Amount",
        "subtotal": "Subtotal",
        "discounts": "Discounts",
        "coupon": "Coupon",
        "shipping": "Shipping",
        "taxes": "Taxes",
        "tax_rate": "Tax at {rate}% on {base}",
        "tax_included": "(included)",
        "total": "Total",
        "payment": "Payment",
        "paid": "Paid {amount} by {method} ({reference}) on {date}",
        "unpaid": "Not paid yet",
        "carrier": "Carrier",
        "tracking": "Tracking",
        "shipment": "Shipment",
    },
    "de": {
        "invoice": "Rechnung",
        "credit_note": "Gutschrift",
        "packing_slip": "Lieferschein",
        "number": "Nummer",
        "date": "Datum",
        "order": "Bestellung",
        "placed": "Bestellt",
        "credits": "Storniert Rechnung",
        "seller": "Verkäufer",
        "sender": "Absender",
        "buyer": "Rechnungsempfänger",
        "ship_to": "Lieferadresse",
        "vendor": "Händler",
        "sku": "Art.-Nr.",
        "item": "Artikel",
        "qty": "Menge",
        "unit_price": "Einzelpreis",
        "discount": "Rabatt",
        "tax": "MwSt.",
        "amount": "Betrag",
        "subtotal": "Zwischensumme",
        "discounts": "Rabatte",
        "coupon": "Gutschein",
        "shipping": "Versand",
        "taxes": "Steuern",
        "tax_rate": "MwSt. {rate} % auf {base}",
        "tax_included": "(enthalten)",
        "total": "Gesamt",
        "payment": "Zahlung",
        "paid": "{amount} bezahlt per {method} ({reference}) am {date}",
        "unpaid": "Noch nicht bezahlt",
        "carrier": "Versanddienst",
        "tracking": "Sendungsnummer",
        "shipment": "Sendung",
    },
    "fr": {
        "invoice": "Facture",
        "credit_note": "Avoir",
        "packing_slip": "Bon de livraison",
        "number": "Numéro",
        "date": "Date",
        "order": "Commande",
        "placed": "Passée le",
        "credits": "Annule la facture",
        "seller": "Vendeur",
        "sender": "Expéditeur",
        "buyer": "Facturé à",
        "ship_to": "Livré à",
        "vendor": "Vendeur",
        "sku": "Réf.",
        "item": "Article",
        "qty": "Qté",
        "unit_price": "Prix unitaire",
        "discount": "Remise",
        "tax": "TVA",
        "amount": "Montant",
        "subtotal": "Sous-total",
        "discounts": "Remises",
        "coupon": "Code promo",
        "shipping": "Livraison",
        "taxes": "Taxes",
        "tax_rate": "TVA {rate} % sur {base}",
        "tax_included": "(incluse)",
        "total": "Total",
        "payment": "Paiement",
        "paid": "{amount} payé par {method} ({reference}) le {date}",
        "unpaid": "Pas encore payé",
        "carrier": "Transporteur",
        "tracking": "Suivi",
        "shipment": "Envoi",
    },
    "es": {
        "invoice": "Factura",
        "credit_note": "Factura rectificativa",
        "packing_slip": "Albarán",
        "number": "Número",
        "date": "Fecha",
        "order": "Pedido",
        "placed": "Realizado",
        "credits": "Rectifica la factura",
        "seller": "Vendedor",
        "sender": "Remitente",
        "buyer": "Facturar a",
        "ship_to": "Enviar a",
        "vendor": "Vendedor",
        "sku": "Ref.",
        "item": "Artículo",
        "qty": "Cant.",
        "unit_price": "Precio unitario",
        "discount": "Descuento",
        "tax": "IVA",
        "amount": "Importe",
        "subtotal": "Subtotal",
        "discounts": "Descuentos",
        "coupon": "Cupón",
        "shipping": "Envío",
        "taxes": "Impuestos",
        "tax_rate": "IVA {rate} % sobre {base}",
        "tax_included": "(incluido)",
        "total": "Total",
        "payment": "Pago",
        "paid": "{amount} pagado con {method} ({reference}) el {date}",
        "unpaid": "Pendiente de pago",
        "carrier": "Transportista",
        "tracking": "Seguimiento",
        "shipment": "Envío",
    },
}


@cache
def _locale(language: str) -> Locale:
    try:
        return Locale.parse((language or settings.LANGUAGE_CODE).replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return Locale.parse("en")


class _Words:
    def __init__(self, language: str) -> None:
        self.locale = _locale(language)
        self.labels = LABELS.get(self.locale.language, LABELS["en"])

    def __getitem__(self, key: str) -> str:
        return self.labels[key]

    def money(self, amount: Decimal, currency: str) -> str:
        return format_currency(amount, currency, locale=self.locale)

    def rate(self, rate: Decimal) -> str:
        return format_decimal(rate.normalize(), locale=self.locale)

    def date(self, value: datetime | None) -> str:
        return format_date(value, format="medium", locale=self.locale) if value else "-"


FONT = "DejaVu"


@cache
def _font_dir() -> Path | None:
    directory = Path(getattr(settings, "OMS_DOCUMENT_FONT_DIR", "/usr/share/fonts/truetype/dejavu"))
    return directory if (directory / "DejaVuSans.ttf").exists() else None


class _Pdf(FPDF):
    def __init__(self) -> None:
        super().__init__(format="A4")
        self.set_auto_page_break(True, margin=18)
        self.set_margins(16, 16, 16)
        self.set_creator("OMS")
        directory = _font_dir()
        if directory is not None:
            self.add_font(FONT, "", str(directory / "DejaVuSans.ttf"))
            self.add_font(FONT, "B", str(directory / "DejaVuSans-Bold.ttf"))
            self.family = FONT
        else:
            self.family = "Helvetica"

    def text_of(self, value: str) -> str:
        if self.family == FONT:
            return value
        return value.encode("latin-1", "replace").decode("latin-1")

    def style(self, size: float, bold: bool = False) -> None:
        self.set_font(self.family, "B" if bold else "", size)

    def line_of(self, text: str, size: float = 9, bold: bool = False, height: float = 4.6, align: str = "L") -> None:
        self.style(size, bold)
        self.cell(0, height, self.text_of(text), new_x="LMARGIN", new_y="NEXT", align=align)

    def party(self, title: str, name: str, lines: Iterable[str], x: float, y: float, width: float) -> float:
        self.set_xy(x, y)
        self.style(8, True)
        self.cell(width, 4.5, self.text_of(title.upper()), new_x="LEFT", new_y="NEXT")
        self.style(10, True)
        self.cell(width, 5, self.text_of(name), new_x="LEFT", new_y="NEXT")
        self.style(9)
        for line in lines:
            self.cell(width, 4.5, self.text_of(line), new_x="LEFT", new_y="NEXT")
        return self.get_y()

    def qr(self, data: str, x: float, y: float, size: float) -> None:
        code = segno.make_qr(data, error="m")  # a full QR code (a micro one is too rare for scanners)
        matrix = list(code.matrix_iter(scale=1, border=0))
        module = size / len(matrix)
        self.set_fill_color(0, 0, 0)
        for row_index, row in enumerate(matrix):
            for column_index, dark in enumerate(row):
                if dark:
                    self.rect(x + column_index * module, y + row_index * module, module, module, style="F")


def _invoice_pages(pdf: _Pdf, doc: InvoiceDocument, language: str) -> None:
    w = _Words(language)
    pdf.add_page()
    title = w["credit_note"] if doc.kind == CREDIT_NOTE else w["invoice"]
    pdf.line_of(f"{title} {doc.number}", size=18, bold=True, height=9)
    facts = [(w["date"], w.date(doc.issued_at)), (w["order"], doc.order_number), (w["placed"], w.date(doc.placed_at))]
    if doc.credits_number:
        facts.append((w["credits"], doc.credits_number))
    for label, value in facts:
        pdf.line_of(f"{label}: {value}")
    top = pdf.get_y() + 4
    width = (pdf.w - pdf.l_margin - pdf.r_margin) / 2
    bottom = max(
        pdf.party(w["seller"], doc.seller.name, doc.seller.lines, pdf.l_margin, top, width - 4),
        pdf.party(w["buyer"], doc.buyer.name, doc.buyer.lines, pdf.l_margin + width, top, width),
    )
    pdf.set_xy(pdf.l_margin, bottom + 6)
    columns = (
        (w["sku"], 26, "L"),
        (w["item"], 58, "L"),
        (w["qty"], 12, "R"),
        (w["unit_price"], 24, "R"),
        (w["discount"], 20, "R"),
        (w["tax"], 14, "R"),
        (w["amount"], 24, "R"),
    )
    pdf.style(8, True)
    pdf.set_fill_color(235, 235, 235)
    for label, width_mm, align in columns:
        pdf.cell(width_mm, 6, pdf.text_of(label), border="B", align=align, fill=True)
    pdf.ln(6)
    pdf.style(8.5)
    for line in doc.lines:
        tax = f"{w.rate(line.tax_rate)}%" if line.tax_rate else "-"
        values = (
            line.sku,
            line.description[:44],
            str(line.quantity),
            w.money(line.unit_price, doc.currency),
            w.money(line.discount, doc.currency) if line.discount else "-",
            tax,
            w.money(line.net, doc.currency),
        )
        for (_, width_mm, align), value in zip(columns, values):
            pdf.cell(width_mm, 5.5, pdf.text_of(value), border="B", align=align)
        pdf.ln(5.5)
    pdf.ln(3)
    rows: list[tuple[str, str, bool]] = [(w["subtotal"], w.money(doc.subtotal, doc.currency), False)]
    if doc.discount_total:
        rows.append((w["discounts"], w.money(-doc.discount_total, doc.currency), False))
        rows += [(f"  {w['coupon']} {c.name}", w.money(-c.amount, doc.currency), False) for c in doc.coupons]
    rows.append((w["shipping"], w.money(doc.shipping_total, doc.currency), False))
    rows += [(f"  {c.name}", w.money(c.amount, doc.currency), False) for c in doc.shipping]
    for tax_rate in doc.taxes:
        if not tax_rate.rate and not tax_rate.tax:
            continue
        label = w["tax_rate"].format(rate=w.rate(tax_rate.rate), base=w.money(tax_rate.base, doc.currency))
        if tax_rate.inclusive:
            label += " " + w["tax_included"]
        rows.append((label, w.money(tax_rate.tax, doc.currency), False))
    rows.append((w["total"], w.money(doc.total, doc.currency), True))
    for label, value, bold in rows:
        pdf.style(10 if bold else 9, bold)
        pdf.set_x(pdf.w - pdf.r_margin - 110)
        pdf.cell(80, 6 if bold else 5, pdf.text_of(label), border="T" if bold else 0)
        pdf.cell(30, 6 if bold else 5, pdf.text_of(value), align="R", border="T" if bold else 0)
        pdf.ln(6 if bold else 5)
    pdf.ln(4)
    pdf.line_of(w["payment"], size=9, bold=True)
    if doc.payment is not None:
        pdf.line_of(
            w["paid"].format(
                amount=w.money(doc.payment.amount, doc.currency),
                method=doc.payment.method,
                reference=doc.payment.reference,
                date=w.date(doc.payment.paid_at),
            )
        )
    else:
        pdf.line_of(w["unpaid"])


def _slip_pages(pdf: _Pdf, slip: PackingSlip, language: str) -> None:
    w = _Words(language)
    pdf.add_page()
    pdf.line_of(f"{w['packing_slip']} {w['order']} {slip.order_number}", size=18, bold=True, height=9)
    pdf.line_of(f"{w['date']}: {w.date(slip.created_at)}")
    pdf.line_of(f"{w['vendor']}: {slip.vendor_id}")
    pdf.line_of(f"{w['shipment']}: {slip.shipment_id}")
    if slip.carrier or slip.tracking_number:
        pdf.line_of(f"{w['carrier']}: {slip.carrier or '-'}   {w['tracking']}: {slip.tracking_number or '-'}")
    size = 30
    pdf.qr(slip.order_number or slip.order_id, pdf.w - pdf.r_margin - size, pdf.t_margin, size)
    top = max(pdf.get_y(), pdf.t_margin + size) + 4
    width = (pdf.w - pdf.l_margin - pdf.r_margin) / 2
    bottom = max(
        pdf.party(w["sender"], slip.sender.name, slip.sender.lines, pdf.l_margin, top, width - 4),
        pdf.party(w["ship_to"], slip.ship_to.name, slip.ship_to.lines, pdf.l_margin + width, top, width),
    )
    pdf.set_xy(pdf.l_margin, bottom + 6)
    pdf.style(9, True)
    pdf.set_fill_color(235, 235, 235)
    pdf.cell(40, 7, pdf.text_of(w["sku"]), border="B", fill=True)
    pdf.cell(118, 7, pdf.text_of(w["item"]), border="B", fill=True)
    pdf.cell(20, 7, pdf.text_of(w["qty"]), border="B", align="R", fill=True)
    pdf.ln(7)
    pdf.style(10)
    for line in slip.lines:
        pdf.cell(40, 7, pdf.text_of(line.sku), border="B")
        pdf.cell(118, 7, pdf.text_of(line.description[:70]), border="B")
        pdf.cell(20, 7, str(line.quantity), border="B", align="R")
        pdf.ln(7)


def render(documents: Iterable[InvoiceDocument | PackingSlip], language: str) -> bytes:
    """One PDF with every document of `documents`, in order, each from a new page."""
    pdf = _Pdf()
    for document in documents:
        if isinstance(document, PackingSlip):
            _slip_pages(pdf, document, language)
            pdf.set_title(f"Packing slip {document.order_number}")
        else:
            _invoice_pages(pdf, document, language)
            pdf.set_title(document.number)
    if pdf.page_no() == 0:
        raise ValueError("no documents to render")
    return bytes(pdf.output())
