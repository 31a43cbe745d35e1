"""Documents as PDF: the download links' view (`/documents/<token>`) and the GraphQL queries
`invoice(orderId)` and `packingSlip(shipmentId)` that hand out those links (api.md, "Documents")."""

from __future__ import annotations

import graphene
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from identity.domain.principal import Principal, Role
from oms_project.kernel.errors import http_status
from oms_project.kernel.graphql_common import top_level_error
from oms_project.kernel.tenancy import tenant_transaction
from ordering.application import commands as c
from ordering.application.handlers import documents as handlers
from ordering.domain.documents import InvoiceDocument
from ordering.domain.errors import OrderingError
from ordering.infrastructure.documents import links, pdf
from ordering.infrastructure.documents.store import OrmTenantDocuments
from ordering.infrastructure.unit_of_work import DjangoUnitOfWork


def pdf_response(body: bytes, filename: str, *, download: bool) -> HttpResponse:
    response = HttpResponse(body, content_type="application/pdf")
    disposition = "attachment" if download else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _gone() -> HttpResponse:
    return HttpResponse(
        "This link is not valid or has expired.", status=http_status("NOT_FOUND"), content_type="text/plain"
    )


@require_GET
def download_document(request: HttpRequest, token: str) -> HttpResponse:
    """The document a link names, while the link is fresh; 404 otherwise (forged, altered, expired
    or gone: the answer does not say which)."""
    target = links.read_link(token)
    if target is None:
        return _gone()
    reader = Principal(user_id="document-link", tenant_id=target.tenant_id, roles=frozenset({Role.STAFF}))
    with tenant_transaction(target.tenant_id):
        language = OrmTenantDocuments(target.tenant_id).language()
        try:
            if target.kind == links.INVOICE:
                document = handlers.issued_document(reader, target.key, DjangoUnitOfWork(target.tenant_id))
                body, name = pdf.render([document], language), f"{document.number}.pdf"
            else:
                slip = handlers.packing_slip(reader, c.DrawPackingSlip(target.key), DjangoUnitOfWork(target.tenant_id))
                body, name = pdf.render([slip], language), f"packing-slip-{slip.order_number}.pdf"
        except OrderingError:
            return _gone()
    return pdf_response(body, name, download=False)


class DocumentKind(graphene.Enum):
    INVOICE = "INVOICE"
    CREDIT_NOTE = "CREDIT_NOTE"
    PACKING_SLIP = "PACKING_SLIP"


class DocumentLink(graphene.ObjectType):
    url = graphene.String(required=True, description="Download the PDF here (GET, no token needed) until expiresAt.")
    expires_at = graphene.DateTime(required=True)
    kind = graphene.Field(DocumentKind, required=True)
    number = graphene.String(description="The invoice's or credit note's number; null for a packing slip.")


def _link(info, kind: str, key: str, document_kind: str, number: str | None) -> dict:
    link = links.make_link(info.context.principal.tenant_id, kind, key)
    return {
        "url": info.context.request.build_absolute_uri(link.path),
        "expires_at": link.expires_at,
        "kind": document_kind,
        "number": number,
    }


class DocumentsQuery(graphene.ObjectType):
    invoice = graphene.Field(
        DocumentLink,
        required=True,
        order_id=graphene.ID(required=True),
        description="A short-lived link to the order's invoice as PDF, issued on the first request and kept "
        "unchanged; after an amendment the old one is credited and a new one issued; a cancelled order's is "
        "its credit note (staff; a vendor for orders with only its lines; docs/documents.md).",
    )
    packing_slip = graphene.Field(
        DocumentLink,
        required=True,
        shipment_id=graphene.ID(required=True),
        description="A short-lived link to the shipment's packing slip as PDF (staff; the shipment's vendor).",
    )

    def resolve_invoice(root, info, order_id):
        principal = info.context.principal
        try:
            document: InvoiceDocument = handlers.issue_invoice(
                principal, c.IssueInvoice(order_id), DjangoUnitOfWork(principal.tenant_id)
            )
        except OrderingError as error:
            raise top_level_error(error, with_field=True) from error
        return _link(info, links.INVOICE, document.number, document.kind, document.number)

    def resolve_packing_slip(root, info, shipment_id):
        principal = info.context.principal
        try:
            slip = handlers.packing_slip(
                principal, c.DrawPackingSlip(shipment_id), DjangoUnitOfWork(principal.tenant_id)
            )
        except OrderingError as error:
            raise top_level_error(error, with_field=True) from error
        return _link(info, links.PACKING_SLIP, slip.shipment_id, "PACKING_SLIP", None)
