"""`POST /webhooks/<tenant_id>/`: signed snapshot updates from upstream systems (api.md)."""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from identity.domain.tenant import is_tenant_id
from oms_project.kernel import errors, tracing
from oms_project.kernel.metrics import WEBHOOK_RECEIPTS
from oms_project.kernel.observability import bind_tenant
from oms_project.kernel.request_limits import body_exceeds
from oms_project.kernel.tenancy import tenant_transaction
from ordering.domain.errors import OrderingError
from snapshots.application.changes import UnknownSnapshotType
from snapshots.domain.errors import SnapshotInvalid
from webhooks.application.carriers import UnknownProvider
from webhooks.application.carriers import receive_carrier_webhook as receive_carrier_update
from webhooks.application.channel_orders import UnknownChannel, UnknownChannelEvent
from webhooks.application.channel_orders import receive_channel_webhook as receive_channel_orders
from webhooks.application.receive import Delivery, UnknownTenant, receive_snapshot_webhook
from webhooks.domain.events import EventMalformed
from webhooks.domain.signatures import SignatureRejected
from webhooks.infrastructure.inbound import OrmInboundPorts

logger = logging.getLogger(__name__)


def problem(code: str, message: str, field: str | None = None) -> JsonResponse:
    """A refused delivery: `{code, message, field?}`, its status from the one table (kernel/errors.py)."""
    response = JsonResponse(errors.problem(code, message, field), status=errors.http_status(code))
    response.oms_outcome = code.lower()  # the receipts metric's label
    return response


@csrf_exempt  # authenticated by its signature, never by cookies
@require_POST
def receive_webhook(request: HttpRequest, tenant_id: str) -> HttpResponse:
    return _counted(tenant_id, {}, lambda: _receive(request, tenant_id))


def _counted(tenant_id: str, attributes: dict, receive) -> HttpResponse:
    """Every webhook door: the tenant bound for the logs, a span, and the receipts metric."""
    bind_tenant(tenant_id)
    with tracing.span("webhook receive", {"oms.tenant_id": tenant_id, **attributes}) as span:
        response = receive()
        if span is not None:
            span.set_attribute("oms.webhook.outcome", response.oms_outcome)
            if response.status_code >= 400:
                tracing.failed(span, response.oms_outcome)
    WEBHOOK_RECEIPTS.labels(response.oms_outcome).inc()
    return response


def _delivery(request: HttpRequest, tenant_id: str) -> Delivery | JsonResponse:
    """The signed delivery, or the refusal of a tenant id of the wrong shape or a body too large."""
    if not is_tenant_id(tenant_id):
        return problem("NOT_FOUND", "unknown tenant")  # as an unknown tenant, before any lookup
    limit = settings.OMS_WEBHOOK_MAX_BODY_BYTES
    if body_exceeds(request, limit):
        return problem("PAYLOAD_TOO_LARGE", f"body exceeds {limit} bytes")
    return Delivery(
        tenant_id=tenant_id,
        msg_id=request.headers.get("webhook-id"),
        timestamp=request.headers.get("webhook-timestamp"),
        signature=request.headers.get("webhook-signature"),
        body=request.body,
    )


# What a door refuses a delivery for, answered the same way on every door (docs/errors.md).
_REFUSALS = (
    UnknownTenant,
    UnknownChannel,
    UnknownProvider,
    SignatureRejected,
    EventMalformed,
    UnknownSnapshotType,
    UnknownChannelEvent,
    SnapshotInvalid,
    OrderingError,
)
_UNKNOWN = (UnknownTenant, UnknownChannel, UnknownProvider)


def _refused(error: errors.CodedError, *, unknown: str, not_found: str = "NOT_FOUND") -> JsonResponse:
    """The answer to a refused delivery. `unknown`: the message for an unknown tenant (or channel,
    or provider: one message, so a door is no tenant-existence oracle); `not_found`: the code of
    an ordering NOT_FOUND on this door (a tracking number no shipment has: SHIPMENT_NOT_FOUND)."""
    if isinstance(error, _UNKNOWN):
        return problem(error.code, unknown)
    if isinstance(error, SignatureRejected):
        return problem(error.code, error.message)
    if isinstance(error, OrderingError):
        part = error.parts()[0]
        code = not_found if part.code == "NOT_FOUND" else part.code
        return problem(code, error.message, field=part.field)
    return problem(error.code, error.message, field=error.field)


def _answered(response: HttpResponse, outcome: str) -> HttpResponse:
    response["X-Webhook-Outcome"] = outcome
    response.oms_outcome = outcome
    return response


def _receive(request: HttpRequest, tenant_id: str) -> HttpResponse:
    delivery = _delivery(request, tenant_id)
    if isinstance(delivery, HttpResponse):
        return delivery
    try:
        # The whole delivery, from the tenant lookup on, is one transaction scoped to the
        # tenant of the URL (row-level security on PostgreSQL).
        with tenant_transaction(tenant_id):
            outcome = receive_snapshot_webhook(delivery, now=time.time(), ports=OrmInboundPorts())
    except _REFUSALS as error:  # a carrier's tracking update may be refused by ordering
        return _refused(error, unknown="unknown tenant", not_found="SHIPMENT_NOT_FOUND")
    logger.info("webhook %s for tenant %s: %s", delivery.msg_id, tenant_id, outcome.value)
    return _answered(HttpResponse(status=204), outcome.value)


# -- a sales channel's door: POST /webhooks/<tenant_id>/channels/<channel>/orders/ ----------------


@csrf_exempt  # authenticated by the channel's signature, never by cookies
@require_POST
def receive_channel_webhook(request: HttpRequest, tenant_id: str, channel: str) -> HttpResponse:
    return _counted(tenant_id, {"oms.channel": channel}, lambda: _receive_channel(request, tenant_id, channel))


def _order_answer(order) -> dict:
    return {
        "id": order.order_id,
        "number": order.number,
        "status": order.status.value,
        "external_reference": order.external_reference,
    }


def _receive_channel(request: HttpRequest, tenant_id: str, channel: str) -> HttpResponse:
    delivery = _delivery(request, tenant_id)
    if isinstance(delivery, HttpResponse):
        return delivery
    try:
        with tenant_transaction(tenant_id):  # the whole delivery, as the snapshot door's
            outcome, order = receive_channel_orders(delivery, channel, now=time.time(), ports=OrmInboundPorts())
    except _REFUSALS as error:
        return _refused(error, unknown="unknown tenant or sales channel")
    logger.info("channel webhook %s for %s/%s: %s", delivery.msg_id, tenant_id, channel, outcome.value)
    body = {"outcome": outcome.value, "order": None if order is None else _order_answer(order)}
    return _answered(JsonResponse(body), outcome.value)


# -- a tracking aggregator's door: POST /webhooks/<tenant_id>/carriers/<provider>/ ---------------


@csrf_exempt  # authenticated by the provider's signature, never by cookies
@require_POST
def receive_carrier_webhook(request: HttpRequest, tenant_id: str, provider: str) -> HttpResponse:
    return _counted(tenant_id, {"oms.carrier": provider}, lambda: _receive_carrier(request, tenant_id, provider))


def _receive_carrier(request: HttpRequest, tenant_id: str, provider: str) -> HttpResponse:
    delivery = _delivery(request, tenant_id)
    if isinstance(delivery, HttpResponse):
        return delivery
    headers = {name.lower(): value for name, value in request.headers.items()}
    try:
        with tenant_transaction(tenant_id):
            outcome = receive_carrier_update(tenant_id, provider, headers, delivery.body, ports=OrmInboundPorts())
    except _REFUSALS as error:
        return _refused(error, unknown="unknown tenant or tracking provider", not_found="SHIPMENT_NOT_FOUND")
    logger.info("%s tracking webhook for tenant %s: %s", provider, tenant_id, outcome)
    return _answered(HttpResponse(status=204), outcome)
