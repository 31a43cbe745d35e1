"""Field rules shared by every snapshot type. Each raises SnapshotInvalid naming the field."""

from __future__ import annotations

import re
from typing import Any

from .countries import is_country_code
from .errors import SnapshotInvalid

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_MAX_TEXT = 500
MAX_VERSION = 2**63 - 1  # a signed 64-bit column on every database
MAX_COUNT = 2**31 - 1  # quantities, limits, days, priorities: signed 32-bit columns


def required_text(field: str, value: Any, *, max_length: int = _MAX_TEXT) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise SnapshotInvalid("is required", field=field)
    return optional_text(field, value, max_length=max_length)


def optional_text(field: str, value: Any, *, max_length: int = _MAX_TEXT) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise SnapshotInvalid("must be a string", field=field)
    text = value.strip()
    if len(text) > max_length:
        raise SnapshotInvalid(f"must be at most {max_length} characters", field=field)
    return text


def email(field: str, value: Any) -> str:
    text = required_text(field, value, max_length=254)
    if not _EMAIL.match(text):
        raise SnapshotInvalid("is not an email address", field=field)
    return text.lower()


def country(field: str, value: Any) -> str:
    text = required_text(field, value, max_length=2)
    code = text.upper()
    if not is_country_code(code):
        raise SnapshotInvalid("must be an ISO 3166-1 alpha-2 country code", field=field)
    return code


def boolean(field: str, value: Any, *, default: bool | None = None) -> bool:
    if value is None and default is not None:
        return default
    if not isinstance(value, bool):
        raise SnapshotInvalid("must be true or false", field=field)
    return value


def version(field: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SnapshotInvalid("must be an integer", field=field)
    if value < 0:
        raise SnapshotInvalid("must not be negative", field=field)
    if value > MAX_VERSION:
        raise SnapshotInvalid(f"must be at most {MAX_VERSION}", field=field)
    return value
