"""A tenant's sales channels (docs/integrations.md).

    manage.py channels TENANT add NAME [--kind shopify|woocommerce|generic] [--accept-any-vendor]
    manage.py channels TENANT list
    manage.py channels TENANT rotate NAME [--grace-hours H]
    manage.py channels TENANT revoke NAME

`add` registers the channel (NAME, a slug, is its id in URLs, tokens and the API) and prints its
signing secret once; `rotate` prints a new one and lets the current ones expire after the grace
period; `revoke` stops the channel: its secrets are revoked and neither door takes its orders
(its orders stay, and staff go on working them).
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_slug
from django.db import transaction
from django.utils import timezone

from oms_project.kernel.tenancy import tenant_model
from ordering.application import services as ordering
from ordering.domain.intake import CHANNEL_KINDS, SalesChannel
from webhooks.domain.signatures import new_secret
from webhooks.infrastructure.models import InboundWebhookSecret


class Command(BaseCommand):
    help = "add NAME [--kind K] [--accept-any-vendor] | list | rotate NAME [--grace-hours H] | revoke NAME"

    def add_arguments(self, parser) -> None:
        parser.add_argument("tenant")
        parser.add_argument("action", choices=["add", "list", "rotate", "revoke"])
        parser.add_argument("name", nargs="?", help="the channel's id (a slug)")
        parser.add_argument("--kind", choices=[kind for kind, _ in CHANNEL_KINDS], default="generic")
        parser.add_argument(
            "--accept-any-vendor",
            action="store_true",
            help="take lines of vendors the tenant's vendor snapshots do not know",
        )
        parser.add_argument("--grace-hours", type=float, default=24.0)

    @transaction.atomic
    def handle(
        self,
        *args,
        tenant: str,
        action: str,
        name: str | None,
        kind: str,
        accept_any_vendor: bool,
        grace_hours: float,
        **options,
    ) -> None:
        if not tenant_model().objects.filter(pk=tenant).exists():
            raise CommandError(f"unknown tenant {tenant!r}")
        channels = ordering.channel_registry(tenant)
        if action == "list":
            for channel in channels.all():
                secrets = InboundWebhookSecret.objects.filter(
                    InboundWebhookSecret.active_q(timezone.now()), tenant_id=tenant, channel=channel.channel_id
                ).count()
                self.stdout.write(
                    f"{channel.channel_id}  {channel.kind:<11}  {'active ' if channel.active else 'revoked'}"
                    f"  {secrets} active secret(s)"
                    f"{'  accepts any vendor' if channel.accept_any_vendor else ''}"
                )
            return
        if not name:
            raise CommandError(f"{action} needs the channel's name")
        if action == "add":
            try:
                validate_slug(name)
            except ValidationError:
                raise CommandError("a channel's name is a slug: letters, digits, - and _") from None
            if len(name) > 63:
                raise CommandError("a channel's name is at most 63 characters")
            if channels.channel(name) is not None:
                raise CommandError(f"{tenant} has a channel {name!r} already")
            channels.add(SalesChannel(name, kind, accept_any_vendor, active=True))
            secret = InboundWebhookSecret.objects.create(tenant_id=tenant, channel=name, secret=new_secret())
            self._show(tenant, name, secret)
            return
        channel = channels.channel(name)
        if channel is None or not channel.active:
            raise CommandError(f"{tenant} has no active channel {name!r}")
        if action == "rotate":
            if grace_hours < 0:
                raise CommandError("--grace-hours must not be negative")
            self._show(tenant, name, InboundWebhookSecret.rotate(tenant, timedelta(hours=grace_hours), channel=name))
            return
        now = timezone.now()
        InboundWebhookSecret.objects.filter(tenant_id=tenant, channel=name, revoked_at__isnull=True).update(
            revoked_at=now
        )
        channels.revoke(name)
        self.stdout.write(f"Channel {name} revoked: its secrets no longer sign and neither door takes its orders.")

    def _show(self, tenant: str, name: str, secret: InboundWebhookSecret) -> None:
        self.stdout.write(
            f"Channel {name} of {tenant}: POST /webhooks/{tenant}/channels/{name}/orders/ "
            f"signed with secret #{secret.pk} (shown once, store it now):"
        )
        self.stdout.write(secret.secret)
