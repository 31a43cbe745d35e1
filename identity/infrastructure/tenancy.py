"""The one way application code opens a transaction on behalf of a tenant."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import transaction


@contextmanager
def tenant_transaction(tenant_id: str) -> Iterator[None]:
    """A database transaction for work done on behalf of `tenant_id`.

    Every use case writes through this, so per-transaction tenant settings (PostgreSQL
    row-level security's `SET LOCAL app.tenant_id`) have exactly one home.
    """
    if not tenant_id:
        raise ValueError("a tenant transaction needs a tenant id")
    with transaction.atomic():
        yield
