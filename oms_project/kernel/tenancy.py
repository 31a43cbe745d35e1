"""The one way code opens a transaction on behalf of a tenant (row-level security's home).

On PostgreSQL, `tenant_transaction(t)` starts a transaction and, inside it, switches to the
application's tenant role (`settings.OMS_DB_TENANT_ROLE`, no BYPASSRLS, not the table owner) and
sets `app.tenant_id = t`, both with `set_config(..., is_local => true)` (what `SET LOCAL` does).
The policies installed by the `identity` migration 0003 then show and accept only rows whose
`tenant_id` is `t`. Both settings end with the transaction, so a pooled connection never carries
them into the next request. On SQLite this is a plain `transaction.atomic()`.

Nested use for the same tenant is a savepoint inside the same scope. Nesting another tenant is a
programming error and raises `CrossTenantTransaction` before any query runs. When the scope was
opened inside an outer transaction that had no scope (a management command, a test), leaving it
restores the outer transaction's role and setting.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import models, transaction

from oms_project.kernel import prepared

SCOPE_ATTRIBUTE = "oms_tenant_scope"


class CrossTenantTransaction(RuntimeError):
    """A tenant transaction was opened inside another tenant's transaction."""


def current_tenant_scope() -> str | None:
    """The tenant whose transaction the current connection is in, if any."""
    return getattr(prepared.database(), SCOPE_ATTRIBUTE, None)


def row_level_security_enabled() -> bool:
    return prepared.on_postgresql()


def _set_scope(role: str, tenant_id: str) -> None:
    with prepared.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('role', %s, true), set_config('app.tenant_id', %s, true)",
            [role, tenant_id],
        )


@contextmanager
def tenant_transaction(tenant_id: str) -> Iterator[None]:
    """A database transaction for work done on behalf of `tenant_id` (see the module docstring)."""
    if not tenant_id:
        raise ValueError("a tenant transaction needs a tenant id")
    current = current_tenant_scope()
    if current is not None:
        if current != tenant_id:
            raise CrossTenantTransaction(
                f"a transaction for tenant {tenant_id!r} was opened inside one for {current!r}"
            )
        with transaction.atomic(using=prepared.database().alias):
            yield
        return

    db = prepared.database()
    nested = db.in_atomic_block
    with transaction.atomic(using=db.alias):
        setattr(db, SCOPE_ATTRIBUTE, tenant_id)
        try:
            if row_level_security_enabled():
                _set_scope(settings.OMS_DB_TENANT_ROLE, tenant_id)
            yield
            if nested and row_level_security_enabled() and not db.needs_rollback:
                # The outer transaction goes on: give it back its own role and no tenant.
                _set_scope("none", "")
        finally:
            setattr(db, SCOPE_ATTRIBUTE, None)


@contextmanager
def tenant_reads(tenant_id: str) -> Iterator[None]:
    """Reads on behalf of `tenant_id`: free inside that tenant's scope already (no savepoint),
    otherwise in a tenant transaction of their own (a mutation's payload, read after its unit of
    work committed)."""
    if current_tenant_scope() == tenant_id:
        yield
        return
    with tenant_transaction(tenant_id):
        yield


def tenant_model() -> type[models.Model]:
    """The tenant registry's model (`OMS_TENANT_MODEL`, as Django names the user model): the
    kernel and the apps other than identity reach it through this, never by importing it."""
    from django.apps import apps

    return apps.get_model(settings.OMS_TENANT_MODEL)
