"""Tenants and their token settings."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, validate_slug
from django.db import models

from identity.domain.errors import InvalidTenantSettings
from identity.domain.tenant import TenantTokenPolicy, validate_token_policy
from ordering.domain.privacy import keep_rule


def default_algorithms() -> list[str]:
    return ["HS256"]


def validate_erasure_keeps(value: str) -> None:
    """A retention rule: some of ordering's keepable address fields, or "-" for none."""
    if value.strip() in ("", "-"):
        return
    try:
        keep_rule(value.split(","))
    except ValueError as error:
        raise ValidationError(str(error)) from None


def validate_language(value: str) -> None:
    """A language Babel knows, as `de` or `de-CH` (the documents' labels and formats)."""
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(value.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        raise ValidationError(f"{value!r} is not a language (e.g. en, de, fr-CH)") from None


class Tenant(models.Model):
    id = models.CharField(primary_key=True, max_length=63, validators=[validate_slug])
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    jwt_algorithms = models.JSONField(
        default=default_algorithms,
        help_text='Algorithms accepted for this tenant\'s tokens, e.g. ["RS256"] or ["HS256"].',
    )
    jwt_hs256_secret = models.CharField(
        "HS secret",
        max_length=512,
        blank=True,
        help_text="Shared HMAC secret (development). Leave empty when a JWKS URL is set.",
    )
    jwt_jwks_url = models.CharField(
        "JWKS URL",
        max_length=500,
        blank=True,
        help_text="http(s) URL of the identity provider's key set; internal hosts allowed.",
    )
    jwt_issuer = models.CharField(max_length=500, blank=True, help_text="Required `iss`, if set.")
    jwt_audience = models.CharField(max_length=500, blank=True, help_text="Required `aud`, if set.")
    roles_claim = models.CharField(
        max_length=200,
        default="roles",
        help_text="Claim name or dotted path of the roles list (e.g. realm_access.roles).",
    )
    vendor_id_claim = models.CharField(max_length=200, default="vendor_id")
    channel_id_claim = models.CharField(
        max_length=200, default="channel_id", help_text="Claim path of an integration token's sales channel."
    )
    # Customer erasure (docs/privacy.md): what an erased order keeps of its address.
    erasure_keeps = models.CharField(
        "erased orders keep",
        max_length=40,
        blank=True,
        validators=[validate_erasure_keeps],
        help_text="Address fields an erased order keeps for accounting, comma-separated: postal_code, country; "
        '"-" for none. Empty: the platform default (OMS_ERASURE_KEEPS).',
    )
    personal_data_retention_days = models.PositiveIntegerField(
        "keep personal data of closed orders (days)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="manage.py purge_personal_data anonymizes orders closed longer ago than this. Empty: kept "
        "(retention off).",
    )
    # Documents (ordering/infrastructure/documents): what invoices and packing slips print.
    language = models.CharField(
        "documents' language",
        max_length=15,
        blank=True,
        validators=[validate_language],
        help_text="Invoices and packing slips in this language: labels in en, de, fr or es (English for any "
        "other); numbers and dates in its format, a region such as de-CH included. Empty: the platform's "
        "LANGUAGE_CODE.",
    )
    seller_details = models.TextField(
        "seller on invoices",
        blank=True,
        help_text="The legal name, address and tax number printed as the seller on invoices and as the sender "
        "on packing slips, one item per line. Empty: the tenant's name.",
    )
    # Fair share (oms_project/admission): empty fields take the platform's defaults.
    admission_share = models.FloatField(
        "share of the serving capacity",
        null=True,
        blank=True,
        validators=[MinValueValidator(0.01), MaxValueValidator(1.0)],
        help_text="At most this fraction of the requests served at once (0.01-1). Empty: the platform default.",
    )
    rate_limit = models.FloatField(
        "rate (points/s)",
        null=True,
        blank=True,
        validators=[MinValueValidator(0.01)],
        help_text="The tenant's bucket refills this many cost points a second. Empty: the platform default.",
    )
    rate_burst = models.FloatField(
        "burst (points)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="The tenant's bucket size. Empty: the platform default.",
    )
    token_rate_limit = models.FloatField(
        "per-caller rate (points/s)",
        null=True,
        blank=True,
        validators=[MinValueValidator(0.01)],
        help_text="Each token (sub), webhook door or admin user of the tenant. Empty: the platform default.",
    )
    token_burst = models.FloatField(
        "per-caller burst (points)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Empty: the platform default.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "identity_tenant"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"

    def clean(self) -> None:
        super().clean()
        if not isinstance(self.jwt_algorithms, list) or not all(isinstance(name, str) for name in self.jwt_algorithms):
            raise ValidationError({"jwt_algorithms": "must be a list of algorithm names"})
        try:
            validate_token_policy(
                algorithms=self.jwt_algorithms,
                hs_secret=self.jwt_hs256_secret,
                jwks_url=self.jwt_jwks_url,
            )
        except InvalidTenantSettings as exc:
            raise ValidationError({exc.field: exc.message}) from exc

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        from .tenants import ADMISSION_LIMITS, TOKEN_POLICIES

        TOKEN_POLICIES.invalidate(self.pk)
        ADMISSION_LIMITS.invalidate(self.pk)

    def delete(self, *args, **kwargs):
        from .tenants import ADMISSION_LIMITS, TOKEN_POLICIES

        TOKEN_POLICIES.invalidate(self.pk)
        ADMISSION_LIMITS.invalidate(self.pk)
        return super().delete(*args, **kwargs)

    def admission_overrides(self) -> tuple[float | None, ...]:
        """The tenant's own admission settings, None where the platform default applies."""
        return (self.admission_share, self.rate_limit, self.rate_burst, self.token_rate_limit, self.token_burst)

    def token_policy(self) -> TenantTokenPolicy:
        return TenantTokenPolicy(
            tenant_id=self.id,
            active=self.active,
            algorithms=tuple(self.jwt_algorithms),
            hs_secret=self.jwt_hs256_secret,
            jwks_url=self.jwt_jwks_url,
            issuer=self.jwt_issuer,
            audience=self.jwt_audience,
            roles_claim=self.roles_claim,
            vendor_id_claim=self.vendor_id_claim,
            channel_id_claim=self.channel_id_claim,
        )


class TenantStaffMember(models.Model):
    """Binds a Django admin user to exactly one tenant: that user's admin shows and changes that
    tenant's data only (docs/admin.md). Platform operators have no binding."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="tenant_staff"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, db_column="tenant_id", related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "identity_tenant_staff"
        verbose_name = "tenant staff member"
        indexes = [models.Index(fields=["tenant"], name="tenant_staff_tenant")]

    def __str__(self) -> str:
        return f"{self.user} → {self.tenant_id}"


class PersistedQuery(models.Model):
    """A GraphQL document known by its SHA-256 (identity/domain/persisted_queries.py). Shared by
    every tenant: it holds a query's text, never data. `listed` rows come from a client's manifest
    at deploy time: never evicted, and the only ones run in persisted-only mode."""

    sha256 = models.CharField(primary_key=True, max_length=64)
    document = models.TextField()
    operation_name = models.CharField(max_length=200, blank=True)
    listed = models.BooleanField(default=False)
    registered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "identity_persisted_query"
        verbose_name_plural = "persisted queries"
        indexes = [models.Index(fields=["listed", "registered_at"], name="persisted_query_age")]

    def __str__(self) -> str:
        return self.operation_name or self.sha256[:12]
