"""Anonymize the personal data of orders closed longer than the retention period (docs/privacy.md).

    manage.py purge_personal_data [--tenant T] [--older-than 3y] [--batch 500]

Each tenant's own period (`create_tenant --retention-days`, the admin) applies unless
`--older-than` gives one for this run; a tenant without either is skipped (retention is off by
default). Orders delivered, completed or cancelled whose last change is older than that lose
their personal fields as an erasure removes them, 50 to a short transaction with the copies of
their values: safe beside live traffic, and resumable (a run stopped part way goes on where it
stopped). Run it daily (cron, a Kubernetes CronJob); it prints what it did per tenant.

It also deletes every tenant's admin exports whose keeping time (`OMS_EXPORT_KEEP_HOURS` after
they ended) has passed, with their files, whatever the tenant's retention: an export's file is a
copy of personal data made for a moment's work (ordering/infrastructure/export_files.py).
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from identity.domain.principal import Principal, Role
from oms_project.kernel.tenancy import tenant_model
from ordering.application.commands import PurgePersonalData
from ordering.application.handlers.privacy import RETENTION, purge_personal_data
from ordering.infrastructure import export_files
from ordering.infrastructure.unit_of_work import DjangoUnitOfWork

AGE = re.compile(r"^(\d+)([dmy])$")
DAYS = {"d": 1, "m": 30, "y": 365}


def parse_age(text: str) -> timedelta:
    """`90d`, `6m` (30 days each), `3y` (365 days each)."""
    found = AGE.match(text.strip())
    if not found or int(found.group(1)) < 1:
        raise CommandError(f"not an age: {text!r} (use e.g. 90d, 6m, 3y)")
    return timedelta(days=int(found.group(1)) * DAYS[found.group(2)])


class Command(BaseCommand):
    help = (
        "Anonymize orders closed longer than each tenant's retention period (or --older-than), "
        "and delete admin exports kept longer than OMS_EXPORT_KEEP_HOURS."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", help="one tenant only")
        parser.add_argument("--older-than", help="this run's period for every tenant: 90d, 6m, 3y")
        parser.add_argument("--batch", type=int, default=500, help="orders a run takes at most per tenant and round")

    def handle(self, *args, tenant: str | None, older_than: str | None, batch: int, **options) -> None:
        if batch < 1:
            raise CommandError("--batch must be at least 1")
        age = parse_age(older_than) if older_than else None
        tenants = tenant_model().objects.order_by("pk")
        if tenant is not None:
            tenants = tenants.filter(pk=tenant)
            if not tenants.exists():
                raise CommandError(f"unknown tenant {tenant!r}")
        now = timezone.now()
        for tenant_id, days in tenants.values_list("pk", "personal_data_retention_days"):
            if exports := export_files.purge_expired(tenant_id, now):
                self.stdout.write(f"{tenant_id}: {exports} expired export(s) deleted with their files")
            period = age if age is not None else (timedelta(days=days) if days else None)
            if period is None:
                self.stdout.write(f"{tenant_id}: retention off (no --older-than, no period of its own)")
                continue
            principal = Principal(user_id=RETENTION, tenant_id=tenant_id, roles=frozenset({Role.STAFF}))
            done = purge_personal_data(principal, PurgePersonalData(now - period, batch), DjangoUnitOfWork(tenant_id))
            self.stdout.write(f"{tenant_id}: {done} order(s) closed before {(now - period).date()} anonymized")
