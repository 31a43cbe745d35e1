"""The shape of a tenant id, checked before any lookup (plain Python: the domain layers use it)."""

from __future__ import annotations

import re

TENANT_ID_FORMAT = re.compile(r"[A-Za-z0-9_-]{1,63}")


def is_tenant_id(value: object) -> bool:
    """Whether `value` has the documented shape of a tenant id (checked before any lookup)."""
    return isinstance(value, str) and TENANT_ID_FORMAT.fullmatch(value) is not None
