from identity.infrastructure.models import Tenant, TenantStaffMember

__all__ = ["Tenant", "TenantStaffMember"]
