from snapshots.infrastructure.models import (
    CustomerAddressSnapshot,
    CustomerDetailsSnapshot,
    UserAuthorizationSnapshot,
)

__all__ = ["CustomerAddressSnapshot", "CustomerDetailsSnapshot", "UserAuthorizationSnapshot"]
