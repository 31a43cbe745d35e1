from django.contrib import admin, messages
from django.utils import timezone

from webhooks.domain.signatures import new_secret

from .infrastructure.models import InboundWebhookReceipt, InboundWebhookSecret


@admin.register(InboundWebhookSecret)
class InboundWebhookSecretAdmin(admin.ModelAdmin):
    list_display = ["id", "tenant", "masked", "state", "created_at", "expires_at", "revoked_at"]
    list_filter = ["tenant"]
    fields = ["tenant", "expires_at"]
    actions = ["revoke"]

    def has_change_permission(self, request, obj=None):
        return False  # secrets are generated, expired or revoked, never edited

    def save_model(self, request, obj, form, change):
        obj.secret = new_secret()
        super().save_model(request, obj, form, change)
        messages.warning(request, f"New secret for {obj.tenant_id} (shown once, store it now): {obj.secret}")

    @admin.action(description="Revoke the selected secrets now")
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        messages.success(request, f"{count} secret(s) revoked.")


@admin.register(InboundWebhookReceipt)
class InboundWebhookReceiptAdmin(admin.ModelAdmin):
    list_display = ["webhook_id", "event_type", "tenant", "received_at"]
    list_filter = ["tenant", "event_type"]
    search_fields = ["webhook_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
