"""The outbound event catalog: one JSON Schema per event type and the AsyncAPI document that names
them all. `manage.py event_catalog` writes them to docs/events/; a test fails when the files and
this module disagree, and another validates every payload the code produces against them.
"""

from __future__ import annotations

import json
from typing import Any

from ordering.domain import events as ev
from ordering.domain.fulfilment import HoldReason, ReturnStatus, ReviewDecision, ReviewStatus, ShipmentStatus
from ordering.domain.lifecycle import OrderStatus
from ordering.domain.order import PaymentStatus

BASE_URL = "https://oms.example/events"

STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
DATE_TIME = {"type": "string", "format": "date-time"}
NULLABLE_DATE_TIME = {"type": ["string", "null"], "format": "date-time"}
MONEY = {"$ref": "#/$defs/money"}
NULLABLE_MONEY = {"oneOf": [{"type": "null"}, MONEY]}
STATUS = {"enum": [s.value for s in OrderStatus]}


def obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """A closed object; every property is required unless `required` says otherwise."""
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(properties) if required is None else required,
        "properties": properties,
    }


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"oneOf": [{"type": "null"}, schema]}


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


LINE_QUANTITIES = array(obj({"line_id": STRING, "quantity": {"type": "integer", "minimum": 1}}))

DEFS: dict[str, Any] = {
    "money": obj(
        {
            "amount": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"},
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        }
    ),
    "shipment": obj(
        {
            "id": STRING,
            "vendor_id": STRING,
            "status": {"enum": [s.value for s in ShipmentStatus]},
            "carrier": STRING,
            "tracking_number": STRING,
            "lines": LINE_QUANTITIES,
            "shipped_at": NULLABLE_DATE_TIME,
            "updated_at": NULLABLE_DATE_TIME,
        }
    ),
    "hold": obj(
        {"reason": {"enum": [r.value for r in HoldReason]}, "note": NULLABLE_STRING, "by": STRING, "at": DATE_TIME}
    ),
    "review": obj(
        {
            "status": {"enum": [s.value for s in ReviewStatus]},
            "level": {"type": "integer", "minimum": 1},
            "assignee": NULLABLE_STRING,
            "requested_at": DATE_TIME,
            "decided_by": NULLABLE_STRING,
            "decided_at": NULLABLE_DATE_TIME,
            "note": NULLABLE_STRING,
        }
    ),
    "return": obj(
        {
            "id": STRING,
            "vendor_id": STRING,
            "status": {"enum": [s.value for s in ReturnStatus]},
            "lines": LINE_QUANTITIES,
            "reason": STRING,
            "requested_by": STRING,
            "requested_at": DATE_TIME,
            "decided_by": NULLABLE_STRING,
            "decided_at": NULLABLE_DATE_TIME,
            "note": NULLABLE_STRING,
            "received_at": NULLABLE_DATE_TIME,
        }
    ),
    "refund": obj(
        {"id": STRING, "amount": MONEY, "reason": STRING, "return_id": NULLABLE_STRING, "by": STRING, "at": DATE_TIME}
    ),
    "order": obj(
        {
            "id": {"type": "string", "format": "uuid"},
            "number": NULLABLE_STRING,
            "status": STATUS,
            "payment_status": {"enum": [s.value for s in PaymentStatus]},
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
            "customer": obj(
                {
                    "user_id": STRING,
                    "email": STRING,
                    "first_name": STRING,
                    "last_name": STRING,
                    "phone": NULLABLE_STRING,
                }
            ),
            "shipping_address": obj(
                {
                    "line1": STRING,
                    "line2": NULLABLE_STRING,
                    "city": STRING,
                    "state": NULLABLE_STRING,
                    "postal_code": STRING,
                    "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
                }
            ),
            "lines": array(
                obj(
                    {
                        "id": STRING,
                        "product_id": STRING,
                        "sku": STRING,
                        "product_name": STRING,
                        "vendor_id": STRING,
                        "quantity": {"type": "integer", "minimum": 1},
                        "unit_price": MONEY,
                        "discount": MONEY,
                        "total": MONEY,
                        "shipped_quantity": {"type": "integer", "minimum": 0},
                        "tax_rate": {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$", "description": "Percent."},
                        "tax_inclusive": {"type": "boolean"},
                        "tax": MONEY,
                        "weight": {
                            "type": ["string", "null"],
                            "pattern": r"^[0-9]+(\.[0-9]+)?$",
                            "description": "Kilograms, as a sales channel sent it.",
                        },
                    }
                )
            ),
            "shipping_options": array(
                obj(
                    {
                        "vendor_id": STRING,
                        "shipping_option_id": NULLABLE_STRING,
                        "name": NULLABLE_STRING,
                        "carrier": NULLABLE_STRING,
                        "cost": MONEY,
                        "waived_by": NULLABLE_STRING,
                    }
                )
            ),
            "coupons": array(obj({"code": STRING, "vendor_id": NULLABLE_STRING, "discount": MONEY})),
            "subtotal": MONEY,
            "discount_total": MONEY,
            "shipping_total": MONEY,
            "tax_total": MONEY,
            "total": MONEY,
            "payment_option": nullable(obj({"id": STRING, "method": STRING})),
            "payment": nullable(obj({"method": STRING, "reference": STRING, "amount": MONEY, "paid_at": DATE_TIME})),
            "shipments": array({"$ref": "#/$defs/shipment"}),
            "cancellation": nullable(obj({"reason": STRING, "by": STRING, "at": DATE_TIME})),
            "unfulfillable_reason": NULLABLE_STRING,
            "channel": {
                **NULLABLE_STRING,
                "description": "The sales channel it was imported from; null: our checkout.",
            },
            "external_reference": {**NULLABLE_STRING, "description": "The channel's own reference."},
            "hold": nullable({"$ref": "#/$defs/hold"}),
            "review": nullable({"$ref": "#/$defs/review"}),
            "revision": {"type": "integer", "minimum": 0},
            "payment_adjustment": NULLABLE_MONEY,
            "delivered_at": NULLABLE_DATE_TIME,
            "returns": array({"$ref": "#/$defs/return"}),
            "refunds": array({"$ref": "#/$defs/refund"}),
            "refunded_total": MONEY,
            "version": {"type": "integer", "minimum": 1},
            "created_at": DATE_TIME,
            "updated_at": DATE_TIME,
            "placed_at": NULLABLE_DATE_TIME,
        }
    ),
}

TRANSITION = {"from_status": STATUS, "to_status": STATUS}
SHIPMENT = {"$ref": "#/$defs/shipment"}
RETURN = {"return": {"$ref": "#/$defs/return"}}

# event type -> (description, its own fields of `data` besides `order`)
EVENTS: dict[str, tuple[str, dict[str, Any]]] = {
    ev.ORDER_CREATED: (
        "A customer checked out a cart: a DRAFT order exists. Or a sales channel's order was "
        "imported (`order.channel`), then placed and perhaps confirmed at once.",
        {},
    ),
    ev.ORDER_PLACED: (
        "The owner placed the order (DRAFT -> PENDING); it has its number. `order.review` is set "
        "when the tenant's workflow wants a review first.",
        TRANSITION,
    ),
    ev.ORDER_CONFIRMED: ("Staff (or the payment system) confirmed payment (PENDING -> CONFIRMED).", TRANSITION),
    ev.ORDER_SHIPPED: (
        "A shipment was handed to its carrier (shipOrder or addShippingTrackingReference): the "
        "order is PARTIALLY_SHIPPED or SHIPPED.",
        {**TRANSITION, "shipment": SHIPMENT},
    ),
    ev.ORDER_DELIVERED: (
        "The order was delivered: by staff (deliverOrder) or when the carrier delivered its last shipment.",
        TRANSITION,
    ),
    ev.ORDER_COMPLETED: ("The order was completed (DELIVERED -> COMPLETED).", TRANSITION),
    ev.ORDER_CANCELLED: ("The order was cancelled.", {**TRANSITION, "reason": STRING, "cancelled_by": STRING}),
    ev.ORDER_STATUS_CHANGED: ("Accompanies every status change, after the event of the change itself.", TRANSITION),
    ev.ORDER_SHIPMENT_ADDED: (
        "Lines were packed into a PENDING shipment (addShipment).",
        {**TRANSITION, "shipment": SHIPMENT},
    ),
    ev.ORDER_SHIPMENT_UPDATED: (
        "A carrier's tracking update moved a shipment (IN_TRANSIT, DELIVERED or FAILED); "
        "the order's status follows from its shipments.",
        {**TRANSITION, "shipment": SHIPMENT, "detail": NULLABLE_STRING},
    ),
    ev.ORDER_SHIPMENT_CANCELLED: (
        "A PENDING shipment was cancelled; its quantities can ship again.",
        {**TRANSITION, "shipment": SHIPMENT, "reason": STRING},
    ),
    ev.ORDER_AMENDED: (
        "A placed order was amended (changeDestination, changeOrderQuantity, removeLineItems), "
        "re-priced from its frozen prices.",
        {
            "revision": {"type": "integer", "minimum": 1},
            "changed_fields": array({"enum": ["shipping_address", "lines"]}),
            "previous_total": MONEY,
            "new_total": MONEY,
            "payment_adjustment": NULLABLE_MONEY,
        },
    ),
    ev.ORDER_PLACED_ON_HOLD: (
        "Staff put the order on hold: it cannot be confirmed, shipped or completed.",
        {"hold": {"$ref": "#/$defs/hold"}},
    ),
    ev.ORDER_HOLD_RELEASED: (
        "Staff released the order's hold.",
        {"hold": {"$ref": "#/$defs/hold"}, "note": NULLABLE_STRING},
    ),
    ev.ORDER_REVIEW_ESCALATED: (
        "The order's review was escalated to another reviewer.",
        {"review": {"$ref": "#/$defs/review"}, "note": NULLABLE_STRING},
    ),
    ev.ORDER_REVIEWED: (
        "The order's review was decided; a rejection is followed by order.cancelled.",
        {
            "decision": {"enum": [d.value for d in ReviewDecision]},
            "note": NULLABLE_STRING,
            "review": {"$ref": "#/$defs/review"},
        },
    ),
    ev.ORDER_RETURN_REQUESTED: ("The customer asked to return delivered lines.", RETURN),
    ev.ORDER_RETURN_APPROVED: ("A return was approved.", RETURN),
    ev.ORDER_RETURN_REJECTED: ("A return was rejected (see its note).", RETURN),
    ev.ORDER_RETURN_RECEIVED: ("An approved return came back.", RETURN),
    ev.ORDER_UNFULFILLABLE: (
        "Staff or the vendor of every line marked the order UNFULFILLABLE (from CONFIRMED or "
        "PARTIALLY_SHIPPED); it is then cancelled or resumed.",
        {**TRANSITION, "reason": STRING},
    ),
    ev.ORDER_RESUMED: (
        "An UNFULFILLABLE order was resumed: CONFIRMED again, or PARTIALLY_SHIPPED when part of it had shipped.",
        TRANSITION,
    ),
    ev.ORDER_REFUNDED: (
        "Staff refunded money; the payment is PARTIALLY_REFUNDED or REFUNDED.",
        {
            "refund": {"$ref": "#/$defs/refund"},
            "refunded_total": MONEY,
            "payment_status": {"enum": [s.value for s in PaymentStatus]},
        },
    ),
}


# Events that are not an order's: their aggregate and their whole `data`.
OTHER_EVENTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    ev.CUSTOMER_ERASED: (
        "A customer's personal data was erased from their orders and snapshots (docs/privacy.md): "
        "erase your copies of it. It carries no personal value.",
        "The customer: a UUID derived from the tenant and the customer's user id.",
        obj(
            {
                "customer_user_id": STRING,
                "order_ids": array({"type": "string", "format": "uuid"}),
                "erased_at": DATE_TIME,
            }
        ),
    ),
}


def event_schema(event_type: str) -> dict[str, Any]:
    if event_type in OTHER_EVENTS:
        description, aggregate, data = OTHER_EVENTS[event_type]
    else:
        description, own = EVENTS[event_type]
        aggregate, data = "The order id.", obj({"order": {"$ref": "#/$defs/order"}, **own})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{BASE_URL}/{event_type}.schema.json",
        "title": event_type,
        "description": f"{description} The body of the POST to a subscription (Standard Webhooks signed; "
        "webhook-id is `id`).",
        **obj(
            {
                "id": {
                    "type": "string",
                    "format": "uuid",
                    "description": "The event id; the same on every retry and for every subscription.",
                },
                "type": {"const": event_type},
                "schema_version": {"const": 1},
                "occurred_at": DATE_TIME,
                "tenant_id": STRING,
                "aggregate_id": {"type": "string", "format": "uuid", "description": aggregate},
                "sequence": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "Per aggregate, increasing from 1: apply in this order.",
                },
                "correlation_id": {
                    "type": ["string", "null"],
                    "description": "The request id of the change (X-Request-ID).",
                },
                "data": data,
            }
        ),
        "$defs": DEFS,
    }


ASYNCAPI_HEAD = """asyncapi: 3.0.0
info:
  title: OMS order events
  version: "1"
  description: |
    Every order change, delivered by the relay (`manage.py relay_events`) as an HTTP POST to each
    matching webhook subscription of the tenant: at least once, in order per order and
    subscription, signed in the Standard Webhooks scheme with the subscription secret
    (`webhook-id` = the event id, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`).
    Any 2xx answer acknowledges; anything else is retried with exponential backoff and jitter,
    then parked as dead (staff can redeliver it from Django admin).
    Generated by `manage.py event_catalog` from ordering/application/event_catalog.py.
servers:
  subscriber:
    host: "{subscriptionHost}"
    protocol: https
    description: The URL of a webhook subscription (`manage.py subscriptions <tenant> add <url>`).
    variables:
      subscriptionHost:
        description: Host of the subscription URL.
"""


def asyncapi() -> str:
    names = {t: t.replace(".", "_") for t in ev.EVENT_TYPES}
    out = [ASYNCAPI_HEAD, "channels:\n"]
    for event_type, name in names.items():
        out.append(
            f'  {name}:\n    address: "{event_type}"\n    messages:\n      {name}:\n'
            f'        $ref: "#/components/messages/{name}"\n'
        )
    out.append("operations:\n")
    for event_type, name in names.items():
        out.append(
            f'  receive_{name}:\n    action: send\n    channel:\n      $ref: "#/channels/{name}"\n'
            f"    summary: The OMS POSTs `{event_type}` to subscribers of it.\n"
        )
    out.append("components:\n  messages:\n")
    for event_type, name in names.items():
        out.append(
            f'    {name}:\n      name: "{event_type}"\n      contentType: application/json\n'
            "      headers:\n        type: object\n"
            "        required: [webhook-id, webhook-timestamp, webhook-signature]\n"
            "        properties:\n"
            "          webhook-id: {type: string, description: The event id (the same on every retry).}\n"
            "          webhook-timestamp: {type: string, description: Unix seconds of this attempt.}\n"
            '          webhook-signature: {type: string, description: "v1,<base64 HMAC-SHA256 of id.timestamp.body>"}\n'
            f'      payload:\n        $ref: "./{event_type}.schema.json"\n'
        )
    return "".join(out)


def files() -> dict[str, str]:
    """File name under docs/events/ -> its text."""
    out = {f"{t}.schema.json": json.dumps(event_schema(t), indent=2) + "\n" for t in ev.EVENT_TYPES}
    out["asyncapi.yaml"] = asyncapi()
    return out
