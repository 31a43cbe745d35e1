from webhooks.infrastructure.models import (
    DeliveryAttempt,
    InboundWebhookReceipt,
    InboundWebhookSecret,
    WebhookDelivery,
    WebhookSubscription,
)

__all__ = ["DeliveryAttempt", "InboundWebhookReceipt", "InboundWebhookSecret", "WebhookDelivery", "WebhookSubscription"]
