"""The secret a tracking aggregator signs a tenant's webhooks with (docs/integrations.md).

    manage.py carrier_secret TENANT easypost|aftership set     (reads the secret from standard input)
    manage.py carrier_secret TENANT easypost|aftership show    (masked)
    manage.py carrier_secret TENANT easypost|aftership unset

EasyPost: the `webhook_secret` you gave when creating the webhook; AfterShip: the webhook secret of
Settings > Webhooks. Point the provider at `POST /webhooks/<tenant>/carriers/<provider>/`. Until a
secret is set, that endpoint refuses every request (401).
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from oms_project.kernel.tenancy import tenant_model
from webhooks.domain.carriers.registry import PROVIDERS
from webhooks.infrastructure.models import CarrierWebhookSecret


class Command(BaseCommand):
    help = "PROVIDER set (secret on standard input) | show | unset: a tracking aggregator's webhook secret."

    def add_arguments(self, parser) -> None:
        parser.add_argument("tenant")
        parser.add_argument("provider", choices=sorted(PROVIDERS))
        parser.add_argument("action", choices=["set", "show", "unset"])

    def handle(self, *args, tenant: str, provider: str, action: str, **options) -> None:
        if not tenant_model().objects.filter(pk=tenant).exists():
            raise CommandError(f"unknown tenant {tenant!r}")
        rows = CarrierWebhookSecret.objects.filter(tenant_id=tenant, provider=provider)
        if action == "set":
            secret = sys.stdin.readline().strip()
            if not 8 <= len(secret) <= 500 or not secret.isprintable():
                raise CommandError("give the secret (8 to 500 printable characters) on standard input")
            CarrierWebhookSecret.objects.update_or_create(
                tenant_id=tenant, provider=provider, defaults={"secret": secret}
            )
            self.stdout.write(f"{provider} secret set for {tenant}: POST /webhooks/{tenant}/carriers/{provider}/")
        elif action == "show":
            row = rows.first()
            self.stdout.write(
                f"{provider}: {row.secret[:4]}… set {row.updated_at.isoformat()}"
                if row
                else f"{provider}: no secret set"
            )
        else:
            if not rows.delete()[0]:
                raise CommandError(f"{tenant} has no {provider} secret")
            self.stdout.write(f"{provider} secret removed: its webhooks are refused from now on.")
