"""Settings, read from the environment (see README, "Configuration").

Every knob an operator turns is an environment variable; nothing here needs editing to deploy.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

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


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY in the environment "
            "(a development default is only used when DEBUG=1)."
        )
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"] if DEBUG else []
)

# Single-tenant mode: tokens need no `tenant_id` claim; every principal belongs to this tenant.
OMS_SINGLE_TENANT_ID = os.environ.get("OMS_SINGLE_TENANT_ID", "").strip() or None

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

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "graphene_django",
    "identity",
    "snapshots",
    "ordering",
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # admin static files under gunicorn
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "oms_project.urls"
WSGI_APPLICATION = "oms_project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
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
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run while one writer writes; the busy timeout queues writers
    # instead of failing at once with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

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

GRAPHENE = {
    "SCHEMA": "oms_project.schema.schema",
    "ATOMIC_MUTATIONS": False,  # the application layer owns its transactions
    # Explicit, so DEBUG does not add graphene's DjangoDebugMiddleware (it needs a mutable
    # context and a `_debug` field we do not expose).
    "MIDDLEWARE": [],
}

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
