"""Idempotency keys: the first result of a request, found again by its key."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from ordering.application.ports import RetryUseCase
from ordering.domain.errors import IdempotencyKeyReused

from .. import models


class OrmIdempotencyKeys:
    def __init__(self, tenant_id: str) -> None:
        self.tenant_id = tenant_id

    def claim(self, user_id: str, operation: str, key: str, request_hash: str) -> str | None:
        """None if this call is the key's first use (the key is now taken), else the order the
        first use made. A different request under a used key is refused."""
        existing = models.IdempotencyKey.objects.filter(
            tenant_id=self.tenant_id, user_id=user_id, operation=operation, key=key
        ).first()
        if existing is None:
            try:
                with transaction.atomic():
                    models.IdempotencyKey.objects.create(
                        tenant_id=self.tenant_id,
                        user_id=user_id,
                        operation=operation,
                        key=key,
                        request_hash=request_hash,
                    )
            except IntegrityError:
                # A concurrent first use committed while we waited on the unique index.
                raise RetryUseCase(key) from None
            return None
        if existing.request_hash != request_hash:
            raise IdempotencyKeyReused(
                "this idempotency key was used with a different request", field="idempotency_key"
            )
        return str(existing.order_id)

    def settle(self, user_id: str, operation: str, key: str, order_id: str) -> None:
        models.IdempotencyKey.objects.filter(
            tenant_id=self.tenant_id, user_id=user_id, operation=operation, key=key
        ).update(order_id=order_id)
