import json

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.html import format_html

from oms_project.admin_mixins import ReadOnlyAdminMixin
from ordering.domain.events import EVENT_TYPES
from webhooks.domain.signatures import new_secret

from .infrastructure.models import (
    DeliveryAttempt,
    InboundWebhookReceipt,
    InboundWebhookSecret,
    WebhookDelivery,
    WebhookSubscription,
)
from .infrastructure.outbound import redeliver


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


# -- outbound ------------------------------------------------------------------------------------

class SubscriptionForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(choices=[(t, t) for t in EVENT_TYPES], required=False,
                                            widget=forms.CheckboxSelectMultiple,
                                            help_text="None ticked: every event type.")

    class Meta:
        model = WebhookSubscription
        fields = ["tenant", "url", "event_types", "active", "description"]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ["url", "tenant", "active", "event_types", "created_at"]
    list_filter = ["tenant", "active"]
    search_fields = ["url", "description"]

    def get_readonly_fields(self, request, obj=None):
        return ["tenant"] if obj else []

    def save_model(self, request, obj, form, change):
        obj.event_types = sorted(form.cleaned_data.get("event_types") or [])
        if not change:
            obj.secret = new_secret()
        super().save_model(request, obj, form, change)
        if not change:
            messages.warning(request, f"Signing secret of this subscription (shown once, store it now): {obj.secret}")


class AttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    fields = ["number", "attempted_at", "status_code", "latency_ms", "error"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["event_uuid", "event_type", "sequence", "aggregate_id", "subscription", "status", "attempts",
                    "last_status_code", "next_attempt_at", "delivered_at"]
    list_filter = ["status", "tenant", "event__type"]
    search_fields = ["=aggregate_id", "=event__event_id", "subscription__url"]
    list_select_related = ["event", "subscription"]
    show_full_result_count = False
    inlines = [AttemptInline]
    actions = ["redeliver"]
    readonly_fields = ["tenant", "subscription", "event_uuid", "event_type", "aggregate_id", "sequence", "status",
                       "attempts", "next_attempt_at", "lease_until", "last_status_code", "last_error",
                       "delivered_at", "created_at", "payload"]
    fields = readonly_fields

    @admin.display(description="event id")
    def event_uuid(self, obj):
        return str(obj.event.event_id)

    @admin.display(description="type")
    def event_type(self, obj):
        return obj.event.type

    @admin.display(description="payload")
    def payload(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.event.data, indent=2))

    def has_manage_permission(self, request) -> bool:
        return request.user.has_perm("webhooks.change_webhookdelivery")

    @admin.action(description="Redeliver the selected dead deliveries", permissions=["manage"])
    def redeliver(self, request, queryset):
        count = redeliver(list(queryset.values_list("pk", flat=True)))
        messages.success(request, f"{count} dead delivery(ies) queued again; other states were left alone.")
