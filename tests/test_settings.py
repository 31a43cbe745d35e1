"""Settings come from the environment and refuse unsafe production defaults."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = (
    "from django.conf import settings; print(settings.DEBUG, settings.DATABASES['default']['ENGINE'], "
    "settings.ALLOWED_HOSTS, settings.OMS_SINGLE_TENANT_ID, settings.LOG_LEVEL)"
)


def load_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL", "ALLOWED_HOSTS", "OMS_SINGLE_TENANT_ID", "LOG_LEVEL"}
    }
    clean.update(env, DJANGO_SETTINGS_MODULE="oms_project.settings")
    code = PROBE  # settings only: what the environment decides, without loading the apps
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


def test_production_hardening_comes_from_the_environment():
    probe = (
        "from django.conf import settings as s; print(s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_PROXY_SSL_HEADER, s.SESSION_COOKIE_SECURE, s.OMS_GRAPHQL_INTROSPECTION, s.LOG_FORMAT)"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "OMS_", "LOG_", "DEBUG"))}
    base = dict(clean, DJANGO_SETTINGS_MODULE="oms_project.settings", SECRET_KEY="k" * 50)

    def run(**env):
        return subprocess.run(
            [sys.executable, "-c", probe],
            cwd=ROOT,
            env={**base, **env},
            capture_output=True,
            text=True,
        )

    defaults = run()
    assert defaults.stdout.strip() == "0 False None True False json", defaults.stdout + defaults.stderr
    tuned = run(
        SECURE_HSTS_SECONDS="31536000",
        SECURE_SSL_REDIRECT="1",
        OMS_TRUST_X_FORWARDED_PROTO="1",
        OMS_GRAPHQL_INTROSPECTION="1",
        LOG_FORMAT="plain",
    )
    assert tuned.stdout.strip() == "31536000 True ('HTTP_X_FORWARDED_PROTO', 'https') True True plain", tuned.stderr
    bad = run(LOG_FORMAT="xml")
    assert bad.returncode != 0 and "LOG_FORMAT must be json or plain" in bad.stderr


def test_postgresql_prepares_the_hot_statements_unless_turned_off():
    def threshold(**env: str) -> str:
        code = (
            "from django.conf import settings; "
            "print(settings.DATABASES['default']['OPTIONS'].get('prepare_threshold', 'absent'))"
        )
        clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DATABASE_PREPARE_THRESHOLD"}}
        clean.update(env, DJANGO_SETTINGS_MODULE="oms_project.settings", DEBUG="1")
        result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()

    url = "postgres://u:p@db.example:5432/oms"
    assert threshold(DATABASE_URL=url) == "2"
    assert threshold(DATABASE_URL=url, DATABASE_PREPARE_THRESHOLD="off") == "None"
    assert threshold(DATABASE_URL=url, DATABASE_PREPARE_THRESHOLD="5") == "5"
    assert threshold() == "absent"  # SQLite


def test_behind_a_transaction_pooler_what_needs_a_session_is_off_and_a_wrong_mode_is_refused():
    probe = (
        "from django.conf import settings as s; d = s.DATABASES['default']; "
        "print(d['OPTIONS'].get('prepare_threshold'), d['DISABLE_SERVER_SIDE_CURSORS'], repr(s.DATABASE_LISTEN_URL))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    base = dict(clean, DJANGO_SETTINGS_MODULE="oms_project.settings", DEBUG="1", DATABASE_URL="postgres://u@h:6432/oms")

    def run(**env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", probe], cwd=ROOT, env={**base, **env}, capture_output=True, text=True
        )

    assert run().stdout.strip() == "2 False ''"
    assert run(DATABASE_POOLER="transaction").stdout.strip() == "None True 'off'"
    direct = run(DATABASE_POOLER="transaction", DATABASE_LISTEN_URL="postgres://u@db:5432/oms")
    assert direct.stdout.strip() == "None True 'postgres://u@db:5432/oms'"
    wrong = run(DATABASE_POOLER="statement")
    assert wrong.returncode != 0 and "DATABASE_POOLER must be empty, session or transaction" in wrong.stderr


def test_an_export_kept_no_time_or_given_no_time_to_run_is_refused():
    for name, value in (("OMS_EXPORT_KEEP_HOURS", "0"), ("OMS_EXPORT_MAX_SECONDS", "-5")):
        result = load_settings(DEBUG="1", **{name: value})
        assert result.returncode != 0 and f"{name} must be more than 0" in result.stderr, result.stderr
