"""Snapshots are owned upstream: staff can look, search and filter, never edit."""

from django.contrib import admin

from oms_project.admin_mixins import ReadOnlyAdminMixin

from .infrastructure.models import (
    CouponSnapshot,
    CustomerAddressSnapshot,
    CustomerDetailsSnapshot,
    OfferSnapshot,
    ProductSnapshot,
    ShippingOptionSnapshot,
    UserAuthorizationSnapshot,
    VendorSnapshot,
)


class ReadOnlySnapshotAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_filter = ["tenant"]
    list_select_related = ["tenant"]


@admin.register(CustomerDetailsSnapshot)
class CustomerDetailsAdmin(ReadOnlySnapshotAdmin):
    list_display = ["user_id", "email", "first_name", "last_name", "tenant", "version", "updated_at"]
    search_fields = ["user_id", "email", "first_name", "last_name"]


@admin.register(CustomerAddressSnapshot)
class CustomerAddressAdmin(ReadOnlySnapshotAdmin):
    list_display = ["address_id", "user_id", "line1", "city", "country", "is_default", "tenant"]
    list_filter = ["tenant", "country"]
    search_fields = ["address_id", "user_id", "line1", "city", "postal_code"]


@admin.register(UserAuthorizationSnapshot)
class UserAuthorizationAdmin(ReadOnlySnapshotAdmin):
    list_display = ["user_id", "roles", "vendor_id", "active", "tenant", "version", "updated_at"]
    list_filter = ["tenant", "active"]
    search_fields = ["user_id", "vendor_id"]


@admin.register(VendorSnapshot)
class VendorAdmin(ReadOnlySnapshotAdmin):
    list_display = ["vendor_id", "name", "country", "currency", "active", "tenant", "version"]
    list_filter = ["tenant", "active", "country"]
    search_fields = ["vendor_id", "name"]


@admin.register(ProductSnapshot)
class ProductAdmin(ReadOnlySnapshotAdmin):
    list_display = ["product_id", "sku", "name", "vendor_id", "price_amount", "price_currency", "active", "tenant"]
    list_filter = ["tenant", "vendor_id", "active"]
    search_fields = ["product_id", "sku", "name"]


@admin.register(CouponSnapshot)
class CouponAdmin(ReadOnlySnapshotAdmin):
    list_display = ["code", "vendor_id", "kind", "value", "currency", "usage_limit", "active", "tenant"]
    list_filter = ["tenant", "vendor_id", "kind", "active"]
    search_fields = ["code"]


@admin.register(OfferSnapshot)
class OfferAdmin(ReadOnlySnapshotAdmin):
    list_display = ["offer_id", "vendor_id", "kind", "value", "priority", "active", "tenant"]
    list_filter = ["tenant", "vendor_id", "kind", "active"]
    search_fields = ["offer_id"]


@admin.register(ShippingOptionSnapshot)
class ShippingOptionAdmin(ReadOnlySnapshotAdmin):
    list_display = ["option_id", "vendor_id", "name", "carrier", "base_cost_amount", "base_cost_currency", "active", "tenant"]
    list_filter = ["tenant", "vendor_id", "carrier", "active"]
    search_fields = ["option_id", "name", "carrier"]
