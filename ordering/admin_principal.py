"""The signed-in admin user as a principal of the application layer: staff of one tenant whose
user id is `admin:<username>`, so an order's history and its documents name the admin user. The
order admin, its downloads and the dashboard all act as this principal."""

from __future__ import annotations

from django.http import HttpRequest

from identity.domain.principal import Principal, Role


def admin_principal(request: HttpRequest, tenant_id: str) -> Principal:
    """The logged-in admin user as staff of `tenant_id`."""
    return Principal(user_id=f"admin:{request.user.get_username()}", tenant_id=tenant_id, roles=frozenset({Role.STAFF}))
