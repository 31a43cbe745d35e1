"""Seed a demo tenant with demo snapshots and print development tokens. Idempotent."""

from __future__ import annotations

import os
import secrets
from io import StringIO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from identity.domain.principal import Principal, Role
from identity.infrastructure.dev_tokens import issue_development_token
from identity.infrastructure.models import Tenant
from snapshots.application import services as snapshots
from snapshots.application.changes import apply_change, parse_change
from snapshots.application.customers import AddressData, SyncUserCommand, sync_user

DEMO_USERS = [
    # (user id, roles, vendor id, email, first name, last name)
    ("demo-customer", ["customer"], None, "ada@example.com", "Ada", "Lovelace"),
    ("demo-vendor", ["vendor"], "vendor-acme", "sales@acme.example.com", "Acme", "Sales"),
    ("demo-staff", ["staff"], None, "ops@oms.example.com", "Grace", "Hopper"),
]


def _money(amount: str) -> dict[str, str]:
    return {"amount": amount, "currency": "USD"}


# Upstream-shaped demo data, applied through the same path as webhooks (version 1: re-seeding
# never overwrites newer data that arrived by webhook).
DEMO_CATALOG = [
    (
        "vendor",
        {"vendor_id": "vendor-acme", "name": "Acme Supplies", "active": True, "country": "US", "currency": "USD"},
    ),
    (
        "vendor",
        {"vendor_id": "vendor-globex", "name": "Globex Goods", "active": True, "country": "US", "currency": "USD"},
    ),
    (
        "product",
        {
            "product_id": "prod-mug",
            "vendor_id": "vendor-acme",
            "sku": "ACME-MUG",
            "name": "Enamel mug",
            "price": _money("12.50"),
            "active": True,
            "available_quantity": 500,
            "max_quantity": 20,
        },
    ),
    (
        "product",
        {
            "product_id": "prod-kettle",
            "vendor_id": "vendor-acme",
            "sku": "ACME-KETTLE",
            "name": "Camp kettle",
            "price": _money("39.00"),
            "active": True,
            "available_quantity": 80,
        },
    ),
    (
        "product",
        {
            "product_id": "prod-lamp",
            "vendor_id": "vendor-globex",
            "sku": "GLX-LAMP",
            "name": "Desk lamp",
            "price": _money("54.90"),
            "active": True,
        },
    ),
    (
        "offer",
        {
            "offer_id": "offer-mugs",
            "vendor_id": "vendor-acme",
            "kind": "percent_off",
            "value": "10",
            "product_ids": ["prod-mug"],
            "min_quantity": 2,
            "priority": 1,
            "active": True,
        },
    ),
    (
        "coupon",
        {
            "code": "WELCOME5",
            "kind": "fixed",
            "value": "5",
            "currency": "USD",
            "min_subtotal": _money("30"),
            "usage_limit": 1000,
            "active": True,
        },
    ),
    (
        "shipping_option",
        {
            "option_id": "ship-acme-std",
            "vendor_id": "vendor-acme",
            "name": "Standard",
            "carrier": "UPS",
            "base_cost": _money("5.00"),
            "per_item_cost": _money("1.00"),
            "free_over": _money("75.00"),
            "countries": ["US", "CA", "GB"],
            "delivery_days": 5,
            "active": True,
        },
    ),
    (
        "shipping_option",
        {
            "option_id": "ship-globex-std",
            "vendor_id": "vendor-globex",
            "name": "Ground",
            "carrier": "FedEx",
            "base_cost": _money("7.50"),
            "countries": ["US", "GB"],
            "delivery_days": 4,
            "active": True,
        },
    ),
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
                    "jwt_hs256_secret": os.environ.get("OMS_DEMO_HS256_SECRET") or secrets.token_urlsafe(48),
                    "jwt_issuer": "oms-demo",
                    "jwt_audience": "oms",
                    # What its invoices and packing slips print (docs/documents.md).
                    "seller_details": "Demo Marketplace Ltd\n1 Market Street\nLondon EC1A 1AA\nVAT GB123456789",
                },
            )
            if not tenant.jwt_hs256_secret:
                self.stderr.write(f"Tenant {tenant_id} uses JWKS; no development tokens printed.")
                return
            store = snapshots.customer_store()
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
            writer = snapshots.snapshot_writer()
            for kind, data in DEMO_CATALOG:
                apply_change(tenant.id, parse_change(f"{kind}.upserted", {**data, "version": 1}), writer)
            admin_note = self._ensure_admin_user(tenant.id)

        self.stdout.write(
            f"Demo tenant '{tenant.id}' {'created' if created else 'already present'} "
            f"(2 vendors, 3 products, an offer, coupon WELCOME5, shipping options); "
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

    def _ensure_admin_user(self, tenant_id: str) -> str:
        """Development admin users, only when DEBUG is on: `admin`, a platform operator
        (superuser), and `<tenant>-staff`, the demo tenant's staff (docs/admin.md)."""
        if not settings.DEBUG:
            return ""
        password = os.environ.get("OMS_DEMO_ADMIN_PASSWORD", "admin")
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True}
        )
        staff_name = f"{tenant_id}-staff"
        staff_created = not user_model.objects.filter(username=staff_name).exists()
        if staff_created:
            call_command("tenant_admin", tenant_id, "add", staff_name, stdout=StringIO())
            staff = user_model.objects.get(username=staff_name)
            staff.set_password(password)
            staff.save()
        if created:
            user.set_password(password)
            user.save()
        url = "http://127.0.0.1:8000/admin/"
        operator = f"admin / {password}" if created else "user admin, password unchanged"
        tenant_staff = f"{staff_name} / {password}" if staff_created else f"user {staff_name}, password unchanged"
        return f"\nDjango admin: {url} as platform operator ({operator}) or as {tenant_id}'s staff ({tenant_staff})\n"
