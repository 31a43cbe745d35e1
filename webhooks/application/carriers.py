"""Use case: a tracking aggregator's own webhook (EasyPost, AfterShip; docs/integrations.md).
The provider's adapter verifies its signature and reads its payload; a mapped status moves the
shipment with that tracking number through the same code as `shipment.tracking_updated` (stale
updates ignored, impossible ones refused); a status we do not map is recorded and moves nothing."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol

from oms_project.kernel.errors import CodedError
from oms_project.kernel.input_gate import TextRefused, check_tree
from ordering.application.commands import TrackingUpdate
from webhooks.domain.carriers import NO_CHANGE
from webhooks.domain.carriers.registry import PROVIDERS
from webhooks.domain.events import EventMalformed
from webhooks.domain.signatures import SignatureRejected

from .receive import Outcome, UnknownTenant

UNMAPPED, IGNORED = "unmapped", "ignored"


class UnknownProvider(CodedError):
    """No adapter of this name (HTTP 404)."""

    code = "NOT_FOUND"

    def __init__(self, provider: str) -> None:
        super().__init__("unknown tracking provider")
        self.provider = provider


class CarrierPorts(Protocol):
    def tenant_is_active(self, tenant_id: str) -> bool: ...

    def carrier_secret(self, tenant_id: str, provider: str) -> str | None: ...

    def record_receipt(self, tenant_id: str, msg_id: str, event_type: str) -> bool: ...

    def atomic(self, tenant_id: str) -> AbstractContextManager[None]: ...

    def apply_tracking(self, tenant_id: str, update: object) -> bool: ...


def receive_carrier_webhook(
    tenant_id: str, provider: str, headers: dict[str, str], body: bytes, *, ports: CarrierPorts
) -> str:
    """The outcome: applied, stale, duplicate, ignored (a status that moves nothing) or unmapped.
    Raises UnknownTenant, UnknownProvider, SignatureRejected (also when the tenant set no secret
    for the provider), EventMalformed, or the ordering NotFound / InvalidTransition; each writes
    nothing."""
    if not ports.tenant_is_active(tenant_id):
        raise UnknownTenant(tenant_id)
    adapter = PROVIDERS.get(provider)
    if adapter is None:
        raise UnknownProvider(provider)
    secret = ports.carrier_secret(tenant_id, provider)
    if not secret:
        raise SignatureRejected(f"no {provider} secret is set for this tenant (manage.py carrier_secret)")
    adapter.verify(secret, headers, body)
    update = adapter.parse(body)
    try:
        check_tree({"tracking_number": update.tracking_number, "detail": update.detail}, "data")
    except TextRefused as refused:
        raise EventMalformed("INVALID", refused.message, field=refused.field) from None
    with ports.atomic(tenant_id):
        if not ports.record_receipt(
            tenant_id, f"{provider}:{update.event_id}"[:255], f"{provider}:{update.provider_status}"[:100]
        ):
            return Outcome.DUPLICATE.value
        if update.status is None:
            return UNMAPPED
        if update.status == NO_CHANGE:
            return IGNORED
        applied = ports.apply_tracking(
            tenant_id,
            TrackingUpdate(
                update.tracking_number, update.status, update.occurred_at, None, update.detail, source=provider
            ),
        )
    return Outcome.APPLIED.value if applied else Outcome.STALE.value
