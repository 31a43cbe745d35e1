"""Settings, read from the environment (see README, "Configuration").

Every knob an operator turns is an environment variable; nothing here needs editing to deploy.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from oms_project.kernel import database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from exc


def env_positive(name: str, default: float) -> float:
    value = env_float(name, default)
    if not value > 0:
        raise ImproperlyConfigured(f"{name} must be more than 0, got {value!r}")
    return value


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment "
            "(a development default is only used when DEBUG=1)."
        )
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"] if DEBUG else [])

# Single-tenant mode: tokens need no `tenant_id` claim; every principal belongs to this tenant.
OMS_SINGLE_TENANT_ID = os.environ.get("OMS_SINGLE_TENANT_ID", "").strip() or None

# Tenant token policies and user authorization snapshots are cached per process this long
# (docs/authentication.md: how long a revoked user can still act elsewhere); 0 turns it off.
OMS_AUTH_CACHE_SECONDS = env_float("OMS_AUTH_CACHE_SECONDS", 5)

# Stock (docs/inventory.md): a product snapshot without `as_of` is taken to count the reservations
# older than this many seconds; newer ones stay subtracted from its `available_quantity`.
OMS_INVENTORY_SYNC_WINDOW = env_float("OMS_INVENTORY_SYNC_WINDOW", 300)

# JWT verification: clock leeway for exp/nbf/iat, and the JWKS cache of each tenant.
OMS_JWT_LEEWAY_SECONDS = env_float("OMS_JWT_LEEWAY_SECONDS", 30)
OMS_JWKS_CACHE_SECONDS = env_float("OMS_JWKS_CACHE_SECONDS", 300)
# A token with an unknown `kid` forces at most one JWKS refetch per this many seconds.
OMS_JWKS_REFRESH_COOLDOWN_SECONDS = env_float("OMS_JWKS_REFRESH_COOLDOWN_SECONDS", 30)
OMS_JWKS_FETCH_TIMEOUT_SECONDS = env_float("OMS_JWKS_FETCH_TIMEOUT_SECONDS", 5)

# Inbound webhooks: the largest body accepted (413 above it).
OMS_WEBHOOK_MAX_BODY_BYTES = int(env_float("OMS_WEBHOOK_MAX_BODY_BYTES", 256 * 1024))

# Outbound event relay (manage.py relay_events).
OMS_RELAY_TIMEOUT_SECONDS = env_float("OMS_RELAY_TIMEOUT_SECONDS", 10)
OMS_RELAY_MAX_ATTEMPTS = int(env_float("OMS_RELAY_MAX_ATTEMPTS", 8))
OMS_RELAY_BACKOFF_BASE_SECONDS = env_float("OMS_RELAY_BACKOFF_BASE_SECONDS", 10)
OMS_RELAY_BACKOFF_CAP_SECONDS = env_float("OMS_RELAY_BACKOFF_CAP_SECONDS", 3600)
OMS_RELAY_POLL_SECONDS = env_float("OMS_RELAY_POLL_SECONDS", 1)
# The event stream (docs/events.md): with a NATS URL set, the relay also publishes every outbox event
# to a JetStream stream.
OMS_EVENT_STREAM_URL = os.environ.get("OMS_EVENT_STREAM_URL", "").strip()
OMS_EVENT_STREAM_NAME = os.environ.get("OMS_EVENT_STREAM_NAME", "").strip() or "OMS_ORDERS"
OMS_EVENT_STREAM_MAX_AGE_DAYS = env_float("OMS_EVENT_STREAM_MAX_AGE_DAYS", 7)
OMS_EVENT_STREAM_DUPLICATE_WINDOW_SECONDS = env_float("OMS_EVENT_STREAM_DUPLICATE_WINDOW_SECONDS", 120)
OMS_EVENT_STREAM_BATCH = int(env_float("OMS_EVENT_STREAM_BATCH", 1000))
OMS_EVENT_STREAM_ACK_TIMEOUT_SECONDS = env_float("OMS_EVENT_STREAM_ACK_TIMEOUT_SECONDS", 5)
# Live order status (GraphQL subscriptions, oms_project/live.py; docs/live.md): the hub's poll when
# it cannot LISTEN (SQLite), and the limits of one connection.
OMS_LIVE_POLL_SECONDS = env_float("OMS_LIVE_POLL_SECONDS", 0.1)
OMS_LIVE_INIT_TIMEOUT_SECONDS = env_float("OMS_LIVE_INIT_TIMEOUT_SECONDS", 10)
OMS_LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION = int(env_float("OMS_LIVE_MAX_SUBSCRIPTIONS_PER_CONNECTION", 20))
OMS_LIVE_MAX_MESSAGE_BYTES = int(env_float("OMS_LIVE_MAX_MESSAGE_BYTES", 64 * 1024))
OMS_LIVE_PING_SECONDS = env_float("OMS_LIVE_PING_SECONDS", 30)
# Live connections one ASGI process holds (a tenant holds its OMS_ADMISSION_SHARE of them while
# others hold any), and one token's (oms_project/kernel/admission/live.py).
OMS_LIVE_MAX_CONNECTIONS = int(env_float("OMS_LIVE_MAX_CONNECTIONS", 10_000))
OMS_LIVE_MAX_CONNECTIONS_PER_TOKEN = int(env_float("OMS_LIVE_MAX_CONNECTIONS_PER_TOKEN", 20))
# A reconnect with `after` is replayed up to this many of the tenant's events; more: REPLAY_UNAVAILABLE.
OMS_LIVE_REPLAY_LIMIT = int(env_float("OMS_LIVE_REPLAY_LIMIT", 10_000))
# Deliveries in flight at once (claimed per batch), and parallel requests per subscription.
OMS_RELAY_BATCH = int(env_float("OMS_RELAY_BATCH", 200))
OMS_RELAY_CONCURRENCY = int(env_float("OMS_RELAY_CONCURRENCY", 16))
OMS_RELAY_METRICS_PORT = int(env_float("OMS_RELAY_METRICS_PORT", 0))
# Where subscriptions may send (docs/admin.md, "Subscription URLs"): https only unless plain http is
# allowed, and no loopback, link-local, private or unspecified address unless listed here (host
# names, addresses or CIDR networks). Development allows http and this machine.
OMS_WEBHOOK_ALLOW_HTTP = env_bool("OMS_WEBHOOK_ALLOW_HTTP", DEBUG)
OMS_WEBHOOK_ALLOWED_DESTINATIONS = env_list(
    "OMS_WEBHOOK_ALLOWED_DESTINATIONS", ["127.0.0.1", "::1", "localhost"] if DEBUG else []
)

# /graphql/ guards (docs/errors.md): each refusal has its own code and nothing executes.
OMS_GRAPHQL_MAX_BODY_BYTES = int(env_float("OMS_GRAPHQL_MAX_BODY_BYTES", 256 * 1024))
OMS_GRAPHQL_MAX_QUERY_BYTES = int(env_float("OMS_GRAPHQL_MAX_QUERY_BYTES", 16 * 1024))
OMS_GRAPHQL_MAX_DEPTH = int(env_float("OMS_GRAPHQL_MAX_DEPTH", 10))
OMS_GRAPHQL_MAX_ALIASES = int(env_float("OMS_GRAPHQL_MAX_ALIASES", 20))
# Cost before validation (docs/errors.md): tokens at parse time, fields selected with fragments
# expanded, one response name repeated in one selection set, directives on one selection.
OMS_GRAPHQL_MAX_TOKENS = int(env_float("OMS_GRAPHQL_MAX_TOKENS", 2000))
OMS_GRAPHQL_MAX_FIELDS = int(env_float("OMS_GRAPHQL_MAX_FIELDS", 500))
OMS_GRAPHQL_MAX_FIELD_REPEATS = int(env_float("OMS_GRAPHQL_MAX_FIELD_REPEATS", 10))
OMS_GRAPHQL_MAX_DIRECTIVES = int(env_float("OMS_GRAPHQL_MAX_DIRECTIVES", 5))
# Persisted queries (Apollo's automatic persisted queries; docs/production.md, "Persisted
# queries"): at most this many documents registered by clients are kept (the oldest go first).
OMS_PERSISTED_QUERIES_MAX_ENTRIES = int(env_float("OMS_PERSISTED_QUERIES_MAX_ENTRIES", 5000))
# Production hardening: run only documents listed at deploy time (`manage.py persisted_queries load`).
OMS_PERSISTED_QUERIES_ONLY = env_bool("OMS_PERSISTED_QUERIES_ONLY", False)

# Schema introspection (`__schema`, `__type`): on in development, off in production unless asked.
OMS_GRAPHQL_INTROSPECTION = env_bool("OMS_GRAPHQL_INTROSPECTION", DEBUG)

# PostgreSQL row-level security: every tenant transaction switches to this role (created by the
# identity migrations: NOLOGIN, no BYPASSRLS, not the owner) and sets `app.tenant_id`.
OMS_DB_TENANT_ROLE = os.environ.get("OMS_DB_TENANT_ROLE", "oms_tenant").strip() or "oms_tenant"

# Fair share between tenants (oms_project/admission; docs/production.md, "Fair share"). Every API
# call, webhook delivery and admin request is admitted per tenant before any work: at most
# OMS_ADMISSION_SHARE of OMS_SERVING_CAPACITY requests of one tenant in progress at once, and
# token buckets in cost points per tenant and per caller (a token's `sub`, a webhook door, an
# admin user). A tenant's own settings (create_tenant, the admin) override these defaults.
OMS_ADMISSION = env_bool("OMS_ADMISSION", True)
# Requests served at once by everything that shares the store: gunicorn.conf.py sets workers x
# threads for its server; with Redis shared by several servers, set their total.
OMS_SERVING_CAPACITY = max(1, int(env_float("OMS_SERVING_CAPACITY", 8)))
OMS_ADMISSION_SHARE = env_float("OMS_ADMISSION_SHARE", 0.4)
OMS_RATE_LIMIT_RATE = env_float("OMS_RATE_LIMIT_RATE", 20000)  # tenant: points per second
OMS_RATE_LIMIT_BURST = env_float("OMS_RATE_LIMIT_BURST", 40000)
OMS_RATE_LIMIT_TOKEN_RATE = env_float("OMS_RATE_LIMIT_TOKEN_RATE", 10000)  # per caller
OMS_RATE_LIMIT_TOKEN_BURST = env_float("OMS_RATE_LIMIT_TOKEN_BURST", 20000)
# What a mutation weighs (a query: one point per object it asks for; a webhook delivery or an
# admin POST: this much).
OMS_ADMISSION_MUTATION_COST = int(env_float("OMS_ADMISSION_MUTATION_COST", 10))
# How long an admitted request may hold its slot before it is given back by itself (a worker that
# died mid-request); longer than any request may run (gunicorn's timeout is 30 s).
OMS_ADMISSION_LEASE_SECONDS = env_float("OMS_ADMISSION_LEASE_SECONDS", 60)
# A request refused OVER_SHARE is told to retry after 1 to this many whole seconds, drawn at
# random, so that clients refused together do not come back together.
OMS_ADMISSION_RETRY_SPREAD_SECONDS = max(1, int(env_float("OMS_ADMISSION_RETRY_SPREAD_SECONDS", 3)))
# Where the counts live: Redis shared by every server (OMS_RATE_LIMIT_REDIS_URL), else SQLite in
# this file shared by the processes of one machine (gunicorn.conf.py names one per server), else
# this process's memory.
OMS_RATE_LIMIT_REDIS_URL = os.environ.get("OMS_RATE_LIMIT_REDIS_URL", "").strip()
OMS_ADMISSION_STATE_FILE = os.environ.get("OMS_ADMISSION_STATE_FILE", "").strip()

# Customer erasure (docs/privacy.md): the shipping address fields an erased order keeps for
# accounting, comma-separated, of postal_code and country ("-": none). A tenant's own rule
# (create_tenant --erasure-keeps, the admin) overrides it.
# Operators' documents and exports (docs/documents.md, docs/admin.md): a download link to an invoice
# or packing slip works this long; DejaVu Sans from here prints every Latin, Greek and Cyrillic
# letter (Debian's fonts-dejavu-core); an admin export of more orders than OMS_EXPORT_INLINE_ORDERS
# runs in the background and leaves its file in OMS_EXPORT_DIR, which is kept OMS_EXPORT_KEEP_HOURS
# after the export ends (a copy of personal data: then refused, and deleted by the daily
# `purge_personal_data`); one still running OMS_EXPORT_MAX_SECONDS after it started was interrupted.
OMS_DOCUMENT_LINK_SECONDS = int(os.environ.get("OMS_DOCUMENT_LINK_SECONDS", "300"))
OMS_DOCUMENT_FONT_DIR = os.environ.get("OMS_DOCUMENT_FONT_DIR", "/usr/share/fonts/truetype/dejavu")
OMS_EXPORT_INLINE_ORDERS = int(os.environ.get("OMS_EXPORT_INLINE_ORDERS", "5000"))
OMS_EXPORT_DIR = Path(os.environ.get("OMS_EXPORT_DIR") or VAR_DIR / "exports")
OMS_EXPORT_KEEP_HOURS = env_positive("OMS_EXPORT_KEEP_HOURS", 24)
OMS_EXPORT_MAX_SECONDS = env_positive("OMS_EXPORT_MAX_SECONDS", 3600)
OMS_ERASURE_KEEPS = os.environ.get("OMS_ERASURE_KEEPS", "postal_code,country").strip() or "postal_code,country"

# The tenant registry's model: the shared kernel (oms_project/kernel) names it through this
# setting, as Django names the user model, and imports no app.
OMS_TENANT_MODEL = "identity.Tenant"

INSTALLED_APPS = [
    "daphne",  # `runserver` serves ASGI: subscriptions work under `make run`
    "oms_project.admin_site.OmsAdminConfig",  # django.contrib.admin, with the dashboard
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "graphene_django",
    "identity",
    "snapshots",
    "ordering",
    "webhooks",
]

# `api_lane.*` are Django's (and WhiteNoise's) own, skipped by bearer-token /graphql/ calls,
# which need no session, CSRF, user, messages or static files (oms_project/kernel/api_lane.py).
MIDDLEWARE = [
    "oms_project.kernel.metrics.RequestMetricsMiddleware",
    "oms_project.kernel.observability.RequestContextMiddleware",
    "oms_project.kernel.internal_errors.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "oms_project.kernel.api_lane.WhiteNoiseMiddleware",  # admin static files under gunicorn
    "oms_project.kernel.api_lane.SessionMiddleware",
    "oms_project.kernel.api_lane.CommonMiddleware",
    "oms_project.kernel.api_lane.CsrfViewMiddleware",
    "oms_project.kernel.api_lane.AuthenticationMiddleware",
    "oms_project.kernel.api_lane.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "oms_project.kernel.security_headers.SecurityHeadersMiddleware",
    # Fair share: API calls (their token verified here), webhook deliveries and signed-in admin
    # requests are admitted per tenant before any other work (oms_project/admission).
    "oms_project.middleware.AdmissionMiddleware",
    # A locked-out admin login answers with the lockout page (docs/admin.md, "Sign-in lockout").
    "axes.middleware.AxesMiddleware",
    # Innermost: a tenant staff member's admin view (and its rendering) runs in their tenant's
    # database scope; sessions and messages are saved after it, outside (docs/admin.md).
    "oms_project.kernel.admin_tenancy.AdminTenantScopeMiddleware",
]

# /metrics: open on the internal network by default; set a token to require
# `Authorization: Bearer <token>` from the scraper.
OMS_METRICS_TOKEN = os.environ.get("OMS_METRICS_TOKEN", "")
# Without a token, a production process (DEBUG=0) refuses to serve unless this says the network
# keeps /metrics private (oms_project/kernel/metrics.py, require_metrics_protection).
OMS_METRICS_PUBLIC = env_bool("OMS_METRICS_PUBLIC", False)

# Admin sign-in lockout (django-axes): a username from one address is locked out after this many
# failed passwords, for this long; a successful sign-in clears the count (docs/admin.md).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = int(env_float("OMS_ADMIN_LOGIN_FAILURES", 5))
AXES_COOLOFF_TIME = timedelta(minutes=env_float("OMS_ADMIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/locked_out.html"
AXES_VERBOSE = True

# Security headers and cookies (README, "Production"). TLS ends at the load balancer, which
# says so in X-Forwarded-Proto when OMS_TRUST_X_FORWARDED_PROTO is on.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_HSTS_SECONDS = int(env_float("SECURE_HSTS_SECONDS", 0))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
if env_bool("OMS_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("OMS_SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# Form bodies (the admin): Django's own limit; /graphql/ and webhooks have theirs above.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(env_float("DATA_UPLOAD_MAX_MEMORY_SIZE", 2.5 * 1024 * 1024))

ROOT_URLCONF = "oms_project.urls"
WSGI_APPLICATION = "oms_project.wsgi.application"
ASGI_APPLICATION = "oms_project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "oms_project" / "templates"],  # the GraphiQL page
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

VAR_DIR.mkdir(exist_ok=True)
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'oms.sqlite3'}"
DATABASE_POOLER = os.environ.get("DATABASE_POOLER", "").strip().lower()
# Several hosts (`host-a:5432,host-b:5432`) are tried in order by libpq (docs/production.md).
DATABASES = {"default": database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run while one writer writes; the busy timeout queues writers
    # instead of failing at once with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    # Behind a pooler in transaction mode (PgBouncer's pool_mode=transaction) a client's next
    # transaction may run on another server connection: no statement stays prepared, no server-side
    # cursor outlives its transaction, no LISTEN stays registered (docs/production.md, "Behind a pooler").
    if DATABASE_POOLER not in ("", "session", "transaction"):
        raise ImproperlyConfigured("DATABASE_POOLER must be empty, session or transaction")
    _behind_transaction_pooler = DATABASE_POOLER == "transaction"
    # The hot path's fixed statements (oms_project/kernel/prepared.py) are prepared on a connection after
    # this many uses; "off" for a pooler in transaction mode without prepared-statement support.
    _prepare = os.environ.get("DATABASE_PREPARE_THRESHOLD", "off" if _behind_transaction_pooler else "2")
    _prepare = _prepare.strip().lower()
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
        None if _prepare in ("off", "none", "") else int(_prepare)
    )
    if _behind_transaction_pooler:
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True

# Where the relay and the live process LISTEN for new outbox events (oms_project/kernel/listen.py):
# empty for DATABASE_URL; behind a transaction-mode pooler (off by default there) a direct URL to
# PostgreSQL, or "off" to poll.
DATABASE_LISTEN_URL = os.environ.get("DATABASE_LISTEN_URL", "off" if DATABASE_POOLER == "transaction" else "")

# Read replicas (docs/scaling.md): read-only requests may read from these (PostgreSQL streaming
# replicas of DATABASE_URL); writes, webhooks and the relay always use the primary.
for _index, _url in enumerate(u.strip() for u in os.environ.get("DATABASE_REPLICA_URLS", "").split(",") if u.strip()):
    DATABASES[f"replica_{_index}"] = {
        **database_url.parse(_url, conn_max_age=60),
        "OPTIONS": dict(DATABASES["default"].get("OPTIONS", {})),
        "TEST": {"MIRROR": "default"},
    }
if len(DATABASES) > 1:
    DATABASE_ROUTERS = ["oms_project.kernel.replicas.ReplicaRouter"]
# A replica further behind than this is skipped; a client's reads follow its own writes for this long.
OMS_REPLICA_MAX_LAG_SECONDS = env_float("OMS_REPLICA_MAX_LAG_SECONDS", 5)
OMS_REPLICA_STICKY_SECONDS = env_float("OMS_REPLICA_STICKY_SECONDS", 10)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# collectstatic writes here and WhiteNoise serves from here (created so it always exists).
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or VAR_DIR / "static")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# The GraphiQL page's assets, pinned and served by the app (oms_project/graphiql/).
STATICFILES_DIRS = [BASE_DIR / "oms_project" / "static"]

# Why the endpoint would refuse a document before running it (`manage.py persisted_queries load`).
OMS_GRAPHQL_DOCUMENT_CHECK = "oms_project.graphql_view.document_problems"

GRAPHENE = {
    "SCHEMA": "oms_project.schema.schema",
    "ATOMIC_MUTATIONS": False,  # the application layer owns its transactions
    # Explicit, so DEBUG does not add graphene's DjangoDebugMiddleware (it needs a mutable
    # context and a `_debug` field we do not expose).
    "MIDDLEWARE": [],
}

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
# json (default): one JSON object per line with request_id and tenant_id; plain: for a terminal.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json").strip().lower()
if LOG_FORMAT not in ("json", "plain"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "oms_project.kernel.observability.ContextFilter"}},
    "formatters": {
        "json": {"()": "oms_project.kernel.observability.OmsJsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s %(tenant_id)s] %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Our access line replaces runserver's and Django's request lines.
        "django.server": {"level": "WARNING"},
        # django-axes' start-up banner on every command; its lockout lines are warnings.
        "axes.apps": {"level": "WARNING"},
        # fpdf2's font subsetting logs some forty lines per PDF at INFO (ordering/infrastructure/documents).
        "fontTools": {"level": "WARNING"},
    },
}
