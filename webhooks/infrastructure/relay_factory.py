"""The relay as configured by settings (`OMS_RELAY_*`)."""

from __future__ import annotations

from django.conf import settings

from webhooks.application.relay import Relay
from webhooks.domain.outbound import RetryPolicy

from .outbound import HttpSender, OrmDeliveryStore


def configured_relay(**overrides) -> Relay:
    policy = RetryPolicy(
        max_attempts=settings.OMS_RELAY_MAX_ATTEMPTS,
        base_seconds=settings.OMS_RELAY_BACKOFF_BASE_SECONDS,
        cap_seconds=settings.OMS_RELAY_BACKOFF_CAP_SECONDS,
    )
    concurrency = overrides.pop("concurrency", settings.OMS_RELAY_CONCURRENCY)
    options = {
        "store": OrmDeliveryStore(),
        "sender": HttpSender(),
        "policy": policy,
        "timeout_seconds": settings.OMS_RELAY_TIMEOUT_SECONDS,
        "concurrency": concurrency,
        "claim_batch": settings.OMS_RELAY_BATCH,
    }
    options.update(overrides)
    return Relay(**options)
