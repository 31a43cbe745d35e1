from django.contrib import admin

from .infrastructure.models import Tenant


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "active", "key_source", "jwt_issuer", "updated_at"]
    list_filter = ["active"]
    search_fields = ["id", "name"]
    readonly_fields = ["created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["id", "name", "active"]}),
        (
            "Token verification",
            {
                "fields": [
                    "jwt_algorithms",
                    "jwt_hs256_secret",
                    "jwt_jwks_url",
                    "jwt_issuer",
                    "jwt_audience",
                    "roles_claim",
                    "vendor_id_claim",
                ]
            },
        ),
        ("Record", {"fields": ["created_at", "updated_at"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # The id is the tenant's key in every table; it never changes once created.
        return [*self.readonly_fields, "id"] if obj else self.readonly_fields

    @admin.display(description="key source")
    def key_source(self, obj: Tenant) -> str:
        return "JWKS" if obj.jwt_jwks_url else "HS secret"
