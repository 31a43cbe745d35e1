"""The tenant registry, admin users and their tenant bindings in Django admin (docs/admin.md).

- Tenants: operators list and edit every tenant; a tenant's staff see their own tenant only,
  read-only. The HS secret is never shown (a prefix at most): it can only be replaced.
- Django users and groups, and the tenant bindings, are the platform's: only operators see them.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.http import Http404

from identity.infrastructure.admin_staff import admin_scope_of
from oms_project.admin_mixins import TenantScopedAdmin, TenantScopedInline

from .infrastructure.models import Tenant, TenantStaffMember


class TenantForm(forms.ModelForm):
    """The HS secret is write-only: empty keeps the current one, `remove` clears it (to move the
    tenant to a JWKS URL)."""

    jwt_hs256_secret = forms.CharField(
        label="HS secret", required=False, widget=forms.PasswordInput(render_value=False),
        help_text="Shared HMAC secret (development). Never shown; leave empty to keep the current one.")
    remove_hs_secret = forms.BooleanField(label="Remove the HS secret", required=False)

    class Meta:
        model = Tenant
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("remove_hs_secret"):
            cleaned["jwt_hs256_secret"] = ""
        elif not cleaned.get("jwt_hs256_secret"):
            cleaned["jwt_hs256_secret"] = self.instance.jwt_hs256_secret  # kept
        return cleaned


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    form = TenantForm
    list_display = ["id", "name", "active", "key_source", "jwt_issuer", "updated_at"]
    list_filter = ["active"]
    search_fields = ["id", "name"]
    readonly_fields = ["hs_secret_hint", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["id", "name", "active"]}),
        (
            "Token verification",
            {
                "fields": [
                    "jwt_algorithms",
                    "hs_secret_hint",
                    "jwt_hs256_secret",
                    "remove_hs_secret",
                    "jwt_jwks_url",
                    "jwt_issuer",
                    "jwt_audience",
                    "roles_claim",
                    "vendor_id_claim",
                    "channel_id_claim",
                ]
            },
        ),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]

    def _operator(self, request) -> bool:
        return admin_scope_of(request.user).everything

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        scope = admin_scope_of(request.user)
        return queryset if scope.everything else queryset.filter(pk=scope.tenant_id)

    def get_fieldsets(self, request, obj=None):
        if self._operator(request):
            return self.fieldsets
        hidden = {"jwt_hs256_secret", "remove_hs_secret"}
        return [(name, {**opts, "fields": [f for f in opts["fields"] if f not in hidden]})
                for name, opts in self.fieldsets]

    def get_readonly_fields(self, request, obj=None):
        # The id is the tenant's key in every table; it never changes once created.
        return [*self.readonly_fields, "id"] if obj else self.readonly_fields

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("not found")
        return obj

    def has_module_permission(self, request):
        return not admin_scope_of(request.user).sees_nothing and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return not admin_scope_of(request.user).sees_nothing and super().has_view_permission(request, obj)

    def has_add_permission(self, request):
        return self._operator(request) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return self._operator(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._operator(request) and super().has_delete_permission(request, obj)

    @admin.display(description="key source")
    def key_source(self, obj: Tenant) -> str:
        return "JWKS" if obj.jwt_jwks_url else "HS secret"

    @admin.display(description="current HS secret")
    def hs_secret_hint(self, obj: Tenant) -> str:
        return f"{obj.jwt_hs256_secret[:4]}… ({len(obj.jwt_hs256_secret)} characters)" if obj.jwt_hs256_secret else "none"


class OperatorsOnly:
    """Platform-level admin pages: invisible to everyone but platform operators."""

    def _operator(self, request) -> bool:
        return admin_scope_of(request.user).everything

    def has_module_permission(self, request):
        return self._operator(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._operator(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return self._operator(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return self._operator(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._operator(request) and super().has_delete_permission(request, obj)


class TenantStaffInline(OperatorsOnly, TenantScopedInline, admin.StackedInline):
    model = TenantStaffMember
    can_delete = True
    verbose_name_plural = "tenant binding (tenant staff: sees this tenant only)"
    fields = ["tenant"]


@admin.register(TenantStaffMember)
class TenantStaffMemberAdmin(OperatorsOnly, TenantScopedAdmin):
    list_display = ["user", "created_at"]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user", "tenant"]
    fields = ["user", "tenant", "created_at"]
    readonly_fields = ["created_at"]


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class OmsUserAdmin(OperatorsOnly, UserAdmin):
    inlines = [TenantStaffInline]
    list_display = [*UserAdmin.list_display, "admin_tenant"]

    @admin.display(description="tenant")
    def admin_tenant(self, obj) -> str:
        binding = getattr(obj, "tenant_staff", None)
        return binding.tenant_id if binding else "—"


@admin.register(Group)
class OmsGroupAdmin(OperatorsOnly, GroupAdmin):
    pass
