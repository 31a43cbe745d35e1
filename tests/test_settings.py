"""Settings come from the environment and refuse unsafe production defaults."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = "from django.conf import settings; print(settings.DEBUG, settings.DATABASES['default']['ENGINE'], settings.ALLOWED_HOSTS, settings.OMS_SINGLE_TENANT_ID, settings.LOG_LEVEL)"


def load_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL", "ALLOWED_HOSTS", "OMS_SINGLE_TENANT_ID", "LOG_LEVEL"}}
    clean.update(env, DJANGO_SETTINGS_MODULE="oms_project.settings")
    code = f"import django; django.setup(); {PROBE}"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True)


def test_production_refuses_to_start_without_secret_key():
    result = load_settings()
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_has_a_development_key_and_sqlite_default():
    result = load_settings(DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == ["True", "django.db.backends.sqlite3"]


def test_environment_drives_settings():
    result = load_settings(
        SECRET_KEY="k" * 50,
        DATABASE_URL="postgres://u:p@db.example:5432/oms",
        ALLOWED_HOSTS="oms.example.com, api.example.com",
        OMS_SINGLE_TENANT_ID="acme",
        LOG_LEVEL="warning",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "False django.db.backends.postgresql ['oms.example.com', 'api.example.com'] acme WARNING"
    )


def test_malformed_boolean_is_refused():
    result = load_settings(DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG must be a boolean" in result.stderr
