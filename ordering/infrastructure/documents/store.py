"""Issued invoices and credit notes (`ordering_invoice`), their gapless counters, and the
tenant's document settings (`Invoices`, `TenantDocuments` in ordering/application/ports.py)."""

from __future__ import annotations

import uuid

from django.db import connection

from oms_project.kernel.tenancy import tenant_model
from ordering.domain.documents import InvoiceDocument, Party

from .. import models

NEXT_SEQUENCE_SQL = (
    "INSERT INTO ordering_invoice_counter (tenant_id, kind, last_number) VALUES (%s, %s, 1) "
    "ON CONFLICT (tenant_id, kind) DO UPDATE SET last_number = ordering_invoice_counter.last_number + 1 "
    "RETURNING last_number"
)


class OrmInvoices:
    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id

    def of_order(self, order_id: str) -> list[InvoiceDocument]:
        # A credit note and the invoice replacing it share their instant: the credit note first.
        rows = models.Invoice.objects.filter(tenant_id=self.tenant_id, order_id=order_id).order_by(
            "issued_at", "kind", "sequence"
        )
        return [InvoiceDocument.from_json(document) for document in rows.values_list("document", flat=True)]

    def next_sequence(self, kind: str) -> int:
        with connection.cursor() as cursor:
            cursor.execute(NEXT_SEQUENCE_SQL, [self.tenant_id, kind])
            return int(cursor.fetchone()[0])

    def add(self, document: InvoiceDocument) -> None:
        credits = None
        if document.credits_number:
            credits = (
                models.Invoice.objects.filter(tenant_id=self.tenant_id, number=document.credits_number)
                .values_list("id", flat=True)
                .get()
            )
        models.Invoice.objects.create(
            id=uuid.uuid4(),
            tenant_id=self.tenant_id,
            sequence=document.sequence,
            number=document.number,
            kind=document.kind,
            order_id=document.order_id,
            order_revision=document.order_revision,
            credits=credits,
            currency=document.currency,
            total=document.total,
            issued_at=document.issued_at,
            document=document.to_json(),
        )

    def by_number(self, number: str) -> InvoiceDocument | None:
        document = (
            models.Invoice.objects.filter(tenant_id=self.tenant_id, number=number)
            .values_list("document", flat=True)
            .first()
        )
        return InvoiceDocument.from_json(document) if document is not None else None


class OrmTenantDocuments:
    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id
        self._row: tuple[str, str, str] | None = None

    def _settings(self) -> tuple[str, str, str]:
        if self._row is None:
            row = (
                tenant_model()
                .objects.filter(pk=self.tenant_id)
                .values_list("name", "seller_details", "language")
                .first()
            )
            self._row = row or (self.tenant_id, "", "")
        return self._row

    def seller(self) -> Party:
        name, details, _ = self._settings()
        lines = [line.strip() for line in details.splitlines() if line.strip()]
        if not lines:
            return Party(name or self.tenant_id)
        return Party(lines[0], tuple(lines[1:]))

    def language(self) -> str:
        return self._settings()[2]
