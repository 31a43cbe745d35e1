"""Seed a demo tenant with demo snapshots and print development tokens. Idempotent."""

from __future__ import annotations

import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from identity.domain.principal import Principal, Role
from identity.infrastructure.dev_tokens import issue_development_token
from identity.infrastructure.models import Tenant
from snapshots.application.customers import AddressData, SyncUserCommand, sync_user
from snapshots.infrastructure.customer_store import OrmCustomerStore

DEMO_USERS = [
    # (user id, roles, vendor id, email, first name, last name)
    ("demo-customer", ["customer"], None, "ada@example.com", "Ada", "Lovelace"),
    ("demo-vendor", ["vendor"], "vendor-acme", "sales@acme.example.com", "Acme", "Sales"),
    ("demo-staff", ["staff"], None, "ops@oms.example.com", "Grace", "Hopper"),
]


class Command(BaseCommand):
    help = "Create (or refresh) the demo tenant and its demo data, and print development tokens."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--tenant", default=settings.OMS_SINGLE_TENANT_ID or "demo")
        parser.add_argument("--ttl-hours", type=int, default=24)

    def handle(self, *args, **options) -> None:
        tenant_id = options["tenant"]
        with transaction.atomic():
            tenant, created = Tenant.objects.get_or_create(
                id=tenant_id,
                defaults={
                    "name": "Demo marketplace",
                    "jwt_algorithms": ["HS256"],
                    "jwt_hs256_secret": os.environ.get("OMS_DEMO_HS256_SECRET")
                    or secrets.token_urlsafe(48),
                    "jwt_issuer": "oms-demo",
                    "jwt_audience": "oms",
                },
            )
            if not tenant.jwt_hs256_secret:
                self.stderr.write(f"Tenant {tenant_id} uses JWKS; no development tokens printed.")
                return
            store = OrmCustomerStore()
            for user_id, roles, vendor_id, email, first, last in DEMO_USERS:
                principal = Principal(
                    user_id=user_id,
                    tenant_id=tenant.id,
                    roles=frozenset(Role(r) for r in roles),
                    vendor_id=vendor_id,
                )
                addresses = None
                if "customer" in roles:
                    addresses = [
                        AddressData(
                            line1="12 St James's Square",
                            city="London",
                            postal_code="SW1Y 4JH",
                            country="GB",
                            is_default=True,
                        )
                    ]
                sync_user(
                    principal,
                    SyncUserCommand(email=email, first_name=first, last_name=last, addresses=addresses),
                    store,
                )
            admin_note = self._ensure_admin_user()

        self.stdout.write(
            f"Demo tenant '{tenant.id}' {'created' if created else 'already present'}; "
            f"tokens valid {options['ttl_hours']} h:"
        )
        for user_id, roles, vendor_id, *_ in DEMO_USERS:
            token = issue_development_token(
                tenant,
                user_id=user_id,
                roles=roles,
                vendor_id=vendor_id,
                ttl_seconds=options["ttl_hours"] * 3600,
            )
            self.stdout.write(f"\n  {roles[0]} ({user_id}):\n  {token}\n")
        if admin_note:
            self.stdout.write(admin_note)

    def _ensure_admin_user(self) -> str:
        """A development superuser for Django admin, only when DEBUG is on."""
        if not settings.DEBUG:
            return ""
        password = os.environ.get("OMS_DEMO_ADMIN_PASSWORD", "admin")
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            user.set_password(password)
            user.save()
            return f"\nDjango admin: http://127.0.0.1:8000/admin/ (admin / {password})\n"
        return "\nDjango admin: http://127.0.0.1:8000/admin/ (user admin, password unchanged)\n"
