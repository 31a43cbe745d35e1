"""Recompute a tenant's dashboard rollup from its orders (docs/admin.md, "Dashboard").

    manage.py rebuild_dashboard TENANT [TENANT ...]

The write batch keeps the rollup as orders change; this is for a database whose orders predate
it (after the upgrade that added it) or to check it. It applies the same rule
(`ordering.domain.sales_figures`) to every placed order and replaces the tenant's rows in one
transaction, as the tenant (row-level security holds).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from oms_project.kernel.tenancy import row_level_security_enabled, tenant_model, tenant_transaction
from ordering.infrastructure import daily_figures


class Command(BaseCommand):
    help = "Recompute tenants' dashboard rollup from their orders."

    def add_arguments(self, parser) -> None:
        parser.add_argument("tenants", nargs="+", metavar="TENANT")

    def handle(self, *args, tenants: list[str], **options) -> None:
        known = set(tenant_model().objects.filter(pk__in=tenants).values_list("pk", flat=True))
        unknown = [t for t in tenants if t not in known]
        if unknown:
            raise CommandError(f"NOT_FOUND: unknown tenant {', '.join(unknown)}")
        for tenant_id in tenants:
            if row_level_security_enabled():
                with tenant_transaction(tenant_id):
                    read = daily_figures.rebuild(tenant_id)
            else:
                read = daily_figures.rebuild(tenant_id)
            self.stdout.write(f"{tenant_id}: {read} placed orders read")
