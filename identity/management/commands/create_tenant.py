"""Create or update a tenant from the command line."""

from __future__ import annotations

from argparse import ArgumentTypeError

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from identity.infrastructure.models import Tenant

_DEFAULT = object()  # an empty value: the platform default again


def _optional_number(raw: str):
    if raw.strip() == "":
        return _DEFAULT
    try:
        return float(raw)
    except ValueError:
        raise ArgumentTypeError(f"not a number: {raw!r}") from None


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
        parser.add_argument(
            "--channel-id-claim", help="Claim name or dotted path of an integration token's sales channel."
        )
        limits = parser.add_argument_group("fair share (empty string: back to the platform default)")
        for option, what in [
            ("--share", "the fraction of the serving capacity the tenant may hold at once (0.01-1)"),
            ("--rate", "the tenant's bucket refill, cost points per second"),
            ("--burst", "the tenant's bucket size, in cost points"),
            ("--token-rate", "each caller's (token sub, webhook door) refill, cost points per second"),
            ("--token-burst", "each caller's bucket size, in cost points"),
        ]:
            limits.add_argument(option, type=_optional_number, help=what)
        parser.add_argument(
            "--erasure-keeps",
            help="address fields an erased order keeps: postal_code,country; - for none; '' for the platform default",
        )
        parser.add_argument(
            "--retention-days",
            type=_optional_number,
            help="purge_personal_data anonymizes orders closed longer ago than this many days ('' to turn off)",
        )
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
            ("erasure_keeps", "erasure_keeps"),
            ("retention_days", "personal_data_retention_days"),
            ("active", "active"),
            ("share", "admission_share"),
            ("rate", "rate_limit"),
            ("burst", "rate_burst"),
            ("token_rate", "token_rate_limit"),
            ("token_burst", "token_burst"),
        ]:
            if options[option] is not None:
                setattr(tenant, attribute, None if options[option] is _DEFAULT else options[option])

        try:
            tenant.full_clean()
        except ValidationError as exc:
            problems = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
            raise CommandError(f"invalid tenant settings: {problems}") from exc
        tenant.save()
        verb = "created" if created else "updated"
        source = "JWKS " + tenant.jwt_jwks_url if tenant.jwt_jwks_url else "HS secret"
        self.stdout.write(
            f"Tenant {tenant.id} {verb} ({'active' if tenant.active else 'inactive'}; "
            f"algorithms {', '.join(tenant.jwt_algorithms)}; keys from {source}; "
            f"fair share {_limits_summary(tenant)})."
        )


def _limits_summary(tenant: Tenant) -> str:
    named = [
        ("share", tenant.admission_share),
        ("rate", tenant.rate_limit),
        ("burst", tenant.rate_burst),
        ("token rate", tenant.token_rate_limit),
        ("token burst", tenant.token_burst),
    ]
    own = [f"{name} {value:g}" for name, value in named if value is not None]
    return ", ".join(own) if own else "platform defaults"
