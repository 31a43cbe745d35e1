"""TenantDirectory over the ORM."""

from __future__ import annotations

from identity.domain.errors import InvalidTenantSettings
from identity.domain.tenant import TenantTokenPolicy

from .models import Tenant


class OrmTenantDirectory:
    def token_policy(self, tenant_id: str) -> TenantTokenPolicy | None:
        tenant = Tenant.objects.filter(pk=tenant_id).first()
        if tenant is None:
            return None
        try:
            return tenant.token_policy()
        except InvalidTenantSettings:
            # A misconfigured tenant (edited around validation) authenticates nobody.
            return None
