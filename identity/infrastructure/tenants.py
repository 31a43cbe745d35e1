"""TenantDirectory over the ORM."""

from __future__ import annotations

from identity.domain.errors import InvalidTenantSettings
from identity.domain.tenant import TenantTokenPolicy

from oms_project.local_cache import TtlCache

from .models import Tenant

TOKEN_POLICIES = TtlCache("tenant token policies")


class OrmTenantDirectory:
    def token_policy(self, tenant_id: str) -> TenantTokenPolicy | None:
        """Cached per process for OMS_AUTH_CACHE_SECONDS; a saved tenant invalidates its entry."""
        return TOKEN_POLICIES.get_or_load(tenant_id, lambda: self._load(tenant_id))

    @staticmethod
    def _load(tenant_id: str) -> TenantTokenPolicy | None:
        tenant = Tenant.objects.filter(pk=tenant_id).first()
        if tenant is None:
            return None
        try:
            return tenant.token_policy()
        except InvalidTenantSettings:
            # A misconfigured tenant (edited around validation) authenticates nobody.
            return None
