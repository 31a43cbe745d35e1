"""Parsing an inbound event envelope: `{ "type": ..., "data": {...} }`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from oms_project.kernel.errors import CodedError


class EventMalformed(CodedError):
    """The body is not a well-formed event (HTTP 400)."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message, field)
        self.code = code


@dataclass(frozen=True)
class InboundEvent:
    type: str
    data: dict[str, Any]


def parse_event(body: bytes) -> InboundEvent:
    try:
        document = json.loads(body)
    except UnicodeDecodeError as exc:
        raise EventMalformed("MALFORMED_JSON", "body is not valid UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise EventMalformed("MALFORMED_JSON", "body is not valid JSON") from exc
    except RecursionError:
        raise EventMalformed("MALFORMED_JSON", "body is nested too deeply") from None
    if not isinstance(document, dict):
        raise EventMalformed("INVALID", "body must be a JSON object")
    event_type, data = document.get("type"), document.get("data")
    if not isinstance(event_type, str) or not event_type:
        raise EventMalformed("INVALID", "type is required")
    if not isinstance(data, dict):
        raise EventMalformed("INVALID", "data must be an object")
    return InboundEvent(type=event_type, data=data)
