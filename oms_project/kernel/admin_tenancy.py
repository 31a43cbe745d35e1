"""The second wall of the admin: a tenant staff member's admin request runs in their tenant's
database scope (docs/admin.md).

On PostgreSQL, every `/admin/` request of a user bound to a tenant runs inside
`tenant_transaction(tenant)`, like an API request: the tenant role and `app.tenant_id` apply, so
row-level security hides other tenants' rows even from an admin query that forgot its filter.
The user's permissions are loaded before the scope opens (the tenant role reads none of Django's
permission tables). Platform operators keep the operator scope (the table owner); on SQLite
there is no such wall and the admin classes' own filters are the only one.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext

from django.http import HttpRequest, HttpResponse

from oms_project.kernel import replicas
from oms_project.kernel.admin_scope import admin_scope_of
from oms_project.kernel.tenancy import row_level_security_enabled, tenant_transaction

ADMIN_PREFIX = "/admin/"  # oms_project/urls.py
# The admin's own account pages: they read and write the user's own row and session, never
# tenant data, and the tenant role may not touch Django's session or update users.
ACCOUNT_PAGES = tuple(ADMIN_PREFIX + page for page in ("login/", "logout/", "password_change/"))


class AdminTenantScopeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            not request.path.startswith(ADMIN_PREFIX)
            or request.path.startswith(ACCOUNT_PAGES)
            or not row_level_security_enabled()
        ):
            return self.get_response(request)
        user = request.user
        if not user.is_authenticated:
            return self.get_response(request)
        scope = admin_scope_of(user)
        user.get_all_permissions()  # cached on the user object for the rest of the request
        # A page that only shows (GET) may read from a replica (oms_project/kernel/replicas.py); the
        # session and the user were read above, from the primary.
        reads = replicas.reading() if request.method in ("GET", "HEAD") else nullcontext()
        with reads:
            if scope.tenant_id is None:
                return self.get_response(request)
            with tenant_transaction(scope.tenant_id):
                return self.get_response(request)
