"""What one admin user's pages cover: every tenant, one tenant, or nothing tenant-owned
(docs/admin.md). The kernel's admin pieces (`admin_mixins`, the admin's tenancy middleware,
admission) ask `admin_scope_of(user)`; who is a platform operator or a tenant's staff is the
identity app's rule, which it provides at start-up (`provide_admin_scopes`, from
`IdentityConfig.ready`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AdminScope:
    """What one admin user's pages cover: every tenant, one tenant, or nothing tenant-owned."""

    everything: bool
    tenant_id: str | None = None

    @property
    def sees_nothing(self) -> bool:
        return not self.everything and self.tenant_id is None


EVERYTHING = AdminScope(everything=True)
NOTHING = AdminScope(everything=False)
_CACHE_ATTRIBUTE = "_oms_admin_scope"
_resolve: Callable[[Any], AdminScope] | None = None


def provide_admin_scopes(resolve: Callable[[Any], AdminScope]) -> None:
    """Set the rule that gives a signed-in user their scope (the identity app's)."""
    global _resolve
    _resolve = resolve


def admin_scope_of(user: Any) -> AdminScope:
    """The user's scope, worked out once per request (cached on the user object). A user who is
    not active staff sees nothing, whatever the rule says."""
    cached = getattr(user, _CACHE_ATTRIBUTE, None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    if not (user.is_authenticated and user.is_active and user.is_staff):
        scope = NOTHING
    elif _resolve is None:
        raise RuntimeError("no admin scope rule was provided (the identity app provides it when it is ready)")
    else:
        scope = _resolve(user)
    setattr(user, _CACHE_ATTRIBUTE, scope)
    return scope
