"""Order events on a broker stream (docs/events.md, "The event stream"), in plain Python.

Subject: `oms.<tenant_id>.orders.<name>`, where `<name>` is the event type without `order.`
(`oms.acme.orders.placed`, `oms.acme.orders.status_changed`). So a consumer takes one tenant
(`oms.acme.orders.>`) or one type (`oms.*.orders.placed`) with a wildcard, and an operator grants
per-tenant permissions by subject. The message is the webhook envelope; `Nats-Msg-Id` is the
event id, so a re-publish after a crash is dropped by the server's duplicate window.
"""

from __future__ import annotations

from dataclasses import dataclass

SUBJECT_PREFIX = "oms"
STREAM_SUBJECTS = "oms.*.orders.>"


def tenant_subjects(tenant_id: str) -> str:
    """Every event subject of one tenant: `oms.acme.orders.>`."""
    return f"{SUBJECT_PREFIX}.{tenant_id}.orders.>"


def subject_for(tenant_id: str, event_type: str) -> str:
    """`order.placed` of tenant `acme` -> `oms.acme.orders.placed`."""
    name = event_type.removeprefix("order.")
    return f"{SUBJECT_PREFIX}.{tenant_id}.orders.{name}"


def filter_subject(tenant_id: str | None = None, event_name: str | None = None) -> str:
    """The subject filter of a consumer: one tenant, one type (`placed` or `order.placed`), or all."""
    tenant = tenant_id or "*"
    name = event_name.removeprefix("order.") if event_name else ">"
    return f"{SUBJECT_PREFIX}.{tenant}.orders.{name}"


@dataclass(frozen=True)
class StreamMessage:
    position: int  # the outbox position, marked published once the stream acknowledges it
    event_id: str
    tenant_id: str
    event_type: str
    body: bytes
    trace_parent: str = ""  # of the operation that raised the event (the publish span continues it)

    @property
    def subject(self) -> str:
        return subject_for(self.tenant_id, self.event_type)

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Nats-Msg-Id": self.event_id,
            "Content-Type": "application/json",
            "Oms-Event-Type": self.event_type,
            "Oms-Tenant-Id": self.tenant_id,
        }
