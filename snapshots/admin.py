"""Snapshots are owned upstream: staff can look, search and filter, never edit."""

from django.contrib import admin

from .infrastructure.models import (
    CustomerAddressSnapshot,
    CustomerDetailsSnapshot,
    UserAuthorizationSnapshot,
)


class ReadOnlySnapshotAdmin(admin.ModelAdmin):
    list_filter = ["tenant"]
    list_select_related = ["tenant"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
