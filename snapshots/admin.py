"""Snapshots are owned upstream: staff can look, search and filter, never edit."""

from django import forms
from django.contrib import admin

from oms_project.kernel.admin_mixins import ReadOnlyAdminMixin, TenantScopedAdmin
from oms_project.kernel.money_display import admin_money
from snapshots.domain.catalog import sellable

from .infrastructure.models import (
    CouponSnapshot,
    CustomerAddressSnapshot,
    CustomerDetailsSnapshot,
    OfferSnapshot,
    PaymentOptionSnapshot,
    ProductSnapshot,
    ShippingOptionSnapshot,
    StockReservation,
    TaxOptionSnapshot,
    TenantWorkflowSnapshot,
    UserAuthorizationSnapshot,
    VendorSnapshot,
)


class ReadOnlySnapshotAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_select_related = ["tenant"]


@admin.register(CustomerDetailsSnapshot)
class CustomerDetailsAdmin(ReadOnlySnapshotAdmin):
    list_display = ["user_id", "email", "first_name", "last_name", "version", "updated_at"]
    search_fields = ["user_id", "email", "first_name", "last_name"]


@admin.register(CustomerAddressSnapshot)
class CustomerAddressAdmin(ReadOnlySnapshotAdmin):
    list_display = ["address_id", "user_id", "line1", "city", "country", "is_default"]
    list_filter = ["country"]
    search_fields = ["address_id", "user_id", "line1", "city", "postal_code"]


@admin.register(UserAuthorizationSnapshot)
class UserAuthorizationAdmin(ReadOnlySnapshotAdmin):
    list_display = ["user_id", "roles", "vendor_id", "active", "version", "updated_at"]
    list_filter = ["active"]
    search_fields = ["user_id", "vendor_id"]


@admin.register(VendorSnapshot)
class VendorAdmin(ReadOnlySnapshotAdmin):
    list_display = ["vendor_id", "name", "country", "currency", "active", "version"]
    list_filter = ["active", "country"]
    search_fields = ["vendor_id", "name"]


@admin.register(ProductSnapshot)
class ProductAdmin(ReadOnlySnapshotAdmin):
    """Stock columns (docs/inventory.md): the inventory system's count, what placed orders hold
    beyond it, and what is left to sell."""

    list_display = [
        "product_id",
        "sku",
        "name",
        "vendor_id",
        "price",
        "active",
        "available_quantity",
        "reserved_quantity",
        "sellable_quantity",
        "counted_until",
    ]
    list_filter = ["vendor_id", "active"]
    search_fields = ["product_id", "sku", "name"]

    price = admin_money("price_amount", "price_currency")

    @admin.display(description="sellable")
    def sellable_quantity(self, product: ProductSnapshot) -> str:
        left = sellable(product.available_quantity, product.reserved_quantity)
        return "unlimited" if left is None else str(left)

    def get_fields(self, request, obj=None):
        return [*super().get_fields(request, obj), "price", "sellable_quantity"]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "price", "sellable_quantity"]


@admin.register(StockReservation)
class StockReservationAdmin(ReadOnlySnapshotAdmin):
    """The reservation ledger: each change to what an order holds of a product."""

    list_display = ["at", "product_id", "quantity", "order_id"]
    search_fields = ["product_id", "order_id"]
    date_hierarchy = "at"


@admin.register(CouponSnapshot)
class CouponAdmin(ReadOnlySnapshotAdmin):
    list_display = ["code", "vendor_id", "kind", "value", "currency", "usage_limit", "active"]
    list_filter = ["vendor_id", "kind", "active"]
    search_fields = ["code"]


@admin.register(OfferSnapshot)
class OfferAdmin(ReadOnlySnapshotAdmin):
    list_display = ["offer_id", "vendor_id", "kind", "value", "priority", "active"]
    list_filter = ["vendor_id", "kind", "active"]
    search_fields = ["offer_id"]


@admin.register(ShippingOptionSnapshot)
class ShippingOptionAdmin(ReadOnlySnapshotAdmin):
    list_display = ["option_id", "vendor_id", "name", "carrier", "base_cost", "active"]
    base_cost = admin_money("base_cost_amount", "base_cost_currency")
    list_filter = ["vendor_id", "carrier", "active"]
    search_fields = ["option_id", "name", "carrier"]


@admin.register(TaxOptionSnapshot)
class TaxOptionAdmin(ReadOnlySnapshotAdmin):
    list_display = ["vendor_id", "country", "rate", "inclusive", "active", "version"]
    list_filter = ["country", "inclusive", "active"]
    search_fields = ["vendor_id"]


@admin.register(PaymentOptionSnapshot)
class PaymentOptionAdmin(ReadOnlySnapshotAdmin):
    list_display = ["option_id", "vendor_id", "method", "name", "active", "version"]
    list_filter = ["method", "active"]
    search_fields = ["option_id", "name"]


class TenantWorkflowForm(forms.ModelForm):
    class Meta:
        model = TenantWorkflowSnapshot
        fields = ["tenant", "review_required", "review_min_total", "return_window_days"]

    def clean_tenant(self):
        tenant = self.cleaned_data["tenant"]
        others = TenantWorkflowSnapshot.objects.filter(tenant=tenant).exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError("This tenant has a workflow already; edit that one.")
        return tenant


@admin.register(TenantWorkflowSnapshot)
class TenantWorkflowAdmin(TenantScopedAdmin):
    """The one snapshot staff may edit: a tenant's workflow is configuration, set upstream by
    `tenant_workflow.upserted` or here. An edit keeps the upstream version, so the next newer
    upstream update replaces it."""

    form = TenantWorkflowForm
    list_display = ["review_required", "review_min_total", "return_window_days", "version", "updated_at"]
    list_select_related = ["tenant"]
    fields = ["tenant", "review_required", "review_min_total", "return_window_days", "version", "updated_at"]
    readonly_fields = ["version", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "tenant"] if obj is not None else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False
