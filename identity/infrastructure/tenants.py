"""TenantDirectory over the ORM."""

from __future__ import annotations

from identity.domain.errors import InvalidTenantSettings
from identity.domain.tenant import TenantTokenPolicy
from oms_project.kernel.admission.rules import Limits
from oms_project.kernel.local_cache import TtlCache

from .models import Tenant

TOKEN_POLICIES = TtlCache("tenant token policies")
ADMISSION_LIMITS = TtlCache("tenant admission limits")
_NO_OVERRIDES = (None, None, None, None, None)


def admission_limits(tenant_id: str, defaults: Limits) -> Limits:
    """The tenant's admission limits: its own settings over the platform's `defaults` (cached per
    process like the token policy; a saved tenant invalidates its entry)."""
    return limits_in_force(
        ADMISSION_LIMITS.get_or_load(
            tenant_id,
            lambda: (
                (Tenant.objects.filter(pk=tenant_id).first() or Tenant()).admission_overrides()
                if tenant_id
                else _NO_OVERRIDES
            ),
        ),
        defaults,
    )


def limits_in_force(overrides: tuple[float | None, ...], defaults: Limits) -> Limits:
    """A tenant's own settings (`Tenant.admission_overrides()`) over the platform's `defaults`."""
    share, rate, burst, token_rate, token_burst = overrides
    if share is rate is burst is token_rate is token_burst is None:
        return defaults
    return Limits(
        share=share or defaults.share,
        rate=rate or defaults.rate,
        burst=burst or defaults.burst,
        token_rate=token_rate or defaults.token_rate,
        token_burst=token_burst or defaults.token_burst,
    )


class OrmTenantDirectory:
    def token_policy(self, tenant_id: str) -> TenantTokenPolicy | None:
        """Cached per process for OMS_AUTH_CACHE_SECONDS; a saved tenant invalidates its entry."""
        return TOKEN_POLICIES.get_or_load(tenant_id, lambda: self._load(tenant_id))

    @staticmethod
    def _load(tenant_id: str) -> TenantTokenPolicy | None:
        tenant = Tenant.objects.filter(pk=tenant_id).first()
        ADMISSION_LIMITS.put(tenant_id, tenant.admission_overrides() if tenant is not None else _NO_OVERRIDES)
        if tenant is None:
            return None
        try:
            return tenant.token_policy()
        except InvalidTenantSettings:
            # A misconfigured tenant (edited around validation) authenticates nobody.
            return None
