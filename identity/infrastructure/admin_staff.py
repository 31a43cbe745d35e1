"""Who may see what in Django admin: platform operators and tenant staff (docs/admin.md).

- A **platform operator** is a superuser or a member of the `platform-operators` group: the admin
  shows every tenant to them, and their requests run with the operator database scope (the
  table owner, as migrations and the relay).
- A **tenant staff member** is a staff user bound to exactly one tenant (`TenantStaffMember`,
  set by `manage.py tenant_admin`): every tenant-owned admin page shows and acts on that tenant
  only, and on PostgreSQL the request runs inside that tenant's row-level security scope.
- Any other staff user sees nothing tenant-owned.

Model permissions still come from Django's permission system: `ensure_admin_groups()` keeps the
two documented groups and their permissions in place (after every migrate, and whenever
`tenant_admin` binds a user).
"""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.models import Group, Permission

from oms_project.kernel.admin_scope import EVERYTHING, AdminScope

PLATFORM_OPERATORS = "platform-operators"
TENANT_STAFF = "tenant-staff"

# What a tenant's staff may do in the admin (app_label.codename). Everything else is the
# platform's: tenants' token settings, other users, groups, bindings.
TENANT_STAFF_PERMISSIONS = (
    "identity.view_tenant",
    "ordering.view_order",
    "ordering.change_order",  # change: the cancel/deliver/complete actions
    "ordering.view_orderline",
    "ordering.view_ordershipping",
    "ordering.view_ordercoupon",
    "ordering.view_shipment",
    "ordering.view_orderhistoryentry",
    "snapshots.view_customerdetailssnapshot",
    "snapshots.view_customeraddresssnapshot",
    "snapshots.view_userauthorizationsnapshot",
    "snapshots.view_vendorsnapshot",
    "snapshots.view_productsnapshot",
    "snapshots.view_couponsnapshot",
    "snapshots.view_offersnapshot",
    "snapshots.view_shippingoptionsnapshot",
    "snapshots.view_taxoptionsnapshot",
    "snapshots.view_paymentoptionsnapshot",
    "snapshots.view_tenantworkflowsnapshot",
    "snapshots.add_tenantworkflowsnapshot",
    "snapshots.change_tenantworkflowsnapshot",
    "webhooks.view_inboundwebhooksecret",
    "webhooks.add_inboundwebhooksecret",
    "webhooks.change_inboundwebhooksecret",  # change: the revoke and rotate actions
    "webhooks.view_inboundwebhookreceipt",
    "webhooks.view_webhooksubscription",
    "webhooks.add_webhooksubscription",
    "webhooks.change_webhooksubscription",
    "webhooks.delete_webhooksubscription",
    "webhooks.view_webhookdelivery",
    "webhooks.change_webhookdelivery",  # change: redeliver
    "webhooks.view_deliveryattempt",
)
# Operators: everything of the OMS apps, and managing admin users.
PLATFORM_APPS = ("identity", "snapshots", "ordering", "webhooks")
PLATFORM_EXTRA_PERMISSIONS = ("auth.view_user", "auth.add_user", "auth.change_user", "auth.view_group")


def is_platform_operator(user) -> bool:
    if not (user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    return any(group.name == PLATFORM_OPERATORS for group in user.groups.all())


def scope_of(user) -> AdminScope:
    """The scope of an active staff user (the kernel's `admin_scope_of` caches it per request and
    answers NOTHING for anyone else): every tenant for an operator, else the tenant the user is
    bound to, if any."""
    if is_platform_operator(user):
        return EVERYTHING
    from .models import TenantStaffMember

    tenant_id = TenantStaffMember.objects.filter(user_id=user.pk).values_list("tenant_id", flat=True).first()
    return AdminScope(everything=False, tenant_id=tenant_id)


def _permissions(names) -> list[Permission]:
    wanted = {tuple(name.split(".", 1)) for name in names}
    found = Permission.objects.filter(content_type__app_label__in={a for a, _ in wanted}).select_related("content_type")
    return [p for p in found if (p.content_type.app_label, p.codename) in wanted]


def ensure_admin_groups() -> tuple[Group, Group]:
    """Create or refresh the two documented groups with exactly their permissions."""
    from django.contrib.auth.management import create_permissions

    for label in (*PLATFORM_APPS, "auth"):
        create_permissions(apps.get_app_config(label), verbosity=0)
    staff, _ = Group.objects.get_or_create(name=TENANT_STAFF)
    staff.permissions.set(_permissions(TENANT_STAFF_PERMISSIONS))
    operators, _ = Group.objects.get_or_create(name=PLATFORM_OPERATORS)
    operators.permissions.set(
        [
            *Permission.objects.filter(content_type__app_label__in=PLATFORM_APPS),
            *_permissions(PLATFORM_EXTRA_PERMISSIONS),
        ]
    )
    return staff, operators


def ensure_admin_groups_after_migrate(sender, **kwargs) -> None:
    """post_migrate receiver (identity's AppConfig): the groups exist on every migrated database."""
    ensure_admin_groups()
