from webhooks.infrastructure.models import InboundWebhookReceipt, InboundWebhookSecret

__all__ = ["InboundWebhookReceipt", "InboundWebhookSecret"]
