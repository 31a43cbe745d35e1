"""Create or update a tenant from the command line."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from identity.infrastructure.models import Tenant


class Command(BaseCommand):
    help = "Create a tenant, or update the given settings of an existing one."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--id", required=True, help="Tenant id (a slug): the tenant_id claim.")
        parser.add_argument("--name", help="Display name (defaults to the id on creation).")
        keys = parser.add_mutually_exclusive_group()
        keys.add_argument("--hs256-secret", help="Shared HMAC secret (development), >= 32 chars.")
        keys.add_argument("--jwks-url", help="The identity provider's JWKS URL.")
        parser.add_argument(
            "--algorithms",
            help="Comma-separated algorithms (default: HS256 with a secret, RS256 with JWKS).",
        )
        parser.add_argument("--issuer", help="Required `iss` ('' to clear).")
        parser.add_argument("--audience", help="Required `aud` ('' to clear).")
        parser.add_argument("--roles-claim", help="Claim name or dotted path of the roles.")
        parser.add_argument("--vendor-id-claim", help="Claim name or dotted path of the vendor id.")
        parser.add_argument("--channel-id-claim", help="Claim name or dotted path of an integration token's sales channel.")
        state = parser.add_mutually_exclusive_group()
        state.add_argument("--active", dest="active", action="store_true", default=None)
        state.add_argument("--inactive", dest="active", action="store_false")

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        tenant = Tenant.objects.select_for_update().filter(pk=options["id"]).first()
        created = tenant is None
        if created:
            tenant = Tenant(id=options["id"], name=options["name"] or options["id"])
        elif options["name"]:
            tenant.name = options["name"]

        if options["hs256_secret"] is not None:
            tenant.jwt_hs256_secret, tenant.jwt_jwks_url = options["hs256_secret"], ""
            tenant.jwt_algorithms = ["HS256"]
        if options["jwks_url"] is not None:
            tenant.jwt_hs256_secret, tenant.jwt_jwks_url = "", options["jwks_url"]
            tenant.jwt_algorithms = ["RS256"]
        if options["algorithms"]:
            tenant.jwt_algorithms = [a.strip() for a in options["algorithms"].split(",") if a.strip()]
        for option, attribute in [
            ("issuer", "jwt_issuer"),
            ("audience", "jwt_audience"),
            ("roles_claim", "roles_claim"),
            ("vendor_id_claim", "vendor_id_claim"),
            ("channel_id_claim", "channel_id_claim"),
            ("active", "active"),
        ]:
            if options[option] is not None:
                setattr(tenant, attribute, options[option])

        try:
            tenant.full_clean()
        except ValidationError as exc:
            problems = "; ".join(
                f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items()
            )
            raise CommandError(f"invalid tenant settings: {problems}") from exc
        tenant.save()
        verb = "created" if created else "updated"
        source = "JWKS " + tenant.jwt_jwks_url if tenant.jwt_jwks_url else "HS secret"
        self.stdout.write(
            f"Tenant {tenant.id} {verb} ({'active' if tenant.active else 'inactive'}; "
            f"algorithms {', '.join(tenant.jwt_algorithms)}; keys from {source})."
        )
