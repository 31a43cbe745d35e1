import json
from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html

from oms_project.kernel.admin_mixins import ReadOnlyAdminMixin, TenantScopedAdmin, TenantScopedInline
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
class InboundWebhookSecretAdmin(TenantScopedAdmin):
    list_display = ["id", "channel", "masked", "state", "created_at", "expires_at", "revoked_at"]
    list_filter = ["channel"]
    fields = ["tenant", "expires_at"]
    actions = ["revoke", "rotate"]
    rotation_grace = timedelta(hours=24)

    def has_change_permission(self, request, obj=None):
        return False  # secrets are generated, expired or revoked, never edited

    def save_model(self, request, obj, form, change):
        obj.secret = new_secret()
        super().save_model(request, obj, form, change)
        messages.warning(request, f"New secret for {obj.tenant_id} (shown once, store it now): {obj.secret}")

    def has_manage_permission(self, request) -> bool:
        return request.user.has_perm("webhooks.change_inboundwebhooksecret")

    @admin.action(description="Revoke the selected secrets now", permissions=["manage"])
    def revoke(self, request, queryset):
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        messages.success(request, f"{count} secret(s) revoked.")

    @admin.action(
        description="Rotate: a new secret for the tenant(s) or sales channel(s) of the selected "
        "secrets (the current ones stay valid 24 hours)",
        permissions=["manage"],
    )
    def rotate(self, request, queryset):
        owners = sorted(set(queryset.values_list("tenant_id", "channel")))
        created = [
            InboundWebhookSecret.rotate(tenant, self.rotation_grace, channel=channel) for tenant, channel in owners
        ]
        return show_new_secrets(
            self,
            request,
            "New inbound webhook secrets; the previous ones expire in 24 hours.",
            [(f"{s.tenant_id}{'/' + s.channel if s.channel else ''} (secret #{s.pk})", s.secret) for s in created],
        )


@admin.register(InboundWebhookReceipt)
class InboundWebhookReceiptAdmin(TenantScopedAdmin):
    list_display = ["webhook_id", "event_type", "received_at"]
    list_filter = ["event_type"]
    search_fields = ["webhook_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# -- outbound ------------------------------------------------------------------------------------


def show_new_secrets(model_admin, request, explanation: str, secrets: list[tuple[str, str]]):
    """A page that shows newly made secrets once (never stored anywhere else for display)."""
    return TemplateResponse(
        request,
        "admin/webhooks/new_secrets.html",
        {
            **model_admin.admin_site.each_context(request),
            "title": "New secrets",
            "opts": model_admin.model._meta,
            "explanation": explanation,
            "secrets": secrets,
        },
    )


class SubscriptionForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        choices=[(t, t) for t in EVENT_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event type.",
    )

    class Meta:
        model = WebhookSubscription
        fields = ["tenant", "url", "event_types", "active", "description"]


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(TenantScopedAdmin):
    form = SubscriptionForm
    list_display = ["url", "active", "event_types", "masked_secret", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "description"]
    actions = ["rotate_secret"]

    def get_readonly_fields(self, request, obj=None):
        return ["tenant"] if obj else []

    def save_model(self, request, obj, form, change):
        obj.event_types = sorted(form.cleaned_data.get("event_types") or [])
        if not change:
            obj.secret = new_secret()
        super().save_model(request, obj, form, change)
        if not change:
            messages.warning(request, f"Signing secret of this subscription (shown once, store it now): {obj.secret}")

    @admin.display(description="secret")
    def masked_secret(self, obj):
        return obj.masked_secret

    @admin.action(description="Rotate the signing secret of the selected subscriptions", permissions=["change"])
    def rotate_secret(self, request, queryset):
        rotated = [(str(sub), sub.rotate_secret()) for sub in queryset.order_by("created_at")]
        return show_new_secrets(
            self, request, "New signing secrets; deliveries are signed with them from now on.", rotated
        )


class AttemptInline(TenantScopedInline, ReadOnlyAdminMixin, admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    fields = ["number", "attempted_at", "status_code", "latency_ms", "error"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = [
        "event_uuid",
        "event_type",
        "sequence",
        "aggregate_id",
        "subscription",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["status", "event__type"]
    search_fields = ["=aggregate_id", "=event__event_id", "subscription__url"]
    list_select_related = ["event", "subscription"]
    show_full_result_count = False
    inlines = [AttemptInline]
    actions = ["redeliver"]
    readonly_fields = [
        "tenant",
        "subscription",
        "event_uuid",
        "event_type",
        "aggregate_id",
        "sequence",
        "status",
        "attempts",
        "next_attempt_at",
        "lease_until",
        "last_status_code",
        "last_error",
        "delivered_at",
        "created_at",
        "payload",
    ]
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
