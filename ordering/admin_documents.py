"""The order admin's downloads: exports of the order list and documents as PDF (docs/admin.md).

- **Export** (a button over the order list): the orders the list shows with its current filters
  and search, as CSV or XLSX, one row per order or per line, through the same use case as
  `manage.py export_orders`. Up to OMS_EXPORT_INLINE_ORDERS orders download at once; more run in
  the background (a thread of the serving process, reading in the tenant's transaction like any
  admin page) and are listed under "Order exports" with a download link when done, for
  OMS_EXPORT_KEEP_HOURS. A process that stops mid-export leaves it RUNNING, shown INTERRUPTED
  once OMS_EXPORT_MAX_SECONDS have passed (infrastructure/export_files.py).
  Tenant staff export their tenant; an operator filters the list by one tenant first.
- **Documents**: the order page has an invoice button (a POST: the first one issues the invoice)
  and a packing-slip link per shipment, and the
  list's actions put the invoices or packing slips of the selected orders into one PDF. An
  invoice is issued by the first request as `invoice(orderId)` does (docs/documents.md).
"""

from __future__ import annotations

import io
import threading
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from typing import IO

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import close_old_connections, connection, transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from identity.domain.principal import Principal
from oms_project.kernel.admin_scope import admin_scope_of
from oms_project.kernel.errors import CodedError
from oms_project.kernel.tenancy import row_level_security_enabled, tenant_transaction
from ordering.application import commands as c
from ordering.application.exports import ExportOrders, export_orders
from ordering.application.handlers import documents as handlers
from ordering.domain.documents import InvoiceDocument, PackingSlip

from .admin_principal import admin_principal
from .api.documents import pdf_response
from .infrastructure.documents import pdf
from .infrastructure.documents.store import OrmTenantDocuments
from .infrastructure.export_files import export_dir
from .infrastructure.models import Order, OrderExport
from .infrastructure.order_sheet import OrmOrderSheet
from .infrastructure.spreadsheets import CsvRows, XlsxRows
from .infrastructure.unit_of_work import DjangoUnitOfWork

THREAD = "order-export"
FORMATS = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class ExportForm(forms.Form):
    format = forms.ChoiceField(choices=[("csv", "CSV"), ("xlsx", "Excel (XLSX)")], initial="csv")
    lines = forms.BooleanField(required=False, label="One row per order line")


def write_export(tenant_id: str, principal: Principal, base, fmt: str, lines: bool, stream: IO[bytes]) -> int:
    """Write the orders of `base` (a queryset of the tenant's orders) to `stream`; how many."""
    uow = DjangoUnitOfWork(tenant_id)
    uow.sheet = OrmOrderSheet(tenant_id, base=base)
    text = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=True) if fmt == "csv" else None
    writer: CsvRows | XlsxRows = CsvRows(text) if text is not None else XlsxRows(stream)
    count = export_orders(principal, ExportOrders(lines=lines), uow, writer)
    writer.close()
    if text is not None:
        text.detach()  # leave `stream` open for the caller
    return count


def run_in_background(job: Callable[[], None]) -> None:
    """Where a large export runs: a daemon thread of this process (tests run it inline)."""
    threading.Thread(target=job, name=THREAD, daemon=True).start()


def _finish(export_id: uuid.UUID, tenant_id: str, **values) -> bool:
    """Record how the export ended; False when its row is gone (deleted while it ran)."""
    with tenant_transaction(tenant_id) if row_level_security_enabled() else nullcontext():
        return bool(
            OrderExport.objects.filter(pk=export_id, tenant_id=tenant_id, status=OrderExport.RUNNING).update(
                finished_at=timezone.now(), **values
            )
        )


def background_export(export: OrderExport, principal: Principal, base) -> Callable[[], None]:
    def job() -> None:
        own_thread = threading.current_thread().name == THREAD
        if own_thread:
            close_old_connections()
        target = export_dir() / export.file_name
        try:
            with open(target, "wb") as stream:
                count = write_export(export.tenant_id, principal, base, export.format, export.lines, stream)
        except Exception as error:  # reported on the export's row; the thread must not die silently
            target.unlink(missing_ok=True)
            _finish(export.pk, export.tenant_id, status=OrderExport.FAILED, error=str(error)[:500])
        else:
            if not _finish(export.pk, export.tenant_id, status=OrderExport.DONE, orders=count):
                target.unlink(missing_ok=True)  # nobody can download it: no copy of personal data stays
        finally:
            if own_thread:
                connection.close()  # the thread's own connection

    return job


class OrderDocumentsMixin:
    """The order admin's export view, document views and PDF actions (mixed into OrderAdmin)."""

    admin_site: admin.AdminSite
    model: type[Order]

    def document_urls(self) -> list:
        from django.urls import path

        wrap = self.admin_site.admin_view  # type: ignore[attr-defined]
        return [
            path("export/", wrap(self.export_view), name="ordering_order_export"),
            path("<uuid:order_id>/invoice.pdf", wrap(self.invoice_view), name="ordering_order_invoice"),
            path(
                "<uuid:order_id>/packing-slip/<uuid:shipment_id>.pdf",
                wrap(self.packing_slip_view),
                name="ordering_order_packing_slip",
            ),
        ]

    # -- export ------------------------------------------------------------------------------

    def _export_tenant(self, request: HttpRequest) -> str | None:
        scope = admin_scope_of(request.user)
        if scope.tenant_id is not None:
            return scope.tenant_id
        return request.GET.get("tenant__id__exact") or None

    def export_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):  # type: ignore[attr-defined]
            raise Http404("not found")
        changelist = reverse("admin:ordering_order_changelist")
        tenant_id = self._export_tenant(request)
        if tenant_id is None:
            self.message_user(  # type: ignore[attr-defined]
                request, "Filter the list by one tenant, then export.", messages.ERROR
            )
            return HttpResponseRedirect(f"{changelist}?{request.GET.urlencode()}")
        cl = self.get_changelist_instance(request)  # type: ignore[attr-defined]
        base = cl.get_queryset(request)
        matching = base.count()
        form = ExportForm(request.POST if request.method == "POST" else None)
        if not (form.is_bound and form.is_valid()):
            context = {
                **self.admin_site.each_context(request),
                "title": "Export orders",
                "opts": self.model._meta,
                "form": form,
                "matching": matching,
                "inline_limit": settings.OMS_EXPORT_INLINE_ORDERS,
                "query": request.GET.urlencode(),
            }
            return TemplateResponse(request, "admin/ordering/order/export.html", context)
        fmt, lines = form.cleaned_data["format"], form.cleaned_data["lines"]
        principal = admin_principal(request, tenant_id)
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        if matching <= settings.OMS_EXPORT_INLINE_ORDERS:  # small enough to hold in memory
            buffer = io.BytesIO()
            write_export(tenant_id, principal, base, fmt, lines, buffer)
            response = HttpResponse(buffer.getvalue(), content_type=FORMATS[fmt])
            response["Content-Disposition"] = f'attachment; filename="orders-{tenant_id}-{stamp}.{fmt}"'
            return response
        export = OrderExport.objects.create(
            tenant_id=tenant_id,
            requested_by=principal.user_id,
            format=fmt,
            lines=lines,
            query=request.GET.urlencode()[:2000],
        )
        export.file_name = f"orders-{tenant_id}-{stamp}-{str(export.pk)[:8]}.{fmt}"
        export.save(update_fields=["file_name"])
        # The thread starts once the export's row is committed (an admin request is one
        # transaction): it updates that row when it finishes.
        job = background_export(export, principal, base)
        transaction.on_commit(lambda: run_in_background(job))
        url = reverse("admin:ordering_orderexport_changelist")
        self.message_user(  # type: ignore[attr-defined]
            request,
            f"The export of {matching} orders runs in the background; download it from Order exports ({url}) "
            "when it is done.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(url)

    # -- documents ---------------------------------------------------------------------------

    def _order(self, request: HttpRequest, order_id: uuid.UUID) -> Order:
        order = self.get_queryset(request).filter(pk=order_id).first()  # type: ignore[attr-defined]
        if order is None or not self.has_view_permission(request, order):  # type: ignore[attr-defined]
            raise Http404("not found")
        return order

    def _pdf(self, documents: list, tenant_id: str, name: str) -> HttpResponse:
        return pdf_response(pdf.render(documents, OrmTenantDocuments(tenant_id).language()), name, download=True)

    def _invoice(self, request: HttpRequest, order: Order) -> InvoiceDocument:
        return handlers.issue_invoice(
            admin_principal(request, order.tenant_id), c.IssueInvoice(str(order.pk)), DjangoUnitOfWork(order.tenant_id)
        )

    def _slips(self, request: HttpRequest, order: Order) -> list[PackingSlip]:
        return handlers.packing_slips(
            admin_principal(request, order.tenant_id),
            c.DrawPackingSlips(str(order.pk)),
            DjangoUnitOfWork(order.tenant_id),
        )

    def invoice_view(self, request: HttpRequest, order_id: uuid.UUID) -> HttpResponse:
        """POST only: the first request issues the invoice (admin GET pages may read a replica)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        order = self._order(request, order_id)
        try:
            invoice = self._invoice(request, order)
        except CodedError as error:
            self.message_user(request, f"{order}: {error.code}: {error.message}", messages.ERROR)  # type: ignore[attr-defined]
            return HttpResponseRedirect(reverse("admin:ordering_order_change", args=[order.pk]))
        return self._pdf([invoice], order.tenant_id, f"{invoice.number}.pdf")

    def packing_slip_view(self, request: HttpRequest, order_id: uuid.UUID, shipment_id: uuid.UUID) -> HttpResponse:
        order = self._order(request, order_id)
        principal = admin_principal(request, order.tenant_id)
        try:
            slip = handlers.packing_slip(
                principal, c.DrawPackingSlip(str(shipment_id)), DjangoUnitOfWork(order.tenant_id)
            )
        except CodedError as error:
            raise Http404("not found") from error
        if slip.order_id != str(order.pk):
            raise Http404("not found")
        return self._pdf([slip], order.tenant_id, f"packing-slip-{slip.order_number}.pdf")

    def _documents_action(self, request: HttpRequest, queryset, kind: str) -> HttpResponse | None:
        documents: list = []
        refused: list[str] = []
        tenants = set()
        for order in queryset.order_by("created_at", "id"):
            tenants.add(order.tenant_id)
            try:
                documents += [self._invoice(request, order)] if kind == "invoices" else self._slips(request, order)
            except CodedError as error:
                refused.append(f"{order} ({error.code}: {error.message})")
        if refused:
            self.message_user(request, f"Left out: {'; '.join(refused)}.", messages.WARNING)  # type: ignore[attr-defined]
        if not documents:
            self.message_user(request, f"No {kind.replace('_', ' ')} to print.", messages.ERROR)  # type: ignore[attr-defined]
            return None
        language = OrmTenantDocuments(next(iter(tenants))).language() if len(tenants) == 1 else ""
        name = f"{kind}-{timezone.now():%Y%m%d-%H%M%S}.pdf"
        return pdf_response(pdf.render(documents, language), name, download=True)

    @admin.action(description="Invoices of the selected orders (one PDF)", permissions=["view"])
    def print_invoices(self, request, queryset):
        return self._documents_action(request, queryset, "invoices")

    @admin.action(description="Packing slips of the selected orders (one PDF)", permissions=["view"])
    def print_packing_slips(self, request, queryset):
        return self._documents_action(request, queryset, "packing_slips")
