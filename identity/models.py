from identity.infrastructure.models import Tenant

__all__ = ["Tenant"]
