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

from oms_project.kernel.admin_mixins import TenantScopedAdmin, TenantScopedInline
from oms_project.kernel.admin_scope import admin_scope_of

from .infrastructure.models import Tenant, TenantStaffMember


class TenantForm(forms.ModelForm):
    """The HS secret is write-only: empty keeps the current one, `remove` clears it (to move the
    tenant to a JWKS URL)."""

    jwt_hs256_secret = forms.CharField(
        label="HS secret",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Shared HMAC secret (development). Never shown; leave empty to keep the current one.",
    )
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
    readonly_fields = ["hs_secret_hint", "admission_now", "created_at", "updated_at"]
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
        (
            "Fair share",
            {
                "description": 'Admission per tenant (docs/production.md, "Fair share"). Empty fields take the '
                "platform's defaults, marked [default] in the limits in force.",
                "fields": [
                    "admission_share",
                    "rate_limit",
                    "rate_burst",
                    "token_rate_limit",
                    "token_burst",
                    "admission_now",
                ],
            },
        ),
        (
            "Personal data",
            {
                "description": "What an erased order keeps of its shipping address for accounting, and how "
                "long closed orders keep personal data (docs/privacy.md). Empty: the platform default; retention "
                "off.",
                "fields": ["erasure_keeps", "personal_data_retention_days"],
            },
        ),
        (
            "Documents",
            {
                "description": "What invoices and packing slips print: their language and the seller "
                "(docs/documents.md). An issued invoice keeps what it printed.",
                "fields": ["language", "seller_details"],
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
        return [
            (name, {**opts, "fields": [f for f in opts["fields"] if f not in hidden]}) for name, opts in self.fieldsets
        ]

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

    @admin.display(description="limits and use now")
    def admission_now(self, obj: Tenant) -> str:
        """The limits in force (the tenant's own, else the platform's) and the tenant's use now."""
        from identity.infrastructure.tenants import limits_in_force
        from oms_project.kernel import admission

        own = obj.admission_overrides()
        limits = limits_in_force(own, admission.default_limits())
        lane = admission.lane()
        if lane is None:
            return "admission is off (OMS_ADMISSION=off): every request is admitted"
        use = next((u for u in lane.usage() if u.tenant_id == obj.pk), None)
        in_flight = use.in_flight if use else 0
        left = use.remaining if use and use.remaining is not None else limits.burst
        mark = lambda value: "" if value is not None else " [default]"
        return (
            f"{in_flight} requests in progress; while other tenants are served at most "
            f"{limits.max_in_flight(lane.capacity)} (share {limits.share:g}{mark(own[0])} of a capacity of "
            f"{lane.capacity}), alone all {lane.capacity}; "
            f"{left:,.0f} of {limits.burst:,.0f} points left{mark(own[2])}, refilling "
            f"{limits.rate:,.0f}/s{mark(own[1])}; each caller {limits.token_burst:,.0f} points{mark(own[4])}, "
            f"{limits.token_rate:,.0f}/s{mark(own[3])}"
        )

    @admin.display(description="key source")
    def key_source(self, obj: Tenant) -> str:
        return "JWKS" if obj.jwt_jwks_url else "HS secret"

    @admin.display(description="current HS secret")
    def hs_secret_hint(self, obj: Tenant) -> str:
        return (
            f"{obj.jwt_hs256_secret[:4]}… ({len(obj.jwt_hs256_secret)} characters)" if obj.jwt_hs256_secret else "none"
        )


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
