"""Manage a tenant's outbound webhook subscriptions: add | list | remove."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from oms_project.kernel.tenancy import tenant_model
from ordering.domain.events import EVENT_TYPES
from webhooks.domain.destinations import DestinationRefused
from webhooks.domain.signatures import new_secret
from webhooks.infrastructure.destinations import check_subscription_url
from webhooks.infrastructure.models import WebhookSubscription


class Command(BaseCommand):
    help = (
        "add URL [--events order.placed ...]: subscribe (prints the secret once); list; "
        "remove ID: delete a subscription and its pending deliveries."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("tenant")
        parser.add_argument("action", choices=["add", "list", "remove"])
        parser.add_argument("target", nargs="?", help="add: the URL; remove: the subscription id")
        parser.add_argument(
            "--events",
            nargs="+",
            default=[],
            metavar="TYPE",
            help=f"event types (default: all): {', '.join(EVENT_TYPES)}",
        )
        parser.add_argument("--description", default="")

    def handle(
        self, *args, tenant: str, action: str, target: str | None, events: list[str], description: str, **options
    ) -> None:
        if not tenant_model().objects.filter(pk=tenant).exists():
            raise CommandError(f"unknown tenant {tenant!r}")
        if action == "add":
            self._add(tenant, target, events, description)
        elif action == "list":
            for sub in WebhookSubscription.objects.filter(tenant_id=tenant).order_by("created_at"):
                state = "active" if sub.active else "inactive"
                types = ",".join(sub.event_types) or "all events"
                self.stdout.write(f"{sub.pk}  {state:<8}  {sub.url}  [{types}]  {sub.secret[:10]}…")
        else:
            if not target:
                raise CommandError("remove needs the subscription id (see list)")
            try:
                deleted, _ = WebhookSubscription.objects.filter(tenant_id=tenant, pk=target).delete()
            except ValidationError:
                deleted = 0
            if not deleted:
                raise CommandError(f"no subscription {target} for {tenant}")
            self.stdout.write(f"Subscription {target} removed.")

    def _add(self, tenant: str, url: str | None, events: list[str], description: str) -> None:
        if not url:
            raise CommandError("add needs the URL")
        unknown = sorted(set(events) - set(EVENT_TYPES))
        if unknown:
            raise CommandError(f"unknown event type(s) {', '.join(unknown)}; known: {', '.join(EVENT_TYPES)}")
        try:
            url = check_subscription_url(url)
        except DestinationRefused as error:
            raise CommandError(str(error)) from None
        sub = WebhookSubscription.objects.create(
            tenant_id=tenant, url=url, secret=new_secret(), event_types=sorted(set(events)), description=description
        )
        self.stdout.write(
            f"Subscription {sub.pk} for {tenant} -> {url} "
            f"({', '.join(sub.event_types) or 'all events'}). Its secret (shown once):"
        )
        self.stdout.write(sub.secret)
