"""Manage a tenant's inbound webhook secrets: generate | rotate | revoke | list."""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from oms_project.kernel.tenancy import tenant_model
from webhooks.domain.signatures import new_secret
from webhooks.infrastructure.models import InboundWebhookSecret


class Command(BaseCommand):
    help = (
        "generate: add a secret; rotate: add a secret and let the current ones expire after "
        "--grace-hours; revoke ID: stop accepting a secret now; list: show secrets (masked)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("tenant")
        parser.add_argument("action", choices=["generate", "rotate", "revoke", "list"])
        parser.add_argument("secret_id", nargs="?", type=int, help="with revoke: the secret's id")
        parser.add_argument("--grace-hours", type=float, default=24.0)

    @transaction.atomic
    def handle(self, *args, tenant: str, action: str, secret_id: int | None, grace_hours: float, **options) -> None:
        if not tenant_model().objects.filter(pk=tenant).exists():
            raise CommandError(f"unknown tenant {tenant!r}")
        now = timezone.now()
        if action in ("generate", "rotate"):
            if action == "rotate":
                if grace_hours < 0:
                    raise CommandError("--grace-hours must not be negative")
                created = InboundWebhookSecret.rotate(tenant, timedelta(hours=grace_hours), now)
            else:
                created = InboundWebhookSecret.objects.create(tenant_id=tenant, secret=new_secret())
            self.stdout.write(f"Secret #{created.pk} for {tenant} (shown once, store it now):")
            self.stdout.write(created.secret)
        elif action == "revoke":
            if secret_id is None:
                raise CommandError("revoke needs the secret's id (see list)")
            updated = InboundWebhookSecret.objects.filter(
                pk=secret_id, tenant_id=tenant, channel="", revoked_at__isnull=True
            ).update(revoked_at=now)
            if not updated:
                raise CommandError(f"no unrevoked secret #{secret_id} for {tenant}")
            self.stdout.write(f"Secret #{secret_id} revoked.")
        else:
            for secret in InboundWebhookSecret.objects.filter(tenant_id=tenant, channel="").order_by("pk"):
                expires = secret.expires_at.isoformat() if secret.expires_at else "-"
                self.stdout.write(
                    f"#{secret.pk}  {secret.masked}  {secret.state:<8}  "
                    f"created {secret.created_at.isoformat()}  expires {expires}"
                )
