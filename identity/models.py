from identity.infrastructure.models import PersistedQuery, Tenant, TenantStaffMember

__all__ = ["PersistedQuery", "Tenant", "TenantStaffMember"]
