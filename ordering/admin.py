"""Orders in Django admin: staff look, search and filter; every field is read-only.

Changes go through the same application handlers as the API: the actions cancel, deliver and
complete run `lifecycle.cancel_order` / `deliver_order` / `complete_order` for each selected order
in its own unit of work, and the customer actions run `privacy.erase_customer` and
`privacy.export_customer` (docs/privacy.md), each as a staff principal of the order's tenant whose
user id is `admin:<username>` (so the order's history names the admin user). Refusals (an order in
the wrong state, say) are reported per order or customer and change nothing. The actions need the
`ordering.change_order` permission; looking needs `ordering.view_order`.
"""

from __future__ import annotations

from functools import reduce
from operator import or_

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count, Max, Q
from django.http import FileResponse, Http404, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from oms_project.kernel.admin_mixins import ReadOnlyAdminMixin, TenantScopedAdmin, TenantScopedInline
from oms_project.kernel.errors import CodedError
from oms_project.kernel.money_display import admin_money, money
from oms_project.kernel.observability import assign_request_id
from ordering.application import commands as c
from ordering.application.handlers import lifecycle, privacy
from ordering.domain import privacy as privacy_rules

from .admin_documents import OrderDocumentsMixin
from .admin_principal import admin_principal
from .infrastructure import export_files
from .infrastructure.models import (
    Order,
    OrderCoupon,
    OrderExport,
    OrderHistoryEntry,
    OrderLine,
    OrderShipping,
    SalesChannel,
    Shipment,
)
from .infrastructure.unit_of_work import DjangoUnitOfWork


class ReadOnlyInline(TenantScopedInline, ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False


class LineInline(ReadOnlyInline):
    model = OrderLine
    fields = [
        "sku",
        "product_name",
        "vendor_id",
        "quantity",
        "unit_price_money",
        "subtotal_money",
        "discount_money",
        "offer_id",
        "shipped_quantity",
    ]
    readonly_fields = ["unit_price_money", "subtotal_money", "discount_money"]
    unit_price_money = admin_money("unit_price", "order.currency")
    subtotal_money = admin_money("subtotal", "order.currency")
    discount_money = admin_money("discount", "order.currency")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order")


class ShippingInline(ReadOnlyInline):
    model = OrderShipping
    verbose_name_plural = "shipping per vendor"
    fields = ["vendor_id", "option_id", "name", "carrier", "cost_money", "waived_by"]
    readonly_fields = ["cost_money"]
    cost_money = admin_money("cost", "order.currency", description="cost")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order")


class CouponInline(ReadOnlyInline):
    model = OrderCoupon
    fields = ["code", "vendor_id", "discount_money"]
    readonly_fields = ["discount_money"]
    discount_money = admin_money("discount", "order.currency")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order")


class ShipmentInline(ReadOnlyInline):
    model = Shipment
    fields = ["vendor_id", "status", "carrier", "tracking_number", "lines", "shipped_at", "updated_at"]


class HistoryInline(ReadOnlyInline):
    model = OrderHistoryEntry
    fields = ["at", "actor", "from_status", "to_status", "note"]


class EraseForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Kept in the erasure log (a request's reference; no personal data).",
    )
    force = forms.BooleanField(
        required=False, help_text="Cancel the customer's open orders that may still be cancelled first."
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Recorded on the order and sent with order.cancelled.",
    )


class UnfulfillableForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="Recorded on the order and sent with order.unfulfillable.",
    )


@admin.register(Order)
class OrderAdmin(OrderDocumentsMixin, ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = ["__str__", "status", "payment_status", "total_money", "customer_email", "created_at", "placed_at"]
    list_filter = [
        "status",
        "payment_status",
        "channel",
        "hold_reason",
        "review_status",
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = [
        "=number",
        "customer_email",
        "customer_last_name",
        "=customer_user_id",
        "=lines__sku",
        "=external_reference",
    ]
    list_select_related = ["tenant"]
    ordering = ["-created_at", "-id"]
    show_full_result_count = False  # no second COUNT over a tenant with a million orders
    list_per_page = 50
    inlines = [LineInline, ShippingInline, CouponInline, ShipmentInline, HistoryInline]
    actions = [
        "cancel_orders",
        "deliver_orders",
        "complete_orders",
        "mark_unfulfillable",
        "resume_orders",
        "erase_customers",
        "export_customer",
        "print_invoices",
        "print_packing_slips",
    ]
    change_list_template = "admin/ordering/order/change_list.html"
    change_form_template = "admin/ordering/order/change_form.html"
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "id",
                    "tenant",
                    "number",
                    "status",
                    "payment_status",
                    "version",
                    "created_at",
                    "placed_at",
                    "updated_at",
                    "channel",
                    "external_reference",
                ]
            },
        ),
        (
            "Customer",
            {
                "fields": [
                    "customer_user_id",
                    "customer_email",
                    "customer_first_name",
                    "customer_last_name",
                    "customer_phone",
                ]
            },
        ),
        (
            "Shipping address",
            {
                "fields": [
                    "shipping_line1",
                    "shipping_line2",
                    "shipping_city",
                    "shipping_state",
                    "shipping_postal_code",
                    "shipping_country",
                ]
            },
        ),
        (
            "Totals",
            {
                "fields": [
                    "currency",
                    "subtotal_money",
                    "discount_total_money",
                    "shipping_total_money",
                    "tax_total_money",
                    "total_money",
                ]
            },
        ),
        ("Payment", {"fields": ["payment_method", "payment_reference", "payment_amount_money", "paid_at"]}),
        ("Cancellation", {"fields": ["unfulfillable_reason", "cancel_reason", "cancelled_by", "cancelled_at"]}),
        (
            "Hold and review",
            {
                "fields": [
                    "hold_reason",
                    "hold_note",
                    "held_by",
                    "held_at",
                    "review_status",
                    "review_level",
                    "review_assignee",
                    "reviewed_by",
                    "reviewed_at",
                    "review_note",
                ]
            },
        ),
        ("After sale", {"fields": ["revision", "payment_adjustment_money", "delivered_at", "returns", "refunds"]}),
    ]
    total_money = admin_money("total")
    subtotal_money = admin_money("subtotal")
    discount_total_money = admin_money("discount_total")
    shipping_total_money = admin_money("shipping_total")
    tax_total_money = admin_money("tax_total")
    payment_amount_money = admin_money("payment_amount", description="payment amount")
    payment_adjustment_money = admin_money("payment_adjustment")

    def get_urls(self):
        return self.document_urls() + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        shipments = list(
            Shipment.objects.filter(order_id=object_id).order_by("position", "id").values_list("id", "vendor_id")
        )
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "shipments": shipments})

    def get_readonly_fields(self, request, obj=None):
        return [f for section in self.fieldsets for f in section[1]["fields"]]

    def has_manage_permission(self, request) -> bool:
        return request.user.has_perm("ordering.change_order")

    # -- actions ---------------------------------------------------------------------------------

    def _run(self, request, queryset, verb: str, handler, command) -> None:
        done, refused = [], []
        for order in queryset.order_by("created_at"):
            try:
                handler(
                    admin_principal(request, order.tenant_id),
                    command(str(order.id)),
                    DjangoUnitOfWork(order.tenant_id, correlation_id=assign_request_id(request)),
                )
            except CodedError as error:
                refused.append(f"{order} ({error.code}: {error.message})")
            else:
                done.append(str(order))
        if done:
            self.message_user(request, f"{verb.capitalize()}: {', '.join(done)}.", messages.SUCCESS)
        if refused:
            self.message_user(request, f"Not {verb}: {'; '.join(refused)}.", messages.ERROR)

    def _with_reason(
        self,
        request,
        queryset,
        form_class,
        *,
        action: str,
        verb: str,
        title: str,
        intro: str,
        submit: str,
        handler,
        command,
    ):
        """An action that asks for a reason first (the same page for every such action)."""
        form = form_class(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            reason = form.cleaned_data["reason"]
            self._run(request, queryset, verb, handler, lambda order_id: command(order_id, reason))
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "intro": intro,
            "submit": submit,
            "opts": self.model._meta,
            "orders": [(order, money(order.total, order.currency)) for order in queryset.order_by("created_at")],
            "form": form,
            "action": action,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/ordering/order/cancel_orders.html", context)

    @admin.action(description="Cancel selected orders", permissions=["manage"])
    def cancel_orders(self, request, queryset):
        return self._with_reason(
            request,
            queryset,
            CancelForm,
            action="cancel_orders",
            verb="cancelled",
            title="Cancel orders",
            intro="These orders will be cancelled, each on its own; an order that can no longer be cancelled is "
            "left as it is and reported.",
            submit="Cancel these orders",
            handler=lifecycle.cancel_order,
            command=lambda order_id, reason: c.CancelOrder(order_id=order_id, reason=reason),
        )

    @admin.action(description="Mark selected orders unfulfillable", permissions=["manage"])
    def mark_unfulfillable(self, request, queryset):
        return self._with_reason(
            request,
            queryset,
            UnfulfillableForm,
            action="mark_unfulfillable",
            verb="marked unfulfillable",
            title="Mark orders unfulfillable",
            intro="These orders will be marked UNFULFILLABLE, each on its own (CONFIRMED or PARTIALLY_SHIPPED "
            "only); cancel or resume them afterwards.",
            submit="Mark these orders unfulfillable",
            handler=lifecycle.mark_unfulfillable,
            command=lambda order_id, reason: c.MarkUnfulfillable(order_id=order_id, reason=reason),
        )

    # -- the customer's data rights (docs/privacy.md) ---------------------------------------------

    def _customers(self, queryset) -> list[dict]:
        """The customers of the selected orders, each with how many orders it has in its tenant
        and how many are still open (one query)."""
        selected = set(queryset.values_list("tenant_id", "customer_user_id"))
        if not selected:
            return []
        closed = [status.value for status in privacy_rules.CLOSED]
        rows = (
            Order.objects.filter(reduce(or_, (Q(tenant_id=t, customer_user_id=u) for t, u in selected)))
            .values("tenant_id", "customer_user_id")
            .annotate(orders=Count("pk"), open=Count("pk", filter=~Q(status__in=closed)), email=Max("customer_email"))
            .order_by("tenant_id", "customer_user_id")
        )
        return [{**row, "user_id": row["customer_user_id"]} for row in rows]

    def _customer_page(self, request, queryset, *, action, title, intro, submit, form):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "intro": intro,
            "submit": submit,
            "opts": self.model._meta,
            "customers": self._customers(queryset),
            "orders": list(queryset.order_by("created_at")),
            "form": form,
            "action": action,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/ordering/order/customer_data.html", context)

    @admin.action(description="Erase the customers of the selected orders", permissions=["manage"])
    def erase_customers(self, request, queryset):
        """A confirmation page (reason, force), then each customer erased on its own as
        `eraseCustomer` does; refusals (open orders) are reported and change nothing."""
        form = EraseForm(request.POST if "apply" in request.POST else None)
        if not (form.is_bound and form.is_valid()):
            return self._customer_page(
                request,
                queryset,
                action="erase_customers",
                title="Erase customers",
                intro="The personal data of these customers will be erased from all their orders, their snapshots, "
                "the order search, event documents, delivery records and the event stream; their orders keep "
                "numbers, lines, amounts and history. This cannot be undone.",
                submit="Erase these customers",
                form=form,
            )
        done, refused = [], []
        for customer in self._customers(queryset):
            principal = admin_principal(request, customer["tenant_id"])
            command = c.EraseCustomer(customer["user_id"], form.cleaned_data["reason"], form.cleaned_data["force"])
            uow = DjangoUnitOfWork(customer["tenant_id"], correlation_id=assign_request_id(request))
            try:
                erasure = privacy.erase_customer(principal, command, uow)
            except CodedError as error:
                refused.append(f"{customer['user_id']} ({error.code}: {error.message})")
            else:
                done.append(f"{customer['user_id']} ({len(erasure.order_ids)} order(s))")
        if done:
            self.message_user(request, f"Erased: {', '.join(done)}.", messages.SUCCESS)
        if refused:
            self.message_user(request, f"Not erased: {'; '.join(refused)}.", messages.ERROR)
        return None

    @admin.action(description="Export the customer's data (JSON)", permissions=["manage"])
    def export_customer(self, request, queryset):
        """A confirmation page, then everything held about the one customer of the selected
        orders as a JSON download (`customerDataExport`), written as it is read."""
        customers = self._customers(queryset)
        if len(customers) != 1:
            self.message_user(request, "Select the orders of one customer to export.", messages.ERROR)
            return None
        if "apply" not in request.POST:
            return self._customer_page(
                request,
                queryset,
                action="export_customer",
                title="Export a customer's data",
                intro="Everything held about this customer (snapshots, every order with its history, erasures) "
                "will be downloaded as one JSON document. It holds personal data: keep it accordingly.",
                submit="Download",
                form=None,
            )
        customer = customers[0]
        principal = admin_principal(request, customer["tenant_id"])
        pieces = privacy.export_customer(
            principal, c.ExportCustomerData(customer["user_id"]), DjangoUnitOfWork(customer["tenant_id"])
        )
        response = StreamingHttpResponse(pieces, content_type="application/json")
        name = f"customer-{customer['tenant_id']}-{customer['user_id']}.json".replace('"', "")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    @admin.action(description="Resume selected unfulfillable orders", permissions=["manage"])
    def resume_orders(self, request, queryset):
        self._run(
            request,
            queryset,
            "resumed",
            lifecycle.resume_order,
            lambda order_id: c.ResumeOrder(order_id=order_id),
        )

    @admin.action(description="Mark selected orders delivered", permissions=["manage"])
    def deliver_orders(self, request, queryset):
        self._run(
            request,
            queryset,
            "delivered",
            lifecycle.deliver_order,
            lambda order_id: c.DeliverOrder(order_id=order_id),
        )

    @admin.action(description="Complete selected orders", permissions=["manage"])
    def complete_orders(self, request, queryset):
        self._run(
            request,
            queryset,
            "completed",
            lifecycle.complete_order,
            lambda order_id: c.CompleteOrder(order_id=order_id),
        )


@admin.register(SalesChannel)
class SalesChannelAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    """The tenant's sales channels (docs/integrations.md): added, rotated and revoked with
    `manage.py channels`, which shows a new secret once."""

    list_display = ["channel_id", "kind", "active", "accept_any_vendor", "created_at"]
    list_filter = ["kind", "active"]
    search_fields = ["=channel_id"]
    ordering = ["channel_id"]


@admin.register(OrderExport)
class OrderExportAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    """Exports started from the order list (docs/admin.md, "Exporting orders"): each one's state
    and, when done and not expired, its file (infrastructure/export_files.py). Deleting one
    deletes its file."""

    list_display = ["__str__", "state", "orders", "format", "lines", "requested_by", "download", "finished_at"]
    list_filter = ["status", "format"]
    ordering = ["-created_at"]
    readonly_fields = ["state", "download"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return TenantScopedAdmin.has_delete_permission(self, request, obj)

    @admin.display(description="status", ordering="status")
    def state(self, obj) -> str:
        return export_files.shown_status(obj, timezone.now())

    @admin.display(description="file")
    def download(self, obj) -> str:
        state = export_files.shown_status(obj, timezone.now())
        if state == export_files.INTERRUPTED:
            return "interrupted: its process stopped; delete it and export again"
        if state == export_files.EXPIRED:
            return f"expired: files are kept {settings.OMS_EXPORT_KEEP_HOURS:g} hours"
        if state != OrderExport.DONE:
            return obj.error or "-"
        url = reverse("admin:ordering_orderexport_download", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.file_name)

    def get_urls(self):
        from django.urls import path

        download = path(
            "<uuid:export_id>/download/",
            self.admin_site.admin_view(self.download_view),
            name="ordering_orderexport_download",
        )
        return [download, *super().get_urls()]

    def download_view(self, request, export_id):
        export = self.get_queryset(request).filter(pk=export_id, status=OrderExport.DONE).first()
        if export is None or not self.has_view_permission(request, export):
            raise Http404("not found")
        if export_files.shown_status(export, timezone.now()) == export_files.EXPIRED:
            raise Http404("not found")  # kept no longer than OMS_EXPORT_KEEP_HOURS, purged or not
        path = export_files.export_dir() / export.file_name
        if not path.exists():
            raise Http404("not found")
        return FileResponse(open(path, "rb"), as_attachment=True, filename=export.file_name)

    def delete_model(self, request, obj) -> None:
        export_files.delete_files([obj.file_name])
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        export_files.delete_files(queryset.values_list("file_name", flat=True))
        super().delete_queryset(request, queryset)
